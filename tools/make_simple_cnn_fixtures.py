"""Make the SimpleCNN / LeNet-5 references: Fixtures/simple_cnn/ (digits set, checkpoint, logits, key lists).

The networks are the course models of /work/shared/reference/simple_cnn.md, written here module for
module: module names are the state-dict keys a Swift definition must reproduce.
1. digits/{train,val}/<0..9>/NNNN.png: scikit-learn's bundled digits (load_digits: 1797 8x8 images,
   values 0..16) as 8-bit grey PNG, v -> round(v * 255 / 16), upscaled 4x to 32x32 by nearest-neighbour
   pixel repetition. NNNN is the load_digits index; stratified 80/20 split with a fixed seed.
2. simple_cnn.pth.xz: SimpleCNN(10 classes, 3 channels) trained on digits/train as read back from the
   PNGs (grey replicated to RGB, (x - 0.5) / 0.5). To make 7.6 MB of float32 compress, every conv/linear
   weight is then quantised per output channel to scale_c * q, q in -7..7, and only the BatchNorm affine
   parameters and fc.bias train on (train mode, so the running statistics become the quantised
   network's). torch.save(state_dict) (zip format), then xz (lzma preset 9 | PRESET_EXTREME).
3. simple_cnn_input.npy (three val digits and one noise image, normalised), simple_cnn_logits.npy (its
   eval-mode float32 logits; the float64 deviation is in the manifest).
4. simple_cnn_keys.json, lenet_keys.json: the ordered keys, dtypes and shapes load_state_dict(strict=True)
   needs, so a Swift test can check an export without Python.
Checks: the .pth.xz reloaded into a freshly initialised model reproduces the logits bit for bit; the
quantised weights keep at most 15 values per output channel after the fine-tuning.

Deterministic (fixed seeds, one thread, deterministic kernels), CPU only, about three minutes. From the
repository root:
    /work/main/.venv/bin/python tools/make_simple_cnn_fixtures.py
A .pth exported by Graft is checked with tools/check_simple_cnn_export.py.
"""

import copy
import io
import lzma
import shutil
import sys
import tempfile
from pathlib import Path

import numpy
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

OUT = lib.FIXTURES / "simple_cnn"
SPLIT_SEED, INIT_SEED, SHUFFLE_SEED, TUNE_SEED, NOISE_SEED = 0, 1, 2, 3, 4
MEAN, STD = 0.5, 0.5  # per channel, on [0, 1] grey replicated to RGB
TRAIN = {"steps": 300, "batch": 64, "optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
         "schedule": "cosine over all steps", "augmentation": "none"}
TUNE = {"steps": 100, "batch": 64, "optimizer": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
        "trained": "BatchNorm weight/bias and fc.bias only", "mode": "train (running statistics updated)"}
LEVELS = 7  # q in -LEVELS..LEVELS: 15 levels, 4 bits
XZ_PRESET = 9 | lzma.PRESET_EXTREME
VERIFY_CLASSES = (0, 3, 7)  # the first val image of each goes into simple_cnn_input.npy
TOLERANCE = 1e-4  # the parity bar for Swift logits (tools/check_simple_cnn_export.py)


# --- the reference networks (simple_cnn.md) -------------------------------------------------------

class ConvBlock(nn.Module):
    def __init__(self, cin, cout, kernel=3, stride=1, residual=False):
        super().__init__()
        self.residual = residual
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        if residual and (cin != cout or stride != 1):
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.bn(self.conv(x))
        if self.residual:
            out = out + self.shortcut(x)
        return self.relu(out)


class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.stem = ConvBlock(in_channels, 32)
        self.block1 = nn.Sequential(ConvBlock(32, 64, stride=2), ConvBlock(64, 64, residual=True))
        self.block2 = nn.Sequential(ConvBlock(64, 128, stride=2), ConvBlock(128, 128, residual=True),
                                    ConvBlock(128, 128, residual=True))
        self.block3 = nn.Sequential(ConvBlock(128, 256, stride=2), ConvBlock(256, 256, residual=True),
                                    ConvBlock(256, 256, residual=True))
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(256, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.stem(x))))
        return self.fc(self.dropout(torch.flatten(self.global_pool(x), 1)))


