#!/usr/bin/env bash
# scripts/install_deps.sh — installs what building and testing ml2candle needs, only what is missing.
# Debian packages (protobuf-c, LLVM 14, clang 14 for the fuzzer, CMake, Ninja) and the Python packages the
# tests use (onnx, onnxruntime, numpy, safetensors, pytest, nvidia-cuda-nvrtc: the kernels test compiles every
# CUDA kernel to PTX without a GPU).  Idempotent; safe to run on every build.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v protoc-c >/dev/null 2>&1 || need_apt+=(protobuf-c-compiler)
[ -f /usr/include/protobuf-c/protobuf-c.h ] || need_apt+=(libprotobuf-c-dev)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v ninja >/dev/null 2>&1 || need_apt+=(ninja-build)
command -v llvm-config-14 >/dev/null 2>&1 || need_apt+=(llvm-14-dev)
command -v clang-14 >/dev/null 2>&1 || need_apt+=(clang-14)
ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need_apt+=(libclang-rt-14-dev)
command -v FileCheck-14 >/dev/null 2>&1 || [ -x /usr/lib/llvm-14/bin/FileCheck ] || need_apt+=(llvm-14-tools)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install_deps: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

need_pip=()
python3 -c 'import onnx' 2>/dev/null || need_pip+=(onnx)
python3 -c 'import onnxruntime' 2>/dev/null || need_pip+=(onnxruntime)
python3 -c 'import numpy' 2>/dev/null || need_pip+=(numpy)
python3 -c 'import safetensors' 2>/dev/null || need_pip+=(safetensors)
python3 -c 'import pytest' 2>/dev/null || need_pip+=(pytest)
# NVRTC 13.0, as the GPU machines' driver (CUDA 13.0): a newer NVRTC writes PTX that driver refuses to load.
python3 -c 'import importlib.util as u, os, sys; s = u.find_spec("nvidia"); sys.exit(not any(os.path.exists(os.path.join(p, "cu13/lib/libnvrtc.so.13")) for p in (s.submodule_search_locations if s else [])))' 2>/dev/null ||
  need_pip+=("nvidia-cuda-nvrtc==13.0.*")
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "install_deps: pip install ${need_pip[*]}"
  python3 -m pip install -q "${need_pip[@]}"
fi
