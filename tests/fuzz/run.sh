#!/usr/bin/env bash
# tests/fuzz/run.sh — build the libFuzzer target with clang-14 in build-fuzz and fuzz the importer.
#
#   tests/fuzz/run.sh [SECONDS [LIBFUZZER ARGS...]]      (default 60 s; FUZZ_JOBS=N runs N processes)
#
# The fuzzer starts from a copy of tests/fuzz/corpus (the committed seeds stay as they are) plus the small
# exported fixtures of tests/models, and fails on any crash, sanitizer report, leak, 10 s hang or "internal
# error" diagnostic; the input that did it lands in build-fuzz/fuzz-artifacts/.  Reproduce one with
#   build-fuzz/fuzz_import build-fuzz/fuzz-artifacts/crash-...
set -eu

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz
cc=${CC:-clang-14}

# Every object of the compiler gets coverage counters and the sanitizers, not only the fuzz target (the
# top-level ML2CANDLE_FUZZ option instruments the target alone until it adds these flags itself; passing
# them twice does no harm).
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DML2CANDLE_FUZZ=ON -DML2CANDLE_WERROR=OFF -DCMAKE_C_FLAGS="$flags" >/dev/null
ninja -C "$build" fuzz_import

work=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
rm -rf "$work" "$artifacts"
mkdir -p "$work" "$artifacts"
cp "$root"/tests/fuzz/corpus/* "$work"/
# the exported fixtures, when they are small: at most 10, each under 100 KB
n=0
for f in "$root"/tests/models/*/model.onnx; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 102400 ] && [ $n -lt 10 ] || continue
    cp "$f" "$work/fixture_$(basename "$(dirname "$f")").onnx"
    n=$((n + 1))
done

jobs=${FUZZ_JOBS:-1}
parallel=()
# with -jobs, libFuzzer runs child processes that log to fuzz-N.log; one job runs in the foreground
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
(cd "$build" && ./fuzz_import -max_total_time="$secs" -max_len=1000000 -timeout=10 -rss_limit_mb=2048 \
    -dict="$root/tests/fuzz/onnx.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "${parallel[@]}" "$@" "$work") || rc=$?
if [ -n "$(ls -A "$artifacts")" ]; then
    echo "fuzz: inputs that failed are in $artifacts:"
    ls -l "$artifacts"
    exit 1
fi
exit $rc
