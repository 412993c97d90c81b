#!/usr/bin/env python3
"""Markdown latency table from the JSON-lines times of bench_{bert,llama}_compare --raw / bench/ort_time.py.

    python3 bench/latency_table.py TIMES.jsonl [--labels name=label,...] [--ratio-to NAME] [--runs]

One row per engine, one group of columns per input shape (and phase, where the records have one): the median
wall time in ms over every run recorded for that engine and shape (records of the same engine and shape are
pooled), the interquartile range and the number of runs, and the median process CPU time per run (all
threads, spin-waiting included) where recorded.  --ratio-to adds each engine's medians (wall and CPU) over
NAME's.  The last column is the largest output difference from the reference engine; a line under the table
gives the range of the 1-minute load averages sampled during the runs.  --runs adds a table of each process
run's median CPU time per engine (and its ratio to NAME's in the same run), to show how far runs with another
load order or machine load agree.
"""
import argparse
import json
from collections import defaultdict


def q(xs, f):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * f)]


def print_runs(records, engines, labels, ratio_to, name):
    """Each process run of bench_*_compare separately: the median CPU time per engine (ratio to ratio_to)."""
    runs = []   # (shape, [records]) in file order; a run ends where an engine repeats for the same shape
    for r in records:
        if "cpu_ms" not in r or r["engine"].startswith("ort"):
            continue
        shape = (r.get("phase", ""), tuple(r["shape"]))
        if not runs or runs[-1][0] != shape or any(x["engine"] == r["engine"] for x in runs[-1][1]):
            runs.append((shape, []))
        runs[-1][1].append(r)
    cols = [f"{name(s)} run {i + 1} (first: {rs[0]['engine']})" for i, (s, rs) in enumerate(runs)]
    print("\nEach run's median CPU time" + (f" (÷ {labels.get(ratio_to, ratio_to)} in the same run)" if ratio_to else "") + ":\n")
    print("| engine |" + "".join(f" {c} |" for c in cols))
    print("|---|" + "---|" * len(cols))
    for e in engines:
        if e.startswith("ort"):
            continue
        row = f"| {labels.get(e, e)} |"
        for _, rs in runs:
            mine = next((x for x in rs if x["engine"] == e), None)
            ref = next((x for x in rs if x["engine"] == ratio_to), None)
            if not mine or not mine["cpu_ms"]:
                row += " — |"
                continue
            row += f" {q(mine['cpu_ms'], .5):.1f} ms"
            row += f" ({q(mine['cpu_ms'], .5) / q(ref['cpu_ms'], .5):.2f}) |" if ref and ref["cpu_ms"] else " |"
        print(row)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--labels", default="")
    ap.add_argument("--ratio-to")
    ap.add_argument("--runs", action="store_true",
                    help="also a table of each run's (record's) median CPU time, ÷ NAME's in the same run")
    a = ap.parse_args()
    labels = dict(kv.split("=", 1) for kv in a.labels.split(",") if kv)
    times, cpu = defaultdict(list), defaultdict(list)
    diff, vs = {}, {}
    engines, shapes, loads = [], [], []
    records = []
    with open(a.raw) as f:
        for line in f:
            r = json.loads(line)
            records.append(r)
            shape = (r.get("phase", ""), tuple(r["shape"]))
            key = (r["engine"], shape)
            times[key] += r["ms"]
            cpu[key] += r.get("cpu_ms", [])
            loads += r.get("load1", [])
            if r.get("max_abs_diff"):
                diff[key] = max(diff.get(key, 0.0), max(r["max_abs_diff"]))
                vs[r["engine"]] = r.get("vs")
            if r["engine"] not in engines:
                engines.append(r["engine"])
            if shape not in shapes:
                shapes.append(shape)

    def name(s):
        return (s[0] + " " if s[0] else "") + "×".join(map(str, s[1]))

    head = "| engine |" + "".join(f" {name(s)}: median (p25–p75, n) | cpu |" for s in shapes)
    if a.ratio_to:
        head += "".join(f" {name(s)}: ÷ {labels.get(a.ratio_to, a.ratio_to)}, wall / cpu |" for s in shapes)
    head += " max \\|diff\\| |"
    print(head)
    print("|" + "---|" * (head.replace("\\|", "").count("|") - 1))
    for e in engines:
        row = f"| {labels.get(e, e)} |"
        for s in shapes:
            t, c = times.get((e, s)), cpu.get((e, s))
            row += f" {q(t, .5):.1f} ms ({q(t, .25):.0f}–{q(t, .75):.0f}, {len(t)}) |" if t else " — |"
            row += f" {q(c, .5):.0f} ms |" if c else " — |"
        if a.ratio_to:
            for s in shapes:
                t, r = times.get((e, s)), times.get((a.ratio_to, s))
                c, rc = cpu.get((e, s)), cpu.get((a.ratio_to, s))
                row += f" {q(t, .5) / q(r, .5):.2f}" if t and r else " —"
                row += f" / {q(c, .5) / q(rc, .5):.2f} |" if c and rc else " |"
        d = [diff[(e, s)] for s in shapes if (e, s) in diff]
        row += f" {max(d):.1e} |" if d else " — |"
        print(row)
    if a.runs:
        print_runs(records, engines, labels, a.ratio_to, name)
    if loads:
        print(f"\n1-minute load average during the runs: {min(loads):.2f}–{max(loads):.2f} "
              f"(median {q(loads, .5):.2f}, {len(loads)} samples)")


if __name__ == "__main__":
    main()
