#!/usr/bin/env bash
# scripts/quickstart.sh — the README's first command: installs what is missing, builds ml2candle and runs
# it on the bundled example model (a tiny HF BERT exported by PyTorch's TorchScript exporter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build ml2candle >/dev/null
model=${1:-tests/models/bert_ts/model.onnx}
echo "\$ ml2candle inspect $model"
./build/ml2candle inspect "$model"
