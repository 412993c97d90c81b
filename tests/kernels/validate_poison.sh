#!/usr/bin/env bash
# tests/kernels/validate_poison.sh ML2CANDLE FAKE_LIBCUDA_DIR — `validate --device cuda` against a driver whose
# launches do nothing (fake_cuda.c): every kernel's output stays poisoned, so every kernel must FAIL and the
# exit code must be 4 (DESIGN §4, §6).  Also: no NVRTC gives exit 3 with a message naming where it looked.
# Needs NVRTC (tests/kernels/run.sh says how it is found); skipped (77) where that test would skip.
set -uo pipefail
bin=$1 fake=$2
cd "$(dirname "$0")/../.."
if [ -z "${ML2CANDLE_NVRTC:-}" ]; then
  d=$(python3 -c 'import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for p in (spec.submodule_search_locations if spec else []):
    for sub in ("cu13/lib", "cuda_nvrtc/lib"):
        if os.path.exists(os.path.join(p, sub, "libnvrtc.so.13")) or os.path.exists(os.path.join(p, sub, "libnvrtc.so.12")):
            print(os.path.join(p, sub)); raise SystemExit' 2>/dev/null)
  if [ -n "$d" ]; then export ML2CANDLE_NVRTC=$d; fi
fi
fail=0
out=$(ML2CANDLE_NVRTC=/nonexistent "$bin" validate tests/models/mlp_ts/model.onnx --device cuda 2>&1)
rc=$?
if [ $rc -ne 3 ] || ! grep -q "NVRTC not found" <<<"$out"; then
  echo "FAIL: without NVRTC: exit $rc (want 3), output: $out"
  fail=1
fi
out=$(LD_LIBRARY_PATH="$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin" validate tests/models/llama_dynamo/model.onnx \
      --device cuda --seed 1 2>&1)
rc=$?
if grep -q "NVRTC not found" <<<"$out"; then
  [ "${ML2CANDLE_NO_NVRTC:-}" = 1 ] && { echo "SKIP: no NVRTC"; exit 77; }
  echo "FAIL: NVRTC not found"; echo "$out"; exit 1
fi
nfail=$(grep -c ' FAIL ' <<<"$out")
nk=$(sed -n 's/.*: \([0-9]*\) kernels,.*/\1/p' <<<"$out")
if [ $rc -ne 4 ] || [ -z "$nk" ] || [ "$nk" -lt 10 ] || [ "$nfail" -ne "$nk" ] || ! grep -q unwritten <<<"$out"; then
  echo "FAIL: with launches that write nothing: exit $rc (want 4), $nfail of ${nk:-?} kernels failed (want all)"
  fail=1
fi
echo "$out" | tail -4
exit $fail
