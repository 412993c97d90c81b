#!/usr/bin/env bash
# tests/kernels/run.sh ML2CANDLE [--quick] — DESIGN §7.5 without a GPU: every kernel `ml2candle kernels` emits
# for every fixture (tests/models/*/model.onnx) and for the kernel-IR unit graphs (tests/unit/kir/*.test)
# compiles to PTX with NVRTC for sm_80 and sm_90, stored as f32, f16 and bf16.  --quick (the sanitizer build,
# where the point is our own code's memory safety): PTX for f32 and sm_90 only, f16/bf16 emitted unbuilt.
#
# NVRTC comes from $ML2CANDLE_NVRTC, else the nvidia-cuda-nvrtc wheel of this python3 (scripts/install_deps.sh
# installs it), else ml2candle's own search.  Missing NVRTC is a loud FAIL; only ML2CANDLE_NO_NVRTC=1 (a
# machine where it cannot exist) turns it into a skip (exit 77).
set -uo pipefail
bin=$(realpath "$1")
quick=${2:-}
cd "$(dirname "$0")/../.."

if [ -z "${ML2CANDLE_NVRTC:-}" ]; then
  d=$(python3 - 2>/dev/null <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for p in (spec.submodule_search_locations if spec else []):
    for sub in ("cu13/lib", "cuda_nvrtc/lib"):
        for n in ("libnvrtc.so.13", "libnvrtc.so.12"):
            if os.path.exists(os.path.join(p, sub, n)):
                print(os.path.join(p, sub)); raise SystemExit
PY
  )
  if [ -n "$d" ]; then export ML2CANDLE_NVRTC=$d; fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$bin" kernels tests/models/mlp_ts/model.onnx -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
  if grep -q "NVRTC not found" "$tmp/probe.log"; then
    if [ "${ML2CANDLE_NO_NVRTC:-}" = 1 ]; then
      echo "SKIP: NVRTC not found, and ML2CANDLE_NO_NVRTC=1 says this machine cannot have it"
      exit 77
    fi
    echo "FAIL: NVRTC not found — install it (pip install nvidia-cuda-nvrtc, scripts/install_deps.sh does) or set"
    echo "ML2CANDLE_NVRTC; on a machine that truly cannot have it, ML2CANDLE_NO_NVRTC=1 skips this test."
    cat "$tmp/probe.log"
    exit 1
  fi
fi

models=(tests/models/*/model.onnx)
for t in tests/unit/kir/*.test; do
  ir="$tmp/$(basename "$t" .test).ir"
  awk '/^## input$/{on=1; next} /^## /{on=0} on' "$t" >"$ir"
  models+=("$ir")
done

start=$(date +%s)
jobs=()
for m in "${models[@]}"; do
  for dt in f32 f16 bf16; do
    if [ "$quick" = --quick ]; then
      if [ $dt = f32 ]; then jobs+=("$m $dt sm_90"); else jobs+=("$m $dt none"); fi
    else
      jobs+=("$m $dt sm_80,sm_90")
    fi
  done
done
# one job per graph and dtype, as many at a time as there are cores
run_job() {
  local m=$1 dt=$2 arch=$3 out
  out=$(mktemp -d "$tmp/job.XXXXXX")
  local opts=(--arch "${arch/none/sm_90}")
  [ "$arch" = none ] && opts+=(--no-ptx)
  if ! "$bin" kernels "$m" -o "$out/k" --dtype "$dt" "${opts[@]}" >"$out/log" 2>&1; then
    echo "FAIL: $m ($dt, $arch)"
    cat "$out/log"
    return 1
  fi
  echo "ok $(ls "$out/k"/*.cu | wc -l) $m $dt $arch"
}
export -f run_job
export bin tmp
printf '%s\n' "${jobs[@]}" | xargs -P "$(nproc)" -L 1 bash -c 'run_job $0 $1 $2' >"$tmp/results" 2>&1
status=$?
grep -v '^ok ' "$tmp/results"
kernels=$(awk '/^ok /{n += $2} END {print n + 0}' "$tmp/results")
echo "kernels.nvrtc: $kernels kernels (${#models[@]} graphs x f32/f16/bf16) compiled for" \
     "$([ "$quick" = --quick ] && echo "sm_90 in f32 (--quick)" || echo "sm_80 and sm_90") with" \
     "${ML2CANDLE_NVRTC:-the NVRTC ml2candle found} in $(( $(date +%s) - start )) s"
[ $status -eq 0 ] || echo "kernels.nvrtc: FAILED"
exit $status
