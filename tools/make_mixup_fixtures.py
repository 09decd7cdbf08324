"""Make Fixtures/train/mixup.json: timm's Mixup (batch mode) for `finetune --mixup/--cutmix`.

Input: a batch of 4 images 3×7×9 with values (i mod 17)/17 in float32 (computable anywhere), labels
[0, 3, 1, 4] of 5 classes, label smoothing 0.1. For seeds 0…7, numpy is seeded and
timm.data.Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5) mixes the batch; the parameters
it drew (λ, MixUp or CutMix, the CutMix box and the corrected λ) are recorded by replaying the same
draws, with the sha256 of the mixed batch's float32 bytes and the soft targets. The Swift test mixes
with the recorded parameters and must give the same bytes and targets.

timm 1.0.31, torch 2.15, numpy. From the repository root:
    /work/main/.venv/bin/python tools/make_mixup_fixtures.py
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import timm
from timm.data.mixup import Mixup, cutmix_bbox_and_lam

OUT = Path(__file__).resolve().parent.parent / "Fixtures" / "train" / "mixup.json"
SHAPE = (4, 3, 7, 9)


def batch():
    n = int(np.prod(SHAPE))
    return torch.from_numpy(((np.arange(n) % 17) / np.float32(17)).astype(np.float32).reshape(SHAPE))


def main():
    labels = torch.tensor([0, 3, 1, 4])
    cases = []
    for seed in range(8):
        mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, label_smoothing=0.1, num_classes=5)
        np.random.seed(seed)
        x, target = mix(batch(), labels.clone())
        np.random.seed(seed)
        lam, use_cutmix = mix._params_per_batch()
        box = None
        if use_cutmix and lam != 1.0:
            box, lam = cutmix_bbox_and_lam(SHAPE, lam, correct_lam=True)
            box = [int(v) for v in box]
        cases.append({"seed": seed, "lam": lam, "cutmix": bool(use_cutmix), "box": box,
                      "sha256": hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest(),
                      "targets": target.flatten().tolist()})
    assert any(c["cutmix"] for c in cases) and any(not c["cutmix"] for c in cases)
    OUT.write_text(json.dumps({"timm": timm.__version__, "shape": SHAPE, "labels": labels.tolist(), "classes": 5,
                               "label_smoothing": 0.1, "cases": cases}, indent=1) + "\n")
    print(OUT, [(c["cutmix"], round(c["lam"], 3)) for c in cases])


if __name__ == "__main__":
    main()
