"""Make the fine-tuning references: Fixtures/train/grad_*.safetensors, run_*.safetensors, manifest.json.

1. Gradients: for resnet18_mini, vgg11_bn_mini, efficientnet_b0_mini and efficientnet_v2_s_mini (the
   Fixtures/torch/ checkpoints), one forward/backward in train mode (batch statistics, running-stat
   updates, dropout and stochastic depth p = 0) on a fixed batch of 4 with fixed labels and mean
   cross-entropy: input, labels, loss, logits, every parameter's gradient and every BatchNorm buffer
   after the forward. A fifth case repeats vgg11_bn_mini with label_smoothing 0.1.
2. Training runs: 20 optimizer steps over 5 fixed batches with a new 3-class head. run_sgd is
   resnet18_mini with frozen stem + layer1 (their BN in eval mode), two LR groups and SGD momentum;
   run_adamw is efficientnet_b0_mini with frozen features.0-3 (BN policy "train"), three layer groups,
   AdamW and fastai's one-cycle lr/beta1 schedule. See tools/train_fixture_runs.py.

Checks before the manifest is written:
- every file is read back and the computation re-run from it (checkpoint + saved init, input and
  batches): the losses, gradients and final states must come out bit for bit;
- the same computation in float64 gives the float32 references' rounding error (`float64_deviation`),
  the scale a Swift parity test's tolerance must exceed;
- for the runs, each plausible wrong rule (frozen BN in the other mode, decay on everything, no decay,
  coupled L2 decay, constant beta1) moves the losses or the final weights by more than 10x that.

Deterministic (fixed seeds, one thread, deterministic kernels), CPU only, about a minute. From the
repository root, after tools/make_torch_fixtures.py:
    /work/main/.venv/bin/python tools/make_train_fixtures.py
"""

import sys
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
import train_fixture_runs as runs  # noqa: E402
from fixture_archs import MINIATURES  # noqa: E402

OUT = lib.FIXTURES / "train"
TORCH_DIR = lib.FIXTURES / "torch"
GRAD_BATCH = 4
GRAD_LABELS = [3, 7, 0, 9]
# (file stem, miniature, input side, label smoothing, input seed)
GRAD_CASES = [
    ("grad_resnet18_mini", "resnet18_mini", 64, 0.0, 3101),
    ("grad_vgg11_bn_mini", "vgg11_bn_mini", 32, 0.0, 3102),
    ("grad_efficientnet_b0_mini", "efficientnet_b0_mini", 64, 0.0, 3103),
    ("grad_efficientnet_v2_s_mini", "efficientnet_v2_s_mini", 64, 0.0, 3104),
    ("grad_vgg11_bn_mini_smoothing", "vgg11_bn_mini", 32, 0.1, 3102),
]
# (file stem, miniature, head seed, batch seed, setup)
RUN_CASES = [
    ("run_sgd", "resnet18_mini", 4101, 4201, runs.setup_sgd),
    ("run_adamw", "efficientnet_b0_mini", 4102, 4202, runs.setup_adamw),
]
MIN_VARIANT_FACTOR = 5.0
# A non-parameter final tensor whose float32 value is this far from the float64 run is rounding-dominated
# (the clean ones stay below 1e-5; see rounding_dominated).
ROUNDING_LIMIT = 2e-5


def load_miniature(name):
    """The architecture with a throw-away init, the committed checkpoint loaded strictly, no randomness."""
    from torchvision.ops import StochasticDepth
    entry = MINIATURES[name]
    torch.manual_seed(entry["seed"] + 7000)
    model, _ = entry["build"]()
    model.load_state_dict(torch.load(TORCH_DIR / f"{name}.pth", weights_only=True), strict=True)
    for module in model.modules():
        if isinstance(module, (nn.Dropout, StochasticDepth)):
            module.p = 0.0
    return model


def norm_buffers(model):
    """Every BatchNorm buffer (running_mean, running_var, num_batches_tracked) by state-dict name."""
    out = OrderedDict()
    for module_name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for buffer_name, buffer in module.named_buffers(recurse=False):
                out[f"{module_name}.{buffer_name}"] = buffer.detach().clone()
    return out


def max_deviation(a, b, relative=False, integers_equal=True):
    """Largest |a - b| over the float tensors of `a` (divided by max |a| per tensor if `relative`).

    Integer tensors (num_batches_tracked) must be equal unless `integers_equal` is False.
    """
    worst = 0.0
    for key in a:
        if a[key].is_floating_point():
            diff = (a[key].double() - b[key].double()).abs().max().item()
            worst = max(worst, diff / a[key].abs().max().item() if relative else diff)
        elif integers_equal and not torch.equal(a[key], b[key]):
            raise AssertionError(f"{key}: integer tensors differ")
    return worst


