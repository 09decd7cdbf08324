"""Make Fixtures/train/lr_find.json: fastai's learning-rate range test, recorded, for `graft lr-find`.

fastai's `Learner.lr_find` (fastai 2.8.12, torch 2.15) on a small synthetic problem: a two-layer MLP on
256 points of 20 features in 4 classes (a random linear teacher), batch 16, Adam, three sweeps:
- `diverges`: the defaults (1e-7 → 10 over 100 iterations): the smoothed loss passes 4 × its best and
  the sweep stops early;
- `complete`: 1e-6 → 1e-2 over 60 iterations, which never diverges;
- `short`: 1e-5 → 1 over 30 iterations.
For each: the raw loss of every batch (captured by a callback), fastai's recorded learning rates and
smoothed losses, and the four suggestions (valley, slide, minimum, steep) as `lr_find` returns them.
The Swift test replays the raw losses through Graft's recorder and must reproduce the schedule, the
smoothing, the stopping point and every suggestion.

Deterministic (fixed seeds, one thread). From the repository root:
    /work/main/.venv/bin/python tools/make_lr_find_fixtures.py
"""

import json
from pathlib import Path

import torch
from fastai.callback.schedule import minimum, slide, steep, valley
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.callback.core import Callback
import fastai

OUT = Path(__file__).resolve().parent.parent / "Fixtures" / "train" / "lr_find.json"


class RawLosses(Callback):
    "Every training batch's loss before smoothing (runs after the Recorder)."
    order = 51

    def before_fit(self):
        self.raw = []

    def after_batch(self):
        if self.training:
            self.raw.append(float(self.learn.loss.detach().float()))


def sweep(name, **kwargs):
    torch.manual_seed(0)
    x = torch.randn(256, 20)
    teacher = torch.randn(20, 4)
    y = (x @ teacher).argmax(1)
    items = list(zip(x, y))
    dls = DataLoaders.from_dsets(items[:224], items[224:], bs=16, device="cpu")
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    raw = RawLosses()
    learn = Learner(dls, model, loss_func=torch.nn.CrossEntropyLoss(), cbs=[raw])
    found = learn.lr_find(show_plot=False, suggest_funcs=(valley, slide, minimum, steep), **kwargs)
    rec = learn.recorder
    return {
        "name": name,
        "start_lr": kwargs.get("start_lr", 1e-7),
        "end_lr": kwargs.get("end_lr", 10),
        "num_it": kwargs.get("num_it", 100),
        "raw_losses": raw.raw,
        "lrs": [float(v) for v in rec.lrs],
        "smoothed_losses": [float(v) for v in rec.losses],
        "suggestions": {"valley": found.valley, "slide": found.slide, "minimum": found.minimum, "steep": found.steep},
    }


def main():
    torch.set_num_threads(1)
    cases = [sweep("diverges"), sweep("complete", start_lr=1e-6, end_lr=1e-2, num_it=60),
             sweep("short", start_lr=1e-5, end_lr=1, num_it=30)]
    for c in cases:
        assert len(c["raw_losses"]) == len(c["lrs"]) == len(c["smoothed_losses"]), c["name"]
    assert len(cases[0]["lrs"]) < 100, "the default sweep should stop on divergence"
    assert len(cases[1]["lrs"]) == 60, "the short-range sweep should run to the end"
    OUT.write_text(json.dumps({"fastai": fastai.__version__, "torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    for c in cases:
        print(c["name"], len(c["lrs"]), "iterations, suggestions", c["suggestions"])


if __name__ == "__main__":
    main()
