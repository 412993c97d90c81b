#!/usr/bin/env bash
# tests/llvm/run.sh ML2CANDLE [--quick] — whole models through `ml2candle run --engine llvm` (every fused group
# as its JIT-compiled kernel, the rest by the reference evaluator) compared with the ONNX Runtime outputs stored
# next to each fixture (DESIGN §6 parity bounds): every fixture on its export-time case (case0) and on case2
# (every dynamic axis changed: batch 3, other lengths); `--engine ref` on case1 of a few.  --quick: case0 only.
# Exit 77 (skip) when the LLVM backend is not built in.
set -uo pipefail
bin=$(realpath "$1")
quick=${2:-}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
m=tests/models/mlp_ts
if ! "$bin" run $m/model.onnx --inputs $m/case0.in.safetensors -o "$tmp/probe.st" --engine llvm >"$tmp/probe.log" 2>&1 &&
   grep -q "not built in" "$tmp/probe.log"; then
  echo "SKIP: the LLVM backend is not built in"
  exit 77
fi
jobs=()
for d in tests/models/*/; do
  d=${d%/}
  jobs+=("$d 0 llvm")
  [ "$quick" = --quick ] || [ ! -f "$d/case2.in.safetensors" ] || jobs+=("$d 2 llvm")
done
if [ "$quick" != --quick ]; then
  for f in bert_ts llama_dynamo conformer_ts hifigan_dynamo; do jobs+=("tests/models/$f 1 ref"); done
fi
run_job() {
  local d=$1 c=$2 e=$3 log
  log=$(mktemp "$tmp/job.XXXXXX")
  if "$bin" run "$d/model.onnx" --inputs "$d/case$c.in.safetensors" --reference "$d/case$c.out.safetensors" \
       --engine "$e" --threads 1 >"$log" 2>&1; then
    echo "ok $d case$c $e"
  else
    echo "FAIL: $d case$c --engine $e"
    cat "$log"
    return 1
  fi
}
export -f run_job
export bin tmp
start=$(date +%s)
printf '%s\n' "${jobs[@]}" | xargs -P "$(nproc)" -L 1 bash -c 'run_job $0 $1 $2' >"$tmp/results" 2>&1
status=$?
grep -v '^ok ' "$tmp/results"
echo "run vs ONNX Runtime: $(grep -c '^ok ' "$tmp/results") of ${#jobs[@]} model runs within bounds, $(( $(date +%s) - start )) s"
[ $status -eq 0 ] || { echo "FAIL"; exit 1; }