# --- 1. gradients ---------------------------------------------------------------------------------

def gradient_tensors(name, x, labels, smoothing, dtype=torch.float32):
    model = load_miniature(name).to(dtype).train()
    logits = model(x.to(dtype))
    loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    loss.backward()
    out = OrderedDict([("input", x), ("labels", labels), ("loss", loss.detach()),
                       ("logits", logits.detach())])
    for pname, param in model.named_parameters():
        if param.grad is None or not param.grad.abs().max() > 0:
            raise AssertionError(f"{name}: {pname} gets no gradient")
        out[f"grad.{pname}"] = param.grad.detach().clone()
    for bname, buffer in norm_buffers(model).items():
        out[f"after.{bname}"] = buffer
    return out


def check_loss_formula(stem, tensors, smoothing):
    """DEFINITIONS' loss, written out in float64, gives torch's loss."""
    log_p = torch.log_softmax(tensors["logits"].double(), dim=1)
    picked = -log_p.gather(1, tensors["labels"][:, None])[:, 0]
    loss = ((1 - smoothing) * picked + smoothing * (-log_p).mean(1)).mean()
    if abs(loss.item() - tensors["loss"].item()) > 1e-5:
        raise AssertionError(f"{stem}: the manifest's loss formula gives {loss.item()}, torch "
                             f"{tensors['loss'].item()}")


def make_gradient_case(stem, name, size, smoothing, seed):
    x = torch.randn(GRAD_BATCH, 3, size, size, generator=torch.Generator().manual_seed(seed))
    labels = torch.tensor(GRAD_LABELS, dtype=torch.int64)
    tensors = gradient_tensors(name, x, labels, smoothing)
    check_loss_formula(stem, tensors, smoothing)
    path = OUT / f"{stem}.safetensors"
    save_file(dict(tensors), path)
    path.chmod(0o644)

    saved = load_file(path)
    again = gradient_tensors(name, saved["input"], saved["labels"], smoothing)
    if any(not torch.equal(again[k], saved[k]) for k in tensors):
        raise AssertionError(f"{stem}: re-running from the saved input does not reproduce the file")
    exact = gradient_tensors(name, x, labels, smoothing, torch.float64)
    grads = [k for k in tensors if k.startswith("grad.")]
    # Gradients that are zero in exact arithmetic (a conv bias or BN beta followed only by train-mode
    # BatchNorm, which removes constant shifts): their float32 values are rounding noise.
    zero = [k for k in grads if exact[k].abs().max().item() <= 1e-9]
    clean = {k: tensors[k] for k in grads if k not in zero}
    deviation = OrderedDict([
        ("loss", max_deviation({"l": tensors["loss"]}, {"l": exact["loss"]})),
        ("logits", max_deviation({"l": tensors["logits"]}, {"l": exact["logits"]})),
        ("grad", max_deviation(clean, exact)),
        ("grad_relative", max_deviation(clean, exact, relative=True)),
        ("zero_gradient", max_deviation({k: tensors[k] for k in zero}, exact)),
        ("after", max_deviation({k: tensors[k] for k in tensors if k.startswith("after.")}, exact)),
    ])
    grad_peak = max(tensors[k].abs().max().item() for k in grads)
    print(f"{stem:32s} loss {tensors['loss'].item():.5f}  max|grad| {grad_peak:.3g}  f64 deviation "
          + " ".join(f"{k} {v:.1e}" for k, v in deviation.items()))
    return OrderedDict([
        ("file", path.name), ("model", name), ("checkpoint", f"../torch/{name}.pth"),
        ("input_shape", list(x.shape)), ("labels", GRAD_LABELS), ("label_smoothing", smoothing),
        ("loss", tensors["loss"].item()), ("max_abs_grad", float(f"{grad_peak:.4g}")),
        ("parameters", len(grads)), ("batchnorm_buffers", len(tensors) - len(grads) - 4),
        ("zero_gradient", [k[len("grad."):] for k in zero]),
        ("float64_deviation", OrderedDict((k, float(f"{v:.3g}")) for k, v in deviation.items())),
    ])


# --- 2. training runs -----------------------------------------------------------------------------

