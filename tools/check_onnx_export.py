"""ONNX export on full-size torchvision networks: graft export --format onnx, then ONNX Runtime, PyTorch
and Graft on the same input, at batch 1 and batch > 1, BatchNorm folded and kept.

For each architecture this builds torchvision's model with a seeded random init and trained-looking,
perturbed BatchNorm statistics (fixturelib.perturb_model, calibrated on a random batch), saves its
state dict to .build-onnx-full/<arch>.pth (ignored by git), exports it with the release CLI
(`.build/release/graft`), checks it with onnx.checker (full check), runs the .onnx in ONNX Runtime,
the model in PyTorch, and Graft itself (`graft verify --output`), and prints per architecture and mode: max |ORT − torch| and
max |ORT − Graft| at batch 1 and at batch BATCH, the largest |logit|, and the file size over the weights'
float32 bytes (googlenet and inception_v3 leave their auxiliary classifiers out: smaller than their state dicts).

Usage, from the repository root (torch, torchvision, onnxruntime in the .venv):
    OMP_NUM_THREADS=2 .venv/bin/python tools/check_onnx_export.py [--only ARCH …] [--batch 3] [--graft PATH]
Exit 1 when any difference exceeds numpy.allclose's atol + rtol·|ref| with 1e-4 each (graft verify's default):
inception_v3's random-init logits reach a few hundred, where float32 rounding alone is ~1e-4.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy
import onnx
import onnxruntime
import torch
import torchvision.models as tvm

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

# One size of every family (the smallest, to keep the run short), and the input side each runs at.
ARCHS = {
    "resnet18": 224, "resnet50": 224, "resnext50_32x4d": 224, "vgg11_bn": 224, "vgg16": 224,
    "efficientnet_b0": 224, "efficientnet_v2_s": 384, "alexnet": 224, "squeezenet1_0": 224, "squeezenet1_1": 224,
    "googlenet": 224, "inception_v3": 299, "densenet121": 224, "mobilenet_v2": 224, "mobilenet_v3_large": 224,
    "mobilenet_v3_small": 224, "mnasnet0_5": 224, "shufflenet_v2_x1_0": 224, "regnet_x_400mf": 224,
    "regnet_y_400mf": 224, "convnext_tiny": 224,
}
TOLERANCE = 1e-4
OUT = lib.ROOT / ".build-onnx-full"


def build(arch, size, seed):
    torch.manual_seed(seed)
    # Graft's googlenet / inception_v3 are the pretrained weights' graphs: auxiliary heads and transform_input on.
    kwargs = {"aux_logits": True, "init_weights": True, "transform_input": True} if arch in ("googlenet", "inception_v3") else {}
    model = getattr(tvm, arch)(weights=None, **kwargs).eval()
    calibration = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(seed + 1))
    lib.perturb_model(model, seed, calibration)
    return model.eval()


def max_diff(a, b):
    return float(numpy.max(numpy.abs(a.astype(numpy.float64) - b.astype(numpy.float64))))


def share(a, ref):
    """The largest |a − ref| as a share of numpy.allclose's bound atol + rtol·|ref| (1e-4 each, as graft verify)."""
    ref = ref.astype(numpy.float64)
    return float(numpy.max(numpy.abs(a.astype(numpy.float64) - ref) / (TOLERANCE + TOLERANCE * numpy.abs(ref))))


def run(arch, size, batch, graft, seed):
    OUT.mkdir(exist_ok=True)
    model = build(arch, size, seed)
    checkpoint = OUT / f"{arch}.pth"
    torch.save(model.state_dict(), checkpoint)
    weights = sum(t.numel() * 4 for t in model.state_dict().values() if t.is_floating_point())
    rows = []
    inputs = {}
    for n in (1, batch):
        x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed + 10 + n))
        path = OUT / f"{arch}_x{n}.npy"
        numpy.save(path, x.numpy())
        with torch.no_grad():
            ref = model(x).numpy()
        reference, mine = OUT / f"{arch}_torch{n}.npy", OUT / f"{arch}_graft{n}.npy"
        numpy.save(reference, ref)
        # verify's exit status is its own parity verdict; here it only supplies Graft's outputs.
        subprocess.run([graft, "verify", "--arch", arch, "--checkpoint", str(checkpoint), "--input", str(path),
                        "--reference", str(reference), "--output", str(mine)], check=False, capture_output=True)
        inputs[n] = (x.numpy(), ref, numpy.load(mine))
    for keep in (False, True):
        onnx_path = OUT / f"{arch}{'_bn' if keep else ''}.onnx"
        command = [graft, "export", "--format", "onnx", "--arch", arch, "--size", str(size), str(checkpoint), str(onnx_path)]
        if keep:
            command.insert(4, "--keep-batchnorm")
        subprocess.run(command, check=True, capture_output=True)
        onnx.checker.check_model(str(onnx_path), full_check=True)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        row = {"arch": arch, "size": size, "mode": "kept" if keep else "folded",
               "ratio": onnx_path.stat().st_size / weights,
               "scale": max(float(numpy.max(numpy.abs(ref))) for _, ref, _ in inputs.values())}
        for n, (x, ref, mine) in inputs.items():
            got = session.run(None, {"input": x})[0]
            row[f"torch{n}"] = max_diff(got, ref)
            row[f"graft{n}"] = max_diff(got, mine)
            row["share"] = max(row.get("share", 0.0), share(got, ref), share(got, mine))
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--graft", default=str(lib.ROOT / ".build" / "release" / "graft"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    archs = {a: s for a, s in ARCHS.items() if not args.only or a in args.only}
    b = args.batch
    print(f"| arch | size | BatchNorm | ORT vs torch bs1 | bs{b} | ORT vs Graft bs1 | bs{b} | max |logit| | file / weights |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for i, (arch, size) in enumerate(archs.items()):
        for r in run(arch, size, b, args.graft, 9100 + 7 * i):
            print(f"| {r['arch']} | {r['size']} | {r['mode']} | {r['torch1']:.1e} | {r[f'torch{b}']:.1e} | "
                  f"{r['graft1']:.1e} | {r[f'graft{b}']:.1e} | {r['scale']:.3g} | {r['ratio']:.4f} |", flush=True)
            worst = max(worst, r["share"])
    print(f"worst share of atol + rtol·|ref| (1e-4 each): {worst:.2f}")
    sys.exit(0 if worst <= 1 else 1)


if __name__ == "__main__":
    main()
