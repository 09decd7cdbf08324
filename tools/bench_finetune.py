"""Fine-tuning speed, PyTorch side by side with Graft (a benchmark, not a test).

Two cases, PyTorch on 2 threads (torch.set_num_threads(2)):
1. train step: one full torchvision resnet18 training step (random init, every layer trainable, SGD
   momentum 0.9, cross-entropy) on a batch of 16 random 224x224 inputs: zero_grad, forward, backward,
   step. The median over --steps steps after --warmup untimed ones.
2. fine-tune: 5 epochs of frozen-backbone fine-tuning of resnet18 on 200 JPEGs of varied sizes in 2
   classes (an ImageFolder, written to a temporary folder unless --data names one), loaded with the eval
   preset of ResNet18_Weights.IMAGENET1K_V1 and no augmentation. A plain loop that reruns the backbone
   every epoch: model.train(), backbone requires_grad False and its BatchNorm in eval mode, a new fc,
   SGD momentum 0.9, batch 16. Timed end to end, as a user would run it: load the checkpoint, build the
   data set, train, save the fine-tuned state dict. The epochs alone are printed as well.

With --graft PATH it also runs Graft's side of each case and prints the ratios Graft / PyTorch (below
1 means Graft is faster):
    PATH bench --arch resnet18 --batch 16 --train --json --threads 2 --warmup W --iterations S
    PATH finetune --arch resnet18 --checkpoint <the random resnet18 .pth both sides load> --data DIR
        --epochs 5 --batch 16 --freeze backbone --no-augment --output <tmp>.safetensors --json
A Graft call that fails is reported and the script goes on.

    /work/main/.venv/bin/python tools/bench_finetune.py
    /work/main/.venv/bin/python tools/bench_finetune.py --graft .build/release/graft [--json]

Run it on a quiet machine: other processes change both numbers.
"""

import argparse
import json
import statistics
import os
import subprocess
import tempfile
import time
from pathlib import Path

# torch.set_num_threads alone leaves OpenMP's pool unsized, which on these VMs stalls PyTorch for
# seconds per step: fix the pool before torch loads (Graft's runs inherit the same setting).
os.environ["OMP_NUM_THREADS"] = "2"

import numpy
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

THREADS = 2


def make_images(root, count, seed=0):
    """`count` random-content JPEGs, half in each of two classes, sides 160..480 px.

    The content is a smooth random colour field (upsampled noise) plus fine noise, so the files decode
    and compress like photographs rather than like flat colour or pure noise.
    """
    rng = numpy.random.default_rng(seed)
    for i in range(count):
        folder = Path(root) / ("class_a" if i % 2 == 0 else "class_b")
        folder.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in rng.integers(160, 481, 2))
        coarse = rng.uniform(0, 255, (int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3))
        field = Image.fromarray(coarse.astype(numpy.uint8), "RGB").resize((width, height), Image.BICUBIC)
        pixels = numpy.asarray(field, dtype=numpy.float64) + rng.normal(0, 12, (height, width, 3))
        image = Image.fromarray(numpy.clip(pixels, 0, 255).astype(numpy.uint8), "RGB")
        image.save(folder / f"img_{i:04d}.jpg", quality=90)


def torch_train_step_ms(batch, steps, warmup):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224)
    y = torch.randint(0, 1000, (batch,))
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def torch_finetune_s(checkpoint, data, epochs, batch, workers, output):
    """(total seconds, seconds in the epochs, last epoch's mean loss)."""
    from torchvision.models import ResNet18_Weights
    start = time.perf_counter()
    model = torchvision.models.resnet18(weights=None)
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    dataset = torchvision.datasets.ImageFolder(data, transform=ResNet18_Weights.IMAGENET1K_V1.transforms())
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers)
    model.fc = nn.Linear(model.fc.in_features, len(dataset.classes))
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("fc."))
    model.train()
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()  # frozen backbone BatchNorm: running statistics, no updates
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
    epochs_start = time.perf_counter()
    for _ in range(epochs):
        losses = []
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    epochs_s = time.perf_counter() - epochs_start
    torch.save(model.state_dict(), output)
    return time.perf_counter() - start, epochs_s, sum(losses) / len(losses)


