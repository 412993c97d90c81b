#!/usr/bin/env bash
# tests/run_all.sh — the whole test suite (the README's test command; CI runs it through .ci/run).
#
#   1. build with -Wall -Wextra -Werror and run ctest: dims algebra, import, text-IR pass tests, reference
#      evaluator, malformed-model corpus, golden `inspect` outputs on the committed PyTorch exports
#   2. the same unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the importer's libFuzzer target, briefly (FUZZ_SECONDS, default 60)
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

section "all tests passed"
