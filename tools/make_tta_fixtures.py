"""Make Fixtures/train/tta.json: test-time augmentation as PyTorch computes it, for `predict --tta`.

resnet18_mini (Fixtures/torch/resnet18_mini.pth, 10 classes) in eval mode on the real photos of
Fixtures/demo/real, with ResNet18_Weights.IMAGENET1K_V1's preset (resize 256 bilinear, crop 224,
ImageNet mean/std) written out with torchvision v1 transforms on the PIL image:
- flip: CenterCrop(224) and its horizontal flip;
- ten-crop: TenCrop(224) after Resize(256).
The probabilities are softmax(logits) of each view averaged over the views (`probs.mean(0)`).

torch 2.15, torchvision 0.29.2, Pillow 13. From the repository root:
    /work/main/.venv/bin/python tools/make_tta_fixtures.py
"""

import json
import sys
from pathlib import Path

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from fixture_archs import MINIATURES  # noqa: E402

OUT = ROOT / "Fixtures" / "train" / "tta.json"
NORMALIZE = T.Compose([T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])


def main():
    torch.set_num_threads(1)
    model, _ = MINIATURES["resnet18_mini"]["build"]()
    model.load_state_dict(torch.load(ROOT / "Fixtures/torch/resnet18_mini.pth", weights_only=True))
    model.eval()
    resize = T.Resize(256, interpolation=T.InterpolationMode.BILINEAR)
    cases = []
    for photo in sorted((ROOT / "Fixtures/demo/real").glob("*.jpg")):
        image = Image.open(photo).convert("RGB")
        resized = resize(image)
        center = T.CenterCrop(224)(resized)
        views = {"flip": [center, center.transpose(Image.FLIP_LEFT_RIGHT)], "ten-crop": list(T.TenCrop(224)(resized))}
        for mode, crops in views.items():
            with torch.no_grad():
                probs = torch.softmax(model(torch.stack([NORMALIZE(c) for c in crops])), dim=1).mean(0)
            cases.append({"photo": photo.name, "mode": mode, "probabilities": probs.tolist()})
    OUT.write_text(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": cases}, indent=1) + "\n")
    print(OUT, len(cases))


if __name__ == "__main__":
    main()