class LeNet5(nn.Module):
    """Grey 32x32 in, 10 logits out; PyTorch's default initialisation."""

    def __init__(self):
        super().__init__()
        self.conv1, self.pool1 = nn.Conv2d(1, 6, 5), nn.MaxPool2d(2)
        self.conv2, self.pool2 = nn.Conv2d(6, 16, 5), nn.MaxPool2d(2)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


ARCHS = {"simple_cnn": SimpleCNN, "lenet": LeNet5}


def versions():
    """fixturelib's versions block without the libraries this script does not use, plus its own."""
    import importlib.metadata
    found = {k: v for k, v in lib.versions().items() if v is not None}
    return dict(found, scikit_learn=importlib.metadata.version("scikit-learn"), pillow=Image.__version__)


def load_checkpoint(path):
    """A state dict from a .pth, or from a .pth.xz decompressed in memory; weights only."""
    if str(path).endswith(".xz"):
        return torch.load(io.BytesIO(lzma.decompress(Path(path).read_bytes())), weights_only=True)
    return torch.load(path, weights_only=True, map_location="cpu")


# --- 1. the digits ImageFolder ------------------------------------------------------------------------

def write_digits():
    """Write digits/{train,val}/<class>/NNNN.png; returns the split counts per class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    grey = numpy.rint(digits.images * 255.0 / 16.0).astype(numpy.uint8)  # 0..16 -> 0..255, 17 levels
    index = numpy.arange(len(grey))
    train, val = train_test_split(index, test_size=0.2, stratify=digits.target, random_state=SPLIT_SEED)
    shutil.rmtree(OUT / "digits", ignore_errors=True)  # stale files of an earlier split must not survive
    counts = {}
    for split, members in (("train", train), ("val", val)):
        counts[split] = {str(c): 0 for c in range(10)}
        for i in sorted(members):
            label = str(digits.target[i])
            folder = OUT / "digits" / split / label
            folder.mkdir(parents=True, exist_ok=True)
            big = grey[i].repeat(4, axis=0).repeat(4, axis=1)  # nearest 4x: each pixel a 4x4 square
            Image.fromarray(big).save(folder / f"{i:04d}.png", optimize=True)
            counts[split][label] += 1
    return counts


def read_split(split):
    """The split as the Swift ImageFolder sees it: sorted class folders, sorted files, grey -> RGB."""
    xs, ys, files = [], [], []
    for label in range(10):
        for path in sorted((OUT / "digits" / split / str(label)).glob("*.png")):
            xs.append(numpy.asarray(Image.open(path).convert("RGB"), dtype=numpy.float32) / 255.0)
            ys.append(label)
            files.append(str(path.relative_to(OUT)))
    x = (torch.from_numpy(numpy.stack(xs)).permute(0, 3, 1, 2).contiguous() - MEAN) / STD
    return x, torch.tensor(ys), files


# --- 2. training, quantisation, fine-tuning of the small parameters ---------------------------------

def run_steps(model, params, config, x, y, seed):
    """SGD over shuffled batches (epochs of a seeded permutation), model in train mode."""
    opt = torch.optim.SGD(params, lr=config["lr"], momentum=config["momentum"],
                          weight_decay=config["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config["steps"]) if "cosine" in config.get(
        "schedule", "") else None
    gen, order, model = torch.Generator().manual_seed(seed), torch.empty(0, dtype=torch.long), model.train()
    for _ in range(config["steps"]):
        if len(order) < config["batch"]:  # a new epoch; the short remainder is dropped
            order = torch.randperm(len(x), generator=gen)
        batch, order = order[:config["batch"]], order[config["batch"]:]
        loss = F.cross_entropy(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
    return loss.item()


def quantise(model):
    """w -> scale_c * q per output channel, q = round(w / scale_c) in -LEVELS..LEVELS, scale float32."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                scale = w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True) / LEVELS
                scale[scale == 0] = 1.0  # an all-zero channel stays zero instead of becoming NaN
                q = torch.clamp(torch.round(w / scale), -LEVELS, LEVELS)
                w.copy_(scale * q)


