#!/usr/bin/env bash
# tests/malformed/run.sh — every broken model of tests/malformed/corpus through `ml2candle inspect`.
#
#   bash tests/malformed/run.sh build/ml2candle
#
# For each line `<file> <exit code> <substring>` of expect.txt: the command must finish within 10 s with that
# exit code, and print on stderr exactly one line, starting with the model path, containing the substring —
# no "internal error", no sanitizer report, no crash.  Prints `N passed, M failed`; exits 1 on any failure.
set -u

bin=${1:?usage: run.sh ML2CANDLE_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A sanitizer build must not hide a report behind a clean exit code.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
fail() {
    echo "FAIL $file: $1"
    sed 's/^/    stderr: /' "$tmp/err" | head -n 20
    failed=$((failed + 1))
}

while IFS= read -r line || [ -n "$line" ]; do
    case $line in '' | '#'*) continue ;; esac
    file=${line%% *}
    rest=${line#* }
    want_rc=${rest%% *}
    want=${rest#* }
    model=$corpus/$file
    if [ ! -e "$model" ]; then
        : >"$tmp/err"
        fail "no such file in corpus/"
        continue
    fi
    timeout -k 5 10 "$bin" inspect "$model" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    nlines=$(wc -l <"$tmp/err")
    first=$(head -n 1 "$tmp/err")
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail "timed out (10 s)"
    elif [ $rc -ge 128 ]; then
        fail "killed by signal $((rc - 128))"
    elif grep -q -e 'internal error' -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'runtime error:' \
        -e 'UndefinedBehaviorSanitizer' "$tmp/err"; then
        fail "internal error or sanitizer report"
    elif [ "$rc" != "$want_rc" ]; then
        fail "exit code $rc, expected $want_rc"
    elif [ "$nlines" -ne 1 ]; then
        fail "$nlines lines on stderr, expected exactly one"
    elif [ "${first#"$model: "}" = "$first" ]; then
        fail "the message does not start with the model path"
    elif [ "${first#*"$want"}" = "$first" ]; then
        fail "the message lacks: $want"
    else
        passed=$((passed + 1))
    fi
done <"$here/expect.txt"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
