#!/bin/sh
# Regenerates Sources/GraftONNX/onnx.pb.swift from tools/onnx/onnx.proto (ONNX 1.23.2's onnx.proto,
# IR version 14, copied from the onnx wheel: site-packages/onnx/onnx.proto). The generated file is
# committed; builds and CI never run protoc or the plugin.
#
# Needs protoc (Debian: apt-get install protobuf-compiler) and protoc-gen-swift of the same
# swift-protobuf version as Package.resolved (1.39.0), e.g.
#   (cd .build/checkouts/swift-protobuf && swift build -c release --product protoc-gen-swift)
# then PROTOC_GEN_SWIFT=.build/checkouts/swift-protobuf/.build/release/protoc-gen-swift tools/gen_onnx_proto.sh
set -eu
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "protoc-gen-swift not found: set PROTOC_GEN_SWIFT" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
protoc --plugin=protoc-gen-swift="$plugin" --proto_path=tools/onnx \
    --swift_opt=Visibility=Public --swift_out="$out" tools/onnx/onnx.proto
mv "$out/onnx.pb.swift" Sources/GraftONNX/onnx.pb.swift
echo "wrote Sources/GraftONNX/onnx.pb.swift"
