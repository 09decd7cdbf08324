"""Shared helpers for Graft's fixture generators (tools/make_*_fixtures.py, tools/record_shared_hashes.py).

Nothing here runs on its own. It holds what several generators need to agree on:
- the versions block every manifest carries,
- how a tensor is hashed (its contiguous little-endian bytes in its own dtype),
- the deterministic perturbation that makes BatchNorm statistics and biases matter in the logits,
- the tensors of the layout and dtype fixtures.
Zip and pickle helpers live in tools/fixture_containers.py.

Run the generators with the project's venv, from the repository root:
    /work/main/.venv/bin/python tools/make_torch_fixtures.py
"""

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Fixtures"

# torch dtype -> the manifest's dtype string (the same names as GraftCore's DType torch names).
DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
    torch.float64: "float64", torch.int64: "int64", torch.int32: "int32", torch.int16: "int16",
    torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
}

def versions():
    """The library versions a manifest records, so a regenerated fixture can be explained."""
    def dist(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": dist("torchvision"),
        "timm": dist("timm"),
        "efficientnet_pytorch": dist("efficientnet_pytorch"),
        "numpy": numpy.__version__,
    }


def require_fixed_hash_seed():
    """Re-run the interpreter with PYTHONHASHSEED=0 unless it is already set.

    TorchScript writes some class constants in set-iteration order, which follows Python's string hash
    randomisation; a fixed seed makes scripted.pt byte-identical from run to run.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def configure_torch():
    """One thread and deterministic kernels: the references must not depend on the machine's cores."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def dtype_name(dtype):
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"no manifest name for {dtype}")
    return DTYPE_NAMES[dtype]


def tensor_bytes(t):
    """The tensor's values as torch sees them, contiguous, little-endian, in its own dtype."""
    if sys.byteorder != "little":
        raise RuntimeError("fixtures are generated on little-endian machines only")
    flat = t.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def tensor_record(name, t):
    """A manifest entry for one tensor: name, dtype, shape and the sha256 of its bytes."""
    return {
        "name": name,
        "dtype": dtype_name(t.dtype),
        "shape": list(t.shape),
        "sha256": hashlib.sha256(tensor_bytes(t)).hexdigest(),
    }


def tensor_records(state_dict):
    return [tensor_record(k, v) for k, v in state_dict.items()]


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path, obj):
    """Stable JSON, insertion order kept (tensor lists are in state_dict order).

    Indented, except that a list of scalars (a shape) and then an object holding no other object (a
    tensor record) are written on one line, so a manifest reads one tensor per line.
    """
    text = json.dumps(obj, indent=1, ensure_ascii=True)
    # json.dumps escapes newlines inside strings, so every real newline here is between tokens.
    one_line = lambda m: re.sub(r"\n\s*", " ", m.group(0))  # noqa: E731
    text = re.sub(r"\[[^\[\]{}]*\]", one_line, text)
    text = re.sub(r"\{[^{}]*\}", one_line, text)
    Path(path).write_text(text + "\n")


# Smallest running variance a fixture's BatchNorm gets (see perturb_model).
VAR_FLOOR = 0.01


def perturb_model(model, seed, calibration_input):
    """Give the random network trained-looking BatchNorm statistics, then move them off the mark.

    A fresh network has BN weight 1, bias 0, mean 0, var 1 and many zero biases, so a Swift graph that
    forgets a BN term, uses the wrong eps or drops a bias would still match it. Worse, running
    statistics unrelated to the real activations let the input-dependent signal fade layer by layer
    until the logits no longer depend on the input (EfficientNets then give the same logits for any
    image). So, in order:
    1. every conv/linear bias and every BN weight/bias gets a random non-zero value;
    2. each BN's running mean/var is measured on `calibration_input` (as a trained net's would be);
    3. those statistics are jittered (mean by up to a quarter std, var by a factor 0.6..1.6), so eval
       mode differs from batch statistics, and num_batches_tracked gets distinct non-zero values.
    Variances are floored at VAR_FLOOR first: a near-constant channel divided by sqrt(1e-5) turns
    float32 rounding into logit noise, and the references must stay well-conditioned in float32.
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=gen) * (high - low) + low

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.copy_(uniform(module.bias.shape, -0.1, 0.1))
        for norm in norms:
            norm.weight.copy_(uniform(norm.num_features, 0.6, 1.4))
            norm.bias.copy_(uniform(norm.num_features, -0.3, 0.3))
        _measure_batchnorm(model, norms, calibration_input)
        for counter, norm in enumerate(norms, start=1):
            n = norm.num_features
            norm.running_var.clamp_(min=VAR_FLOOR)
            norm.running_mean.add_(uniform(n, -0.25, 0.25) * norm.running_var.sqrt())
            norm.running_var.mul_(uniform(n, 0.6, 1.6))
            norm.num_batches_tracked.fill_(1000 + 17 * counter)
    model.eval()


def _measure_batchnorm(model, norms, x):
    """Set each BN's running statistics to those of `x` (cumulative average over one batch).

    Only the BN layers are in training mode, so dropout and stochastic depth stay identities.
    """
    model.eval()
    saved = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    model(x)
    for norm, momentum in zip(norms, saved):
        norm.momentum = momentum
        norm.eval()


# --- tensors for the layout and dtype fixtures ------------------------------------------------------

def view_tensors():
    """Tensors whose storage is not one plain contiguous block: what a reader must materialise."""
    t = torch.arange(12, dtype=torch.float32).reshape(4, 3) * 0.5 - 1.0
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8.0
    base = torch.arange(8, dtype=torch.float32) * 1.25
    column = torch.tensor([[1.0], [-2.0], [3.5]])
    return OrderedDict([
        ("a", t),                                   # contiguous, shares its storage with "b"
        ("b", t[1:].t()),                           # transposed view of rows 1..3: offset 3, stride (1, 3)
        ("fortran", x.permute(2, 1, 0)),            # Fortran order: stride (1, 4, 12)
        ("expanded", column.expand(3, 4)),          # stride 0 along the last axis
        ("slice", base[2:5]),                       # storage offset 2 into an 8-element storage
        ("scalar", torch.tensor(7)),                # 0-dim int64
        ("empty", torch.zeros(2, 0)),               # no elements
    ])


def dtype_tensors():
    """One small tensor per supported dtype, with values that catch sign, width and rounding errors."""
    return OrderedDict([
        ("float32", torch.tensor([[1.5, -2.25, 3.0e-8], [1.0e30, -0.0, 0.1]], dtype=torch.float32)),
        ("float16", torch.tensor([1.0, -0.5, 65504.0, 6.0e-8, 0.1, -0.0], dtype=torch.float16)),
        ("bfloat16", torch.tensor([1.0, -3.140625, 1.0e30, 1.0e-30, 0.1], dtype=torch.bfloat16)),
        ("float64", torch.tensor([1.0 / 3.0, -1.0e300, 2.5], dtype=torch.float64)),
        ("int64", torch.tensor([0, -1, 2**40, -(2**62), 2**63 - 1], dtype=torch.int64)),
        ("int32", torch.tensor([[0, -1], [2**31 - 1, -(2**31)]], dtype=torch.int32)),
        ("int16", torch.tensor([-32768, 32767, 7], dtype=torch.int16)),
        ("int8", torch.tensor([-128, 127, 0, -5], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 255, 128, 1], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True], dtype=torch.bool)),
        ("zero_dim", torch.tensor(-1.5, dtype=torch.float32)),
    ])
