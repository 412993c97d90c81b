#!/usr/bin/env bash
# bench/kernels/run.sh BUILD_DIR [--quick] — on a GPU machine, in one call: our kernels (bench_kernels.c: the
# emitter's attention tiles and the alternatives, the row kernels) and torch's (torch_ref.py: SDPA flash and
# cuDNN, eager and torch.compile, the copy ceiling) on the same GPU, then ours once more (default tiles only) to
# show the run-to-run spread.  CSVs and logs go to $OUT (or /tmp/bench_kernels); bench/kernels/table.py turns
# them into RESULTS.md's table.  Each step has a time limit, so a hung kernel cannot hold the machine.
set -uo pipefail
bin=$(realpath "${1:-build}")
quick=${2:-}
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/bench_kernels}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader
  date -u +"date: %Y-%m-%d %H:%M UTC"
} | tee "$out/gpu.txt"
timeout 300 "$bin/m2c_bench_kernels" $quick --tiles --csv "$out/ours.csv" 2>&1 | tee "$out/ours.log"
PYTHONUNBUFFERED=1 timeout 300 python3 bench/kernels/torch_ref.py $quick --csv "$out/torch.csv" 2>&1 | tee "$out/torch.log"
timeout 120 "$bin/m2c_bench_kernels" $quick --csv "$out/ours2.csv" >"$out/ours2.log" 2>&1
tail -n 1 "$out/ours2.log"
