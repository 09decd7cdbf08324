#!/usr/bin/env bash
# Replays the hdf5 fuzz target's artifacts (crash-*, timeout-*, oom-*, slow-unit-* files: inputs on
# which libhdf5 itself faults, loops or balloons in-process) through the real CLI, which reads Keras
# files in its watched reader process. Every one must be a refusal: exit 2, one stderr line naming the
# file, nothing left in the output folder. Prints one line per artifact and a summary; exits 1 if any
# artifact is not a clean refusal.
#
#   tools/fuzz/triage_hdf5.sh ARTIFACT_DIR [GRAFT]      (GRAFT defaults to .build/release/graft)
set -u
dir=${1:?usage: triage_hdf5.sh ARTIFACT_DIR [GRAFT]}
graft=${2:-.build/release/graft}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export GRAFT_HDF5_TIMEOUT=${GRAFT_HDF5_TIMEOUT:-10}
total=0 clean=0
for f in "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*; do
    [ -e "$f" ] || continue
    total=$((total + 1))
    start=$(date +%s.%N)
    "$graft" convert "$f" "$out/out.safetensors" >/dev/null 2>"$out/stderr"
    status=$?
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    lines=$(wc -l <"$out/stderr")
    left=$(find "$out" -mindepth 1 ! -name stderr | wc -l)
    verdict=bad
    if [ "$status" -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF "$f" "$out/stderr" && [ "$left" -eq 0 ]; then
        verdict=ok
        clean=$((clean + 1))
    fi
    printf '%s\t%s\texit %s\t%s line(s)\t%.2f s\t%s\n' "$verdict" "$(basename "$f")" "$status" "$lines" "$seconds" \
        "$(head -c 200 "$out/stderr" | tr '\n' ' ')"
    rm -f "$out/stderr"
done
echo "triage: $clean of $total artifacts refused cleanly (exit 2, one line naming the file, nothing written)"
[ "$clean" -eq "$total" ]
