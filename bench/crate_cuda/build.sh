#!/usr/bin/env bash
# bench/crate_cuda/build.sh BIN [WORK] — generated crates with `--kernels cuda`, built with candle's `cuda`
# feature on a machine without a GPU, into one binary (bench/crate_cuda/main.rs) that runs each model on the
# CPU and on the GPU and compares them; bench/crate_cuda/device.sh runs it on the GPU machine.
#
# candle's `cuda` feature needs nvcc (candle-kernels) and CUDA's libraries to link against (cudarc links
# libcuda, libcublas, libcublasLt, libcurand, libnvrtc).  Here they come from PyPI's CUDA 13.0 wheels (the GPU
# machines' driver is CUDA 13.0), installed under WORK/cuda; libcuda, which only a driver install has, is a
# stub generated from cuda.h with the driver's soname (the binary binds to the real one on the GPU machine).
# The first build compiles candle-kernels with nvcc: about 20 minutes on 2 cores; later builds reuse it.
#
# Output: WORK/carry/ — the binary, each model's model.safetensors and inputs (about 50 MB).  To run it on the
# GPU machine: copy it into a folder of the checkout that .git/info/exclude ignores (say .crate_cuda), carry
# that folder, and run `bash .crate_cuda/device.sh .crate_cuda` there.  Not part of CI.
set -euo pipefail
bin=$(realpath "$1")
work=$(realpath -m "${2:-/tmp/crate_cuda}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=(bert_ts llama_dynamo)
mkdir -p "$work"

# --- CUDA 13.0 from PyPI: nvcc (+ crt, nvvm), headers (runtime, cccl), cuBLAS, cuRAND, NVRTC --------------
site=$work/cuda/site
cu=$site/nvidia/cu13
if [ ! -x "$cu/bin/nvcc" ]; then
  python3 -m pip install -q --target "$site" "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-crt==13.0.*" \
    "nvidia-nvvm==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
    "nvidia-cublas==13.1.0.*" "nvidia-curand==10.4.0.*"
fi
# the linker wants unversioned names; the wheels ship only the sonames
for l in cublas cublasLt curand nvrtc cudart; do
  real=$(ls "$cu/lib/lib$l.so."* | grep -v alt | head -1)
  ln -sf "$(basename "$real")" "$cu/lib/lib$l.so"
done
# libcuda stub: every driver entry point cuda.h declares (after its _v2 renames), soname libcuda.so.1
if [ ! -f "$cu/lib/stubs/libcuda.so" ]; then
  mkdir -p "$cu/lib/stubs"
  echo '#include <cuda.h>' | gcc -E -I "$cu/include" - |
    grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | tr -d ' (' | sort -u |
    sed 's/.*/void &(void) {}/' >"$work/cuda/libcuda_stub.c"
  gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cu/lib/stubs/libcuda.so" "$work/cuda/libcuda_stub.c"
fi
export PATH=$cu/bin:$PATH CUDA_ROOT=$cu CUDA_PATH=$cu CUDA_HOME=$cu NVCC=$cu/bin/nvcc
export CUDA_COMPUTE_CAP=90 CUDAFORGE_THREADS=2 CARGO_BUILD_JOBS=2
nvcc --version | tail -2

# --- the crates and the binary ------------------------------------------------------------------------------
export ML2CANDLE_NVRTC=$cu/lib
mkdir -p "$work/crates" "$work/carry" "$work/src"
members=""
deps=""
for fx in "${fixtures[@]}"; do
  "$bin" "$repo/tests/models/$fx/model.onnx" -o "$work/crates/$fx" --name "$fx" --kernels cuda --force
  members+="\"crates/$fx\", "
  deps+="$fx = { path = \"crates/$fx\", features = [\"cuda\"] }"$'\n'
done
cat >"$work/Cargo.toml" <<TOML
[workspace]
members = [${members%, }]

[package]
name = "crate_cuda"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
candle-core = { version = "0.11", features = ["cuda"] }
$deps
[profile.release]
strip = true
TOML
cp "$here/main.rs" "$work/src/main.rs"
(cd "$work" && cargo build --release)

# --- what travels to the GPU machine ------------------------------------------------------------------------
cp "$work/target/release/crate_cuda" "$work/carry/"
for fx in "${fixtures[@]}"; do
  mkdir -p "$work/carry/$fx"
  cp "$work/crates/$fx/model.safetensors" "$work/carry/$fx/"
  cp "$repo/tests/models/$fx/"case*.in.safetensors "$work/carry/$fx/"
done
python3 "$here/inputs.py" "$work/carry"
cp "$here/device.sh" "$work/carry/"
du -sh "$work/carry"
