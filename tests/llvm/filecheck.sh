#!/usr/bin/env bash
# tests/llvm/filecheck.sh ML2CANDLE FILECHECK TEST — a FileCheck test of the LLVM IR the backend emits: the test
# file holds the graph (`## input`, text IR), the `kernels --target cpu` options (`## args:`) and the FileCheck
# directives (`; CHECK...` lines, FileCheck reads them from the test file itself).  Exit 77 (skip) without
# FileCheck or without the LLVM backend.
set -uo pipefail
bin=$1 fc=$2 test=$3
if ! command -v "$fc" >/dev/null 2>&1; then echo "SKIP: $fc not found (llvm-14-tools)"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^## input$/{on=1; next} /^## /{on=0} on' "$test" >"$tmp/g.ir"
args=$(sed -n 's/^## args: //p' "$test")
# shellcheck disable=SC2086
if ! "$bin" kernels "$tmp/g.ir" --target cpu $args >"$tmp/out.ll" 2>"$tmp/err"; then
  if grep -q "not built in" "$tmp/err"; then echo "SKIP: the LLVM backend is not built in"; exit 77; fi
  cat "$tmp/err"
  exit 1
fi
"$fc" --input-file="$tmp/out.ll" "$test"
