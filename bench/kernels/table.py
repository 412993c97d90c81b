#!/usr/bin/env python3
"""bench/kernels/table.py DIR — the markdown tables of RESULTS.md from run.sh's CSVs in DIR (ours.csv,
ours2.csv, torch.csv): attention in TFLOP/s (ours with the emitter's tiles, the best other tiles, torch SDPA
flash and cuDNN, and ours over each), the row kernels in TB/s (ours, torch eager, torch.compile, the copy ceiling,
and ours over the better torch and over the copy)."""
import csv
import sys
from collections import defaultdict


def load(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def main(d):
    ours, ours2, torch = load(f"{d}/ours.csv"), load(f"{d}/ours2.csv"), load(f"{d}/torch.csv")
    rate = defaultdict(dict)
    for r in ours:
        key = (r["kind"], r["shape"])
        v = float(r["rate"]) if float(r["rel_l2"]) <= 1e-2 else float("nan")
        if r["variant"].endswith("(default)") or r["kind"] != "attention":
            rate[key]["ours"] = v
        elif v == v and v > rate[key].get("alt", (0, ""))[0]:
            rate[key]["alt"] = (v, r["variant"])
    for r in ours2:
        if r["variant"].endswith("(default)") or r["kind"] != "attention":
            rate[(r["kind"], r["shape"])]["ours2"] = float(r["rate"])
    for r in torch:
        rate[(r["kind"], r["shape"])][r["variant"]] = float(r["rate"])
    nan = float("nan")
    print("| attention (B,H,S,D) | ours (2 runs) | best other tiles | torch flash | torch cuDNN | ours / flash | ours / cuDNN |")
    print("|---|---|---|---|---|---|---|")
    for (kind, shape), v in rate.items():
        if kind != "attention":
            continue
        alt = v.get("alt", (nan, "—"))
        ours, fl, cu = v.get("ours", nan), v.get("torch flash", nan), v.get("torch cudnn", nan)
        print(f"| {shape} | {ours:.0f} / {v.get('ours2', nan):.0f} | {alt[0]:.0f} ({alt[1]}) | {fl:.0f} | {cu:.0f} | "
              f"{ours / fl:.2f} | {ours / cu:.2f} |")
    print()
    print("| kernel | shape | ours (2 runs) | torch eager | torch.compile | copy ceiling | ours / best torch | ours / copy |")
    print("|---|---|---|---|---|---|---|---|")
    for (kind, shape), v in rate.items():
        if kind in ("attention", "copy"):
            continue
        cp = rate.get(("copy", shape), {}).get("torch copy_", nan)
        ours = v.get("ours", v.get("ours2", nan))
        best = max(v.get("torch eager", nan), v.get("torch compile", nan))
        print(f"| {kind} | {shape} | {ours:.2f} / {v.get('ours2', nan):.2f} | {v.get('torch eager', nan):.2f} | "
              f"{v.get('torch compile', nan):.2f} | {cp:.2f} | {ours / best:.2f} | {ours / cp:.2f} |")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
