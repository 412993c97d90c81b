#!/usr/bin/env bash
# tests/golden/run.sh BIN [--update] — golden outputs of ml2candle on the committed fixtures.
#
#   inspect/<fixture>.txt, .json   `ml2candle inspect` (text and --json) of every tests/models fixture
#   candle/<fixture>/*.rs          the generated Rust of the small fixtures (src/model.rs, src/onnx_ops.rs)
#
# A difference fails with a unified diff; --update rewrites the snapshots (review them in git diff).
set -uo pipefail
bin=$1
update=${2:-}
cd "$(dirname "$0")/../.."
golden=tests/golden
fail=0
pass=0
check() {   # check NAME FILE-WITH-ACTUAL
  local want=$golden/$1
  if [ "$update" = "--update" ]; then
    mkdir -p "$(dirname "$want")"
    cp "$2" "$want"
    return
  fi
  if diff -u "$want" "$2" >/tmp/golden.diff 2>&1; then
    pass=$((pass + 1))
  else
    echo "golden: $1 differs:"
    head -40 /tmp/golden.diff
    fail=$((fail + 1))
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in tests/models/*/model.onnx; do
  fx=$(basename "$(dirname "$m")")
  "$bin" inspect "$m" >"$tmp/out.txt" 2>&1
  check "inspect/$fx.txt" "$tmp/out.txt"
  "$bin" inspect "$m" --json >"$tmp/out.json" 2>/dev/null
  check "inspect/$fx.json" "$tmp/out.json"
done
for fx in mlp_ts mlp_dynamo bert_ts bert_dynamo conv1d_ts; do
  rm -rf "$tmp/crate"
  if ! ML2CANDLE_RUSTFMT=${ML2CANDLE_RUSTFMT:-rustfmt} "$bin" "tests/models/$fx/model.onnx" -o "$tmp/crate" --name "$fx" >"$tmp/err.txt" 2>&1; then
    echo "golden: ml2candle failed on $fx:"; cat "$tmp/err.txt"; fail=$((fail + 1)); continue
  fi
  for f in src/model.rs src/onnx_ops.rs; do
    [ -f "$tmp/crate/$f" ] && check "candle/$fx/$(basename "$f")" "$tmp/crate/$f"
  done
done
[ "$update" = "--update" ] && { echo "golden: snapshots updated"; exit 0; }
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
