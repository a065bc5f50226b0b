#!/usr/bin/env bash
# Check and time DualSR's CUDA path on a machine with an NVIDIA GPU. Installs nothing.
#
#   benchmarks/gpu_check.sh                 # correctness CPU vs CUDA, paper preset timed, levers
#   benchmarks/gpu_check.sh --cpu-only      # the same script with the CPU standing in (tests it)
#
# Uses the Python that has torch (the project's .venv if there is one, else python3), with
# this checkout's src/ first on PYTHONPATH. Stops itself after 9 minutes: gpu_check.py
# (at most 450 s; it skips what would not fit in its --budget, default 380 s), then
# onnx_cuda_check.py (at most 85 s). Extra arguments go to benchmarks/gpu_check.py (see
# --help there); ONNX_CHECK_ARGS, if set, to onnx_cuda_check.py (e.g. "--side 256 --runs 1").
# Exit status 0: checks passed; 1: mismatch; 2: no CUDA device (without --cpu-only); 124: timed out.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py="python3"; fi
fi
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "gpu_check: $py cannot import torch; set PYTHON=/path/to/python with torch installed" >&2
  exit 2
fi
if [[ " $* " != *" --cpu-only "* ]]; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
status=0
timeout 450 "$py" "$here/gpu_check.py" "$@" || status=$?
# then onnxruntime's CUDA provider: a paper-size G_UP and the product's noisy-image model
onnx_args=()
if [[ " $* " == *" --cpu-only "* ]]; then onnx_args=(--cpu-only); fi
read -r -a extra <<<"${ONNX_CHECK_ARGS:-}"
onnx_args+=(${extra[@]+"${extra[@]}"})
timeout 85 "$py" "$here/onnx_cuda_check.py" ${onnx_args[@]+"${onnx_args[@]}"} || { rc=$?; if [[ $status -eq 0 ]]; then status=$rc; fi; }
exit "$status"
