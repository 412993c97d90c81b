#!/usr/bin/env bash
# bench/bench_cpu_kernels.sh — CPU latency of the generated crates with and without `--kernels cpu` (issue 6,
# Measure), and ONNX Runtime CPU on the same inputs, same run, same machine.
#
#   families  BERT-base (TorchScript export; batch 1 and 8, sequence 128), LLaMA (bench/make_llama.py: hidden
#             512, 4 layers, GQA; batch 1, sequence 128, all logits), Conformer (torchaudio, 4 layers, d=256;
#             [1, 256, 256]) and HiFi-GAN V1 (1 s of 22.05 kHz mel, [1, 80, 86]) from bench/make_audio.py
#   engines   plain     the crate converted without --kernels (candle ops)
#             kernels   the crate converted with --kernels cpu (fused groups as LLVM AOT kernels, GEMMs candle's)
#             ort       onnxruntime's CPUExecutionProvider, default graph optimizations
#   timing    the two crates run interleaved in one process (bench/cpu_kernels_compare), REPEAT rounds after a
#             warm-up; ORT runs half its runs just before and half just after them.  Wall and process CPU time
#             (all threads) per run, medians; for each THREADS value (RAYON_NUM_THREADS, ORT intra-op threads).
#
# usage: bench/bench_cpu_kernels.sh [BUILD_DIR]      (default /tmp/build-llvm6; a Release build with LLVM)
# env:   BENCH_DIR (/tmp/m6: exports, crates, times), BERT_DIR (BENCH_DIR/bert), LLAMA_DIR (BENCH_DIR/llama),
#        REPEAT (10), THREADS ("1 2"), FAMILIES (bert,llama,conformer,hifigan), STEPS (export,convert,build,latency)
# Prints the machine, the load averages and a markdown table for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-/tmp/build-llvm6}
dir=${BENCH_DIR:-/tmp/m6}
bert_dir=${BERT_DIR:-$dir/bert}
llama_dir=${LLAMA_DIR:-$dir/llama}
repeat=${REPEAT:-10}
threads_list=${THREADS:-1 2}
families=${FAMILIES:-bert,llama,conformer,hifigan}
steps=${STEPS:-export,convert,build,latency}
py=${PYTHON:-python3}
pyt=${PYTHON_TORCH:-$root/.venv/bin/python}
m2c=$build/ml2candle
has() { [[ ",$steps," == *",$1,"* ]]; }
fam() { [[ ",$families," == *",$1,"* ]]; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "machine: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc) cores," \
  "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC'); load $(load)"
mkdir -p "$dir/crates" "$dir/audio"

if has export; then
  [ -f "$bert_dir/bert_base_ts.onnx" ] || "$pyt" bench/make_bert_base.py "$bert_dir"
  [ -f "$llama_dir/llama_ts.onnx" ] || "$pyt" bench/make_llama.py "$llama_dir"
  [ -f "$dir/audio/hifigan.onnx" ] || "$pyt" bench/make_audio.py "$dir/audio"
  # inputs: BERT and LLaMA token ids (later rows of a batch padded at the end), the audio ones from make_audio
  "$py" - "$dir" <<'EOF'
import os, sys
import numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
r = np.random.default_rng(0)
for b in (1, 8):
    p = f"{d}/bert_inputs_b{b}.safetensors"
    if os.path.exists(p):
        continue
    ids = r.integers(1000, 30000, (b, 128), dtype=np.int64)
    mask = np.ones((b, 128), np.int64)
    for i in range(1, b):
        mask[i, 128 - 8 * i:] = 0
    save_file({"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": np.zeros((b, 128), np.int64)}, p)
p = f"{d}/llama_inputs.safetensors"
if not os.path.exists(p):
    save_file({"input_ids": r.integers(3, 32000, (1, 128), dtype=np.int64), "attention_mask": np.ones((1, 128), np.int64)}, p)
EOF
fi

model_of() {
  case $1 in
    bert) echo "$bert_dir/bert_base_ts.onnx" ;;
    llama) echo "$llama_dir/llama_ts.onnx" ;;
    *) echo "$dir/audio/$1.onnx" ;;
  esac
}

