"""The anchor benchmark: Graft against PyTorch eager, ONNX Runtime and OpenVINO on the same machine.

Every engine runs in a process of its own with its thread count fixed through its own setting AND the
environment (OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS; without OMP_NUM_THREADS torch's
pool stalls for seconds per forward on these VMs). Rounds alternate the engines so that a noisy
neighbour hits all of them alike, each round starting one engine later than the one before; each
engine's figure is the median over rounds of its median latency.
Models: torchvision's builders with seeded random weights, exported once to ONNX (float32, fixed batch)
into .build-bench/onnx/; ONNX Runtime and OpenVINO run that file, OpenVINO with the float32 precision
hint (it drops to bf16 where the CPU has it otherwise). Graft runs `graft bench` on the same builder.

  .venv/bin/python tools/bench_anchors.py                      # every default case, 2 threads, 3 rounds
  .venv/bin/python tools/bench_anchors.py --case resnet50:8 --case resnet18:16:train --rounds 5
  .venv/bin/python tools/bench_anchors.py --json               # one JSON object per case

Output: per case each engine's median ms and Graft's ratio to the fastest other engine (below 1: Graft
is faster); training cases compare with PyTorch only (a full SGD step: forward, cross-entropy, backward,
update with momentum). `make bench` builds Graft and runs this. Needs torch, torchvision, onnx,
onnxscript, onnxruntime and openvino in the .venv (versions are printed with the table).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONNX_DIR = ROOT / ".build-bench" / "onnx"
DEFAULT_CASES = ["resnet50:1", "resnet50:8", "vgg16:1", "efficientnet_b0:1", "mobilenet_v3_large:1",
                 "convnext_tiny:1", "resnet18:16:train"]
ENGINES = ["torch", "onnxruntime", "openvino", "graft"]


def thread_env(threads):
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[key] = str(threads)
    return env


def timed(step, iterations, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# --- workers: each runs in its own process and prints {"median_ms": …} -------------------------------

def torch_worker(a):
    import torch
    import torchvision
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.get_model(a.arch, weights=None)
    x = torch.randn(a.batch, 3, a.size, a.size)
    if a.train:
        model.train()
        labels = torch.randint(0, 1000, (a.batch,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), labels).backward()
            optimizer.step()
        return timed(step, a.iterations, a.warmup)
    model.eval()
    with torch.inference_mode():
        return timed(lambda: model(x), a.iterations, a.warmup)


def onnxruntime_worker(a):
    import numpy
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = a.threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(a.onnx, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = numpy.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size), dtype=numpy.float32)
    return timed(lambda: session.run(None, {name: x}), a.iterations, a.warmup)


def openvino_worker(a):
    import numpy
    import openvino
    core = openvino.Core()
    config = {"INFERENCE_NUM_THREADS": a.threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(a.onnx, "CPU", config)
    request = compiled.create_infer_request()
    x = numpy.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size), dtype=numpy.float32)
    return timed(lambda: request.infer({0: x}), a.iterations, a.warmup)


def export_worker(a):
    import torch
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.get_model(a.arch, weights=None).eval()
    x = torch.randn(a.batch, 3, a.size, a.size)
    with torch.no_grad():
        torch.onnx.export(model, (x,), a.onnx, opset_version=18, input_names=["x"], output_names=["logits"])
    return 0.0


WORKERS = {"torch": torch_worker, "onnxruntime": onnxruntime_worker, "openvino": openvino_worker,
           "export": export_worker}


# --- the driver ---------------------------------------------------------------------------------------

def run_worker(engine, arch, batch, size, threads, iterations, warmup, train=False, onnx=None):
    cmd = [sys.executable, __file__, "--worker", engine, "--arch", arch, "--batch", str(batch), "--size", str(size),
           "--threads", str(threads), "--iterations", str(iterations), "--warmup", str(warmup)]
    if train:
        cmd.append("--train")
    if onnx:
        cmd += ["--onnx", str(onnx)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=thread_env(threads))
    return json.loads(out.stdout.strip().splitlines()[-1])["median_ms"]


def run_graft(graft, arch, batch, size, threads, iterations, warmup, train=False):
    cmd = [graft, "bench", "--arch", arch, "--batch", str(batch), "--size", str(size), "--threads", str(threads),
           "--iterations", str(iterations), "--warmup", str(warmup), "--json"] + (["--train"] if train else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=thread_env(threads))
    return json.loads(out.stdout)["median_ms"]


def onnx_file(arch, batch, size, threads):
    path = ONNX_DIR / f"{arch}_b{batch}_{size}.onnx"
    if not path.exists():
        ONNX_DIR.mkdir(parents=True, exist_ok=True)
        run_worker("export", arch, batch, size, threads, 0, 0, onnx=path)
    return path


def versions():
    out = {"python": platform.python_version()}
    for module in ("torch", "torchvision", "onnxruntime", "openvino"):
        try:
            out[module] = __import__(module).__version__
        except ImportError:
            out[module] = None
    return out


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", action="append", help="ARCH:BATCH[:train] (repeatable); the default set otherwise")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--graft", default=str(ROOT / ".build" / "release" / "graft"))
    p.add_argument("--json", action="store_true")
    # worker mode
    p.add_argument("--worker", choices=sorted(WORKERS))
    p.add_argument("--arch")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--train", action="store_true")
    p.add_argument("--onnx")
    a = p.parse_args()
    if a.worker:
        print(json.dumps({"median_ms": WORKERS[a.worker](a)}))
        return

    engines = a.engines.split(",")
    if not a.json:
        print(f"{cpu_model()}, {a.threads} threads, {a.size}x{a.size}, {a.rounds} rounds alternated; "
              + ", ".join(f"{k} {v}" for k, v in versions().items()))
        print(f"{'case':<28}" + "".join(f"{e:>13}" for e in engines) + f"{'Graft/fastest':>15}")
    for case in a.case or DEFAULT_CASES:
        parts = case.split(":")
        arch, batch, train = parts[0], int(parts[1]), len(parts) > 2 and parts[2] == "train"
        wanted = [e for e in engines if not (train and e in ("onnxruntime", "openvino"))]
        onnx = None if train or not {"onnxruntime", "openvino"} & set(wanted) else onnx_file(arch, batch, a.size, a.threads)
        samples = {e: [] for e in wanted}
        for r in range(a.rounds):
            # Each round starts one engine later, so no engine always runs right after the same other one
            # (on these VMs the first of two alternated processes was slower more often).
            for engine in wanted[r % len(wanted):] + wanted[:r % len(wanted)]:
                if engine == "graft":
                    ms = run_graft(a.graft, arch, batch, a.size, a.threads, a.iterations, a.warmup, train)
                else:
                    ms = run_worker(engine, arch, batch, a.size, a.threads, a.iterations, a.warmup, train, onnx)
                samples[engine].append(ms)
        medians = {e: statistics.median(v) for e, v in samples.items()}
        others = [v for e, v in medians.items() if e != "graft"]
        ratio = medians["graft"] / min(others) if "graft" in medians and others else None
        label = f"{arch} bs{batch}" + (" train step" if train else "")
        if a.json:
            print(json.dumps({"case": label, "threads": a.threads, "median_ms": medians, "graft_over_fastest": ratio}))
        else:
            cells = "".join(f"{medians[e]:>13.1f}" if e in medians else f"{'-':>13}" for e in engines)
            print(f"{label:<28}{cells}{(f'{ratio:.2f}' if ratio else '-'):>15}")


if __name__ == "__main__":
    main()
