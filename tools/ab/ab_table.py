#!/usr/bin/env python3
"""A/B of convolution kernels per layer kind (issue 13): Graft's own against oneDNN and XNNPACK.

Runs GraftKernelBench (`--tsv`) and tools/ab/ab_conv.c on the same layers of ResNet-50,
EfficientNet-B0, VGG-16 and ConvNeXt-Tiny (batch 1, the same thread count), alternating the two processes for
`--rounds` rounds so both see the same machine load, and prints markdown tables: per layer kind
(summed over a forward pass, layer times × their count) and, with --layers, per layer.

    python3 tools/ab/ab_table.py [--threads 2] [--rounds 3] [--reps 15] [--layers]

Needs libdnnl-dev, libxnnpack-dev and libpthreadpool-dev (`make ab` installs them) and a release
build of GraftKernelBench. Each number is the median over rounds of per-round medians, in ms.
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, ".build/release/GraftKernelBench")
AB = os.path.join(ROOT, ".build-ab/ab_conv")
TITLES = {"ResNet-50 convolutions": "resnet50", "EfficientNet-B0 convolutions": "effnet", "VGG-16 convolutions": "vgg16",
          "ConvNeXt-Tiny convolutions": "convnext"}
ENGINES = ["graft", "onednn-blocked", "onednn-nchw", "xnnpack-nhwc"]


def kind(name):
    if name.startswith("dw"):
        return "depthwise " + name.split()[0][2:] + "×" + name.split()[0][2:] + (" s2" if " s2 " in name else "")
    if name.startswith("stem"):
        return "stem (3 input channels)"
    k = name.split()[0].replace("x", "×")
    return k + (" s2" if " s2 " in name else "")


def tsv(lines):
    for line in lines.splitlines():
        f = line.split("\t")
        if len(f) >= 5:
            yield f


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--layers", action="store_true", help="also print every layer")
    a = p.parse_args()
    if not os.path.exists(AB) or os.path.getmtime(AB) < os.path.getmtime(os.path.join(ROOT, "tools/ab/ab_conv.c")):
        os.makedirs(os.path.dirname(AB), exist_ok=True)
        subprocess.check_call(["cc", "-O2", "-o", AB, os.path.join(ROOT, "tools/ab/ab_conv.c"),
                               "-ldnnl", "-lXNNPACK", "-lpthreadpool", "-lm"])
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), AB_THREADS=str(a.threads))
    layers = [f for f in tsv(subprocess.check_output([BENCH, "list"], text=True)) if len(f) == 10]
    shape_list = "".join("\t".join(f) + "\n" for f in layers)
    counts = {(f[0], f[1]): int(f[9]) for f in layers}
    times = collections.defaultdict(list)
    impl = {}
    for r in range(a.rounds):
        out = subprocess.check_output([BENCH, *TITLES.values(), "--tsv", "--threads", str(a.threads),
                                       "--reps", str(a.reps)], text=True, env=env)
        for f in tsv(out):
            times[(TITLES[f[0]], f[1], "graft")].append(float(f[3]))
        out = subprocess.run([AB, "1", str(a.reps)], input=shape_list, capture_output=True, text=True, env=env,
                             check=True).stdout
        for f in tsv(out):
            times[(f[0], f[1], f[2])].append(float(f[3]))
            if len(f) > 5 and f[5]:
                impl[f[2]] = impl.get(f[2], set()) | {f[5]}
        print(f"round {r + 1} of {a.rounds} done", file=sys.stderr)
    ms = {key: statistics.median(v) for key, v in times.items()}

    print(f"Batch 1, {a.threads} threads, ms per forward pass (layer time × occurrences, summed by kind);"
          f" medians of {a.rounds} alternated rounds of {a.reps} runs.\n")
    print("| network | layer kind | layers | Graft | oneDNN blocked | oneDNN NCHW | XNNPACK NHWC | fastest | Graft / fastest |")
    print("|---|---|---|---|---|---|---|---|---|")
    for net in TITLES.values():
        by_kind = collections.OrderedDict()
        for (n, name), count in counts.items():
            if n != net:
                continue
            k = by_kind.setdefault(kind(name), {"layers": 0, **{e: 0.0 for e in ENGINES}})
            k["layers"] += count
            for e in ENGINES:
                k[e] += ms.get((net, name, e), float("nan")) * count
        total = {"layers": 0, **{e: 0.0 for e in ENGINES}}
        for name, k in list(by_kind.items()) + [("all convolutions", None)]:
            k = k or total
            if name != "all convolutions":
                for key in total:
                    total[key] += k[key]
            best = min(ENGINES, key=lambda e: k[e])
            cells = " | ".join(f"{k[e]:.2f}" for e in ENGINES)
            label = f"**{name}**" if name == "all convolutions" else name
            print(f"| {net} | {label} | {k['layers']} | {cells} | {best} | {k['graft'] / k[best]:.2f} |")
    if a.layers:
        print("\n| network | layer | × | " + " | ".join(ENGINES) + " |")
        print("|---|---|---|" + "---|" * len(ENGINES))
        for (net, name), count in counts.items():
            print(f"| {net} | {name} | {count} | " + " | ".join(f"{ms.get((net, name, e), float('nan')):.3f}" for e in ENGINES) + " |")
    print("\nImplementations oneDNN chose: " + "; ".join(f"{e}: {', '.join(sorted(v))}" for e, v in sorted(impl.items())))


if __name__ == "__main__":
    main()
