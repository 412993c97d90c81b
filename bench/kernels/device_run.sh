#!/usr/bin/env bash
# bench/kernels/device_run.sh BUILD_DIR [VARIANT_DIR...] — issue 5's whole GPU record in one device call, for
# binaries built elsewhere and carried (BUILD_DIR holds ml2candle and m2c_bench_kernels):
#   1. bench/cuda_validate.sh with BUILD_DIR/ml2candle (every fixture and unit graph, f32/f16/bf16);
#   2. bench/kernels/run.sh BUILD_DIR (ours with the tile alternatives, torch, ours again);
#   3. for each VARIANT_DIR (another build of the same benchmark: an older commit, other compile-time choices):
#      its m2c_bench_kernels at the default tiles, then BUILD_DIR's once more, so the variants sit between two
#      runs of the candidate on the same warm card; and VARIANT_DIR/ml2candle through the validation too, if
#      there is one.
# Everything lands in one tarball, $OUT/device_run.tgz (rewritten after each step, so a run cut short still
# brings back what it did); the tables are printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "$1")
shift
dest=${OUT:-/tmp}
work=$(mktemp -d)
mkdir -p "$dest"
pack() { tar czf "$dest/device_run.tgz" -C "$work" . ; }
cd "$here"

OUT=$work/validate bash bench/cuda_validate.sh "$bin/ml2candle" >"$work/validate.out" 2>&1
tail -n 3 "$work/validate.out"
pack
OUT=$work/run bash bench/kernels/run.sh "$bin" >"$work/run.out" 2>&1
tail -n 1 "$work/run.out"
pack
i=0
for v in "$@"; do
  v=$(realpath "$v")
  name=$(basename "$v")
  timeout 120 "$v/m2c_bench_kernels" --csv "$work/ab_${i}_$name.csv" >"$work/ab_${i}_$name.log" 2>&1
  echo "variant $name: $(tail -n 1 "$work/ab_${i}_$name.log")"
  timeout 120 "$bin/m2c_bench_kernels" --csv "$work/ab_${i}_candidate.csv" >"$work/ab_${i}_candidate.log" 2>&1
  pack
  i=$((i + 1))
done
for v in "$@"; do
  v=$(realpath "$v")
  if [ -x "$v/ml2candle" ]; then
    OUT=$work/validate_$(basename "$v") bash bench/cuda_validate.sh "$v/ml2candle" >"$work/validate_$(basename "$v").out" 2>&1
    echo "validate $(basename "$v"): $(grep '^runs ' "$work/validate_$(basename "$v").out")"
    pack
  fi
done
python3 bench/kernels/table.py "$work/run"
for f in "$work"/ab_*.csv; do
  echo "== $(basename "$f")"
  python3 - "$f" <<'EOF'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(f"{r['kind']:<10} {r['shape']:<22} {float(r['rate']):8.2f} {r['unit']}  rel_l2 {float(r['rel_l2']):.1e}")
EOF
done
pack
