"""Make the classic-family references: Fixtures/zoo/classic/ (AlexNet, SqueezeNet 1.0/1.1, GoogLeNet,
Inception v3 miniatures).

For each miniature (torchvision's classes with tiny widths, full depth; see tools/classic_archs.py and
`check_layout`, which compares the module tree with torchvision's real builder):
- <name>.pth: torch.save(state_dict) after the library's seeded init and the fixture perturbation
  (fixturelib.perturb_model: random biases and BN affine, BN statistics measured then jittered);
- <name>.safetensors: eval-mode logits on the shared input; one training-mode forward/backward
  (batch statistics, every Dropout at p = 0, mean cross-entropy on LABELS): loss, logits, every
  parameter's gradient packed in named_parameters() order (`grads`); then 3 steps of
  torch.optim.SGD(lr 0.1, momentum 0.9) on the same batch from the checkpoint: the final state, its
  float tensors packed in state_dict() order (`sgd_state`) and its num_batches_tracked counters
  (`sgd_counters`).
- input.safetensors: the shared input, two real photos (../shared/fixtures/images, or the committed
  Fixtures/images copies) centre-cropped and resized to SIZE×SIZE, stored as uint8; the network input is
  (u8 − 128) / 64, exact in float32 on both sides.
- manifest.json: versions, each miniature's Graft config (the JSON of the Swift config struct), the
  checks below.

Auxiliary heads (GoogLeNet aux1/aux2, Inception AuxLogits) are in the checkpoints, as in torchvision's
pretrained files, but Graft does not run them in training; the training references are made with the
heads detached for the forward (model.aux1 = None …), so their parameters get no gradient and their
BatchNorm statistics stay put, which the manifest records (`no_gradient`).

Packing the gradients and SGD states into one tensor each keeps the folder small (a tensor's own
safetensors header entry would cost more than its values); the Swift tests split them by the shapes of
their own parameters, in the order whose keys they check against the checkpoint's.

Checks: reloading each .pth into a fresh model reproduces the logits bit for bit; float64 runs give the
rounding scale of the float32 references (`float64_deviation`); BN eps 0.001 <-> 1e-5 moves the logits by
more than 10× the tolerance where there is BatchNorm; transform_input on/off moves them likewise.

CPU, one thread, fixed seeds, deterministic; a few seconds. From the repository root:
    .venv/bin/python tools/make_zoo_fixtures_classic.py
"""

import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import classic_archs as archs  # noqa: E402
import fixturelib as lib  # noqa: E402

OUT = lib.FIXTURES / "zoo" / "classic"
SIZE = 107  # the smallest input that leaves Inception v3 a 2×2 map at Mixed_7 (N·H·W = 8 for batch statistics)
PHOTOS = ["astronaut.png", "rocket.jpg"]
LABELS = [1, 3]
NUM_CLASSES = 5
TOLERANCE = 1e-4
SGD_STEPS, LR, MOMENTUM = 3, 0.1, 0.9
BUDGET = 250_000
import os
CONV_BEFORE_BN_SCALE = float(os.environ.get("SCALE", "3"))


def a(pool):
    return {"branch1x1": 2, "branch5x5": [2, 2], "branch3x3dbl": [2, 2, 2], "poolFeatures": pool}


def c(c7):
    return {"branch1x1": 2, "channels7x7": c7, "branch7x7": 2, "branch7x7dbl": 2, "branchPool": 2}


E = {"branch1x1": 2, "branch3x3": [2, 2], "branch3x3dbl": [2, 2, 2], "branchPool": 2}


def inc(c1, r3, c3, r5, c5, pp):
    return archs._inc(c1, r3, c3, r5, c5, pp)


