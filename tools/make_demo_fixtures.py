"""Make the bundled transfer-learning demo: Fixtures/demo/ (backbone, image folder, references, manifest).

1. Source task: ten classes of synthetic 48x48 shapes and textures (tools/demo_shapes.py). A torchvision
   ResNet miniature (BasicBlock, layers [1,1,1,1], widths 8/16/32/64, built as in fixture_archs.py) is
   trained on them on CPU and saved as backbone.pth (torch.save(state_dict)), with its class names and
   a verification pair: backbone_input.npy (4 committed val images after the preset) and
   backbone_logits.npy (the eval-mode logits).
2. Target task: three new classes as an ImageFolder, images/{train,val}/<class>/*.{png,jpg}, 64x64, 20
   train and 8 val images per class, PNG and JPEG alternating, plus one truncated PNG in train that a
   loader must skip and report.
3. The preset the backbone was trained with, as torchvision writes it:
   ImageClassification(crop_size=48, resize_size=56, interpolation=BILINEAR) with ImageNet mean/std.
4. What a plain PyTorch fine-tune of a new head reaches on val (frozen backbone, BatchNorm in eval mode,
   SGD lr 0.05 momentum 0.9, 10 epochs, batch 8, no augmentation), over five head seeds, so that a
   test of "the bundled set learns" has a measured bar.

Deterministic (fixed seeds, one thread, deterministic kernels), CPU only, about a minute. From the
repository root:
    /work/main/.venv/bin/python tools/make_demo_fixtures.py
"""

import shutil
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_shapes as shapes  # noqa: E402
import fixturelib as lib  # noqa: E402
from fixture_archs import resnet_mini  # noqa: E402

OUT = lib.FIXTURES / "demo"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SOURCE_SIZE, TARGET_SIZE = 48, 64
SOURCE_TRAIN, SOURCE_VAL = 300, 60
TARGET_TRAIN, TARGET_VAL = 20, 8
SOURCE_NOISE, TARGET_NOISE = 0.06, 0.0
PRETRAIN = {"epochs": 8, "batch": 64, "optimizer": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4,
            "schedule": "cosine over all steps", "augmentation": "random horizontal flip"}
FINETUNE = {"epochs": 10, "batch": 8, "optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0,
            "freeze": "backbone (every parameter but fc)", "batchnorm": "eval (running statistics)",
            "augmentation": "none", "shuffle": "each epoch, torch.Generator seeded with the head seed"}
FINETUNE_SEEDS = [0, 1, 2, 3, 4]
CORRUPT = "images/train/grid/grid_truncated.png"
VERIFY_FILES = ["images/val/crescent/crescent_000.png", "images/val/frame/frame_001.jpg",
                "images/val/grid/grid_002.png", "images/val/crescent/crescent_003.jpg"]


