#!/usr/bin/env bash
# bench/bench_inspect.sh — `ml2candle inspect` on BERT-base-shaped exports: wall time and peak RSS
# against the weight bytes (targets: < 1 s, peak RSS < 1.5x the weights).  Makes the models first if needed
# (bench/make_bert_base.py needs torch + transformers: see tests/models/README.md), in $BENCH_DIR.
#   usage: bench/bench_inspect.sh [BUILD_DIR]     results: append the printed table to bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dir=${BENCH_DIR:-/tmp/bert_base}
py=${PYTHON:-.venv/bin/python}
if [ ! -f "$dir/bert_base_ts.onnx" ] || [ ! -f "$dir/bert_base_dynamo.onnx" ]; then
  "$py" bench/make_bert_base.py "$dir"
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" ml2candle >/dev/null
echo "| model | file MB | weights MB | wall s (best of 5) | peak RSS MB | RSS / weights |"
echo "|---|---|---|---|---|---|"
for m in "$dir"/bert_base_ts.onnx "$dir"/bert_base_dynamo.onnx; do
  weights=$("$build/ml2candle" inspect "$m" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["param_bytes"])')
  best=999; rss=0
  for i in 1 2 3 4 5; do
    out=$( { /usr/bin/time -f '%e %M' "$build/ml2candle" inspect "$m" >/dev/null; } 2>&1 | tail -1)
    t=${out% *}; r=${out#* }
    best=$(python3 -c "print(min($best, $t))"); rss=$(( r > rss ? r : rss ))
  done
  python3 - "$m" "$weights" "$best" "$rss" <<'PY'
import os, sys
m, w, t, rss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"| {os.path.basename(m)} | {os.path.getsize(m)/1e6:.0f} | {w/1e6:.0f} | {t:.2f} | {rss/1024:.0f} | {rss*1024/w:.2f} |")
PY
done