# name -> (family, torchvision arch whose layout it has, config, init seed)
MINIATURES = OrderedDict([
    ("alexnet_mini", ("alexnet", "alexnet",
                      {"widths": [1, 2, 2, 2, 2], "hidden": 4, "poolSize": 6, "dropout": 0.5, "numClasses": NUM_CLASSES},
                      102)),
    ("squeezenet1_0_mini", ("squeezenet", "squeezenet1_0", {
        "items": [archs._conv(3, 7, 2), archs.POOL, archs._fire(2, 2, 2), archs._fire(2, 2, 2), archs._fire(2, 3, 3),
                  archs.POOL, archs._fire(2, 3, 3), archs._fire(3, 3, 3), archs._fire(3, 3, 3), archs._fire(3, 4, 4),
                  archs.POOL, archs._fire(3, 4, 4)],
        "dropout": 0.5, "numClasses": NUM_CLASSES}, 111)),
    ("squeezenet1_1_mini", ("squeezenet", "squeezenet1_1", {
        "items": [archs._conv(3, 3, 2), archs.POOL, archs._fire(2, 2, 2), archs._fire(2, 2, 2), archs.POOL,
                  archs._fire(2, 3, 3), archs._fire(2, 3, 3), archs.POOL, archs._fire(3, 3, 3), archs._fire(3, 3, 3),
                  archs._fire(3, 4, 4), archs._fire(3, 4, 4)],
        "dropout": 0.5, "numClasses": NUM_CLASSES}, 108)),
    ("googlenet_mini", ("googlenet", "googlenet", {
        "conv1": 3, "conv2": 3, "conv3": 4,
        "inception3": [inc(2, 2, 2, 2, 2, 2)],
        "inception4": [inc(2, 2, 2, 2, 2, 2), inc(2, 2, 2, 2, 2, 2)],
        "inception5": [inc(2, 2, 2, 2, 2, 2)],
        "branch3Kernel": 3, "auxLogits": True, "auxConv": 2, "auxPool": 4, "auxHidden": 3, "auxDropout": 0.7,
        "dropout": 0.2, "transformInput": True, "bnEps": 0.001, "numClasses": NUM_CLASSES}, 104)),
    ("inception_v3_mini", ("inception_v3", "inception_v3", {
        "stem": [2, 2, 3, 3, 4],
        "mixed5": [a(2)],
        "mixed6a": {"branch3x3": 2, "branch3x3dbl": [2, 2, 2]},
        "mixed6": [c(2)],
        "mixed7a": {"branch3x3": [2, 2], "branch7x7x3": [2, 2, 2, 2]},
        "mixed7": [E],
        "auxLogits": True, "auxConv0": 2, "auxConv1": 3,
        "dropout": 0.5, "transformInput": True, "bnEps": 0.001, "numClasses": NUM_CLASSES}, 105)),
])
AUX_PREFIXES = {"googlenet": ["aux1.", "aux2."], "inception_v3": ["AuxLogits."]}


def photo_batch():
    """Two photos, centre square, resized (PIL bicubic) to SIZE: uint8 [2, 3, SIZE, SIZE]."""
    shared = lib.ROOT.parent / "shared" / "fixtures" / "images"
    arrays = []
    for name in PHOTOS:
        image = Image.open(shared / name).convert("RGB")
        side = min(image.size)
        left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.BICUBIC)
        arrays.append(numpy.asarray(image, dtype=numpy.uint8).transpose(2, 0, 1))
    return torch.from_numpy(numpy.stack(arrays).copy())


def network_input(u8):
    return (u8.to(torch.float32) - 128) / 64


def build(name, dtype=torch.float32):
    family, arch, config, seed = MINIATURES[name]
    torch.manual_seed(seed)
    model = archs.build(family, config)
    archs.check_layout(model, arch)
    # PyTorch's default conv/linear init instead of the families' own (GoogLeNet's N(0, 0.01), Inception's
    # N(0, 0.1)): with weights that small, train-mode BatchNorm's scale invariance gives gradients of
    # ~1/|w| and three SGD steps at lr 0.1 leave float32 behind float64 by whole units.
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.reset_parameters()
            if isinstance(m, nn.Conv2d) and m.bias is None:
                with torch.no_grad():
                    m.weight.mul_(CONV_BEFORE_BN_SCALE)
    return model.to(dtype)


class AuxDetached:
    """Training forwards without the auxiliary heads (as Graft trains): the heads stay in the state dict."""
    def __init__(self, model):
        self.model = model
        self.saved = {}

    def __enter__(self):
        for attr in ("aux1", "aux2", "AuxLogits"):
            if getattr(self.model, attr, None) is not None:
                self.saved[attr] = getattr(self.model, attr)
                setattr(self.model, attr, None)
        self.aux_logits = getattr(self.model, "aux_logits", None)
        if self.aux_logits is not None:
            self.model.aux_logits = False
        return self.model

    def __exit__(self, *exc):
        for attr, module in self.saved.items():
            setattr(self.model, attr, module)
        if self.aux_logits is not None:
            self.model.aux_logits = self.aux_logits


def no_dropout(model):
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def loaded(name, state_dict, dtype=torch.float32):
    torch.manual_seed(9999)
    model = build(name)
    model.load_state_dict(state_dict, strict=True)
    return model.to(dtype)


def gradients(name, state_dict, x, labels, dtype=torch.float32):
    model = no_dropout(loaded(name, state_dict, dtype)).train()
    with AuxDetached(model):
        logits = model(x.to(dtype))
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = OrderedDict((k, p.grad.detach().clone() if p.grad is not None else None) for k, p in model.named_parameters())
    return loss.detach(), logits.detach(), grads


