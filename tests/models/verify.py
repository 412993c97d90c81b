#!/usr/bin/env python3
"""Check the committed fixtures without regenerating them: every caseN.in/out pair and the greedy references
replay through ONNX Runtime within the DESIGN.md §6 f32 tolerance (1e-4 + 1e-4*|ref|), tensor names match the
graph's inputs/outputs, no external data, meta.json is consistent.

    .venv/bin/python tests/models/verify.py [FIXTURE ...]
"""

import glob
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))


def check_fixture(d):
    errs = []
    meta = json.load(open(os.path.join(d, "meta.json")))
    path = os.path.join(d, "model.onnx")
    m = onnx.load(path, load_external_data=False)
    if any(i.data_location == onnx.TensorProto.EXTERNAL for i in m.graph.initializer):
        errs.append("external data")
    inits = {i.name for i in m.graph.initializer}
    g_in = [v.name for v in m.graph.input if v.name not in inits]
    g_out = [v.name for v in m.graph.output]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    pairs = [(c["name"], c) for c in meta["cases"]]
    if "greedy" in meta:
        pairs.append(("greedy", None))
    for name, case in pairs:
        ins = load_file(os.path.join(d, f"{name}.in.safetensors"))
        ref = load_file(os.path.join(d, f"{name}.out.safetensors"))
        if sorted(ins) != sorted(g_in) or sorted(ref) != sorted(g_out):
            errs.append(f"{name}: names {sorted(ins)}/{sorted(ref)} vs graph {g_in}/{g_out}")
            continue
        if case is not None:
            for k, v in ins.items():
                if list(v.shape) != case["input_shapes"][k]:
                    errs.append(f"{name}: {k} shape {v.shape} vs meta {case['input_shapes'][k]}")
        got = dict(zip(g_out, sess.run(g_out, ins)))
        for k in g_out:
            r, o = ref[k], got[k]
            if r.shape != o.shape:
                errs.append(f"{name}: {k} shape {o.shape} vs ref {r.shape}")
            elif not np.all(np.abs(o.astype(np.float64) - r) <= 1e-4 + 1e-4 * np.abs(r)):
                errs.append(f"{name}: {k} max abs diff {np.abs(o - r).max()}")
            if r.dtype.kind == "f" and not np.all(np.isfinite(r)):
                errs.append(f"{name}: {k} reference has NaN/Inf")
    if "greedy" in meta:
        gm = meta["greedy"]
        logits = load_file(os.path.join(d, "greedy.out.safetensors"))["logits"]
        p = len(gm["prompt"])
        am = [int(logits[0, p - 1 + k].argmax()) for k in range(len(gm["tokens"]))]
        if am != gm["tokens"]:
            errs.append(f"greedy: argmax of reference logits {am} != tokens {gm['tokens']}")
        ids = load_file(os.path.join(d, "greedy.in.safetensors"))["input_ids"][0].tolist()
        if ids != gm["prompt"] + gm["tokens"]:
            errs.append("greedy: greedy.in input_ids != prompt + tokens")
    return errs


def main():
    names = sys.argv[1:] or sorted(os.path.basename(os.path.dirname(p))
                                   for p in glob.glob(os.path.join(HERE, "*", "meta.json")))
    bad = 0
    for n in names:
        errs = check_fixture(os.path.join(HERE, n))
        print(f"{n}: {'ok' if not errs else 'FAIL'}")
        for e in errs:
            print("   ", e)
        bad += bool(errs)
    print(f"{len(names) - bad} passed, {bad} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
