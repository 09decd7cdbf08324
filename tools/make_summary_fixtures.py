"""torchinfo's figures for every torchvision CNN builder: Fixtures/summary/torchinfo.json.

For each classification builder of the families Graft's zoo has, at its DEFAULT weights' crop size
(224 without one), batch 1, evaluation mode: torchinfo's total and trainable parameters, total
mult-adds and "Forward/backward pass size" in bytes, and a few per-layer rows (output shape,
parameters, mult-adds) so that a disagreement can be located. GoogLeNet and Inception v3 are built
without auxiliary heads, as their pretrained weights are published. `graft summary` must equal
these (tests: SummaryTorchinfoTests). Written as compact JSON, one architecture per line.

    OMP_NUM_THREADS=2 .venv/bin/python tools/make_summary_fixtures.py
"""

import json
import sys
from pathlib import Path

import torch
import torchinfo
import torchvision
from torchvision import models

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Fixtures" / "summary" / "torchinfo.json"
FAMILIES = ("alexnet", "convnext", "densenet", "efficientnet", "googlenet", "inception", "mnasnet", "mobilenet",
            "regnet", "resnet", "resnext", "wide_resnet", "shufflenet", "squeezenet", "vgg")


def crop_size(name):
    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, AttributeError):
        return 224
    size = weights.transforms().crop_size
    return size[0] if isinstance(size, (list, tuple)) else size


def build(name):
    if name in ("googlenet", "inception_v3"):
        return models.get_model(name, weights=None, aux_logits=False, init_weights=False)
    return models.get_model(name, weights=None)


def main():
    torch.set_num_threads(2)
    names = [n for n in models.list_models(module=models) if n.startswith(FAMILIES)]
    if len(sys.argv) > 1:
        names = [n for n in names if n in sys.argv[1:]]
    cases = {}
    for name in names:
        model = build(name).eval()
        side = crop_size(name)
        stats = torchinfo.summary(model, input_size=(1, 3, side, side), mode="eval", verbose=0, device="cpu")
        rows = {}
        # Per-leaf rows keyed by module path (named_modules order), to locate a disagreement.
        by_id = {id(m): p for p, m in model.named_modules()}
        for layer in stats.summary_list:
            p = by_id.get(layer.layer_id)
            if p is None or not layer.is_leaf_layer or layer.macs == 0:
                continue
            rows[p] = {"output_shape": list(layer.output_size), "params": layer.num_params, "mult_adds": layer.macs}
        cases[name] = {
            "size": side,
            "total_params": stats.total_params,
            "trainable_params": stats.trainable_params,
            "mult_adds": stats.total_mult_adds,
            "forward_backward_bytes": stats.total_output_bytes,
            "leaves": rows if name in ("resnet50", "efficientnet_b0", "convnext_tiny", "inception_v3") else {},
        }
        print(f"{name:24s} {side:4d} params {stats.total_params:>11,d} mult-adds {stats.total_mult_adds:>15,d}", flush=True)
        del model
    write(OUT, {"torch": torch.__version__, "torchvision": torchvision.__version__, "torchinfo": torchinfo.__version__}, cases)


def write(path, versions, cases):
    """Compact JSON, one architecture per line (the fixture budget is tight; diffs stay per architecture)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compact = lambda v: json.dumps(v, separators=(",", ":"))  # noqa: E731
    lines = [f" {compact(name)}:{compact(case)}" for name, case in cases.items()]
    head = compact(versions)[:-1]
    path.write_text(head + ',"cases":{\n' + ",\n".join(lines) + "\n}}\n")


if __name__ == "__main__":
    main()
