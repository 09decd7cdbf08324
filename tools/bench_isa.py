"""This build with AVX-512 turned off, against an older build: issue 13's "no slower on an AVX2 machine".

On an AVX-512 CPU, the current `graft` runs with its AVX-512 blocks off (GRAFT_NO_AVX512=1), OpenBLAS held
to its Haswell (AVX2) kernels (OPENBLAS_CORETYPE and GRAFT_BLAS_CORETYPE) and on Graft's own kernels
(`--engine graft`: XNNPACK picks its instruction set itself, so it cannot be made to run as on an AVX2
CPU). The baseline binary, an older build of the same tool, runs under the same OpenBLAS pin. On an
AVX2-only machine the pins change nothing and the comparison is the real one. A third column gives the
current build at the machine's full width, for scale. Rounds alternate the binaries; each figure is the
median over rounds of `graft bench`'s median.

  git worktree add /tmp/base <commit> && (cd /tmp/base && swift build -c release --product graft <flags>)
  .venv/bin/python tools/bench_isa.py --baseline /tmp/base/.build/release/graft [--baseline-engine] [--case resnet50:1]
      [--rounds 5]
"""
import argparse
import json
import os
import statistics
import subprocess
from pathlib import Path

from bench_anchors import DEFAULT_CASES, ROOT, cpu_model, thread_env

AVX2_ENV = {"OPENBLAS_CORETYPE": "Haswell", "GRAFT_BLAS_CORETYPE": "Haswell", "GRAFT_NO_AVX512": "1"}


def bench(graft, arch, batch, threads, train, extra_env, extra_args):
    cmd = [graft, "bench", "--arch", arch, "--batch", str(batch), "--threads", str(threads), "--json"]
    cmd += (["--train"] if train else []) + extra_args
    env = thread_env(threads)
    env.update(extra_env)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)["median_ms"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", required=True, help="graft binary of the older build")
    p.add_argument("--graft", default=str(ROOT / ".build" / "release" / "graft"))
    p.add_argument("--case", action="append", help="ARCH:BATCH[:train] (repeatable); the anchor cases otherwise")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline-engine", action="store_true",
                   help="the baseline has --engine too (builds since the XNNPACK engine): run it on Graft's kernels")
    a = p.parse_args()
    runs = {
        "baseline AVX2": lambda *c: bench(a.baseline, *c, AVX2_ENV, ["--engine", "graft"] if a.baseline_engine else []),
        "this AVX2": lambda *c: bench(a.graft, *c, AVX2_ENV, ["--engine", "graft"]),
        "this full width": lambda *c: bench(a.graft, *c, {}, []),
    }
    print(f"{cpu_model()}, {a.threads} threads, {a.rounds} rounds alternated (ms, medians)")
    print(f"{'case':<28}" + "".join(f"{k:>17}" for k in runs) + f"{'AVX2 this/base':>16}")
    for case in a.case or DEFAULT_CASES:
        parts = case.split(":")
        arch, batch, train = parts[0], int(parts[1]), len(parts) > 2 and parts[2] == "train"
        samples = {k: [] for k in runs}
        for _ in range(a.rounds):
            for name, run in runs.items():
                samples[name].append(run(arch, batch, a.threads, train))
        medians = {k: statistics.median(v) for k, v in samples.items()}
        label = f"{arch} bs{batch}" + (" train step" if train else "")
        ratio = medians["this AVX2"] / medians["baseline AVX2"]
        print(f"{label:<28}" + "".join(f"{medians[k]:>17.1f}" for k in runs) + f"{ratio:>16.2f}", flush=True)


if __name__ == "__main__":
    main()