def replace_head(model, init):
    """A new nn.Linear(in, 3) in place of the classifier: its default init under seed `init`, or the
    saved `init.<head>.*` tensors. Returns the head's initial tensors by `init.<name>`."""
    path = "fc" if hasattr(model, "fc") else "classifier.1"
    old = model.fc if path == "fc" else model.classifier[1]
    if isinstance(init, int):
        torch.manual_seed(init)
    head = nn.Linear(old.in_features, runs.CLASSES)
    if not isinstance(init, int):
        head.load_state_dict({"weight": init[f"init.{path}.weight"], "bias": init[f"init.{path}.bias"]})
    if path == "fc":
        model.fc = head
    else:
        model.classifier[1] = head
    return OrderedDict([(f"init.{path}.weight", head.weight.detach().clone()),
                        (f"init.{path}.bias", head.bias.detach().clone())])


def run(name, setup, init, batches, dtype=torch.float32, variant=runs.Variant(), written_out=False):
    """One training run; returns its initial state (float32), init tensors, losses, final state, schedule.

    `written_out` swaps torch's optimizer step for the manifest's formulas (runs.WrittenOut).
    """
    model = load_miniature(name)
    init_tensors = replace_head(model, init)
    initial = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    model.to(dtype)
    optimizer, schedule, info = setup(model, variant)
    if written_out:
        optimizer = runs.WrittenOut(optimizer)
    typed = [(x.to(dtype), y) for x, y in batches]
    losses, lrs, betas1 = runs.train(model, optimizer, schedule, typed)
    final = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    return {"initial": initial, "init": init_tensors, "losses": losses, "final": final, "lrs": lrs,
            "betas1": betas1, "info": info, "parameters": [n for n, _ in model.named_parameters()]}


def check_buffers(stem, reference):
    """BatchNorm in eval mode keeps its buffers; every other one counted each of the STEPS batches."""
    eval_norms = set(reference["info"]["eval_batchnorm"])
    for key, value in reference["final"].items():
        module = key.rsplit(".", 1)[0]
        if module in eval_norms:
            if not torch.equal(value, reference["initial"][key]):
                raise AssertionError(f"{stem}: {key} changed although its BatchNorm is in eval mode")
        elif key.endswith("num_batches_tracked"):
            if value.item() != reference["initial"][key].item() + runs.STEPS:
                raise AssertionError(f"{stem}: {key} did not count {runs.STEPS} batches")


def rounding_dominated(reference, exact):
    """Final tensors that float32 rounding, not the training rule, decides (see ROUNDING_LIMIT).

    Returns (zero-gradient parameters, all rounding-dominated tensors). A trainable parameter whose
    float64 run does not move has a gradient that is zero in exact arithmetic (a BatchNorm beta
    followed, through residual sums, only by convolutions into train-mode BatchNorm, which removes any
    constant shift). In float32 its gradient is rounding noise of ~1e-7, above AdamW's eps, so AdamW
    moves it by lr-sized steps of random sign; the running means of the BatchNorm layers after it
    follow. Running variances are shift-invariant, so only running means may show up here.
    """
    trainable = [n for g in reference["info"]["param_groups"] for n in g["params"]]
    zero = [n for n in trainable
            if (exact["final"][n] - reference["initial"][n].double()).abs().max().item() <= 1e-9]
    dominated = list(zero)
    for key, value in reference["final"].items():
        if key in trainable or not value.is_floating_point():
            continue
        if (value.double() - exact["final"][key]).abs().max().item() > ROUNDING_LIMIT:
            if not key.endswith(".running_mean"):
                raise AssertionError(f"{key}: float32 rounding dominates a tensor it should not reach")
            dominated.append(key)
    return zero, dominated


def deviations(reference, other, excluded, integers_equal=True):
    """Largest |reference - other| in the losses, the parameters and the float buffers (not `excluded`)."""
    params = set(reference["parameters"])
    final = reference["final"]
    pick = lambda keep: {k: v for k, v in final.items() if k not in excluded and keep(k)}  # noqa: E731
    return OrderedDict([
        ("losses", max_deviation({"l": reference["losses"]}, {"l": other["losses"]})),
        ("parameters", max_deviation(pick(lambda k: k in params), other["final"])),
        ("buffers", max_deviation(pick(lambda k: k not in params), other["final"],
                                  integers_equal=integers_equal)),
    ])


def rounded(values):
    return OrderedDict((k, float(f"{v:.3g}")) for k, v in values.items())


def save_run(stem, reference, batches):
    tensors = OrderedDict(reference["init"])
    for i, (x, y) in enumerate(batches):
        tensors[f"batch{i}.input"] = x
        tensors[f"batch{i}.labels"] = y
    tensors["losses"] = reference["losses"]
    for k, v in reference["final"].items():
        tensors[f"final.{k}"] = v
    if reference["lrs"]:
        tensors["lrs"] = torch.tensor(reference["lrs"], dtype=torch.float32)
        tensors["betas1"] = torch.tensor(reference["betas1"], dtype=torch.float32)
    path = OUT / f"{stem}.safetensors"
    save_file(dict(tensors), path)
    path.chmod(0o644)
    return path