def preset():
    """The eval transform the backbone was trained with, as torchvision's weights describe theirs."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms._presets import ImageClassification
    return ImageClassification(crop_size=shapes.PRESET_CROP, resize_size=shapes.PRESET_RESIZE, mean=MEAN,
                               std=STD, interpolation=InterpolationMode.BILINEAR, antialias=True)


def backbone_model(num_classes=10):
    model, config = resnet_mini("basic", [1, 1, 1, 1], [8, 16, 32, 64], num_classes=num_classes)
    return model, config


# --- 1. source task and pretraining ---------------------------------------------------------------

def source_set(count, seed):
    rng = numpy.random.default_rng(seed)
    transform = preset()
    xs, ys = [], []
    for index, kind in enumerate(shapes.SOURCE_CLASSES):
        for _ in range(count):
            xs.append(transform(shapes.render(kind, SOURCE_SIZE, rng, SOURCE_NOISE)))
            ys.append(index)
    return torch.stack(xs), torch.tensor(ys)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def pretrain():
    train_x, train_y = source_set(SOURCE_TRAIN, 100)
    val_x, val_y = source_set(SOURCE_VAL, 101)
    torch.manual_seed(102)
    model, config = backbone_model()
    steps = PRETRAIN["epochs"] * ((len(train_x) + PRETRAIN["batch"] - 1) // PRETRAIN["batch"])
    optimizer = torch.optim.SGD(model.parameters(), lr=PRETRAIN["lr"], momentum=PRETRAIN["momentum"],
                                weight_decay=PRETRAIN["weight_decay"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    gen = torch.Generator().manual_seed(103)
    history = []
    for epoch in range(PRETRAIN["epochs"]):
        model.train()
        order = torch.randperm(len(train_x), generator=gen)
        for start in range(0, len(order), PRETRAIN["batch"]):
            batch = order[start:start + PRETRAIN["batch"]]
            x = train_x[batch]
            flip = torch.rand(len(batch), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        history.append(round(accuracy(model, val_x, val_y), 4))
        print(f"pretrain epoch {epoch + 1}: source val accuracy {history[-1]:.3f}")
    return model.eval(), config, history, accuracy(model, train_x, train_y)


# --- 2. target image folder -----------------------------------------------------------------------

def write_images():
    """images/{train,val}/<class>/<class>_NNN.{png,jpg}; even indices PNG, odd JPEG. Returns counts."""
    rng = numpy.random.default_rng(200)
    counts = OrderedDict()
    for split, count in (("train", TARGET_TRAIN), ("val", TARGET_VAL)):
        for kind in shapes.TARGET_CLASSES:
            folder = OUT / "images" / split / kind
            folder.mkdir(parents=True)
            for i in range(count):
                image = shapes.render(kind, TARGET_SIZE, rng, TARGET_NOISE)
                if i % 2 == 0:
                    image.save(folder / f"{kind}_{i:03d}.png", optimize=True)
                else:
                    image.save(folder / f"{kind}_{i:03d}.jpg", quality=90)
            counts[f"{split}/{kind}"] = count
    # A PNG cut off in the middle of its pixel data: the signature and IHDR are intact, IDAT is not.
    whole = (OUT / "images/train/grid/grid_000.png").read_bytes()
    (OUT / CORRUPT).write_bytes(whole[:len(whole) // 2])
    return counts


def load_folder(split):
    """A plain ImageFolder walk (sorted classes and files) that skips files PIL cannot decode."""
    transform = preset()
    classes = sorted(p.name for p in (OUT / "images" / split).iterdir())
    xs, ys, skipped = [], [], []
    for index, name in enumerate(classes):
        for path in sorted((OUT / "images" / split / name).iterdir()):
            try:
                with Image.open(path) as image:
                    image.load()
                    xs.append(transform(image.convert("RGB")))
            except OSError as error:
                skipped.append({"file": str(path.relative_to(OUT)), "error": str(error)})
                continue
            ys.append(index)
    return classes, torch.stack(xs), torch.tensor(ys), skipped


# --- 4. the PyTorch fine-tune bar -----------------------------------------------------------------

def finetune(backbone_state, train, val, seed):
    """New head on the frozen backbone (BN in eval mode); returns per-epoch val accuracy and last loss."""
    model, _ = backbone_model()
    model.load_state_dict(backbone_state)
    torch.manual_seed(seed)
    model.fc = nn.Linear(model.fc.in_features, 3)
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("fc."))
    model.eval()  # frozen BatchNorm: running statistics, no updates; nothing else differs in eval mode
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=FINETUNE["lr"], momentum=FINETUNE["momentum"])
    (train_x, train_y), (val_x, val_y) = train, val
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(FINETUNE["epochs"]):
        order = torch.randperm(len(train_x), generator=gen)
        for start in range(0, len(order), FINETUNE["batch"]):
            batch = order[start:start + FINETUNE["batch"]]
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append(round(accuracy(model, val_x, val_y), 4))
    return history, accuracy(model, train_x, train_y)


def measure_finetune(backbone_state):
    classes, train_x, train_y, skipped = load_folder("train")
    _, val_x, val_y, val_skipped = load_folder("val")
    if [s["file"] for s in skipped] != [CORRUPT] or val_skipped:
        raise AssertionError(f"expected exactly {CORRUPT} to be unreadable, got {skipped + val_skipped}")
    runs = OrderedDict()
    for seed in FINETUNE_SEEDS:
        history, train_accuracy = finetune(backbone_state, (train_x, train_y), (val_x, val_y), seed)
        runs[str(seed)] = {"val_accuracy_per_epoch": history, "train_accuracy": round(train_accuracy, 4)}
        print(f"fine-tune seed {seed}: val accuracy per epoch {history}")
    finals = [r["val_accuracy_per_epoch"][-1] for r in runs.values()]
    # The same fine-tune on an untrained backbone (seeded init, BN statistics 0/1): what the transfer adds.
    torch.manual_seed(104)
    untrained, _ = backbone_model()
    baseline, _ = finetune(untrained.state_dict(), (train_x, train_y), (val_x, val_y), FINETUNE_SEEDS[0])
    print(f"fine-tune on an untrained backbone: val accuracy per epoch {baseline}")
    result = OrderedDict([("classes", classes), ("train_images", len(train_x)), ("val_images", len(val_x)),
                          ("skipped", skipped), ("seeds", runs),
                          ("final_val_accuracy_min", min(finals)),
                          ("final_val_accuracy_mean", round(sum(finals) / len(finals), 4)),
                          ("chance", round(1 / len(classes), 4)),
                          ("untrained_backbone_val_accuracy_per_epoch", baseline)])
    return result


# --- main -----------------------------------------------------------------------------------------

def verification_pair(model):
    transform = preset()
    x = torch.stack([transform(Image.open(OUT / f).convert("RGB")) for f in VERIFY_FILES])
    with torch.no_grad():
        logits = model(x)
    numpy.save(OUT / "backbone_input.npy", x.numpy().astype(numpy.float32))
    numpy.save(OUT / "backbone_logits.npy", logits.numpy().astype(numpy.float32))
    return list(x.shape), list(logits.shape)


def main():
    lib.configure_torch()
    started = time.perf_counter()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    model, config, history, train_accuracy = pretrain()
    print(f"pretraining took {time.perf_counter() - started:.1f} s")
    torch.save(model.state_dict(), OUT / "backbone.pth")
    names = list(shapes.SOURCE_CLASSES)
    (OUT / "backbone_classes.txt").write_text("\n".join(names) + "\n")
    counts = write_images()

    reloaded, _ = backbone_model()
    reloaded.load_state_dict(torch.load(OUT / "backbone.pth", weights_only=True), strict=True)
    input_shape, logits_shape = verification_pair(reloaded.eval())
    finetuned = measure_finetune(reloaded.state_dict())
    if finetuned["final_val_accuracy_min"] < 0.8:
        raise AssertionError(f"the target task does not learn well enough: {finetuned}")

    files = sorted(p for p in OUT.rglob("*") if p.is_file())
    image_bytes = sum(p.stat().st_size for p in files if p.parent.parent.parent.name == "images")
    lib.write_json(OUT / "manifest.json", OrderedDict([
        ("generator", "tools/make_demo_fixtures.py"), ("versions", lib.versions()),
        ("preprocessing", OrderedDict([
            ("torchvision", "ImageClassification(crop_size=48, resize_size=56, "
                            "interpolation=InterpolationMode.BILINEAR, antialias=True)"),
            ("resize_size", shapes.PRESET_RESIZE), ("crop_size", shapes.PRESET_CROP),
            ("interpolation", "bilinear"), ("antialias", True), ("mean", list(MEAN)), ("std", list(STD))])),
        ("backbone", OrderedDict([
            ("file", "backbone.pth"), ("arch", "torchvision ResNet(BasicBlock), rebuilt with _make_layer"),
            ("family", "resnet"), ("naming", "torchvision"), ("config", config),
            ("classes", names), ("classes_file", "backbone_classes.txt"),
            ("source_task", OrderedDict([
                ("image_size", SOURCE_SIZE), ("train_per_class", SOURCE_TRAIN),
                ("val_per_class", SOURCE_VAL), ("noise_std_max", SOURCE_NOISE)])),
            ("pretraining", PRETRAIN), ("source_val_accuracy_per_epoch", history),
            ("source_train_accuracy", round(train_accuracy, 4)),
            ("verification", OrderedDict([
                ("input", "backbone_input.npy"), ("logits", "backbone_logits.npy"),
                ("input_shape", input_shape), ("logits_shape", logits_shape),
                ("files", VERIFY_FILES), ("mode", "eval")]))])),
        ("target_task", OrderedDict([
            ("root", "images"), ("layout", "ImageFolder: <split>/<class>/<file>"),
            ("classes", list(shapes.TARGET_CLASSES)), ("image_size", TARGET_SIZE),
            ("counts", counts), ("formats", "even index .png, odd index .jpg (quality 90)"),
            ("corrupt", [CORRUPT]), ("noise_std_max", TARGET_NOISE),
            ("image_bytes", image_bytes)])),
        ("pytorch_finetune", OrderedDict([("settings", FINETUNE), ("result", finetuned)])),
    ]))
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(files) + 1} files to {OUT} ({total / 2**20:.2f} MiB, "
          f"images {image_bytes / 1024:.0f} KiB) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
