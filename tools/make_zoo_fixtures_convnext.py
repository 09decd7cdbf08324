"""ConvNeXt references for Graft's tests, from torchvision's own ConvNeXt class.

Writes Fixtures/zoo/convnext/:
  mini.pth           state dict of a miniature ConvNeXt (torchvision.models.convnext.ConvNeXt with
                     CNBlockConfig widths 8/16, depths 1/2, 5 classes), LayerNorm γ/β and layer_scale
                     perturbed so every one of them moves the logits
  input.npy          2×3×32×32 float32
  logits.npy         eval-mode logits
  grads.safetensors  training-mode gradients of every parameter (cross-entropy on labels [1, 3];
                     stochastic depth 0), and the parameters after 3 SGD steps (lr 0.1, momentum 0.9)
  manifest.json      versions, shapes, labels
With --full DIR: every torchvision size (convnext_tiny…large), random init with perturbed norms and
layer scales, two real photos of ../shared/fixtures/images through its DEFAULT weights' eval transform,
and float32 logits, for the full-size test (not committed).

Run from the repository root:  .venv/bin/python tools/make_zoo_fixtures_convnext.py [--full .build-zoo-full/convnext]
"""
import sys
from functools import partial
from pathlib import Path

import numpy
import torch
from PIL import Image
from safetensors.torch import save_file
from torchvision import models
from torchvision.models.convnext import CNBlockConfig, ConvNeXt

from fixturelib import FIXTURES, configure_torch, versions, write_json

OUT = FIXTURES / "zoo" / "convnext"


def perturb(model, seed):
    """LayerNorm γ/β, layer scales and biases away from their init, so none of them can be ignored."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif p.dim() == 1:
                base = 1.0 if name.endswith("weight") and "block.0" not in name and "features.0.0" not in name else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))


def miniature():
    torch.manual_seed(0)
    settings = [CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 2)]
    model = ConvNeXt(settings, stochastic_depth_prob=0.0, num_classes=5)
    perturb(model, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), OUT / "mini.pth")
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    numpy.save(OUT / "input.npy", x.numpy())
    model.eval()
    with torch.no_grad():
        numpy.save(OUT / "logits.npy", model(x).numpy())
    labels = torch.tensor([1, 3])
    model.train()
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    tensors = {f"grad.{k}": p.grad.detach().clone().contiguous() for k, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
    tensors.update({f"after.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()})
    save_file(tensors, str(OUT / "grads.safetensors"))
    write_json(OUT / "manifest.json", {
        "generator": "tools/make_zoo_fixtures_convnext.py", "versions": versions(),
        "miniature": {"block_setting": [[8, 16, 1], [16, None, 2]], "num_classes": 5,
                      "stochastic_depth_prob": 0.0, "layer_scale": 1e-6},
        "input_shape": [2, 3, 32, 32], "labels": labels.tolist(), "loss": float(loss.detach()),
        "sgd": {"steps": 3, "lr": 0.1, "momentum": 0.9},
    })


def full(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted((FIXTURES.parent.parent / "shared" / "fixtures" / "images").glob("*"))[:2]
    for name in ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]:
        torch.manual_seed(0)
        model = models.get_model(name)
        perturb(model, 1)
        model.eval()
        transform = models.get_model_weights(name).DEFAULT.transforms()
        x = torch.stack([transform(Image.open(p).convert("RGB")) for p in photos])
        with torch.no_grad():
            logits = model(x)
        torch.save(model.state_dict(), folder / f"{name}.pth")
        numpy.save(folder / f"{name}_input.npy", x.numpy())
        numpy.save(folder / f"{name}_logits.npy", logits.numpy())
        print(name, tuple(x.shape), float(logits.abs().max()))


if __name__ == "__main__":
    configure_torch()
    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        full(sys.argv[2])
    else:
        miniature()
        print(sum(f.stat().st_size for f in OUT.iterdir()), "bytes in", OUT)