def run_graft(command):
    """(parsed JSON stdout, wall seconds) or (None, error text)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        return None, f"{command[0]}: {error}"
    wall = time.perf_counter() - start
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        return None, f"exit {done.returncode}: {message[-1] if message else 'no output'}"
    try:
        # `bench` prints one JSON object; `finetune --json` one per epoch (JSON lines): keep them all.
        try:
            return json.loads(done.stdout), wall
        except json.JSONDecodeError:
            return [json.loads(line) for line in done.stdout.splitlines() if line.strip()], wall
    except json.JSONDecodeError:
        return None, f"not JSON: {done.stdout.strip()[:200]}"


def ratio(graft, torch_value):
    return None if graft is None else graft / torch_value


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--graft", help="the graft executable (e.g. .build/release/graft); PyTorch only without")
    p.add_argument("--data", help="ImageFolder to fine-tune on; 200 JPEGs are generated there if it is empty")
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=7, help="timed training steps (at least 5)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args()
    if a.steps < 5:
        p.error("--steps must be at least 5")
    torch.set_num_threads(THREADS)
    scratch = tempfile.TemporaryDirectory(prefix="graft-bench-finetune-")
    tmp = Path(scratch.name)
    data = Path(a.data) if a.data else tmp / "data"
    if not data.exists() or not any(data.iterdir()):
        make_images(data, a.images)
    checkpoint = tmp / "resnet18_random.pth"
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), checkpoint)

    report = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": THREADS,
              "batch": a.batch, "data": str(data), "workers": a.workers}
    report["torch_train_step_ms"] = torch_train_step_ms(a.batch, a.steps, a.warmup)
    total, epochs_s, loss = torch_finetune_s(checkpoint, data, a.epochs, a.batch, a.workers,
                                             tmp / "torch_finetuned.pth")
    report.update(torch_finetune_s=total, torch_finetune_epochs_s=epochs_s, torch_finetune_last_loss=loss)

    if a.graft:
        out, info = run_graft([a.graft, "bench", "--arch", "resnet18", "--batch", str(a.batch), "--train",
                               "--json", "--threads", str(THREADS), "--warmup", str(a.warmup),
                               "--iterations", str(a.steps)])
        report["graft_train_step_ms"] = out.get("median_ms") if out else None
        report["graft_bench_error"] = None if out else info
        out, info = run_graft([a.graft, "finetune", "--arch", "resnet18", "--checkpoint", str(checkpoint),
                               "--data", str(data), "--epochs", str(a.epochs), "--batch", str(a.batch),
                               "--freeze", "backbone", "--no-augment", "--output",
                               str(tmp / "graft_finetuned.safetensors"), "--json"])
        report["graft_finetune_s"] = info if out is not None else None
        report["graft_finetune_error"] = None if out is not None else info
        report["train_step_ratio"] = ratio(report["graft_train_step_ms"], report["torch_train_step_ms"])
        report["finetune_ratio"] = ratio(report["graft_finetune_s"], report["torch_finetune_s"])
    scratch.cleanup()

    if a.json:
        print(json.dumps(report))
        return
    print(f"torch {report['torch']}, torchvision {report['torchvision']}, {THREADS} threads, "
          f"batch {a.batch}, DataLoader workers {a.workers}")
    print(f"{'case':<34} {'graft':>10} {'torch':>10} {'ratio':>7}")
    rows = [("resnet18 train step (ms, median)", "graft_train_step_ms", "torch_train_step_ms",
             "train_step_ratio", "graft_bench_error"),
            (f"resnet18 fine-tune {a.epochs} epochs (s)", "graft_finetune_s", "torch_finetune_s",
             "finetune_ratio", "graft_finetune_error")]
    for label, g, t, r, err in rows:
        graft_text = "-" if report.get(g) is None else f"{report[g]:.1f}"
        ratio_text = "-" if report.get(r) is None else f"{report[r]:.2f}"
        print(f"{label:<34} {graft_text:>10} {report[t]:>10.1f} {ratio_text:>7}")
        if report.get(err):
            print(f"  graft failed: {report[err]}")
    print(f"(torch fine-tune: {report['torch_finetune_epochs_s']:.1f} s in the epochs, "
          f"last epoch's mean loss {report['torch_finetune_last_loss']:.3f})")


if __name__ == "__main__":
    main()
