#!/usr/bin/env python3
"""Time ONNX Runtime (CPU) on the same inputs as the generated crates: wall and process CPU time (issue 6).

    python3 bench/ort_cpu_time.py NAME MODEL.onnx INPUTS.safetensors REPEAT --threads N --raw TIMES.jsonl
        [--ref OUT.safetensors]

bench/ort_time.py (issue 3) with the process CPU time of each run added, as bench/bench_cpu_kernels.sh reports
it next to the crates' (on a shared 2-core machine the CPU time is the steadier number).  One warm-up run,
then REPEAT timed runs of InferenceSession.run (intra-op threads N, inter-op 1, default graph optimizations:
ORT applies its own fusions; with one thread spinning is off, so CPU time is work).  --ref: a safetensors file
whose tensor "output" is compared with the model's first output (max |diff|).
"""
import argparse
import json
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
    if a.threads == 1:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    feed = load_file(a.inputs)
    feed = {i.name: feed[i.name] for i in s.get_inputs()}
    out = s.run(None, feed)
    wall, cpu = [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        s.run(None, feed)
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    diff = None
    if a.ref:
        diff = float(np.abs(out[0] - load_file(a.ref)["output"]).max())
    shape = list(max(feed.values(), key=lambda v: v.size).shape)   # the largest input's, as the crates' harness
    rec = {"family": a.name, "engine": "ort", "shape": shape, "ms": [round(t, 3) for t in wall],
           "cpu_ms": [round(t, 3) for t in cpu], "max_abs_diff": diff, "ort": ort.__version__}
    with open(a.raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    w, c = sorted(wall), sorted(cpu)
    print(f"{a.name:<10} ort      {shape} median {w[len(w) // 2]:9.2f} ms  cpu {c[len(c) // 2]:9.2f}  n {len(w)}"
          f"  max|diff| vs plain {diff}")


if __name__ == "__main__":
    main()
