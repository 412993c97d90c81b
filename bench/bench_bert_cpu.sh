#!/usr/bin/env bash
# bench/bench_bert_cpu.sh — BERT-base on the CPU (issues 3 and 4, Measure).
#
#   convert  wall time and peak RSS of `ml2candle MODEL -o DIR`, best of 3 (targets < 1 s, < 1.5x weights)
#   build    release build time of the generated crate (lib + examples/run) with candle already compiled, in
#            a target dir of its own ($BENCH_DIR/target_build; target < 30 s)
#   latency  CPU latency, same inputs, same run: the generated crates (fused, --no-fuse and fused with
#            --kernels cpu, both exporters),
#            candle-transformers 0.11's BertModel on the same model.safetensors, candle-onnx 0.11's
#            simple_eval and ONNX Runtime; batch 1 and 8, sequence 128; median of REPEAT runs after a
#            warm-up.  The Rust engines run interleaved in one process (bench/bert_compare), REPEAT/2 rounds
#            with the engine list in order and REPEAT/2 with it reversed (the load order biases an engine's
#            times by a few percent on a shared machine); ONNX Runtime runs half its runs just before and
#            half just after them.
#
# usage: bench/bench_bert_cpu.sh [BUILD_DIR]      (default build-bench: a Release build of the working tree;
#        ML2CANDLE=BIN uses that binary instead)
# env:   BENCH_DIR (/tmp/bert_base: exports from bench/make_bert_base.py, crates, times), REPEAT (10),
#        THREADS (nproc: RAYON_NUM_THREADS, OMP_NUM_THREADS and ORT's intra-op threads), STEPS
#        (convert,build,latency), ENGINES (bench_bert_compare's list), WAIT_LOAD (wait up to 10 min for the
#        1-minute load average to fall below it before each timed step; off by default).
# Prints the machine, the load averages and markdown tables for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
dir=${BENCH_DIR:-/tmp/bert_base}
repeat=${REPEAT:-10}
threads=${THREADS:-$(nproc)}
steps=${STEPS:-convert,build,latency}
engines=${ENGINES:-ts,dynamo,ts_nofuse,dynamo_nofuse,ts_kcpu,dynamo_kcpu,hand,onnx_ts}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export RAYON_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
py=${PYTHON:-python3}

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

