"""Make Fixtures/train/ema.json: timm's ModelEmaV3 with warm-up, step by step, for `finetune --ema`.

A small model (Linear 6→4, BatchNorm1d(4), Linear 4→3) starts an EMA (decay 0.99, use_warmup=True,
timm's defaults otherwise: warmup_gamma 1, warmup_power 2/3, min_decay 0, update_after_step 0); then 12
times its parameters and BatchNorm buffers move (seeded random steps, num_batches_tracked counting up)
and `ema.update(model, step=i)` runs with i = 1…12, as timm's train loop calls it after each optimizer
step. Recorded: every state, the decay of every step, and the EMA after every step. The Swift test
applies Graft's EMA to the same states and must give timm's EMA bit for bit.

timm 1.0.31, torch 2.15, one thread. From the repository root:
    /work/main/.venv/bin/python tools/make_ema_fixtures.py
"""

import json
from pathlib import Path

import torch
import timm
from timm.utils.model_ema import ModelEmaV3

OUT = Path(__file__).resolve().parent.parent / "Fixtures" / "train" / "ema.json"


def state(model):
    return {k: v.flatten().tolist() for k, v in model.state_dict().items()}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 3))
    ema = ModelEmaV3(model, decay=0.99, use_warmup=True)
    initial = state(model)
    steps = []
    for i in range(1, 13):
        with torch.no_grad():
            for v in model.state_dict().values():
                if v.is_floating_point():
                    v.add_(torch.randn_like(v) * 0.1)
                else:
                    v.add_(1)
        ema.update(model, step=i)
        steps.append({"step": i, "decay": ema.get_decay(i), "model": state(model), "ema": state(ema.module)})
    OUT.write_text(json.dumps({"timm": timm.__version__, "torch": torch.__version__, "decay": 0.99,
                               "initial": initial, "steps": steps}) + "\n")
    print(OUT, "decays", [round(s["decay"], 4) for s in steps])


if __name__ == "__main__":
    main()
