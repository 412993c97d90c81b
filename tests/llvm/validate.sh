#!/usr/bin/env bash
# tests/llvm/validate.sh ML2CANDLE [--quick] — DESIGN §7.5 on the CPU: every fused kernel of every fixture
# (tests/models/*/model.onnx) and of the kernel-IR unit graphs (tests/unit/kir/*.test) JIT-compiled by the LLVM
# backend and validated against the reference evaluator (`validate --device cpu`: fresh random inputs, poisoned
# outputs, each kernel's work cut into 3 parts), stored as f32, f16 and bf16; the unit graphs also at larger
# sizes (several attention tiles and query blocks, long rows, a KV cache longer than the queries).
# --quick (the sanitizer build): f32 only.  Exit 77 (skip) when the LLVM backend is not built in.
set -uo pipefail
bin=$(realpath "$1")
quick=${2:-}
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if "$bin" validate tests/models/mlp_ts/model.onnx --device cpu >"$tmp/probe.log" 2>&1; then :
elif grep -q "not built in" "$tmp/probe.log"; then
  echo "SKIP: the LLVM backend is not built in"
  exit 77
fi

models=(tests/models/*/model.onnx)
units=()
for t in tests/unit/kir/*.test; do
  ir="$tmp/$(basename "$t" .test).ir"
  awk '/^## input$/{on=1; next} /^## /{on=0} on' "$t" >"$ir"
  units+=("$ir")
done
dtypes=(f32 f16 bf16)
[ "$quick" = --quick ] && dtypes=(f32)
big="--dim seq=150 --dim batch=3 --dim past=70 --dim time=301"
jobs=()
for m in "${models[@]}" "${units[@]}"; do
  for dt in "${dtypes[@]}"; do jobs+=("$m|$dt|"); done
done
for m in "${units[@]}"; do jobs+=("$m|f32|$big"); done

run_job() {
  IFS='|' read -r m dt dims <<<"$1"
  local log
  log=$(mktemp "$tmp/job.XXXXXX")
  # shellcheck disable=SC2086
  if "$bin" validate "$m" --device cpu --dtype "$dt" --seed 7 $dims >"$log" 2>&1; then
    echo "ok $(tail -1 "$log" | sed -n 's/.*: \([0-9]*\) kernels.*error \(.*\))/\1 \2/p') $m $dt $dims"
  else
    echo "FAIL: $m ($dt $dims)"
    grep -E "FAIL|^      |error" "$log" | head -20
    return 1
  fi
}
export -f run_job
export bin tmp
start=$(date +%s)
printf '%s\n' "${jobs[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_job "$@"' _ {} >"$tmp/results" 2>&1
status=$?
grep -v '^ok ' "$tmp/results"
summary=$(awk '/^ok /{n += $2; r++; if ($5 == "f32") { if ($3 + 0 > w) w = $3 + 0 } else if ($3 + 0 > h) h = $3 + 0}
               END {printf "%d runs, %d kernel checks, worst relative L2 %.2e (f32), %.2e (f16/bf16)", r, n, w, h}' "$tmp/results")
echo "validate --device cpu: $summary, $(( $(date +%s) - start )) s"
[ $status -eq 0 ] || { echo "FAIL"; exit 1; }
