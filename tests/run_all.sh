#!/usr/bin/env bash
# tests/run_all.sh — the whole test suite (the README's test command; CI runs it through .ci/run).
#
#   1. build with -Wall -Wextra -Werror and run ctest: dims algebra, import, text-IR pass tests, reference
#      evaluator, malformed-model corpus, golden `inspect` outputs on the committed PyTorch exports, kernel-IR
#      grouping, every CUDA kernel of the fixtures compiled to PTX by NVRTC (sm_80, sm_90; no GPU needed)
#   2. the same unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the importer's libFuzzer target, briefly (FUZZ_SECONDS, default 60)
#   4. Rust: the build.rs helper's tests and its example crate; the parity suite (every fixture in tests/models
#      converted, built in one cargo workspace, run at several input sizes, compared with ONNX Runtime;
#      rustfmt and clippy clean); ONNX's node conformance cases through generated code
# All Rust builds share one target dir (target/), so candle compiles once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh

jobs=$(nproc)
section() { printf '\n=== %s ===\n' "$*"; }

section "build (-Werror) and ctest"
cmake -S . -B build -G Ninja -DML2CANDLE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
(cd build && ctest --output-on-failure -j"$jobs")

section "unit tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DML2CANDLE_WERROR=ON -DML2CANDLE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build-asan
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")

if [ -f tests/fuzz/run.sh ]; then
  section "fuzz the importer (${FUZZ_SECONDS:-60} s)"
  bash tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
fi

export CARGO_TARGET_DIR="$PWD/target"
export ML2CANDLE="$PWD/build/ml2candle"
command -v cargo >/dev/null || { echo "run_all: cargo is needed (rustup.rs)"; exit 1; }

section "ml2candle-build (build.rs helper) and its example crate"
cargo test -q --release --manifest-path rust/ml2candle-build/Cargo.toml
cargo run -q --release --manifest-path examples/build_rs_demo/Cargo.toml

section "parity suite: tests/models through generated Candle code vs ONNX Runtime"
python3 -m pytest -q tests/e2e

if [ -f tests/conformance/run.py ]; then
  section "ONNX node conformance"
  python3 tests/conformance/run.py
fi

section "all tests passed"