def max_levels(model):
    """The most distinct values any output channel of a conv/linear weight holds."""
    return max(len(torch.unique(row)) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
               for row in m.weight.detach().flatten(1))


def accuracy(model, x, y):
    with torch.no_grad():
        return (model.eval()(x).argmax(1) == y).float().mean().item()


# --- 3./4. references, key lists, manifest ------------------------------------------------------------

def train_model(x_train, y_train, x_val, y_val):
    """Train, quantise, tune the small parameters; returns the model and the val accuracy of each stage."""
    torch.manual_seed(INIT_SEED)
    model = SimpleCNN(num_classes=10, in_channels=3)
    loss = run_steps(model, model.parameters(), TRAIN, x_train, y_train, SHUFFLE_SEED)
    acc = {"before_quantisation": accuracy(model, x_val, y_val)}
    quantise(model)
    acc["quantised_before_tuning"] = accuracy(model, x_val, y_val)
    small = [p for n, p in model.named_parameters() if ".bn." in n or n == "fc.bias"]
    for p in model.parameters():  # only `small` may move: the quantised weights must stay on their levels
        p.requires_grad_(any(p is s for s in small))
    tune_loss = run_steps(model, small, TUNE, x_train, y_train, TUNE_SEED)
    acc["final"] = accuracy(model, x_val, y_val)
    if max_levels(model) > 2 * LEVELS + 1:
        raise AssertionError("fine-tuning moved a quantised weight")
    print("val accuracy " + ", ".join(f"{k} {v:.4f}" for k, v in acc.items())
          + f" (train loss {loss:.4f}, after tuning {tune_loss:.4f})")
    return model.eval(), {k: round(v, 4) for k, v in acc.items()}


