#!/usr/bin/env bash
# tests/llvm/aot.sh ML2CANDLE CC — ahead-of-time kernels: `kernels --target cpu` builds libm2c_kernels.a (the
# default x86-64-v2 + x86-64-v3 variants) for a small graph, the system linker links it into tests/llvm/aot_main.c
# (so the archive's symbol index and objects are what real linkers take), and each variant this CPU can run is
# checked against the same computation in double.  Also: the manifest names both variants, the header declares
# them, and a second run into the same folder needs --force.  Exit 77 (skip) without the LLVM backend.
set -uo pipefail
bin=$(realpath "$1") cc=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/g.ir" <<'IR'
graph g
opset "" 17
input %x: f32[n, 96]
param %g: f32[96]
param %b: f32[96]
const %two: f32[] = [2.0]
%ln: f32[n, 96] = LayerNormalization(%x, %g, %b) {axis=-1, epsilon=1e-05}
%y: f32[n, 96] = Mul(%ln, %two)
output %y
IR
if ! "$bin" kernels "$tmp/g.ir" --target cpu -o "$tmp/k" >"$tmp/log" 2>&1; then
  if grep -q "not built in" "$tmp/log"; then echo "SKIP: the LLVM backend is not built in"; exit 77; fi
  cat "$tmp/log"; exit 1
fi
fail=0
for want in libm2c_kernels.a m2c_kernels.h manifest.json m2c_layernorm_0.kir; do
  [ -f "$tmp/k/$want" ] || { echo "FAIL: $want missing"; fail=1; }
done
grep -q '"x86-64-v3"' "$tmp/k/manifest.json" && grep -q 'm2c_layernorm_0__x86_64_v2(' "$tmp/k/m2c_kernels.h" ||
  { echo "FAIL: manifest or header lacks a variant"; fail=1; }
if "$bin" kernels "$tmp/g.ir" --target cpu -o "$tmp/k" >"$tmp/log2" 2>&1 || ! grep -q -- --force "$tmp/log2"; then
  echo "FAIL: writing into a non-empty folder without --force"; fail=1
fi
"$cc" -O1 -I"$tmp/k" "$here/aot_main.c" "$tmp/k/libm2c_kernels.a" -lm -o "$tmp/aot" || { echo "FAIL: link"; exit 1; }
"$tmp/aot" || fail=1
[ $fail -eq 0 ] && echo "ok" || { echo "FAIL"; exit 1; }
