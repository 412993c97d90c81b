#!/usr/bin/env bash
# bench/cuda_validate.sh [ML2CANDLE] — on a GPU machine: `ml2candle validate --device cuda` for every fixture
# (tests/models/*/model.onnx) and every kernel-IR unit graph (tests/unit/kir/*.test), stored as f32, f16 and
# bf16, at the default sizes (batch 2, other dims 13) and at larger ones (batch 3; seq 60, the fixtures' position
# tables hold 64; 150 for the unit graphs' seq and for time: several attention key tiles and query blocks).  Everything goes to $OUT/validate.log (or /tmp); the summary
# table is printed last.  Exit 1 if any kernel failed.
set -uo pipefail
bin=$(realpath "${1:-build/ml2candle}")
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/cuda_validate}
mkdir -p "$out"
log=$out/validate.log
: >"$log"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$log"
date -u +"date: %Y-%m-%d %H:%M UTC" | tee -a "$log"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=(tests/models/*/model.onnx)
for t in tests/unit/kir/*.test; do
  ir="$tmp/$(basename "$t" .test).ir"
  awk '/^## input$/{on=1; next} /^## /{on=0} on' "$t" >"$ir"
  models+=("$ir")
done
jobs=()
for m in "${models[@]}"; do
  big="--dim batch=3 --dim seq=60 --dim time=150 --dim samples=2400 --dim n=3 --dim past=40"
  case $m in *.ir) big=${big/seq=60/seq=150} ;; esac
  for dt in f32 f16 bf16; do
    jobs+=("$m|$dt|")
    jobs+=("$m|$dt|$big")
  done
done
run_job() {
  IFS='|' read -r m dt dims <<<"$1"
  local f
  f=$(mktemp "$tmp/job.XXXXXX")
  # shellcheck disable=SC2086
  "$bin" validate "$m" --device cuda --dtype "$dt" $dims >"$f" 2>&1
  echo "exit $? | $m | $dt | ${dims:-default sizes}" >>"$f"
  cat "$f"
}
export -f run_job
export bin tmp
start=$(date +%s)
printf '%s\n' "${jobs[@]}" | xargs -P 8 -I{} bash -c 'run_job "$1"' _ {} >>"$log" 2>&1
echo "wall: $(( $(date +%s) - start )) s for ${#jobs[@]} runs" | tee -a "$log"

# summary: per dtype and size set, kernels passed/failed and the worst error
awk '
  / rel_l2 / { n++; if ($0 ~ / ok /) ok++; else bad++; e = $5 + 0; if ($3 == "f32" && e > w32) w32 = e; if ($3 != "f32" && $3 != "bool" && e > w16) w16 = e }
  /^exit / { runs++; if ($2 != 0) failruns++ }
  END { printf "runs %d (failed %d); kernel checks %d: %d ok, %d failed; worst rel L2: f32 %.2e, f16/bf16 %.2e\n", runs, failruns, n, ok, bad, w32, w16 }
' "$log" | tee -a "$log"
grep -E " FAIL |^exit [^0]" "$log" | head -40
! grep -qE "^exit [^0]" "$log"
