#!/usr/bin/env python3
"""Time the AOT CPU kernels of a model one by one, as the generated crate calls them (issue 6).

    python3 bench/cpu_kernels_time.py KDIR --dim batch=1 --dim seq=128 [--repeat 20] [--threads 1]
        [--variant x86-64-v3] [--kind attention] [--all]

KDIR is what `ml2candle kernels MODEL -o KDIR --target cpu` wrote (libm2c_kernels.a, manifest.json).  The
library is linked into a shared object (cc -shared, whole archive) and its functions are called through
ctypes on fresh random inputs of the sizes given: every call runs parts 0..nparts-1 of the kernel, on
--threads threads (ctypes releases the GIL), nparts = threads.  Prints per kernel (one per distinct code
unless --all) the best and median time, the process CPU time (median), the bytes it moves and what that is per second, and a total per kind.
"""
import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

DT = {"f32": np.float32, "f16": np.uint16, "bf16": np.uint16, "i64": np.int64, "i32": np.int32, "u8": np.uint8,
      "bool": np.uint8, "i8": np.int8}
FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64), ctypes.c_int64,
                      ctypes.c_int64)


def dim(d, env):
    if isinstance(d, int):
        return d
    return int(eval(re.sub(r"(?<!/)/(?!/)", "//", d), {"min": min, "max": max}, dict(env)))


def signature(k):
    """kernels alike for timing: kind, argument shapes and dtypes, the ops replaced"""
    return json.dumps([k["kind"], [(x["dtype"], x["shape"]) for x in k["args"]], [r["op"] for r in k["replaces"]]])


def library(kdir):
    so = os.path.join(tempfile.mkdtemp(prefix="m2c_kt_"), "libk.so")
    subprocess.run(["cc", "-shared", "-o", so, "-Wl,--whole-archive", os.path.join(kdir, "libm2c_kernels.a"),
                    "-Wl,--no-whole-archive", "-lm"], check=True)
    return ctypes.CDLL(so)


def run_parts(fn, argv, symv, threads):
    if threads == 1:
        fn(argv, symv, 0, 1)
        return
    ts = [threading.Thread(target=fn, args=(argv, symv, p, threads)) for p in range(1, threads)]
    for t in ts:
        t.start()
    fn(argv, symv, 0, threads)
    for t in ts:
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kdir")
    ap.add_argument("--dim", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant")
    ap.add_argument("--kind")
    ap.add_argument("--all", action="store_true")
    a = ap.parse_args()
    env = dict((k, int(v)) for k, v in (d.split("=") for d in a.dim))
    man = json.load(open(os.path.join(a.kdir, "manifest.json")))
    variant = a.variant or man["variants"][-1]["cpu"]
    lib = library(a.kdir)
    rng = np.random.default_rng(0)
    seen = set()
    per_kind = {}
    for k in man["kernels"]:
        if a.kind and k["kind"] != a.kind:
            continue
        key = signature(k)
        if key in seen and not a.all:
            continue
        seen.add(key)
        arrs = []
        try:
            for arg in k["args"]:
                shape = [dim(d, env) for d in arg["shape"]]
                t = DT[arg["dtype"]]
                if arg["role"] == "output":
                    x = np.full(shape, 0xFF, dtype=np.uint8).view(np.uint8) if t == np.uint8 else np.empty(shape, t)
                elif t == np.float32:
                    x = rng.standard_normal(shape, dtype=np.float32)
                else:
                    x = np.zeros(shape, t)
                arrs.append(np.ascontiguousarray(x))
        except (KeyError, NameError) as e:
            print(f"{k['name']}: skipped ({e})")
            continue
        syms = []
        for s in k["scalars"]:
            if s["name"] in env:
                syms.append(env[s["name"]])
            else:
                i = [x["name"] for x in k["args"]].index(s["arg"])
                syms.append(arrs[i].shape[s["axis"]])
        argv = (ctypes.c_void_p * len(arrs))(*[x.ctypes.data for x in arrs])
        symv = (ctypes.c_int64 * max(1, len(syms)))(*syms)
        fn = FN(("%s" % k["symbols"][variant], lib))
        run_parts(fn, argv, symv, a.threads)
        ts, cs = [], []
        for _ in range(a.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            run_parts(fn, argv, symv, a.threads)
            ts.append((time.perf_counter() - t0) * 1e3)
            cs.append((time.process_time() - c0) * 1e3)
        ts.sort()
        cs.sort()
        nbytes = sum(x.nbytes for x in arrs)
        best, med = ts[0], ts[len(ts) // 2]
        shapes = " ".join("x".join(map(str, x.shape)) for x in arrs)
        print(f"{k['name']:<22} {k['kind']:<10} best {best:8.3f} ms  median {med:8.3f} ms  cpu {cs[len(cs) // 2]:8.3f} ms "
              f"{nbytes / 1e6:7.2f} MB  {nbytes / best / 1e6:6.2f} GB/s  [{shapes}]")
        n = 1 if a.all else sum(1 for j in man["kernels"] if signature(j) == key)
        tot = per_kind.setdefault(k["kind"], [0, 0.0])
        tot[0] += n
        tot[1] += med * n
    print("per kind (median x kernels with that code): " +
          ", ".join(f"{kind} {n} x = {t:.2f} ms" for kind, (n, t) in per_kind.items()))
    print(f"total {sum(t for _, t in per_kind.values()):.2f} ms ({variant}, {a.threads} thread(s))")


if __name__ == "__main__":
    sys.exit(main())
