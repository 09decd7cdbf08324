"""Make Fixtures/train/losses.json: the class-weighted cross-entropy (`finetune --balance loss`) and timm's
soft-target cross-entropy (MixUp/CutMix targets), with their gradients, from PyTorch.

Cases: torch.nn.functional.cross_entropy(logits, targets, weight=w, label_smoothing=ε) for ε = 0 and
0.1, with w = sklearn's "balanced" class weights n / (K · count) of the targets; and
timm.loss.SoftTargetCrossEntropy on the mixed one-hot targets timm's Mixup makes (λ = 0.7, smoothing 0.1,
the batch paired with its flip). Logits in float64 are not used: everything is float32 as in training.

torch 2.15, timm 1.0.31. From the repository root:
    /work/main/.venv/bin/python tools/make_loss_fixtures.py
"""

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from timm.data.mixup import mixup_target
from timm.loss import SoftTargetCrossEntropy

OUT = Path(__file__).resolve().parent.parent / "Fixtures" / "train" / "losses.json"


def main():
    torch.manual_seed(0)
    n, k = 7, 4
    logits = torch.randn(n, k) * 2
    targets = torch.tensor([0, 0, 0, 1, 2, 2, 3])
    counts = torch.bincount(targets, minlength=k).float()
    weight = n / (k * counts)
    cases = []
    for eps in (0.0, 0.1):
        x = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(x, targets, weight=weight, label_smoothing=eps)
        loss.backward()
        cases.append({"kind": "weighted", "label_smoothing": eps, "weight": weight.tolist(),
                      "loss": loss.item(), "grad": x.grad.flatten().tolist()})
    soft = mixup_target(targets, k, lam=0.7, smoothing=0.1)
    x = logits.clone().requires_grad_(True)
    loss = SoftTargetCrossEntropy()(x, soft)
    loss.backward()
    cases.append({"kind": "soft", "lam": 0.7, "label_smoothing": 0.1, "soft_targets": soft.flatten().tolist(),
                  "loss": loss.item(), "grad": x.grad.flatten().tolist()})
    OUT.write_text(json.dumps({"torch": torch.__version__, "n": n, "k": k, "logits": logits.flatten().tolist(),
                               "targets": targets.tolist(), "cases": cases}, indent=1) + "\n")
    print(OUT, [c["loss"] for c in cases])


if __name__ == "__main__":
    main()
