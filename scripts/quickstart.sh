#!/usr/bin/env bash
# scripts/quickstart.sh — the README's first command: installs what is missing, builds ml2candle, converts the
# bundled example model (a tiny HF BERT exported by PyTorch's TorchScript exporter) into a Candle crate, builds
# that crate and runs it on the inputs stored beside the model, comparing with ONNX Runtime's outputs.
#   usage: scripts/quickstart.sh [MODEL_DIR]   (default tests/models/bert_ts; any tests/models/* works)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
command -v cargo >/dev/null || { echo "quickstart: cargo is needed (https://rustup.rs)"; exit 1; }
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DML2CANDLE_WERROR=OFF >/dev/null
ninja -C build ml2candle >/dev/null
model_dir=${1:-tests/models/bert_ts}
name=$(basename "$model_dir")
crate=out/$name
export CARGO_TARGET_DIR="$PWD/target"

echo "\$ ml2candle inspect $model_dir/model.onnx"
./build/ml2candle inspect "$model_dir/model.onnx"
echo
echo "\$ ml2candle $model_dir/model.onnx -o $crate --force"
./build/ml2candle "$model_dir/model.onnx" -o "$crate" --force
ls "$crate" "$crate/src"
echo
echo "\$ cargo run --release --example run -- case0.in.safetensors out.safetensors   (in $crate; candle compiles once)"
(cd "$crate" && cargo run --release -q --example run -- "../../$model_dir/case0.in.safetensors" "../$name.out.safetensors")
python3 - "$model_dir/case0.out.safetensors" "out/$name.out.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
ref, out = load_file(sys.argv[1]), load_file(sys.argv[2])
for k, r in ref.items():
    d = np.max(np.abs(out[k].astype(np.float64) - r.astype(np.float64))) if r.size else 0.0
    print(f"{k}: {list(r.shape)}, max |candle - onnxruntime| = {d:.3g}")
PY
