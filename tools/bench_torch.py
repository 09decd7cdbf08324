"""Side-by-side inference benchmark: Graft's `graft bench` and PyTorch on the same machine.

For each case it times torchvision's model (random weights, eval, torch.inference_mode, 2 threads) and
runs the release `graft bench --json` for the same architecture, batch, size and threads, then prints
both medians and the ratio Graft/PyTorch (below 1 means Graft is faster).

  .venv/bin/python tools/bench_torch.py                    # the issue's four cases
  .venv/bin/python tools/bench_torch.py --arch resnet18 --batch 16 --iterations 10
  .venv/bin/python tools/bench_torch.py --json             # one JSON object per case
  (each case alternates Graft and PyTorch --rounds times, 3 by default, and reports the medians)

Run it on a quiet machine (other processes change both numbers); `make bench` builds and runs it.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torchvision

DEFAULT_CASES = [("resnet50", 1), ("resnet50", 8), ("vgg16", 1), ("efficientnet_b0", 1)]


def torch_median_ms(arch, batch, size, threads, iterations, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.get_model(arch, weights=None).eval()
    x = torch.randn(batch, 3, size, size)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(iterations):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def graft_median_ms(graft, arch, batch, size, threads, iterations, warmup):
    out = subprocess.run([graft, "bench", "--arch", arch, "--batch", str(batch), "--size", str(size),
                          "--threads", str(threads), "--iterations", str(iterations), "--warmup", str(warmup), "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["median_ms"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--graft", default=".build/release/graft")
    p.add_argument("--rounds", type=int, default=3, help="alternate Graft and PyTorch this many times; report medians")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    cases = [(a.arch, a.batch)] if a.arch else DEFAULT_CASES
    if not a.json:
        print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {a.threads} threads, {a.size}x{a.size}")
        print(f"{'case':<24} {'graft ms':>10} {'torch ms':>10} {'ratio':>7}")
    for arch, batch in cases:
        # Alternate the two so that a noisy neighbour on the machine hits both alike.
        gs, ts = [], []
        for _ in range(a.rounds):
            gs.append(graft_median_ms(a.graft, arch, batch, a.size, a.threads, a.iterations, a.warmup))
            ts.append(torch_median_ms(arch, batch, a.size, a.threads, a.iterations, a.warmup))
        g, t = statistics.median(gs), statistics.median(ts)
        if a.json:
            print(json.dumps({"arch": arch, "batch": batch, "graft_median_ms": g, "torch_median_ms": t, "ratio": g / t}))
        else:
            print(f"{arch + ' bs' + str(batch):<24} {g:>10.1f} {t:>10.1f} {g / t:>7.2f}")


if __name__ == "__main__":
    main()