if has convert; then
  echo
  echo "| family | conversion, plain | conversion, --kernels cpu | kernels (library size) |"
  echo "|---|---|---|---|"
  for f in bert llama conformer hifigan; do
    m=$(model_of $f)
    t0=$( { /usr/bin/time -f %e "$m2c" "$m" -o "$dir/crates/m6_$f" --name "m6_$f" --force >/dev/null; } 2>&1 | tail -1)
    t1=$( { /usr/bin/time -f %e "$m2c" "$m" -o "$dir/crates/m6_${f}_k" --name "m6_${f}_k" --force --kernels cpu \
      >/dev/null; } 2>&1 | tail -1)
    # a model none of whose groups the crate can replace gets no library (HiFi-GAN: see RESULTS.md)
    lib=$(ls "$dir/crates/m6_${f}_k/kernels/"*.a 2>/dev/null | head -1 || true)
    n=$(grep -c '^pub const' "$dir/crates/m6_${f}_k/src/fused.rs" 2>/dev/null || true)
    kib=$(( $( [ -n "$lib" ] && stat -c %s "$lib" || echo 0) / 1024 ))
    echo "| $f | $t0 s | $t1 s | ${n:-0} ($kib KiB) |"
  done
fi

bin=$dir/target/release/bench_cpu_kernels_compare
if has build; then
  ln -sfn "$dir/crates" bench/cpu_kernels_compare/crates
  (cd bench/cpu_kernels_compare && CARGO_TARGET_DIR=$dir/target cargo build -q --release)
fi

if has latency; then
  raw=$dir/latency_$(date -u +%Y%m%d_%H%M%S).jsonl
  run_family() {   # family inputs threads
    local f=$1 in=$2 th=$3 half=$(( (repeat + 1) / 2 ))
    export RAYON_NUM_THREADS=$th OMP_NUM_THREADS=$th
    "$py" bench/ort_cpu_time.py "$f" "$(model_of "$f")" "$in" "$half" --threads "$th" --raw "$raw.ort$th"
    "$bin" "$f" "$dir/crates" "$in" "$repeat" --raw "$raw.rs$th" --save "$dir/out_$f.safetensors"
    "$py" bench/ort_cpu_time.py "$f" "$(model_of "$f")" "$in" "$((repeat - half))" --threads "$th" --raw "$raw.ort$th" \
      --ref "$dir/out_$f.safetensors"
  }
  for th in $threads_list; do
    echo
    echo "threads $th, load before: $(load)"
    fam bert && run_family bert "$dir/bert_inputs_b1.safetensors" "$th"
    fam bert && run_family bert "$dir/bert_inputs_b8.safetensors" "$th"
    fam llama && run_family llama "$dir/llama_inputs.safetensors" "$th"
    fam conformer && run_family conformer "$dir/audio/conformer_inputs.safetensors" "$th"
    fam hifigan && run_family hifigan "$dir/audio/hifigan_inputs.safetensors" "$th"
    echo "load after: $(load)"
  done
  echo
  "$py" - "$raw" "$threads_list" <<'EOF'
import json, sys
raw, threads = sys.argv[1], sys.argv[2].split()
med = lambda v: sorted(v)[len(v) // 2]
print("| family | input | threads | plain wall / cpu | --kernels cpu wall / cpu | ORT wall / cpu | kernels vs plain (cpu) | kernels vs ORT: wall, cpu | load (1 min) |")
print("|---|---|---|---|---|---|---|---|---|")
for th in threads:
    rows = {}
    for kind in ("rs", "ort"):
        try:
            lines = open(f"{raw}.{kind}{th}").read().split("\n")
        except FileNotFoundError:
            continue
        for l in filter(None, lines):
            r = json.loads(l)
            key = (r["family"], str(r["shape"]))
            e = rows.setdefault(key, {}).setdefault(r["engine"], {"ms": [], "cpu": [], "load": []})
            e["ms"] += r["ms"]
            e["cpu"] += r["cpu_ms"]
            e["load"] += r.get("load1", [])
    for (f, shape), e in rows.items():
        if not all(k in e for k in ("plain", "kernels", "ort")):
            continue
        p, k, o = ({x: med(e[n][x]) for x in ("ms", "cpu")} for n in ("plain", "kernels", "ort"))
        ld = e["kernels"]["load"]
        print(f"| {f} | {shape} | {th} | {p['ms']:.1f} / {p['cpu']:.1f} ms | {k['ms']:.1f} / {k['cpu']:.1f} ms | "
              f"{o['ms']:.1f} / {o['cpu']:.1f} ms | {k['cpu'] / p['cpu']:.2f}x | {k['ms'] / o['ms']:.2f}x, "
              f"{k['cpu'] / o['cpu']:.2f}x | {min(ld):.1f}-{max(ld):.1f} |")
EOF
  echo "raw times: $raw.*"
fi
