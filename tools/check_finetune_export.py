"""Check that a model fine-tuned by Graft loads into torchvision's model with the same replaced head.

Runs the release `graft` on the bundled demo (Fixtures/demo): `finetune` (frozen backbone, new 3-class
head), then `export` to a .pth. The .pth is loaded with `torch.load(weights_only=True)` into the torchvision
ResNet miniature the backbone came from, with its `fc` replaced by `nn.Linear(64, 3)`, using
`load_state_dict(strict=True)`. torch's logits on the demo's verification batch are saved, and
`graft verify` must reproduce them from the fine-tuned store (exit 0). Writes Fixtures/demo/export_check.json.

  swift build -c release --product graft && .venv/bin/python tools/check_finetune_export.py
"""
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, "tools")
from fixture_archs import resnet_mini  # noqa: E402

GRAFT = ".build/release/graft"


def run(*args):
    out = subprocess.run([GRAFT, *args], capture_output=True, text=True)
    return out.returncode, out.stdout + out.stderr


def main():
    manifest = json.load(open("Fixtures/demo/manifest.json"))
    cfg = manifest["backbone"]["config"]
    with tempfile.TemporaryDirectory() as tmp:
        store, pth, logits = f"{tmp}/finetuned.safetensors", f"{tmp}/finetuned.pth", f"{tmp}/torch_logits.npy"
        rc, log = run("finetune", "--arch", "resnet", "--checkpoint", "Fixtures/demo/backbone.pth", "--data", "Fixtures/demo/images",
                      "--epochs", "5", "--batch", "8", "--lr", "0.05", "--schedule", "constant", "--no-augment",
                      "--output", store, "--json")
        assert rc == 0, log
        rc, log = run("export", store, pth)
        assert rc == 0, log
        model, _ = resnet_mini("basic", cfg["layers"], cfg["widths"], num_classes=cfg["num_classes"])
        model.fc = torch.nn.Linear(model.fc.in_features, 3)
        state = torch.load(pth, weights_only=True)
        result = model.load_state_dict(state, strict=True)
        model.eval()
        x = torch.from_numpy(np.load("Fixtures/demo/backbone_input.npy"))
        with torch.no_grad():
            y = model(x).numpy()
        np.save(logits, y)
        rc, log = run("verify", "--checkpoint", store, "--input", "Fixtures/demo/backbone_input.npy", "--reference", logits, "--json")
        report = json.loads(log[log.index("{"):])
        print(log)
        assert rc == 0, "graft verify disagrees with torch on the exported model"
    out = {"generator": "tools/check_finetune_export.py",
           "versions": {"torch": torch.__version__},
           "checked": "graft finetune -> graft export -> torch.load(weights_only=True) -> torchvision ResNet miniature with "
                      "fc = Linear(64, 3), load_state_dict(strict=True) -> torch logits == graft verify on the store",
           "strict_load": str(result), "max_abs_diff": report["maxAbsDiff"], "top1_agreement": report["top1Agreement"]}
    json.dump(out, open("Fixtures/demo/export_check.json", "w"), indent=1)
    print("ok", out)


if __name__ == "__main__":
    main()
