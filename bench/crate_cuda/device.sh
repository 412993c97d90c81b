#!/usr/bin/env bash
# bench/crate_cuda/device.sh CARRY [REPEAT] — on the GPU machine: the binary of build.sh with the fused
# kernels and without them (candle's ops on the GPU), each compared with the CPU; then, where Nsight Compute
# is installed, the first launches of the m2c_ kernels under ncu (their names and times: proof they ran).
# CUDA's libraries come from the machine's toolkit, else from PyTorch's wheels.
set -uo pipefail
carry=$(cd "$1" && pwd)
repeat=${2:-200}
libs=/usr/local/cuda/lib64
for d in $(python3 -c 'import nvidia, os; p = nvidia.__path__[0]; print(" ".join(os.path.join(p, x, "lib") for x in sorted(os.listdir(p))))' 2>/dev/null); do
  libs=$libs:$d
done
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
rc=0
"$carry/crate_cuda" "$carry" "$repeat" || rc=1
ML2CANDLE_NO_KERNELS=1 "$carry/crate_cuda" "$carry" "$repeat" || rc=1
if command -v ncu >/dev/null; then
  echo "--- ncu: the first 24 launches of m2c_ kernels"
  timeout 180 ncu --csv --metrics gpu__time_duration.sum -k regex:m2c_ --launch-count 24 \
    "$carry/crate_cuda" "$carry" 1 2>&1 | grep -E '^"(ID|[0-9])' || true
fi
exit $rc
