#!/usr/bin/env bash
# The reduced evaluation protocol recorded in docs/benchmarks.md (CPU, shared machine).
#
#   bash benchmarks/reduced_protocol.sh A   # worker A: bicubic + DualSR, then ablations on images 1-4
#   bash benchmarks/reduced_protocol.sh B   # worker B: true kernel, then ablations on images 5-8
#
# Both workers write into the same resumable output folder (one JSON per image and
# method); rerunning either skips what is finished. ITER and OUT may be overridden; so may
# SIZE, IMAGES (the set) and ABLATE_A / ABLATE_B (each worker's ablation images), for a
# smoke run at toy size (benchmarks/smoke.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${ITER:-400}
OUT=${OUT:-out/bench384}
SIZE=${SIZE:-384}
IMAGES=${IMAGES:-astronaut,camera,chelsea,coffee,hubble_deep_field,immunohistochemistry,moon,rocket}
ABLATE_A=${ABLATE_A:-astronaut camera coffee immunohistochemistry}
ABLATE_B=${ABLATE_B:-chelsea hubble_deep_field moon rocket}
bench() { python -m dualsr.cli bench skimage -o "$OUT" --size "$SIZE" --iterations "$ITER" --threads 1 "$@"; }

case "${1:-A}" in
  A)
    bench --images "$IMAGES" --methods bicubic,dualsr
    for img in $ABLATE_A; do
      bench --images "$img" --methods no_interp,no_forward,no_backward
    done
    ;;
  B)
    bench --images "$IMAGES" --methods bicubic  # makes the set before worker A needs it
    bench --images "$IMAGES" --methods known_kernel
    for img in $ABLATE_B; do
      bench --images "$img" --methods no_interp,no_forward,no_backward
    done
    ;;
esac
bench --images "$IMAGES" --summary-only --methods bicubic,dualsr,known_kernel,no_interp,no_forward,no_backward
