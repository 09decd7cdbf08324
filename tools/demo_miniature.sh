#!/usr/bin/env bash
# The whole Graft path on the bundled miniature (Fixtures/demo): what `make demo` runs when the real
# weights cannot be fetched (tools/demo.sh), or with GRAFT_DEMO_OFFLINE=1.
#
# A small torchvision ResNet, pretrained with PyTorch on ten synthetic shape classes, is converted to a
# Graft store, inspected, verified against PyTorch's logits, fine-tuned with a frozen backbone on three
# new classes (one of the bundled images is deliberately corrupt: it is reported and skipped), used to
# classify validation images, and exported back to a PyTorch checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
GRAFT=${GRAFT:-.build/release/graft}
OUT=${DEMO_OUTPUT:-demo-output}
D=Fixtures/demo
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. convert the pretrained PyTorch checkpoint into a Graft store (recording arch, preprocessing, classes)"
"$GRAFT" convert "$D/backbone.pth" "$OUT/backbone.safetensors" --arch resnet --preset 56:48:bilinear \
    --classes "$D/backbone_classes.txt"

step "2. inspect it"
"$GRAFT" inspect "$OUT/backbone.safetensors" > "$OUT/inspect.txt"
head -22 "$OUT/inspect.txt"
echo "  … (full listing in $OUT/inspect.txt)"
tail -1 "$OUT/inspect.txt"

step "3. verify: same logits as PyTorch on the reference batch"
"$GRAFT" verify --checkpoint "$OUT/backbone.safetensors" --input "$D/backbone_input.npy" --reference "$D/backbone_logits.npy"

step "4. fine-tune a new 3-class head on the bundled image folder, backbone frozen"
"$GRAFT" finetune --checkpoint "$OUT/backbone.safetensors" --data "$D/images" --epochs 10 --batch 8 \
    --lr 0.05 --schedule constant --freeze backbone --no-augment --output "$OUT/finetuned.safetensors"

step "5. predict with the fine-tuned store (classes and preprocessing come from its metadata)"
"$GRAFT" predict --checkpoint "$OUT/finetuned.safetensors" --top 2 \
    "$D/images/val/crescent/crescent_000.png" "$D/images/val/frame/frame_001.jpg" "$D/images/val/grid/grid_002.png"

step "6. export it back to a PyTorch checkpoint (torch.load(weights_only=True) reads it)"
"$GRAFT" export "$OUT/finetuned.safetensors" "$OUT/finetuned.pth"

printf '\nDemo outputs in %s/: backbone.safetensors, finetuned.safetensors, finetuned.pth, report.html, training-curves.svg, confusion-matrix.svg/.txt\n' "$OUT"