[ -f "$dir/bert_base_ts.onnx" ] || "${PYTHON_TORCH:-.venv/bin/python}" bench/make_bert_base.py "$dir"
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
  echo
  echo "| export | weights | conversion wall (best of 3) | CPU user + sys (best of 3) | conversion peak RSS | RSS / weights | load before |"
  echo "|---|---|---|---|---|---|---|"
  for exp in ts dynamo; do
    model=$dir/bert_base_$exp.onnx
    weights=$("$m2c" inspect "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["param_bytes"])')
    quiet
    l=$(load); best=999; bcpu=999; rss=0
    for _ in 1 2 3; do
      out=$( { /usr/bin/time -f '%e %U %S %M' "$m2c" "$model" -o "$dir/crates/bench_bert_$exp" --force \
        --name "bench_bert_$exp" >/dev/null; } 2>&1 | tail -1)
      read -r t u sy r <<<"$out"
      best=$(python3 -c "print(min($best, $t))"); bcpu=$(python3 -c "print(min($bcpu, $u + $sy))")
      rss=$(( r > rss ? r : rss ))
    done
    python3 -c "print(f'| $exp | {$weights/1e6:.1f} MB | {$best:.2f} s | {$bcpu:.2f} s | {$rss/1024:.0f} MiB | {$rss*1024/$weights:.2f} | $l |')"
    "$m2c" "$model" -o "$dir/crates/bench_bert_${exp}_nofuse" --force --no-fuse --name "bench_bert_${exp}_nofuse" >/dev/null
    "$m2c" "$model" -o "$dir/crates/bench_bert_${exp}_kcpu" --force --kernels cpu --name "bench_bert_${exp}_kcpu" >/dev/null
  done
fi

if has build; then
  # Its own target dir: the generated crates' example is called `run`, like everyone's.
  tdir=$dir/target_build
  (cd "$dir/crates/bench_bert_ts" && CARGO_TARGET_DIR=$tdir cargo build -q --release --example run)
  echo
  echo "| crate | src/*.rs lines | release build (lib + examples/run), candle compiled: wall | CPU user + sys | load before |"
  echo "|---|---|---|---|---|"
  for c in bench_bert_ts bench_bert_dynamo bench_bert_ts_nofuse bench_bert_dynamo_nofuse bench_bert_ts_kcpu; do
    (cd "$dir/crates/$c" && CARGO_TARGET_DIR=$tdir cargo build -q --release --example run)
    (cd "$dir/crates/$c" && CARGO_TARGET_DIR=$tdir cargo clean -q --release -p "$c")
    quiet
    l=$(load)
    out=$( { cd "$dir/crates/$c" && CARGO_TARGET_DIR=$tdir /usr/bin/time -f '%e %U %S' \
      cargo build -q --release --example run; } 2>&1 | tail -1)
    read -r t u sy <<<"$out"
    python3 -c "print(f'| $c | $(cat "$dir/crates/$c"/src/*.rs | wc -l) | {$t:.1f} s | {$u + $sy:.1f} s | $l |')"
  done
fi

if has latency; then
  ln -sfn "$dir/crates" bench/bert_compare/crates
  cargo build -q --release --manifest-path bench/bert_compare/Cargo.toml
  [ -f "$dir/bert_base_ts_for_candle_onnx.onnx" ] ||
    python3 bench/onnx_for_candle_onnx.py "$dir/bert_base_ts.onnx" "$dir/bert_base_ts_for_candle_onnx.onnx"
  # the same inputs for every engine, named like the ONNX inputs; rows after the first padded at the end
  python3 - "$dir" <<'PY'
import sys, numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
for b in (1, 8):
    s = 128
    ids = rng.integers(1, 30522, size=(b, s), dtype=np.int64)
    mask = np.ones((b, s), dtype=np.int64)
    for r in range(1, b):
        mask[r, s - 8 * r:] = 0
    ids[mask == 0] = 0
    tt = np.zeros((b, s), dtype=np.int64)
    tt[:, s // 2:] = 1
    save_file({"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}, f"{sys.argv[1]}/inputs_b{b}.safetensors")
PY
  raw=$dir/latency_$(date +%Y%m%d_%H%M%S).jsonl
  half=$(( (repeat + 1) / 2 ))
  reversed=$(tr ',' '\n' <<<"$engines" | tac | paste -sd, -)
  for b in 1 8; do
    in=$dir/inputs_b$b.safetensors
    quiet
    echo "batch $b: load before $(load)"
    for exp in ts dynamo; do
      $py bench/ort_time.py "ort_$exp" "$dir/bert_base_$exp.onnx" "$in" "$half" --threads "$threads" --raw "$raw"
    done
    # the list forward, then reversed (where an engine sits in the load order moves its times a little), the
    # second run compared with the first one's outputs
    "$CARGO_TARGET_DIR/release/bench_bert_compare" "$dir/crates" "$in" "$half" --engines "$engines" \
      --onnx "$dir" --raw "$raw" --save "$dir/out_b$b.safetensors"
    "$CARGO_TARGET_DIR/release/bench_bert_compare" "$dir/crates" "$in" "$half" --engines "$reversed" \
      --onnx "$dir" --raw "$raw" --ref "$dir/out_b$b.safetensors"
    for exp in ts dynamo; do
      $py bench/ort_time.py "ort_$exp" "$dir/bert_base_$exp.onnx" "$in" "$half" --threads "$threads" --raw "$raw" \
        --ref "$dir/out_b$b.safetensors"
    done
    echo "batch $b: load after $(load)"
  done
  echo
  python3 bench/latency_table.py "$raw" --ratio-to hand --runs --labels "ts=generated fused (TorchScript export),dynamo=generated fused (dynamo export),ts_nofuse=generated --no-fuse (TorchScript),dynamo_nofuse=generated --no-fuse (dynamo),ts_kcpu=generated fused + --kernels cpu (TorchScript),dynamo_kcpu=generated fused + --kernels cpu (dynamo),hand=candle-transformers BertModel + pooler,onnx_ts=candle-onnx simple_eval (TorchScript),ort_ts=ONNX Runtime (TorchScript),ort_dynamo=ONNX Runtime (dynamo)"
  echo "(times: $raw)"
fi