def save_checkpoint(model):
    """torch.save under the name simple_cnn.pth (the archive prefix), then xz; returns raw size and sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "simple_cnn.pth"
        torch.save(model.state_dict(), raw)
        (OUT / "simple_cnn.pth.xz").write_bytes(lzma.compress(raw.read_bytes(), preset=XZ_PRESET))
        return raw.stat().st_size, lib.sha256_file(raw)


def write_reference(model, x_val, val_files):
    """Input (three val digits, then uniform pixel noise) and eval logits; checked by a fresh reload."""
    picks = [next(i for i, f in enumerate(val_files) if f.startswith(f"digits/val/{c}/")) for c in VERIFY_CLASSES]
    noise = (torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(NOISE_SEED)) - MEAN) / STD
    x = torch.cat([x_val[picks], noise])
    numpy.save(OUT / "simple_cnn_input.npy", x.numpy().astype(numpy.float32))
    with torch.no_grad():
        logits = model(x)
        exact = copy.deepcopy(model).double()(x.double())
    numpy.save(OUT / "simple_cnn_logits.npy", logits.numpy().astype(numpy.float32))

    torch.manual_seed(INIT_SEED + 5000)  # another init, so only the checkpoint can produce the logits
    fresh = SimpleCNN()
    fresh.load_state_dict(load_checkpoint(OUT / "simple_cnn.pth.xz"), strict=True)
    with torch.no_grad():
        again = fresh.eval()(torch.from_numpy(numpy.load(OUT / "simple_cnn_input.npy")))
    if not torch.equal(again, torch.from_numpy(numpy.load(OUT / "simple_cnn_logits.npy"))):
        raise AssertionError("reloading simple_cnn.pth.xz does not reproduce the saved logits")
    rows = [val_files[i] for i in picks] + [f"uniform [0, 1) pixels, torch.rand seed {NOISE_SEED}, normalised"]
    return {"input": "simple_cnn_input.npy", "input_rows": rows, "logits": "simple_cnn_logits.npy",
            "logits_mode": "eval", "max_abs_logit": round(logits.abs().max().item(), 6),
            "float64_deviation": float(f"{(logits.double() - exact).abs().max().item():.3g}")}


def key_list(arch, model):
    keys = [{"name": k, "dtype": lib.dtype_name(v.dtype), "shape": list(v.shape)} for k, v in model.state_dict().items()]
    return {"generator": "tools/make_simple_cnn_fixtures.py", "arch": arch, "keys": keys}


def pack_digits():
    """digits/ as one digits.tar.xz: 1797 small PNGs would take a disk block each (7 MB on disk for
    330 KB of data); the tests unpack it into a temporary folder."""
    import subprocess
    subprocess.run(f"tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-12-05 00:00Z' -cf - digits"
                   f" | xz -9e > digits.tar.xz", shell=True, check=True, cwd=OUT)
    shutil.rmtree(OUT / "digits")


def main():
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    counts = write_digits()
    x_train, y_train, _ = read_split("train")
    x_val, y_val, val_files = read_split("val")
    model, acc = train_model(x_train, y_train, x_val, y_val)
    raw_size, raw_sha = save_checkpoint(model)
    reference = write_reference(model, x_val, val_files)
    lib.write_json(OUT / "simple_cnn_keys.json", key_list("simple_cnn", model))
    lib.write_json(OUT / "lenet_keys.json", key_list("lenet", LeNet5()))

    digits_size = sum(p.stat().st_size for p in (OUT / "digits").rglob("*") if p.is_file())
    pack_digits()
    xz_size = (OUT / "simple_cnn.pth.xz").stat().st_size
    lib.write_json(OUT / "manifest.json", {
        "generator": "tools/make_simple_cnn_fixtures.py", "versions": versions(),
        "seeds": {"split": SPLIT_SEED, "init": INIT_SEED, "shuffle": SHUFFLE_SEED, "tune_shuffle": TUNE_SEED,
                  "noise": NOISE_SEED},
        "digits": {
            "source": "sklearn.datasets.load_digits (1797 8x8 images, values 0..16)",
            "pixels": "numpy.rint(v * 255 / 16) as uint8 (8 -> 128), 8-bit grey PNG (Pillow optimize=True)",
            "upscale": "nearest, 8x8 -> 32x32 (each pixel repeated 4x4)",
            "files": "digits/<split>/<class>/NNNN.png, NNNN = index in load_digits",
            "split": f"stratified 80/20, sklearn train_test_split(test_size=0.2, random_state={SPLIT_SEED})",
            "counts": counts, "bytes": digits_size},
        "normalization": {"input": "grey PNG decoded to RGB (value replicated to 3 channels), / 255, no resize",
                          "mean": [MEAN] * 3, "std": [STD] * 3},
        "simple_cnn": dict({
            "checkpoint": "simple_cnn.pth.xz", "config": {"num_classes": 10, "in_channels": 3}, "train": TRAIN,
            "quantisation": f"every conv/linear weight, per output channel: scale_c * q, scale_c = max|w_c| / "
                            f"{LEVELS} (float32), q = round(w / scale_c) in -{LEVELS}..{LEVELS}",
            "tune": TUNE, "saved": "torch.save(state_dict) (zip), then lzma.compress(preset=9 | PRESET_EXTREME)",
            "pth_bytes": raw_size, "pth_sha256": raw_sha, "xz_bytes": xz_size, "val_accuracy": acc,
            "keys": "simple_cnn_keys.json"}, **reference),
        "lenet": {"keys": "lenet_keys.json", "input": "[N, 1, 32, 32] grey"},
        "tolerance": TOLERANCE})
    print(f"digits {digits_size} B, simple_cnn.pth {raw_size} B -> xz {xz_size} B, "
          f"float64 deviation {reference['float64_deviation']:.1e}")


if __name__ == "__main__":
    main()