def sgd_run(name, state_dict, x, labels, dtype=torch.float32):
    model = no_dropout(loaded(name, state_dict, dtype)).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    losses = []
    for _ in range(SGD_STEPS):
        optimizer.zero_grad(set_to_none=True)
        with AuxDetached(model):
            loss = F.cross_entropy(model(x.to(dtype)), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())


def save_compact(state_dict, path):
    """torch.save(state_dict) with every tensor a view into one storage per dtype.

    torch.save writes one zip entry (~300 bytes of headers) per storage, so a 262-key state dict of tiny
    tensors would be mostly headers; tensors that share a storage are written once, each key then costs
    only its pickle record. torch.load + load_state_dict(strict=True) read it as any checkpoint, and
    Graft's reader resolves the storage offsets as for any view.
    """
    out = OrderedDict()
    for dtype in (torch.float32, torch.int64):
        keys = [k for k, v in state_dict.items() if v.dtype == dtype]
        flat = pack([state_dict[k] for k in keys]).to(dtype)
        offset = 0
        for k in keys:
            n = state_dict[k].numel()
            out[k] = flat[offset:offset + n].view(state_dict[k].shape)
            offset += n
    if len(out) != len(state_dict):
        raise AssertionError("a state-dict tensor is neither float32 nor int64")
    ordered = OrderedDict((k, out[k]) for k in state_dict)
    ordered._metadata = getattr(state_dict, "_metadata", None)
    torch.save(ordered, path)


def aux_logits(model, x):
    """GoogLeNet's aux1/aux2 logits in eval mode on the outputs torchvision feeds them (inception4a,
    inception4d — an identity in a miniature, so the last block before it): [2, N, classes]. Inception
    v3's AuxLogits needs a 17×17 Mixed_6e map (299-pixel input): checked at full size only."""
    if not isinstance(model, archs.tv_googlenet.GoogLeNet):
        return None
    taps = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: taps.__setitem__(n, o))
             for n in ("inception4a", "inception4d")]
    with torch.no_grad():
        model.eval()(x)
        out = torch.stack([model.aux1(taps["inception4a"]), model.aux2(taps["inception4d"])])
    for h in hooks:
        h.remove()
    return out.contiguous()


def pack(tensors):
    return torch.cat([t.reshape(-1) for t in tensors]) if tensors else torch.zeros(0)


def max_dev(a, b):
    return max(((x.double() - y.double()).abs().max().item() for x, y in zip(a, b) if x.numel()), default=0.0)


