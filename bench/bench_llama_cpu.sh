#!/usr/bin/env bash
# bench/bench_llama_cpu.sh — a LLaMA-shaped decoder on the CPU (issue 4, Measure): the fused generated crates
# vs --no-fuse vs candle-transformers 0.11's hand-written llama on the same weights.
#
#   convert  ml2candle on bench/make_llama.py's --last exports (logits of the last position only, as a
#            generation loop and candle-transformers' llama compute them), fused, --no-fuse and fused with
#            --kernels cpu (the LLVM backend's kernels), both exporters
#   latency  bench/llama_compare, every engine interleaved in one process: prefill of BATCH x SEQ tokens
#            (batch 1 and 8, sequence 128) for REPEAT/2 rounds after a warm-up, then DECODE greedy KV-cache
#            steps at batch 1 (the fused crates and candle-transformers; --no-fuse crates have no KV cache);
#            run twice, the engine list in order and reversed (the load order biases an engine's times by a
#            few percent on a shared machine), the times pooled; differences are from each run's first engine.
#            candle-transformers' llama loads the fused TorchScript crate's model.safetensors (HF names).
#
# usage: bench/bench_llama_cpu.sh [BUILD_DIR]      (default build-bench: a Release build of the working tree;
#        ML2CANDLE=BIN uses that binary instead)
# env:   BENCH_DIR (/tmp/llama_bench: exports, crates, times), REPEAT (10), DECODE (32), THREADS (nproc),
#        STEPS (convert,latency), ENGINES (ts,dynamo,ts_nofuse,dynamo_nofuse,ts_kcpu,dynamo_kcpu,hand), WAIT_LOAD (wait up to
#        10 min for the 1-minute load average to fall below it before each timed step; off by default),
#        CARGO_TARGET_DIR (default ./target), PYTHON_TORCH (.venv/bin/python, for the export).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
dir=${BENCH_DIR:-/tmp/llama_bench}
repeat=${REPEAT:-10}
decode=${DECODE:-32}
threads=${THREADS:-$(nproc)}
steps=${STEPS:-convert,latency}
engines=${ENGINES:-ts,dynamo,ts_nofuse,dynamo_nofuse,ts_kcpu,dynamo_kcpu,hand}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export RAYON_NUM_THREADS=$threads OMP_NUM_THREADS=$threads

load() { cut -d' ' -f1-3 /proc/loadavg; }
quiet() {
  [ -n "${WAIT_LOAD:-}" ] || return 0
  for _ in $(seq 60); do
    python3 -c "import sys; sys.exit(float(open('/proc/loadavg').read().split()[0]) >= $WAIT_LOAD)" && return 0
    sleep 10
  done
  echo "(load stayed above $WAIT_LOAD)"
}
has() { [[ ",$steps," == *",$1,"* ]]; }

echo "machine: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc --all) cores," \
  "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC');" \
  "threads $threads; load $(load)"

[ -f "$dir/llama_last_ts.onnx" ] || "${PYTHON_TORCH:-.venv/bin/python}" bench/make_llama.py "$dir" --last
if [ -n "${ML2CANDLE:-}" ]; then
  m2c=$ML2CANDLE   # a binary built elsewhere (e.g. from a clean export of a commit)
  echo "ml2candle: $m2c"
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DML2CANDLE_WERROR=OFF >/dev/null
  ninja -C "$build" ml2candle >/dev/null
  m2c=$build/ml2candle
  echo "ml2candle: $m2c, built from the working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- \
    CMakeLists.txt backends cli frontend ir passes runtime || echo ' + uncommitted changes')"
fi
mkdir -p "$dir/crates"

if has convert; then
  for exp in ts dynamo; do
    "$m2c" "$dir/llama_last_$exp.onnx" -o "$dir/crates/bench_llama_$exp" --force --name "bench_llama_$exp" >/dev/null
    "$m2c" "$dir/llama_last_$exp.onnx" -o "$dir/crates/bench_llama_${exp}_nofuse" --force --no-fuse \
      --name "bench_llama_${exp}_nofuse" >/dev/null
    "$m2c" "$dir/llama_last_$exp.onnx" -o "$dir/crates/bench_llama_${exp}_kcpu" --force --kernels cpu \
      --name "bench_llama_${exp}_kcpu" >/dev/null
  done
fi

if has latency; then
  ln -sfn "$dir/crates" bench/llama_compare/crates
  cargo build -q --release --manifest-path bench/llama_compare/Cargo.toml
  raw=$dir/latency_$(date +%Y%m%d_%H%M%S).jsonl
  weights=$dir/crates/bench_llama_ts/model.safetensors
  half=$(( (repeat + 1) / 2 ))
  reversed=$(tr ',' '\n' <<<"$engines" | tac | paste -sd, -)
  for b in 1 8; do
    quiet
    echo "batch $b: load before $(load)"
    extra=()
    [ "$b" = 1 ] && [ "$decode" -gt 0 ] && extra=(--decode "$decode")
    # the list forward, then reversed (where an engine sits in the load order moves its times a little)
    for order in "$engines" "$reversed"; do
      "$CARGO_TARGET_DIR/release/bench_llama_compare" "$dir/crates" "$weights" "$b" 128 "$half" \
        --engines "$order" --raw "$raw" "${extra[@]}"
    done
    echo "batch $b: load after $(load)"
  done
  echo
  python3 bench/latency_table.py "$raw" --ratio-to hand --runs --labels "ts=generated fused (TorchScript export),dynamo=generated fused (dynamo export),ts_nofuse=generated --no-fuse (TorchScript),dynamo_nofuse=generated --no-fuse (dynamo),ts_kcpu=generated fused + --kernels cpu (TorchScript),dynamo_kcpu=generated fused + --kernels cpu (dynamo),hand=candle-transformers llama"
  echo "(times: $raw)"
fi
