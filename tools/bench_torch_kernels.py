#!/usr/bin/env python3
"""PyTorch side of GraftKernelBench: the same convolution shapes timed with
torch.nn.functional.conv2d (+ the activation, which Graft fuses) on 2 threads, and whole
torchvision models, so the two can be compared on this machine side by side.

    /work/main/.venv/bin/python tools/bench_torch_kernels.py [resnet50|effnet|vgg16|backward|models] [--batch N]

Medians of several runs after warm-up (other processes share the cores).
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)

# (name, in, out, k, stride, size, groups, activation, count) — mirrors Sources/GraftKernelBench/Shapes.swift.
RESNET50 = [
    ("stem 7x7 s2 3→64 @224", 3, 64, 7, 2, 224, 1, "relu", 1), ("1x1 64→64 @56", 64, 64, 1, 1, 56, 1, "relu", 1),
    ("1x1 256→64 @56", 256, 64, 1, 1, 56, 1, "relu", 2), ("3x3 64→64 @56", 64, 64, 3, 1, 56, 1, "relu", 3),
    ("1x1 64→256 @56", 64, 256, 1, 1, 56, 1, None, 4), ("1x1 256→128 @56", 256, 128, 1, 1, 56, 1, "relu", 1),
    ("3x3 s2 128→128 @56", 128, 128, 3, 2, 56, 1, "relu", 1), ("1x1 s2 256→512 @56", 256, 512, 1, 2, 56, 1, None, 1),
    ("1x1 128→512 @28", 128, 512, 1, 1, 28, 1, None, 4), ("1x1 512→128 @28", 512, 128, 1, 1, 28, 1, "relu", 3),
    ("3x3 128→128 @28", 128, 128, 3, 1, 28, 1, "relu", 3), ("1x1 512→256 @28", 512, 256, 1, 1, 28, 1, "relu", 1),
    ("3x3 s2 256→256 @28", 256, 256, 3, 2, 28, 1, "relu", 1), ("1x1 s2 512→1024 @28", 512, 1024, 1, 2, 28, 1, None, 1),
    ("1x1 256→1024 @14", 256, 1024, 1, 1, 14, 1, None, 6), ("1x1 1024→256 @14", 1024, 256, 1, 1, 14, 1, "relu", 5),
    ("3x3 256→256 @14", 256, 256, 3, 1, 14, 1, "relu", 5), ("1x1 1024→512 @14", 1024, 512, 1, 1, 14, 1, "relu", 1),
    ("3x3 s2 512→512 @14", 512, 512, 3, 2, 14, 1, "relu", 1), ("1x1 s2 1024→2048 @14", 1024, 2048, 1, 2, 14, 1, None, 1),
    ("1x1 512→2048 @7", 512, 2048, 1, 1, 7, 1, None, 3), ("1x1 2048→512 @7", 2048, 512, 1, 1, 7, 1, "relu", 2),
    ("3x3 512→512 @7", 512, 512, 3, 1, 7, 1, "relu", 2),
]
EFFNET = [
    ("stem 3x3 s2 3→32 @224", 3, 32, 3, 2, 224, 1, "silu", 1), ("dw3 32 @112", 32, 32, 3, 1, 112, 32, "silu", 1),
    ("1x1 32→16 @112", 32, 16, 1, 1, 112, 1, None, 1), ("1x1 16→96 @112", 16, 96, 1, 1, 112, 1, "silu", 1),
    ("dw3 s2 96 @112", 96, 96, 3, 2, 112, 96, "silu", 1), ("1x1 96→24 @56", 96, 24, 1, 1, 56, 1, None, 1),
    ("1x1 24→144 @56", 24, 144, 1, 1, 56, 1, "silu", 2), ("dw3 144 @56", 144, 144, 3, 1, 56, 144, "silu", 1),
    ("1x1 144→24 @56", 144, 24, 1, 1, 56, 1, None, 1), ("dw5 s2 144 @56", 144, 144, 5, 2, 56, 144, "silu", 1),
    ("1x1 144→40 @28", 144, 40, 1, 1, 28, 1, None, 1), ("1x1 40→240 @28", 40, 240, 1, 1, 28, 1, "silu", 2),
    ("dw5 240 @28", 240, 240, 5, 1, 28, 240, "silu", 1), ("1x1 240→40 @28", 240, 40, 1, 1, 28, 1, None, 1),
    ("dw3 s2 240 @28", 240, 240, 3, 2, 28, 240, "silu", 1), ("1x1 240→80 @14", 240, 80, 1, 1, 14, 1, None, 1),
    ("1x1 80→480 @14", 80, 480, 1, 1, 14, 1, "silu", 3), ("dw3 480 @14", 480, 480, 3, 1, 14, 480, "silu", 2),
    ("1x1 480→80 @14", 480, 80, 1, 1, 14, 1, None, 2), ("dw5 480 @14", 480, 480, 5, 1, 14, 480, "silu", 1),
    ("1x1 480→112 @14", 480, 112, 1, 1, 14, 1, None, 1), ("1x1 112→672 @14", 112, 672, 1, 1, 14, 1, "silu", 3),
    ("dw5 672 @14", 672, 672, 5, 1, 14, 672, "silu", 2), ("1x1 672→112 @14", 672, 112, 1, 1, 14, 1, None, 2),
    ("dw5 s2 672 @14", 672, 672, 5, 2, 14, 672, "silu", 1), ("1x1 672→192 @7", 672, 192, 1, 1, 7, 1, None, 1),
    ("1x1 192→1152 @7", 192, 1152, 1, 1, 7, 1, "silu", 4), ("dw5 1152 @7", 1152, 1152, 5, 1, 7, 1152, "silu", 3),
    ("1x1 1152→192 @7", 1152, 192, 1, 1, 7, 1, None, 3), ("dw3 1152 @7", 1152, 1152, 3, 1, 7, 1152, "silu", 1),
    ("1x1 1152→320 @7", 1152, 320, 1, 1, 7, 1, None, 1), ("1x1 320→1280 @7", 320, 1280, 1, 1, 7, 1, "silu", 1),
]
VGG16 = [
    ("3x3 3→64 @224", 3, 64, 3, 1, 224, 1, "relu", 1), ("3x3 64→64 @224", 64, 64, 3, 1, 224, 1, "relu", 1),
    ("3x3 64→128 @112", 64, 128, 3, 1, 112, 1, "relu", 1), ("3x3 128→128 @112", 128, 128, 3, 1, 112, 1, "relu", 1),
    ("3x3 128→256 @56", 128, 256, 3, 1, 56, 1, "relu", 1), ("3x3 256→256 @56", 256, 256, 3, 1, 56, 1, "relu", 2),
    ("3x3 256→512 @28", 256, 512, 3, 1, 28, 1, "relu", 1), ("3x3 512→512 @28", 512, 512, 3, 1, 28, 1, "relu", 2),
    ("3x3 512→512 @14", 512, 512, 3, 1, 14, 1, "relu", 3),
]
RESNET18 = [
    ("stem 7x7 s2 3→64 @224", 3, 64, 7, 2, 224, 1, None, 1), ("3x3 64→64 @56", 64, 64, 3, 1, 56, 1, None, 4),
    ("3x3 s2 64→128 @56", 64, 128, 3, 2, 56, 1, None, 1), ("1x1 s2 64→128 @56", 64, 128, 1, 2, 56, 1, None, 1),
    ("3x3 128→128 @28", 128, 128, 3, 1, 28, 1, None, 3), ("3x3 s2 128→256 @28", 128, 256, 3, 2, 28, 1, None, 1),
    ("1x1 s2 128→256 @28", 128, 256, 1, 2, 28, 1, None, 1), ("3x3 256→256 @14", 256, 256, 3, 1, 14, 1, None, 3),
    ("3x3 s2 256→512 @14", 256, 512, 3, 2, 14, 1, None, 1), ("1x1 s2 256→512 @14", 256, 512, 1, 2, 14, 1, None, 1),
    ("3x3 512→512 @7", 512, 512, 3, 1, 7, 1, None, 3),
]
ACT = {None: lambda t: t, "relu": F.relu, "silu": F.silu}


def timeit(fn, reps=9):
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def convs(title, shapes, batch):
    print(f"== torch {torch.__version__} {title}, batch {batch}, {torch.get_num_threads()} threads")
    total = flops_total = 0.0
    with torch.no_grad():
        for name, cin, cout, k, s, size, groups, act, count in shapes:
            x = torch.randn(batch, cin, size, size)
            w = torch.randn(cout, cin // groups, k, k)
            b = torch.randn(cout)
            t = timeit(lambda: ACT[act](F.conv2d(x, w, b, stride=s, padding=(k - 1) // 2, groups=groups)))
            out = (size + 2 * ((k - 1) // 2) - k) // s + 1
            flops = 2 * batch * cout * out * out * (cin // groups) * k * k
            total += t * count
            flops_total += flops * count
            print(f"{name:28s}×{count:<5d} {t * 1e3:9.3f} ms  {flops / t / 1e9:7.1f} GFLOP/s")
    print(f"sum of convolutions: {total * 1e3:.2f} ms for {flops_total / 1e9:.2f} GFLOP\n")


def backward(batch):
    print(f"== torch conv backward (input + weight + bias gradients), ResNet-18 shapes, batch {batch}")
    total = 0.0
    for name, cin, cout, k, s, size, groups, _, count in RESNET18:
        x = torch.randn(batch, cin, size, size, requires_grad=True)
        w = torch.randn(cout, cin, k, k, requires_grad=True)
        b = torch.randn(cout, requires_grad=True)
        y = F.conv2d(x, w, b, stride=s, padding=(k - 1) // 2)
        dy = torch.randn_like(y)
        t = timeit(lambda: torch.autograd.grad(y, (x, w, b), dy, retain_graph=True), reps=5)
        out = (size + 2 * ((k - 1) // 2) - k) // s + 1
        flops = 2 * 2 * batch * cout * out * out * cin * k * k
        total += t * count
        print(f"{name:28s}×{count:<5d} {t * 1e3:9.2f} ms  {flops / t / 1e9:7.1f} GFLOP/s")
    print(f"sum: {total * 1e3:.1f} ms\n")


def models():
    import torchvision
    for name, bs in [("resnet50", 1), ("resnet50", 8), ("vgg16", 1), ("efficientnet_b0", 1)]:
        m = getattr(torchvision.models, name)().eval()
        x = torch.randn(bs, 3, 224, 224)
        with torch.no_grad():
            t = timeit(lambda: m(x), reps=7 if bs == 1 else 3)
        print(f"torch {name} batch {bs}: {t * 1e3:.1f} ms")
    m = torchvision.models.resnet18().train()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(16, 3, 224, 224), torch.randint(0, 1000, (16,))

    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    print(f"torch resnet18 SGD step batch 16: {timeit(step, reps=3) * 1e3:.0f} ms")


if __name__ == "__main__":
    args = sys.argv[1:]
    batch = 1
    if "--batch" in args:
        batch = int(args[args.index("--batch") + 1])
    suites = [a for a in args if not a.startswith("--") and not a.isdigit()] or ["resnet50", "effnet", "vgg16"]
    for suite in suites:
        if suite == "resnet50":
            convs("ResNet-50 convolutions", RESNET50, batch)
        elif suite == "effnet":
            convs("EfficientNet-B0 convolutions", EFFNET, batch)
        elif suite == "vgg16":
            convs("VGG-16 convolutions", VGG16, batch)
        elif suite == "backward":
            backward(16 if "--batch" not in args else batch)
        elif suite == "models":
            models()