def make(name, x, labels):
    family, arch, config, seed = MINIATURES[name]
    model = build(name)
    lib.perturb_model(model, seed=seed + 500, calibration_input=x)
    ckpt = OUT / f"{name}.pth"
    save_compact(model.state_dict(), ckpt)
    state = torch.load(ckpt, weights_only=True)
    with torch.no_grad():
        logits = model.eval()(x)
        again = loaded(name, state).eval()(x)
    if not torch.equal(logits, again):
        raise AssertionError(f"{name}: reloading the checkpoint does not reproduce the logits")
    with torch.no_grad():
        exact = loaded(name, state, torch.float64).eval()(x.double())
    eval_dev = (logits.double() - exact).abs().max().item()

    # Sensitivities: a wrong BN eps or a forgotten transform_input must show in the logits.
    sens = OrderedDict()
    probe = copy.deepcopy(model)
    norms = [m for m in probe.modules() if isinstance(m, nn.BatchNorm2d)]
    if norms:
        for m in norms:
            m.eps = 1e-5 if m.eps > 1e-4 else 1e-3
        with torch.no_grad():
            sens["bn_eps"] = (probe(x) - logits).abs().max().item()
    if hasattr(model, "transform_input"):
        probe = copy.deepcopy(model)
        probe.transform_input = not probe.transform_input
        with torch.no_grad():
            sens["transform_input"] = (probe(x) - logits).abs().max().item()
    for k, v in sens.items():
        if v < 10 * TOLERANCE and not os.environ.get("NOSENS"):
            raise AssertionError(f"{name}: {k} moves the logits by only {v:.2e}")

    aux = aux_logits(model, x)
    loss, train_logits, grads = gradients(name, state, x, labels)
    loss64, _, grads64 = gradients(name, state, x, labels, torch.float64)
    prefixes = AUX_PREFIXES.get(family, [])
    no_grad = [k for k, g in grads.items() if g is None]
    if sorted(no_grad) != sorted(k for k in grads if any(k.startswith(p) for p in prefixes)):
        raise AssertionError(f"{name}: parameters without gradient {no_grad} are not the aux heads'")
    params = OrderedDict(model.named_parameters())
    packed_grads = pack([grads[k] if grads[k] is not None else torch.zeros_like(params[k]) for k in grads])
    zero = [k for k in grads if grads64[k] is not None and grads64[k].abs().max().item() <= 1e-12]
    if zero:
        # A tiny network can have a dead ReLU layer (every activation ≤ 0) that cuts the gradient: a
        # reference that checks nothing before it. Pick another seed.
        raise AssertionError(f"{name}: no gradient reaches {zero[:4]}…")
    losses, final = sgd_run(name, state, x, labels)
    losses64, final64 = sgd_run(name, state, x, labels, torch.float64)
    floats = [k for k, v in final.items() if v.is_floating_point()]
    counters = [k for k, v in final.items() if not v.is_floating_point()]
    tensors = OrderedDict([
        ("eval_logits", logits.contiguous()), ("labels", labels), ("loss", loss.reshape(1)),
        ("train_logits", train_logits.contiguous()), ("grads", packed_grads),
        ("sgd_losses", torch.tensor(losses, dtype=torch.float32)),
        ("sgd_state", pack([final[k] for k in floats])), ("sgd_counters", pack([final[k] for k in counters])),
    ])
    if aux is not None:
        tensors["aux_logits"] = aux
    path = OUT / f"{name}.safetensors"
    save_file(dict(tensors), path)
    path.chmod(0o644)
    saved = load_file(path)
    if any(not torch.equal(saved[k], v) for k, v in tensors.items()):
        raise AssertionError(f"{name}: the safetensors file does not read back")

    deviation = OrderedDict([
        ("eval_logits", eval_dev),
        ("loss", abs(loss.item() - loss64.item())),
        ("grad", max_dev([g for g in grads.values() if g is not None], [g for g in grads64.values() if g is not None])),
        ("sgd_state", max_dev([final[k] for k in floats], [final64[k] for k in floats])),
    ])
    grad_peak = max(g.abs().max().item() for g in grads.values() if g is not None)
    n_params = sum(p.numel() for p in params.values())
    print(f"{name:20s} {len(state):4d} keys {n_params:6d} params  max|logit| {logits.abs().max().item():6.3f} "
          f"loss {loss.item():.4f} max|grad| {grad_peak:.3g}  f64 dev " + " ".join(f"{k} {v:.1e}" for k, v in deviation.items())
          + "  sens " + " ".join(f"{k} {v:.1e}" for k, v in sens.items()))
    return OrderedDict([
        ("family", family), ("layout_of", arch), ("config", config), ("checkpoint", ckpt.name), ("file", path.name),
        ("keys", len(state)), ("parameters", n_params), ("max_abs_logit", round(logits.abs().max().item(), 6)),
        ("loss", loss.item()), ("sgd_losses", losses), ("max_abs_grad", float(f"{grad_peak:.4g}")),
        ("no_gradient", [p for p in prefixes]),
        ("float64_deviation", OrderedDict((k, float(f"{v:.3g}")) for k, v in deviation.items())),
        ("sensitivity", OrderedDict((k, float(f"{v:.3g}")) for k, v in sens.items())),
    ])


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        stale.unlink()
    u8 = photo_batch()
    save_file({"input_u8": u8.contiguous()}, OUT / "input.safetensors")
    x = network_input(load_file(OUT / "input.safetensors")["input_u8"])
    labels = torch.tensor(LABELS, dtype=torch.int64)
    models = OrderedDict((name, make(name, x, labels)) for name in MINIATURES)
    lib.write_json(OUT / "manifest.json", OrderedDict([
        ("generator", "tools/make_zoo_fixtures_classic.py"), ("versions", lib.versions()),
        ("input", OrderedDict([("file", "input.safetensors"), ("tensor", "input_u8"), ("photos", PHOTOS),
                               ("shape", list(u8.shape)), ("to_float", "(u8 - 128) / 64")])),
        ("labels", LABELS), ("tolerance", TOLERANCE),
        ("sgd", OrderedDict([("steps", SGD_STEPS), ("lr", LR), ("momentum", MOMENTUM)])),
        ("models", models)]))
    for path in OUT.iterdir():
        path.chmod(0o644)
    # As `du -sb Fixtures/zoo/classic` counts: the files and the directory's own 4096 bytes.
    total = sum(p.stat().st_size for p in OUT.iterdir()) + OUT.stat().st_size
    print(f"wrote {len(models)} miniatures to {OUT}: {total} bytes (du -sb)")
    if total > BUDGET:
        raise SystemExit(f"Fixtures/zoo/classic is {total} bytes, over the {BUDGET}-byte budget")


if __name__ == "__main__":
    main()
