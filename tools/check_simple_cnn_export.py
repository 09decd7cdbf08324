"""Check that a checkpoint (e.g. exported by Graft) loads into the PyTorch course model and gives the logits.

Loads PTH with torch.load(weights_only=True) (a .pth.xz is decompressed in memory first) into the
SimpleCNN (num_classes 10, in_channels 3) or LeNet-5 class of tools/make_simple_cnn_fixtures.py with
load_state_dict(strict=True), checks each tensor's dtype against the model's (load_state_dict would cast
silently), runs the model in eval mode on --input (float32 NCHW .npy) and compares with --logits. Exit 0
when the largest absolute difference is at most --tolerance (1e-4); exit 1 otherwise, and also when the
checkpoint does not load strictly (missing, unexpected or mis-shaped keys) or holds another dtype.

From the repository root, for example on the committed reference:
    .venv/bin/python tools/check_simple_cnn_export.py Fixtures/simple_cnn/simple_cnn.pth.xz \\
        --input Fixtures/simple_cnn/simple_cnn_input.npy --logits Fixtures/simple_cnn/simple_cnn_logits.npy
"""

import argparse
import sys
from pathlib import Path

import numpy
import torch

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
from make_simple_cnn_fixtures import ARCHS, TOLERANCE, load_checkpoint  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pth", help="checkpoint: torch.save(state_dict) zip/legacy file, or the same .xz-compressed")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="simple_cnn")
    parser.add_argument("--input", required=True, help="float32 NCHW .npy ([N,3,32,32] simple_cnn, [N,1,32,32] lenet)")
    parser.add_argument("--logits", required=True, help="reference logits .npy, [N, 10]")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args()
    lib.configure_torch()  # one thread: the result must not depend on the machine

    model = ARCHS[args.arch]()
    try:
        state = load_checkpoint(args.pth)
        model.load_state_dict(state, strict=True)
    except Exception as error:  # noqa: BLE001 - any failure to load is a failed check, reported as such
        print(f"FAIL {args.pth} does not load into {args.arch} (strict, weights_only): {error}")
        return 1
    # load_state_dict casts silently, so a float64 or float16 export would pass it: compare dtypes too.
    expected = {k: v.dtype for k, v in ARCHS[args.arch]().state_dict().items()}
    wrong = [f"{k} {v.dtype} (want {expected[k]})" for k, v in state.items() if v.dtype != expected[k]]
    if wrong:
        print(f"FAIL {args.pth}: dtypes differ from the PyTorch model's: {', '.join(wrong)}")
        return 1
    x = torch.from_numpy(numpy.load(args.input))
    reference = torch.from_numpy(numpy.load(args.logits))
    with torch.no_grad():
        logits = model.eval()(x.float())
    if logits.shape != reference.shape:
        print(f"FAIL logits shape {list(logits.shape)}, reference {list(reference.shape)}")
        return 1
    diff = (logits.double() - reference.double()).abs().max().item()
    agree = (logits.argmax(1) == reference.argmax(1)).float().mean().item()
    ok = diff <= args.tolerance
    print(f"{'ok' if ok else 'FAIL'} {args.arch}: {len(state)} tensors loaded strictly, max abs diff {diff:.3e} "
          f"(tolerance {args.tolerance:g}), top-1 agreement {agree:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
