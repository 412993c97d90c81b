#!/usr/bin/env bash
# bench/bench_bert_cpu.sh — the Candle backend on BERT-base (issue: Candle backend, Measure).
#
#   1. conversion: wall time and peak RSS of `ml2candle MODEL -o DIR` (targets < 1 s, < 1.5x the weights)
#   2. release build time of the generated crate with candle already compiled (target < 30 s)
#   3. CPU latency, same inputs, same run: the generated crate vs candle-onnx 0.11's simple_eval vs ONNX
#      Runtime, batch 1 and 8, sequence 128 (median of REPEAT runs after one warm-up)
#
# usage: bench/bench_bert_cpu.sh [BUILD_DIR]; the BERT-base exports come from bench/make_bert_base.py
# (BENCH_DIR, default /tmp/bert_base).  Prints markdown rows for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dir=${BENCH_DIR:-/tmp/bert_base}
repeat=${REPEAT:-10}
export CARGO_TARGET_DIR="$PWD/target"
[ -f "$dir/bert_base_ts.onnx" ] || "${PYTHON:-.venv/bin/python}" bench/make_bert_base.py "$dir"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DML2CANDLE_WERROR=OFF >/dev/null
ninja -C "$build" ml2candle >/dev/null
cargo build -q --release --manifest-path bench/candle_onnx_runner/Cargo.toml

# the same inputs for every engine: token ids in the vocabulary, in a safetensors file named like the inputs
python3 - "$dir" <<'PY'
import sys, numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
for b in (1, 8):
    save_file({"input_ids": rng.integers(0, 30522, size=(b, 128), dtype=np.int64)}, f"{sys.argv[1]}/inputs_b{b}.safetensors")
PY

echo "| export | conversion wall | conversion peak RSS | RSS / weights | crate release build |"
echo "|---|---|---|---|---|"
for exp in ts dynamo; do
  model=$dir/bert_base_$exp.onnx
  crate=$dir/crate_$exp
  weights=$("$build/ml2candle" inspect "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["param_bytes"])')
  best=999; rss=0
  for i in 1 2 3; do
    out=$( { /usr/bin/time -f '%e %M' "$build/ml2candle" "$model" -o "$crate" --force --name bert_base_$exp >/dev/null; } 2>&1 | tail -1)
    t=${out% *}; r=${out#* }
    best=$(python3 -c "print(min($best, $t))"); rss=$(( r > rss ? r : rss ))
  done
  # candle is compiled already (the runner above); this is the generated crate's own build
  (cd "$crate" && cargo build -q --release --example run >/dev/null 2>&1 || true)
  touch "$crate/src/model.rs"
  start=$(date +%s.%N)
  (cd "$crate" && cargo build -q --release --example run)
  build_s=$(python3 -c "import time; print(f'{$(date +%s.%N) - $start:.1f}')")
  python3 -c "print(f'| {\"$exp\"} | {$best:.2f} s | {$rss/1024:.0f} MB | {$rss*1024/$weights:.2f} | {$build_s} s |')"
done

echo
echo "| engine | batch 1, seq 128 | batch 8, seq 128 |"
echo "|---|---|---|"
for exp in ts dynamo; do
  crate=$dir/crate_$exp
  row="| generated crate ($exp export) |"
  for b in 1 8; do
    ms=$(cd "$crate" && cargo run -q --release --example run -- "$dir/inputs_b$b.safetensors" --repeat "$repeat" | sed -n 's/forward: \([0-9.]*\) ms median.*/\1/p')
    row="$row $ms ms |"
  done
  echo "$row"
done
row="| candle-onnx 0.11 simple_eval (ts export) |"
for b in 1 8; do
  ms=$("$CARGO_TARGET_DIR/release/candle_onnx_runner" "$dir/bert_base_ts.onnx" "$dir/inputs_b$b.safetensors" "$repeat" | sed -n 's/.*: \([0-9.]*\) ms median.*/\1/p')
  row="$row $ms ms |"
done
echo "$row"
python3 - "$dir" "$repeat" <<'PY'
import sys, time, numpy as np, onnxruntime as ort
from safetensors.numpy import load_file
d, repeat = sys.argv[1], int(sys.argv[2])
for exp in ("ts", "dynamo"):
    s = ort.InferenceSession(f"{d}/bert_base_{exp}.onnx", providers=["CPUExecutionProvider"])
    row = f"| ONNX Runtime {ort.__version__} CPU ({exp} export) |"
    for b in (1, 8):
        feed = load_file(f"{d}/inputs_b{b}.safetensors")
        s.run(None, feed)
        times = []
        for _ in range(repeat):
            t = time.perf_counter(); s.run(None, feed); times.append(time.perf_counter() - t)
        row += f" {sorted(times)[len(times) // 2] * 1e3:.1f} ms |"
    print(row)
PY
