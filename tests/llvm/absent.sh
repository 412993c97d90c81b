#!/usr/bin/env bash
# tests/llvm/absent.sh ML2CANDLE — a build without the LLVM backend (-DML2CANDLE_LLVM=OFF) says so: validate
# --device cpu, run --engine llvm, kernels --target cpu and a conversion with --kernels cpu exit 3 (a missing
# runtime, DESIGN §4) with a message naming the option, writing nothing; run --engine ref still works.
set -uo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/../.."
m=tests/models/mlp_ts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect3() {
  "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ $rc -ne 3 ] || ! grep -q "not built in" "$tmp/out"; then
    echo "FAIL (exit $rc): $*"; cat "$tmp/out"; fail=1
  fi
}
expect3 "$bin" validate $m/model.onnx --device cpu
expect3 "$bin" run $m/model.onnx --inputs $m/case0.in.safetensors -o "$tmp/o.st" --engine llvm
expect3 "$bin" kernels $m/model.onnx --target cpu -o "$tmp/k"
expect3 "$bin" $m/model.onnx -o "$tmp/crate" --kernels cpu
[ ! -e "$tmp/k" ] && [ ! -e "$tmp/crate" ] || { echo "FAIL: an output folder was written"; fail=1; }
"$bin" run $m/model.onnx --inputs $m/case0.in.safetensors --reference $m/case0.out.safetensors --engine ref >"$tmp/out" 2>&1 ||
  { echo "FAIL: run --engine ref"; cat "$tmp/out"; fail=1; }
[ $fail -eq 0 ] && echo ok || exit 1