def make_run_case(stem, name, head_seed, batch_seed, setup):
    reference = run(name, setup, head_seed, runs.make_batches(batch_seed))
    path = save_run(stem, reference, runs.make_batches(batch_seed))

    saved = load_file(path)
    batches = [(saved[f"batch{i}.input"], saved[f"batch{i}.labels"]) for i in range(runs.BATCHES)]
    again = run(name, setup, saved, batches)
    if not torch.equal(again["losses"], saved["losses"]) or \
            any(not torch.equal(v, saved[f"final.{k}"]) for k, v in again["final"].items()):
        raise AssertionError(f"{stem}: re-running from the saved file does not reproduce it")

    check_buffers(stem, reference)
    exact = run(name, setup, saved, batches, torch.float64)
    by_hand = run(name, setup, saved, batches, torch.float64, written_out=True)
    formula_gap = max(max_deviation({"l": exact["losses"]}, {"l": by_hand["losses"]}),
                      max_deviation(exact["final"], by_hand["final"]))
    if formula_gap > 1e-9:
        raise AssertionError(f"{stem}: the manifest's optimizer formulas differ from torch by {formula_gap:.1e}")
    zero, dominated = rounding_dominated(reference, exact)
    noise = deviations(reference, exact, set(dominated))
    noise["rounding_dominated"] = max_deviation({k: reference["final"][k] for k in dominated},
                                                exact["final"])
    variants = OrderedDict()
    for field in VARIANTS[stem]:
        wrong = run(name, setup, saved, batches, variant=runs.Variant(**{field: True}))
        moved = deviations(reference, wrong, set(dominated), integers_equal=False)
        factor = max(moved[k] / max(noise[k], 1e-12) for k in moved)
        if factor < MIN_VARIANT_FACTOR:
            raise AssertionError(f"{stem}: {field} moves the run by only {factor:.1f}x float32 rounding")
        variants[field] = rounded(moved)
        variants[field]["times_float64_deviation"] = float(f"{factor:.3g}")
    losses = reference["losses"]
    print(f"{stem:32s} losses {losses[0].item():.4f} -> {losses[-1].item():.4f}  f64 deviation "
          + " ".join(f"{k} {v:.1e}" for k, v in noise.items()) + f"  ({len(dominated)} rounding-dominated)")
    print(" " * 33 + "wrong rules move it by " + ", ".join(
        f"{k} {v['times_float64_deviation']:.0f}x" for k, v in variants.items()))
    entry = OrderedDict([
        ("file", path.name), ("model", name), ("checkpoint", f"../torch/{name}.pth"),
        ("head", next(iter(reference["init"]))[len("init."):-len(".weight")]),
        ("classes", runs.CLASSES), ("steps", runs.STEPS), ("batches", runs.BATCHES),
        ("batch_size", runs.BATCH_SIZE), ("input_shape", [runs.BATCH_SIZE, 3, runs.SIZE, runs.SIZE]),
        ("losses", [float(v) for v in losses.tolist()]),
    ])
    entry.update(reference["info"])
    if reference["lrs"]:
        entry["layer_groups"] = ["group0", "group1", "head"]
        entry["lrs"] = reference["lrs"]
        entry["betas1"] = reference["betas1"]
    entry["zero_gradient_parameters"] = zero
    entry["rounding_dominated"] = dominated
    entry["float64_deviation"] = rounded(noise)
    entry["wrong_rule_deviation"] = variants
    return entry


VARIANTS = {
    "run_sgd": ["frozen_bn_other_mode", "decay_everything", "no_weight_decay"],
    "run_adamw": ["frozen_bn_other_mode", "decay_everything", "no_weight_decay", "coupled_decay",
                  "constant_beta1"],
}


def main():
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    gradients = OrderedDict((stem, make_gradient_case(stem, *rest)) for stem, *rest in GRAD_CASES)
    trained = OrderedDict((stem, make_run_case(stem, *rest)) for stem, *rest in RUN_CASES)
    lib.write_json(OUT / "manifest.json", OrderedDict([
        ("generator", "tools/make_train_fixtures.py"), ("versions", lib.versions()),
        ("definitions", runs.DEFINITIONS), ("gradients", gradients), ("runs", trained)]))
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(gradients)} gradient cases, {len(trained)} runs + manifest.json to {OUT} "
          f"({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
