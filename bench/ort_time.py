#!/usr/bin/env python3
"""Time ONNX Runtime (CPU) on the same inputs as the Rust engines; append the times to a JSON-lines file.

    python3 bench/ort_time.py NAME MODEL.onnx INPUTS.safetensors REPEAT --threads N --raw TIMES.jsonl
        [--ref OUT.safetensors]

One warm-up run, then REPEAT timed runs of InferenceSession.run (intra-op threads N, inter-op 1, default
graph optimizations: ORT applies its own fusions); wall and process CPU time per run, and the 1-minute load
average before each.  --ref: outputs to compare with (max |diff| per output,
in the order of the model's outputs), e.g. what bench_bert_compare --save wrote.
"""
import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("repeat", type=int)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--ref")
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    feed = load_file(a.inputs)
    feed = {i.name: feed[i.name] for i in s.get_inputs()}
    out = s.run(None, feed)
    times, cpu, loads = [], [], []
    for _ in range(a.repeat):
        loads.append(os.getloadavg()[0])
        t, c = time.perf_counter(), time.process_time()
        s.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    loads.append(os.getloadavg()[0])
    diffs = []
    if a.ref:
        ref = load_file(a.ref)
        diffs = [float(np.abs(o - ref[n.name]).max()) for o, n in zip(out, s.get_outputs())]
    shape = list(next(iter(feed.values())).shape)
    rec = {"engine": a.name, "shape": shape, "ms": [round(t, 3) for t in times], "cpu_ms": [round(c, 3) for c in cpu],
           "max_abs_diff": diffs, "vs": "ref" if a.ref else None, "ort": ort.__version__,
           "load1": [round(x, 2) for x in loads]}
    with open(a.raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    ts = sorted(times)
    print(f"{a.name:<14} {shape} median {ts[len(ts) // 2]:9.2f} ms  n {len(ts)}  max|diff| vs ref {diffs}")


if __name__ == "__main__":
    main()
