"""The two training-step parity runs of Fixtures/train/ (run_sgd, run_adamw), as plain PyTorch.

Used by tools/make_train_fixtures.py; not run on its own. Everything a Swift trainer must reproduce is
here in one place: which parameters are frozen, which BatchNorm layers run in eval mode, how the
parameters split into torch param groups (learning rate x weight decay), the optimizer and its
per-step hyper-parameters. `Variant` switches one of those rules off, so the generator can show that
the saved references tell the right rule from a plausible wrong one.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

STEPS = 20
BATCHES = 5
BATCH_SIZE = 8
SIZE = 32
CLASSES = 3

# fastai fit_one_cycle defaults: div 25, div_final 1e5, pct_start 0.25, moms (0.95, 0.85, 0.95).
PCT_START = 0.25
LR_SHAPE = (1 / 25, 1.0, 1e-5)
MOMS = (0.95, 0.85, 0.95)

# The semantics the references follow, as written into Fixtures/train/manifest.json.
DEFINITIONS = {
    "train_mode": "model.train() BatchNorm normalises with the batch mean and biased variance over "
                  "n = N*H*W values, then updates running_mean = (1-m)*running_mean + m*mean, "
                  "running_var = (1-m)*running_var + m*var*n/(n-1) (unbiased) and num_batches_tracked "
                  "+= 1, with the layer's momentum m (0.1 in every model here). An eval-mode BatchNorm "
                  "uses and keeps its running statistics. Every nn.Dropout and torchvision "
                  "StochasticDepth has p = 0, so they are identities in both modes.",
    "loss": "F.cross_entropy(logits, labels, label_smoothing=e), the mean over the batch of "
            "(1-e)*(-log p[y]) + e*mean_k(-log p[k]), p = softmax(logits) (e = 0 unless stated).",
    "gradient_files": "input (float32 NCHW), labels (int64 [N]), loss (float32, 0-dim), logits [N, 10], "
                      "grad.<name> for every parameter (state-dict names) after one backward, "
                      "after.<name> for every BatchNorm buffer after the forward (running_mean, "
                      "running_var, num_batches_tracked as int64).",
    "zero_gradient": "Parameters whose gradient is zero in exact arithmetic: a conv bias or BatchNorm "
                     "beta whose output reaches the loss only through convolutions into train-mode "
                     "BatchNorm, which removes any per-channel constant. Their float32 gradients are "
                     "rounding noise (size in float64_deviation.zero_gradient); compare them with an "
                     "absolute tolerance only.",
    "run_files": "init.<head>.weight/bias: the new nn.Linear(in, 3) (torch's default init, seeded); "
                 "batch<i>.input [8, 3, 32, 32] float32 and batch<i>.labels [8] int64, i = 0..4; losses "
                 "[20] float32, the loss of step t's forward on batch t % 5 before its update; "
                 "final.<name> every state-dict entry after the last step (num_batches_tracked int64). "
                 "run_adamw adds lrs [20, 3] (group0, group1, head) and betas1 [20], float32 copies of "
                 "the float64 values listed in its manifest entry.",
    "step": "For t = 0..19: set the schedule's lr and beta1 (run_adamw), zero the gradients, forward "
            "batch t % 5, mean cross-entropy, backward, optimizer.step(). Frozen parameters "
            "(requires_grad False) get no gradient and are in no param group. The checkpoint's "
            "classifier is replaced before anything else; the model modes are set once, before step 0.",
    "param_groups": "A run's param_groups are torch's, in order: for each layer group, first the "
                    "decayed parameters (conv and linear weights), then the others (BatchNorm weight "
                    "and bias, every bias) with weight_decay 0. Parameters keep the model's order.",
    "sgd": "torch.optim.SGD(momentum=0.9, dampening=0, nesterov=False), for-loop implementation: "
           "g = grad + wd*p; buf = g on a parameter's first step, else buf = 0.9*buf + g; p = p - lr*buf.",
    "adamw": "torch.optim.AdamW(betas=(beta1(t), 0.999), eps=1e-8), for-loop implementation, with the "
             "parameter's step count k = t + 1: p = p*(1 - lr*wd); m = m + (g - m)*(1 - beta1) (lerp); "
             "v = 0.999*v + 0.001*g*g; p = p - (lr / (1 - beta1^k)) * m / (sqrt(v) / sqrt(1 - 0.999^k) "
             "+ eps). The bias correction uses the current step's beta1, as torch reads it from the "
             "param group, not the product of past beta1 values.",
    "one_cycle": "fastai fit_one_cycle over T = 20 steps, in float64 at p = t/T: lr factor "
                 "f(p) = combined_cos(0.25, 1/25, 1, 1e-5)(p), beta1(t) = combined_cos(0.25, 0.95, 0.85, "
                 "0.95)(p), where combined_cos(pct, a, b, c)(p) = SchedCos(a, b)(p/pct) if p < pct else "
                 "SchedCos(b, c)((p - pct)/(1 - pct)) and SchedCos(a, b)(q) = a + (1 + cos(pi*(1 - q)))"
                 "*(b - a)/2. Layer group g's lr at step t is base_g*f(t/T) with base (1e-4, 1e-4, 1e-3), "
                 "fastai's slice(1e-3) over three groups. (fastai itself computes the position in "
                 "float32 tensors; these are the exact formulas.)",
    "run_sgd": "resnet18_mini, fc replaced by Linear(64, 3). Frozen: conv1, bn1, layer1.* "
               "(requires_grad False; their BatchNorm modules in eval mode); the rest in train mode. "
               "group0 = the trainable parameters before fc, lr 0.01; group1 = fc.*, lr 0.1; constant "
               "lr; weight decay 1e-4.",
    "run_adamw": "efficientnet_b0_mini, classifier.1 replaced by Linear(128, 3). Frozen: features.0 to "
                 "features.3 (requires_grad False), but the whole model in train mode (BatchNorm policy "
                 "'train': frozen BatchNorm layers use batch statistics and update their running "
                 "statistics; their gamma/beta stay fixed). group0 = features.0 to features.4, group1 = "
                 "features.5 to features.8, head = classifier.*; one-cycle lr and beta1; weight decay "
                 "0.01.",
    "rounding_dominated": "Final tensors that float32 rounding decides, not the rules: zero-gradient "
                          "parameters, which AdamW moves by lr-sized steps of random sign because their "
                          "rounding-noise gradient (~1e-7) exceeds eps, and the running means of the "
                          "BatchNorm layers after them. Excluded from float64_deviation's other "
                          "categories; a parity test should skip them or allow the listed deviation.",
    "float64_deviation": "The largest |float32 reference - the same computation in float64|, per "
                         "category: the float32 rounding a parity tolerance must exceed.",
    "wrong_rule_deviation": "How far the run moves (per category, and the largest factor over "
                            "float64_deviation) when one rule is wrong: frozen BatchNorm in the other "
                            "mode, weight decay on every parameter, no weight decay, Adam's coupled L2 "
                            "decay instead of AdamW's, or a constant beta1 of 0.95.",
}


@dataclass(frozen=True)
class Variant:
    """A deliberately wrong rule (all False: the reference)."""
    frozen_bn_other_mode: bool = False    # SGD: frozen BN in train mode; AdamW: frozen BN in eval mode
    decay_everything: bool = False        # weight decay on BN gamma/beta and biases too
    no_weight_decay: bool = False
    coupled_decay: bool = False           # AdamW only: Adam with L2 decay added to the gradient
    constant_beta1: bool = False          # AdamW only: beta1 stays 0.95 (no momentum schedule)


def sched_cos(start, end, q):
    """fastai SchedCos: a + (1 + cos(pi * (1 - q))) * (b - a) / 2."""
    return start + (1 + math.cos(math.pi * (1 - q))) * (end - start) / 2


def combined_cos(p, pct, start, middle, end):
    """fastai combined_cos(pct, start, middle, end) at position p in [0, 1), in float64."""
    if p < pct:
        return sched_cos(start, middle, p / pct)
    return sched_cos(middle, end, (p - pct) / (1 - pct))


def one_cycle(t):
    """(lr factor, beta1) of step t of STEPS."""
    p = t / STEPS
    return combined_cos(p, PCT_START, *LR_SHAPE), combined_cos(p, PCT_START, *MOMS)


def decays(module, param_name):
    """Weight decay applies to conv/linear weights only: never to BN gamma/beta or any bias."""
    return isinstance(module, (nn.Conv2d, nn.Linear)) and param_name == "weight"


def is_norm(module):
    return isinstance(module, nn.modules.batchnorm._BatchNorm)


def named_parameters_with_modules(model):
    for module_name, module in model.named_modules():
        for param_name, param in module.named_parameters(recurse=False):
            name = f"{module_name}.{param_name}" if module_name else param_name
            yield name, module, param_name, param


def build_param_groups(model, layer_group_of, base_lrs, weight_decay, variant):
    """torch param groups: per layer group (in order), first the decayed weights, then the rest.

    Frozen parameters (requires_grad False) are left out. Returns (torch groups, manifest records).
    """
    groups = {}
    for name, module, param_name, param in named_parameters_with_modules(model):
        if not param.requires_grad:
            continue
        decay = (decays(module, param_name) or variant.decay_everything) and not variant.no_weight_decay
        groups.setdefault((layer_group_of(name), decay), []).append((name, param))
    torch_groups, records = [], []
    for layer_group, base_lr in base_lrs.items():
        for decay in (True, False):
            members = groups.get((layer_group, decay), [])
            if not members:
                continue
            wd = weight_decay if decay else 0.0
            torch_groups.append({"params": [p for _, p in members], "lr": base_lr, "weight_decay": wd,
                                 "layer_group": layer_group, "base_lr": base_lr})
            records.append({"layer_group": layer_group, "base_lr": base_lr, "weight_decay": wd,
                            "params": [n for n, _ in members]})
    return torch_groups, records


def freeze(model, is_frozen):
    frozen = []
    for name, param in model.named_parameters():
        param.requires_grad_(not is_frozen(name))
        if is_frozen(name):
            frozen.append(name)
    return frozen


def set_norm_modes(model, eval_modules):
    """Whole model in train mode, then the named BatchNorm modules in eval mode."""
    model.train()
    for name, module in model.named_modules():
        if is_norm(module) and name in eval_modules:
            module.eval()


# --- (a) SGD on resnet18_mini ----------------------------------------------------------------------

SGD_FROZEN = ("conv1.", "bn1.", "layer1.")


def setup_sgd(model, variant):
    frozen = freeze(model, lambda n: n.startswith(SGD_FROZEN))
    frozen_norms = [n for n, m in model.named_modules() if is_norm(m) and (n + ".").startswith(SGD_FROZEN)]
    eval_norms = [] if variant.frozen_bn_other_mode else frozen_norms
    set_norm_modes(model, set(eval_norms))
    groups, records = build_param_groups(model, lambda n: "group1" if n.startswith("fc.") else "group0",
                                         {"group0": 0.01, "group1": 0.1}, 1e-4, variant)
    optimizer = torch.optim.SGD(groups, lr=0.01, momentum=0.9, dampening=0, nesterov=False,
                                foreach=False)
    return optimizer, None, {"frozen": frozen, "eval_batchnorm": eval_norms, "param_groups": records}


# --- (b) AdamW with one-cycle on efficientnet_b0_mini ----------------------------------------------

def features_index(name):
    parts = name.split(".")
    return int(parts[1]) if parts[0] == "features" else None


def setup_adamw(model, variant):
    frozen = freeze(model, lambda n: features_index(n) is not None and features_index(n) < 4)
    eval_norms = []
    if variant.frozen_bn_other_mode:
        eval_norms = [n for n, m in model.named_modules() if is_norm(m) and features_index(n) is not None
                      and features_index(n) < 4]
    set_norm_modes(model, set(eval_norms))

    def layer_group(name):
        index = features_index(name)
        if index is None:
            return "head"
        return "group0" if index <= 4 else "group1"

    groups, records = build_param_groups(model, layer_group, {"group0": 1e-4, "group1": 1e-4, "head": 1e-3},
                                         0.01, variant)
    beta1 = one_cycle(0)[1]
    if variant.coupled_decay:
        optimizer = torch.optim.Adam(groups, betas=(beta1, 0.999), eps=1e-8, foreach=False)
    else:
        optimizer = torch.optim.AdamW(groups, betas=(beta1, 0.999), eps=1e-8, foreach=False)

    def schedule(t):
        """Sets lr and beta1 of step t on every group; returns the per-layer-group lrs and beta1."""
        factor, beta1 = one_cycle(t)
        if variant.constant_beta1:
            beta1 = MOMS[0]
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
            group["betas"] = (beta1, 0.999)
        lrs = {"group0": 1e-4 * factor, "group1": 1e-4 * factor, "head": 1e-3 * factor}
        return [lrs["group0"], lrs["group1"], lrs["head"]], beta1

    return optimizer, schedule, {"frozen": frozen, "eval_batchnorm": eval_norms, "param_groups": records}


# --- the formulas of DEFINITIONS, written out --------------------------------------------------------

class WrittenOut:
    """DEFINITIONS' sgd and adamw formulas by hand, driven by a torch optimizer's param groups.

    The generator runs it in float64 beside torch's own optimizer, so the manifest's text is checked
    to describe what torch does (the update order, the bias correction with the current beta1).
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.adam = isinstance(optimizer, torch.optim.Adam)
        self.coupled = not isinstance(optimizer, torch.optim.AdamW)
        self.state = {}

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self):
        for group in self.optimizer.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                state = self.state.setdefault(p, {"k": 0})
                state["k"] += 1
                k, g = state["k"], p.grad
                if not self.adam:
                    g = g + wd * p
                    state["buf"] = g.clone() if k == 1 else 0.9 * state["buf"] + g
                    p.sub_(lr * state["buf"])
                    continue
                beta1, beta2 = group["betas"]
                if self.coupled:
                    g = g + wd * p
                else:
                    p.mul_(1 - lr * wd)
                m = state.get("m", torch.zeros_like(p))
                v = state.get("v", torch.zeros_like(p))
                state["m"] = m = m + (g - m) * (1 - beta1)
                state["v"] = v = beta2 * v + (1 - beta2) * g * g
                denom = v.sqrt() / math.sqrt(1 - beta2 ** k) + group["eps"]
                p.sub_((lr / (1 - beta1 ** k)) * m / denom)


# --- the loop -------------------------------------------------------------------------------------

def make_batches(seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(BATCHES):
        x = torch.randn(BATCH_SIZE, 3, SIZE, SIZE, generator=gen)
        y = torch.randint(0, CLASSES, (BATCH_SIZE,), generator=gen)
        batches.append((x.to(dtype), y))
    return batches


def train(model, optimizer, schedule, batches):
    """STEPS optimizer steps on batches[t % BATCHES]; returns losses [STEPS] and the schedule used."""
    losses, lrs, betas1 = [], [], []
    for t in range(STEPS):
        x, y = batches[t % len(batches)]
        if schedule is not None:
            step_lrs, beta1 = schedule(t)
            lrs.append(step_lrs)
            betas1.append(beta1)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses), lrs, betas1
