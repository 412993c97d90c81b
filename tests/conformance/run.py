#!/usr/bin/env python3
"""ONNX node conformance: ONNX 1.23.1's node test cases through ml2candle and the generated Candle code.

    python3 tests/conformance/run.py [--jobs N] [--filter REGEX] [--update] [--ml2candle PATH]
                                      [--deps-opt-level N] [--categories]

Stages (each timed):
  1. unpack   /work/shared/conformance/onnx_1_23_node_tests.tar.gz (or --tar) into work/cases/, once
  2. generate per case, in parallel: ml2candle model.onnx -> work/crates/<case>/ (60 s timeout), inputs and
              expected outputs -> work/data/<case>/{inputs,expected}.safetensors in the dtypes the generated
              code uses (bool->u8, i8->i16, u16->u32, u64->i64)
  3. assemble every generated case into ONE crate, work/suite/: src/cases/<case>.rs (its model.rs plus a
              runner), src/helpers.rs (union of the cases' onnx_ops.rs helpers, by `// ml2candle helper:` marker)
  4. build    cargo build; a case whose module does not compile is marked "rust compile error: ..." and dropped,
              then the suite is rebuilt (repeat). Target dir: $CARGO_TARGET_DIR, else <repo>/target
  5. run      the suite binary in --jobs shards; each case runs forward under catch_unwind and compares outputs
              (floats |out-ref| <= 1e-4 + 1e-4|ref|, f16/bf16 1e-2 + 1e-2|ref|; ints/bools exact; NaN/inf in place)
  6. report   `N passed, M failed`, a per-family table (also work/summary.md), and the comparison with
              expectations.txt: an expected pass that fails is a regression (exit 1); --update rewrites the file.
"""
import argparse
import collections
import json
import multiprocessing
import os
import queue
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(HERE, "work")
CASES = os.path.join(WORK, "cases")
CRATES = os.path.join(WORK, "crates")
DATA = os.path.join(WORK, "data")
SUITE = os.path.join(WORK, "suite")
EXPECT = os.path.join(HERE, "expectations.txt")
# the archive in ../shared beside the checkout; without it the cases come from onnx's in-memory loader
DEFAULT_TAR = next((p for p in (os.path.join(REPO, "..", "shared", "conformance", "onnx_1_23_node_tests.tar.gz"),
                                "/work/shared/conformance/onnx_1_23_node_tests.tar.gz") if os.path.exists(p)),
                   os.path.join(REPO, "..", "shared", "conformance", "onnx_1_23_node_tests.tar.gz"))

ML2CANDLE_TIMEOUT = 60      # seconds per ml2candle call
CASE_TIMEOUT = 60           # seconds per case at run time (enforced in the suite binary)
STALL_TIMEOUT = 180         # seconds without any output from a suite process before it is killed


def cpu():
    """CPU seconds (user + sys) of this process and its waited-for children so far."""
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def log(msg):
    print(msg, flush=True)


def one_line(s, limit=240):
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------------------------
# 1. unpack

def unpack(tar_path):
    stamp = os.path.join(CASES, ".stamp")
    st = os.stat(tar_path)
    want = "%s %d %d" % (os.path.abspath(tar_path), st.st_size, int(st.st_mtime))
    if os.path.exists(stamp) and open(stamp).read() == want:
        return False
    shutil.rmtree(CASES, ignore_errors=True)
    tmp = CASES + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with tarfile.open(tar_path) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(tmp, filter="data")
        else:
            tf.extractall(tmp)
    # the archive holds test_<name>/ folders, possibly under one top folder
    entries = [e for e in os.listdir(tmp) if e.startswith("test_")]
    if not entries:
        subs = [os.path.join(tmp, e) for e in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, e))]
        if len(subs) == 1:
            inner = subs[0]
            os.rename(inner, CASES)
            shutil.rmtree(tmp)
        else:
            raise SystemExit("conformance: no test_* folders in %s" % tar_path)
    else:
        os.rename(tmp, CASES)
    with open(stamp, "w") as f:
        f.write(want)
    return True


def write_models_from_loader():
    """Without the archive (a CI machine without ../shared), write each case's model.onnx from
    onnx.backend.test's in-memory node cases; prepare() then finds no data files and memory_data() supplies
    them, as it does for the values the archive lacks.  Returns whether anything was written."""
    import onnx
    stamp = os.path.join(CASES, ".stamp")
    want = "loader onnx %s" % onnx.__version__
    if os.path.exists(stamp) and open(stamp).read() == want:
        return False
    import warnings
    from onnx.backend.test import loader
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = loader.load_model_tests(kind="node")
    shutil.rmtree(CASES, ignore_errors=True)
    for c in cases:
        if c.model is None:
            continue
        d = os.path.join(CASES, c.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(c.model.SerializeToString())
    with open(stamp, "w") as f:
        f.write(want)
    return True


# ---------------------------------------------------------------------------------------------------------------
# 2. generate (runs in worker processes)

# ONNX elem type -> (safetensors dtype of what the generated code takes/returns, numpy conversion)
ST_DTYPE = {
    1: "F32", 2: "U8", 3: "I16", 4: "U32", 5: "I16", 6: "I32", 7: "I64", 9: "U8", 10: "F16", 11: "F64",
    12: "U32", 13: "I64", 16: "BF16", 17: "F8_E4M3",
}
ONNX_TYPE_NAME = {}


def tensor_to_st(arr, elem_type):
    """numpy array of ONNX elem_type -> (safetensors dtype, shape, bytes) in the generated code's dtype."""
    import numpy as np
    st = ST_DTYPE.get(elem_type)
    if st is None:
        raise ValueError("no candle dtype for ONNX %s" % ONNX_TYPE_NAME.get(elem_type, elem_type))
    if elem_type == 9:                       # bool -> u8
        arr = arr.astype(np.uint8)
    elif elem_type == 3:                     # i8 -> i16
        arr = arr.astype(np.int16)
    elif elem_type == 4:                     # u16 -> u32
        arr = arr.astype(np.uint32)
    elif elem_type == 13:                    # u64 -> i64, same bits
        arr = arr.astype(np.uint64).view(np.int64)
    shape = list(arr.shape)                  # (np.ascontiguousarray would make a scalar 1-d)
    if arr.dtype.byteorder == ">":
        arr = arr.byteswap().view(arr.dtype.newbyteorder("<"))
    return st, shape, arr.tobytes(order="C")


def write_safetensors(path, tensors):
    """tensors: list of (name, st_dtype, shape, bytes)."""
    header, off, blobs = {}, 0, []
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main_op(model):
    ops = [n.op_type for n in model.graph.node if n.op_type != "Constant"]
    if ops:
        return ops[-1]
    return model.graph.node[-1].op_type if len(model.graph.node) else "?"


def family_of(case, model):
    m = re.match(r"(test_.*?)_expanded(_ver\d+)?$", case)
    if m:
        sib = os.path.join(CASES, m.group(1), "model.onnx")
        if os.path.exists(sib):
            import onnx
            try:
                return main_op(onnx.load(sib, load_external_data=False))
            except Exception:
                pass
    return main_op(model)


def prepare(args):
    """One case: family, ml2candle, data files. Returns a dict (status 'ok' = ready to build; 'memory' = its
    tensor data is not in the archive, call again with `mem` = (inputs, outputs) from onnx's own loader)."""
    case, ml2candle, mem = args
    import numpy as np  # noqa: F401
    import onnx
    from onnx import numpy_helper
    cdir = os.path.join(CASES, case)
    res = {"case": case, "family": "?", "status": "fail", "reason": ""}
    try:
        model = onnx.load(os.path.join(cdir, "model.onnx"), load_external_data=False)
    except Exception as e:
        res["reason"] = "harness: cannot read model.onnx: " + one_line(e)
        return res
    res["family"] = family_of(case, model)
    g = model.graph
    inits = {t.name for t in g.initializer} | {t.name for t in g.sparse_initializer}
    ins = [v for v in g.input if v.name not in inits]
    outs = list(g.output)
    ddir = os.path.join(cdir, "test_data_set_0")
    in_files = [os.path.join(ddir, "input_%d.pb" % k) for k in range(len(ins))]
    out_files = [os.path.join(ddir, "output_%d.pb" % k) for k in range(len(outs))]
    if any(not v.type.HasField("tensor_type") for v in ins + outs):
        res["reason"] = "needs sequence/optional values"
        return res
    if mem is None and any(not os.path.exists(p) for p in in_files + out_files):
        # the archive's writer skipped values that were numpy scalars rather than arrays
        res["status"], res["reason"] = "memory", "harness: the archive lacks this case's data"
        return res
    if mem is not None and (len(mem[0]) != len(ins) or len(mem[1]) != len(outs)):
        res["reason"] = "harness: onnx's loader has %d inputs/%d outputs, the model %d/%d" % (
            len(mem[0]), len(mem[1]), len(ins), len(outs))
        return res
    res["n_inputs"], res["n_outputs"] = len(ins), len(outs)

    # ml2candle
    crate = os.path.join(CRATES, case)
    shutil.rmtree(crate, ignore_errors=True)
    try:
        p = subprocess.run([ml2candle, os.path.join(cdir, "model.onnx"), "-o", crate, "--name", case, "--force"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=ML2CANDLE_TIMEOUT)
    except subprocess.TimeoutExpired:
        shutil.rmtree(crate, ignore_errors=True)
        res["reason"] = "ml2candle timed out after %d s" % ML2CANDLE_TIMEOUT
        return res
    if p.returncode != 0:
        lines = [l for l in p.stderr.decode(errors="replace").splitlines() if l.strip()]
        first = lines[0] if lines else "(no message)"
        first = first.replace(os.path.join(cdir, "model.onnx") + ": ", "").replace(cdir + "/", "")
        res["reason"] = "ml2candle exit %d: %s" % (p.returncode, one_line(first))
        return res
    if not os.path.exists(os.path.join(crate, "src", "model.rs")):
        res["reason"] = "harness: ml2candle wrote no src/model.rs"
        return res
    extra = sorted(set(os.listdir(os.path.join(crate, "src"))) - {"lib.rs", "model.rs", "onnx_ops.rs"})
    if extra:
        res["reason"] = "harness: crate layout not supported (src/%s)" % extra[0]
        return res

    # data: inputs in the generated code's dtypes, expected outputs likewise (floats keep their precision)
    os.makedirs(os.path.join(DATA, case), exist_ok=True)
    for kind, files, vals, fname, prefix in (("input", in_files, ins, "inputs.safetensors", "input_"),
                                              ("output", out_files, outs, "expected.safetensors", "output_")):
        tensors = []
        for k, (path, v) in enumerate(zip(files, vals)):
            t = onnx.TensorProto()
            try:
                if mem is None:
                    with open(path, "rb") as f:
                        t.ParseFromString(f.read())
                    arr, elem = numpy_helper.to_array(t), t.data_type
                else:
                    arr = np.asarray(mem[0 if kind == "input" else 1][k])
                    elem = v.type.tensor_type.elem_type
                st, shape, data = tensor_to_st(arr, elem)
            except Exception as e:
                res["reason"] = "harness: %s %d (%s): %s" % (kind, k, v.name, one_line(e, 120))
                return res
            tensors.append(("%s%d" % (prefix, k), st, shape, data))
        write_safetensors(os.path.join(DATA, case, fname), tensors)
    res["status"] = "ok"
    return res


def memory_data(names):
    """{case: (inputs, outputs)} from onnx.backend.test's in-memory node cases (numpy RNG seeded, so the
    random inputs are the same every run); {} where onnx has no loader."""
    try:
        import warnings
        import numpy as np
        from onnx.backend.test import loader
        np.random.seed(0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            cases = loader.load_model_tests(kind="node")
    except Exception as e:
        log("conformance: onnx's in-memory loader failed: %s" % one_line(e))
        return {}
    want, out = set(names), {}
    for c in cases:
        if c.name in want and getattr(c, "data_sets", None):
            ins, outs = c.data_sets[0]
            out[c.name] = (list(ins), list(outs))
    return out


# ---------------------------------------------------------------------------------------------------------------
# 3. assemble the suite crate

MARKER = re.compile(r"^// ml2candle helper: (\S+)\s*$", re.M)


def split_helpers(text):
    """onnx_ops.rs -> (header lines, {marker: section text})."""
    ms = list(MARKER.finditer(text))
    if not ms:
        return text.splitlines(), {}
    header = text[: ms[0].start()].splitlines()
    secs = {}
    for i, m in enumerate(ms):
        end = ms[i + 1].start() if i + 1 < len(ms) else len(text)
        secs[m.group(1)] = text[m.start():end].rstrip() + "\n"
    return header, secs


def merge_uses(lines):
    """`use a::b::{X, Y};` / `use a::b::X;` lines -> one use per path with the union of the names."""
    paths, other = collections.OrderedDict(), []
    for l in lines:
        s = l.strip()
        m = re.match(r"^use\s+([\w:]+)::\{([^}]*)\};$", s)
        m2 = re.match(r"^use\s+([\w:]+)::(\w+);$", s)
        if m:
            names = [n.strip() for n in m.group(2).split(",") if n.strip()]
            paths.setdefault(m.group(1), set()).update(names)
        elif m2:
            paths.setdefault(m2.group(1), set()).add(m2.group(2))
        elif s.startswith("use ") and s not in other:
            other.append(s)
    out = ["use %s::{%s};" % (p, ", ".join(sorted(ns))) for p, ns in paths.items()]
    return out + other


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


INCLUDE = re.compile(r'(include_(?:bytes|str)!\(\s*)"([^"]+)"')


def case_module(case, info, local=None):
    """The case's model.rs as a module of the suite, plus its runner. `local`: (use lines, helper sections)
    that must stay per case (they include_bytes! a file of the case's crate), put in a local onnx_ops module
    that shadows the shared helpers."""
    src = open(os.path.join(CRATES, case, "src", "model.rs")).read()
    if local and local[1]:
        crate_src = os.path.join(CRATES, case, "src")
        body = "".join(INCLUDE.sub(lambda m: '%s"%s"' % (m.group(1), os.path.normpath(
            os.path.join(crate_src, m.group(2)))), sec) for sec in local[1])
        mod = ("mod onnx_ops {\n    #![allow(warnings)]\n    pub use crate::helpers::*;\n" +
               "".join("    %s\n" % u for u in merge_uses(local[0])) + body + "}\n")
        src = re.sub(r"^use crate::onnx_ops;\n", lambda m: mod, src, flags=re.M)
    else:
        src = re.sub(r"^use crate::onnx_ops;", "use crate::helpers as onnx_ops;", src, flags=re.M)
    src = src.replace("crate::onnx_ops::", "crate::helpers::")
    n_in, n_out = info["n_inputs"], info["n_outputs"]
    args = ", ".join("&xs[%d]" % k for k in range(n_in))
    if n_out == 1:
        call = "let o = m.forward(%s)?;\n    Ok(vec![o])" % args
    else:
        outs = ", ".join("o%d" % k for k in range(n_out))
        call = "let (%s) = m.forward(%s)?;\n    Ok(vec![%s])" % (outs, args, outs)
    src += ("\n// ---- conformance runner (added by tests/conformance/run.py) ----\n"
            "pub fn m2c_run(\n    weights: &std::path::Path,\n    xs: &[candle_core::Tensor],\n"
            ") -> candle_core::Result<Vec<candle_core::Tensor>> {\n"
            "    let m = Model::load(weights, &candle_core::Device::Cpu)?;\n"
            "    %s\n}\n" % call)
    return src


def assemble(ready, infos, deps_opt_level):
    """Writes work/suite for the cases in `ready`; returns {helper marker: set of cases using it}."""
    os.makedirs(os.path.join(SUITE, "src", "cases"), exist_ok=True)
    deps = collections.OrderedDict([("candle-core", '"0.11"'), ("candle-nn", '"0.11"')])
    headers, helpers, users = [], collections.OrderedDict(), collections.defaultdict(set)
    uses_half, local = False, {}
    for case in ready:
        crate = os.path.join(CRATES, case)
        toml = open(os.path.join(crate, "Cargo.toml")).read()
        m = re.search(r"^\[dependencies\]\n(.*?)(?=^\[|\Z)", toml, re.M | re.S)
        if m:
            for l in m.group(1).splitlines():
                kv = re.match(r"^([\w-]+)\s*=\s*(.+)$", l.strip())
                if kv:
                    deps.setdefault(kv.group(1), kv.group(2))
        ops = os.path.join(crate, "src", "onnx_ops.rs")
        if os.path.exists(ops):
            text = open(ops).read()
            uses_half |= "half::" in text
            h, secs = split_helpers(text)
            uses = [l for l in h if l.strip().startswith("use ")]
            headers += uses
            for k, v in secs.items():
                if INCLUDE.search(v):
                    local.setdefault(case, (uses, []))[1].append(v)
                    continue
                helpers.setdefault(k, v)
                users[k].add(case)
    files = {}
    for case in ready:
        text = case_module(case, infos[case], local.get(case))
        uses_half |= "half::" in text
        files[case + ".rs"] = text
    if uses_half:
        deps.setdefault("half", '"2"')
    # The cases are tiny (the whole run takes ~1 s even unoptimised), so the build is all that costs:
    # opt-level 0 everywhere, no debug info, and release semantics (no overflow checks: ONNX integer
    # arithmetic wraps). --deps-opt-level raises candle's level, e.g. to share a target dir with a suite that
    # uses the same profile.
    prof = ('[profile.dev]\nopt-level = 0\ndebug = false\ndebug-assertions = false\noverflow-checks = false\n'
            'incremental = true\n\n[profile.dev.package."*"]\nopt-level = %d\n' % deps_opt_level)
    write_if_changed(os.path.join(SUITE, "Cargo.toml"),
                     '# generated by tests/conformance/run.py\n[package]\nname = "m2c_conformance"\n'
                     'version = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n' +
                     "".join("%s = %s\n" % kv for kv in deps.items()) + "\n" + prof + "\n[workspace]\n")
    helper_lines = ["//! Union of the helpers the cases use (their onnx_ops.rs), one copy per marker.",
                    "#![allow(warnings)]"] + merge_uses(headers) + [""]
    helper_starts = []
    text = "\n".join(helper_lines) + "\n"
    for k, v in helpers.items():
        helper_starts.append((text.count("\n") + 1, k))
        text += v + "\n"
    write_if_changed(os.path.join(SUITE, "src", "helpers.rs"), text)
    cdir = os.path.join(SUITE, "src", "cases")
    for name, t in files.items():
        write_if_changed(os.path.join(cdir, name), t)
    for name in os.listdir(cdir):
        if name.endswith(".rs") and name != "mod.rs" and name not in files:
            os.remove(os.path.join(cdir, name))
    write_if_changed(os.path.join(cdir, "mod.rs"),
                     "#![allow(warnings)]\n" + "".join("pub mod %s;\n" % c for c in ready))
    table = "".join('    ("%s", cases::%s::m2c_run),\n' % (c, c) for c in ready)
    write_if_changed(os.path.join(SUITE, "src", "main.rs"), MAIN_RS.replace("//CASES//\n", table))
    return helper_starts, users


MAIN_RS = r'''//! Conformance runner, generated by tests/conformance/run.py.
//!     m2c_conformance WORK_DIR CASE...
//! prints one JSON line per case: {"case":..,"ok":..,"reason":..,"ms":..} (and {"start":..} before each).
#![allow(warnings)]
mod cases;
mod helpers;

use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type RunFn = fn(&Path, &[Tensor]) -> candle_core::Result<Vec<Tensor>>;

static CASES: &[(&str, RunFn)] = &[
//CASES//
];

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn first_line(s: &str) -> String {
    let l = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if l.chars().count() > 200 {
        l.chars().take(197).collect::<String>() + "..."
    } else {
        l.to_string()
    }
}

fn load_ordered(path: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut map: HashMap<String, Tensor> = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| format!("harness: cannot load {}: {}", path.display(), first_line(&e.to_string())))?;
    let mut v = Vec::new();
    for k in 0..map.len() {
        match map.remove(&format!("{prefix}{k}")) {
            Some(t) => v.push(t),
            None => return Err(format!("harness: {} has no {prefix}{k}", path.display())),
        }
    }
    Ok(v)
}

fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        if dims[d] > 0 {
            idx[d] = i % dims[d];
            i /= dims[d];
        }
    }
    idx
}

fn compare(k: usize, got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.dims() != want.dims() {
        return Err(format!("output {k}: shape {:?}, expected {:?}", got.dims(), want.dims()));
    }
    if got.dtype() != want.dtype() {
        return Err(format!("output {k}: dtype {:?}, expected {:?}", got.dtype(), want.dtype()));
    }
    let e = |e: candle_core::Error| format!("harness: output {k}: {}", first_line(&e.to_string()));
    let dims = want.dims().to_vec();
    if want.dtype().is_float() {
        let (atol, rtol) = match want.dtype() {
            DType::F16 | DType::BF16 | DType::F8E4M3 => (1e-2, 1e-2),
            _ => (1e-4, 1e-4),
        };
        let g: Vec<f64> = got.flatten_all().map_err(e)?.to_dtype(DType::F64).map_err(e)?.to_vec1().map_err(e)?;
        let w: Vec<f64> = want.flatten_all().map_err(e)?.to_dtype(DType::F64).map_err(e)?.to_vec1().map_err(e)?;
        let (mut bad, mut worst, mut worst_err) = (0usize, 0usize, -1.0f64);
        for i in 0..w.len() {
            let (x, r) = (g[i], w[i]);
            let ok = if r.is_nan() {
                x.is_nan()
            } else if r.is_infinite() {
                x == r
            } else {
                (x - r).abs() <= atol + rtol * r.abs()
            };
            if !ok {
                bad += 1;
                let err = if (x - r).is_nan() { f64::INFINITY } else { (x - r).abs() };
                if err > worst_err {
                    worst_err = err;
                    worst = i;
                }
            }
        }
        if bad > 0 {
            return Err(format!(
                "output {k}: {bad}/{} values differ, worst at {:?}: got {}, want {}",
                w.len(), unravel(worst, &dims), g[worst], w[worst]
            ));
        }
    } else {
        let g: Vec<i64> = got.flatten_all().map_err(e)?.to_dtype(DType::I64).map_err(e)?.to_vec1().map_err(e)?;
        let w: Vec<i64> = want.flatten_all().map_err(e)?.to_dtype(DType::I64).map_err(e)?.to_vec1().map_err(e)?;
        let bad: Vec<usize> = (0..w.len()).filter(|&i| g[i] != w[i]).collect();
        if let Some(&i) = bad.first() {
            return Err(format!(
                "output {k}: {}/{} values differ, first at {:?}: got {}, want {}",
                bad.len(), w.len(), unravel(i, &dims), g[i], w[i]
            ));
        }
    }
    Ok(())
}

fn run_case(work: &Path, name: &str, f: RunFn) -> Result<(), String> {
    let data = work.join("data").join(name);
    let inputs = load_ordered(&data.join("inputs.safetensors"), "input_")?;
    let expected = load_ordered(&data.join("expected.safetensors"), "output_")?;
    let weights = work.join("crates").join(name).join("model.safetensors");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&weights, &inputs)));
    let outs = match r {
        Ok(Ok(outs)) => outs,
        Ok(Err(e)) => return Err(format!("candle error: {}", first_line(&e.to_string()))),
        Err(p) => {
            let msg = if let Some(s) = p.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = p.downcast_ref::<String>() {
                s.clone()
            } else {
                "?".to_string()
            };
            return Err(format!("panic: {}", first_line(&msg)));
        }
    };
    if outs.len() != expected.len() {
        return Err(format!("{} outputs, expected {}", outs.len(), expected.len()));
    }
    for (k, (g, w)) in outs.iter().zip(expected.iter()).enumerate() {
        compare(k, g, w)?;
    }
    Ok(())
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().collect();
    let work = PathBuf::from(&args[1]);
    let table: HashMap<&str, RunFn> = CASES.iter().cloned().collect();
    let timeout: u64 = std::env::var("M2C_CASE_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let out = std::io::stdout();
    for name in &args[2..] {
        let name = name.as_str();
        {
            let mut o = out.lock();
            writeln!(o, "{{\"start\":{}}}", json_str(name)).unwrap();
            o.flush().unwrap();
        }
        let t0 = Instant::now();
        let r = match table.get(name) {
            None => Err("harness: case not in the suite".to_string()),
            Some(&f) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let (w, n) = (work.clone(), name.to_string());
                std::thread::Builder::new()
                    .stack_size(256 << 20)
                    .spawn(move || {
                        let r = run_case(&w, &n, f);
                        let _ = tx.send(r);
                    })
                    .unwrap();
                match rx.recv_timeout(Duration::from_secs(timeout)) {
                    Ok(r) => r,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        let mut o = out.lock();
                        writeln!(o, "{{\"case\":{},\"ok\":false,\"reason\":\"timeout after {} s\",\"ms\":{}}}",
                                 json_str(name), timeout, t0.elapsed().as_millis()).unwrap();
                        o.flush().unwrap();
                        std::process::exit(3);
                    }
                    Err(_) => Err("panic: runner thread died".to_string()),
                }
            }
        };
        let (ok, reason) = match r {
            Ok(()) => (true, String::new()),
            Err(e) => (false, e),
        };
        let mut o = out.lock();
        writeln!(o, "{{\"case\":{},\"ok\":{},\"reason\":{},\"ms\":{}}}", json_str(name), ok, json_str(&reason),
                 t0.elapsed().as_millis()).unwrap();
        o.flush().unwrap();
    }
}
'''


# ---------------------------------------------------------------------------------------------------------------
# 4. build

def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")


def cargo_build(jobs):
    cmd = ["cargo", "build", "--message-format=json", "-j", str(jobs)]
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir())
    p = subprocess.run(cmd, cwd=SUITE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    msgs, exe = [], None
    for line in p.stdout.decode(errors="replace").splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("reason") == "compiler-message" and j["message"].get("level") == "error":
            msgs.append(j["message"])
        elif j.get("reason") == "compiler-artifact" and j.get("executable") and \
                j["target"]["name"] == "m2c_conformance":
            exe = j["executable"]
    return p.returncode, msgs, exe, p.stderr.decode(errors="replace")


def error_location(msg):
    spans = msg.get("spans") or []
    prim = [s for s in spans if s.get("is_primary")] or spans
    for s in prim:
        # follow macro expansions back to the file that was written
        while s.get("expansion") and not s["file_name"].startswith("src/"):
            s = s["expansion"]["span"]
        return s["file_name"], s["line_start"]
    return None, None


# ---------------------------------------------------------------------------------------------------------------
# 5. run

def run_shard(exe, cases, results, lock):
    todo = list(cases)
    env = dict(os.environ, RAYON_NUM_THREADS="1", M2C_CASE_TIMEOUT=str(CASE_TIMEOUT))
    env.pop("RUST_BACKTRACE", None)
    while todo:
        before = len(todo)
        p = subprocess.Popen([exe, WORK] + todo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        q = queue.Queue()

        def reader(stream, tag):
            for line in stream:
                q.put((tag, line.decode(errors="replace")))
            q.put((tag, None))

        err_lines = []
        threading.Thread(target=reader, args=(p.stdout, "out"), daemon=True).start()
        threading.Thread(target=reader, args=(p.stderr, "err"), daemon=True).start()
        current, done_streams, killed = None, 0, False
        while done_streams < 2:
            try:
                tag, line = q.get(timeout=STALL_TIMEOUT)
            except queue.Empty:
                p.kill()
                killed = True
                continue
            if line is None:
                done_streams += 1
                continue
            if tag == "err":
                err_lines.append(line.strip())
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if "start" in j:
                current = j["start"]
            else:
                with lock:
                    results[j["case"]] = j
                if j["case"] in todo:
                    todo.remove(j["case"])
                current = None
        rc = p.wait()
        progressed = len(todo) < before
        if current is not None:
            why = "stalled, killed" if killed else ("signal %d" % -rc if rc < 0 else "exit %d" % rc)
            last = next((l for l in reversed(err_lines) if l), "")
            with lock:
                results[current] = {"case": current, "ok": False,
                                    "reason": one_line("crashed (%s)%s" % (why, ": " + last if last else ""))}
            if current in todo:
                todo.remove(current)
        elif todo and (rc == 0 or not progressed):
            last = next((l for l in reversed(err_lines) if l), "")
            with lock:
                for c in todo:
                    results[c] = {"case": c, "ok": False,
                                  "reason": one_line("harness: no result from the suite (exit %d) %s" % (rc, last))}
            todo = []


# ---------------------------------------------------------------------------------------------------------------
# 6. report

def read_expectations():
    exp = {}
    if os.path.exists(EXPECT):
        for l in open(EXPECT):
            l = l.strip()
            if not l or l.startswith("#"):
                continue
            parts = l.split(" ", 2)
            exp[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return exp


def write_expectations(exp):
    lines = ["# ONNX 1.23.1 node conformance: `<case> pass` or `<case> fail <reason>`, sorted.",
             "# Written by `python3 tests/conformance/run.py --update`; see README.md."]
    for c in sorted(exp):
        st, why = exp[c]
        lines.append("%s %s%s" % (c, st, " " + why if st == "fail" and why else ""))
    with open(EXPECT, "w") as f:
        f.write("\n".join(lines) + "\n")


def category(reason):
    r = reason
    r = re.sub(r"node '[^']*'", "node", r)
    r = re.sub(r"'[^']*'", "'…'", r)
    r = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e[-+]?\d+)?(?![\w.])", "N", r)
    r = re.sub(r"\[[^\]]*\]", "[…]", r)
    return r[:110]


def main():
    ap = argparse.ArgumentParser(description="ONNX node conformance through ml2candle + Candle")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--filter", default=None, help="regex on case names (re.search)")
    ap.add_argument("--update", action="store_true", help="rewrite expectations.txt with this run's results")
    ap.add_argument("--ml2candle", default=os.environ.get("ML2CANDLE"),
                    help="compiler binary (default $ML2CANDLE, else the newest of build*/ml2candle)")
    ap.add_argument("--tar", default=os.environ.get("M2C_CONFORMANCE_TAR", DEFAULT_TAR))
    ap.add_argument("--deps-opt-level", type=int, choices=[0, 1, 2, 3], default=0,
                    help="opt-level of candle and the other dependencies (default 0: fastest cold build)")
    ap.add_argument("--categories", action="store_true", help="also print failure reasons grouped by category")
    args = ap.parse_args()

    ml2candle = args.ml2candle
    if not ml2candle:
        cands = [os.path.join(REPO, d, "ml2candle") for d in sorted(os.listdir(REPO)) if d.startswith("build")]
        cands = [c for c in cands if os.access(c, os.X_OK)]
        if not cands:
            raise SystemExit("conformance: no build*/ml2candle; build it or pass --ml2candle")
        ml2candle = max(cands, key=os.path.getmtime)
    ml2candle = os.path.abspath(ml2candle)
    log("conformance: ml2candle = %s, jobs = %d, target dir = %s" % (ml2candle, args.jobs, target_dir()))
    times, cpus = collections.OrderedDict(), collections.OrderedDict()
    t_all, c_all = time.time(), cpu()

    t, c = time.time(), cpu()
    os.makedirs(WORK, exist_ok=True)
    if os.path.exists(args.tar):
        if unpack(args.tar):
            log("conformance: unpacked %s" % args.tar)
    elif write_models_from_loader():
        log("conformance: %s is absent; wrote the cases' models from onnx %s's in-memory loader "
            "(their data comes from it too)" % (args.tar, __import__("onnx").__version__))
    times["unpack"], cpus["unpack"] = time.time() - t, cpu() - c
    cases = sorted(c for c in os.listdir(CASES) if c.startswith("test_") and
                   os.path.exists(os.path.join(CASES, c, "model.onnx")))
    if args.filter:
        rx = re.compile(args.filter)
        cases = [c for c in cases if rx.search(c)]
    if not cases:
        raise SystemExit("conformance: no cases selected")

    # 2. generate
    t, c = time.time(), cpu()
    for d in (CRATES, DATA):
        os.makedirs(d, exist_ok=True)
    import onnx
    for k, v in onnx.TensorProto.DataType.items():
        ONNX_TYPE_NAME[v] = k
    with multiprocessing.Pool(args.jobs) as pool:
        infos = {r["case"]: r for r in pool.imap_unordered(prepare, [(c, ml2candle, None) for c in cases],
                                                           chunksize=4)}
        need = [c for c in cases if infos[c]["status"] == "memory"]
        if need:
            mem = memory_data(need)
            todo = [(n, ml2candle, mem[n]) for n in need if n in mem]
            for n in need:
                if n not in mem:
                    infos[n]["status"] = "fail"
            for r in pool.imap_unordered(prepare, todo, chunksize=2):
                infos[r["case"]] = r
            log("conformance: %d cases whose data the archive lacks took it from onnx %s's loader" %
                (len(todo), onnx.__version__))
    ready = [c for c in cases if infos[c]["status"] == "ok"]
    times["generate"], cpus["generate"] = time.time() - t, cpu() - c
    log("conformance: %d cases, %d generated (%.1f s)" % (len(cases), len(ready), times["generate"]))

    # 3+4. assemble and build, dropping cases whose module does not compile
    t_asm, t_build, c_asm, c_build = 0.0, 0.0, 0.0, 0.0
    errdir = os.path.join(WORK, "compile_errors")
    shutil.rmtree(errdir, ignore_errors=True)
    os.makedirs(errdir)
    exe = None
    rounds = 0
    while True:
        t, c = time.time(), cpu()
        helper_starts, users = assemble(ready, infos, args.deps_opt_level)
        t_asm, c_asm = t_asm + time.time() - t, c_asm + cpu() - c
        t, c = time.time(), cpu()
        rc, msgs, exe, stderr = cargo_build(args.jobs)
        t_build, c_build = t_build + time.time() - t, c_build + cpu() - c
        rounds += 1
        if rc == 0:
            break
        bad = collections.OrderedDict()
        orphan = []
        for m in msgs:
            fname, line = error_location(m)
            mm = re.match(r"src/cases/(test_\w+)\.rs$", fname or "")
            if mm and mm.group(1) in infos:
                victims = [mm.group(1)]
            elif fname == "src/helpers.rs":
                marker = None
                for start, k in helper_starts:
                    if start <= line:
                        marker = k
                victims = sorted(users.get(marker, ()))
            else:
                victims = []
            if not victims:
                orphan.append(m)
            for v in victims:
                if v not in bad:
                    where = "" if fname != "src/helpers.rs" else "in helper %s: " % marker
                    bad[v] = "rust compile error: %s%s" % (where, one_line(m["message"], 200))
                with open(os.path.join(errdir, v + ".txt"), "a") as f:
                    f.write(m.get("rendered") or m["message"])
        if not bad:
            sys.stderr.write("".join((m.get("rendered") or m["message"]) for m in orphan) or stderr[-4000:])
            raise SystemExit("conformance: the suite crate does not build and no case is to blame (see above)")
        log("conformance: build round %d: %d cases do not compile, rebuilding without them" % (rounds, len(bad)))
        for c, why in bad.items():
            infos[c]["status"] = "fail"
            infos[c]["reason"] = why
        ready = [c for c in ready if c not in bad]
    times["assemble"], cpus["assemble"] = t_asm, c_asm
    times["build"], cpus["build"] = t_build, c_build
    log("conformance: suite built in %d round(s) (%.1f s), %d cases" % (rounds, t_build, len(ready)))

    # 5. run
    t, c = time.time(), cpu()
    results, lock = {}, threading.Lock()
    if ready and exe:
        n = max(1, min(args.jobs, len(ready)))
        shards = [ready[i::n] for i in range(n)]
        ths = [threading.Thread(target=run_shard, args=(exe, s, results, lock)) for s in shards]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    times["run"], cpus["run"] = time.time() - t, cpu() - c

    # 6. report
    final = {}
    for c in cases:
        if infos[c]["status"] == "ok":
            r = results.get(c, {"ok": False, "reason": "harness: no result"})
            final[c] = ("pass", "") if r["ok"] else ("fail", one_line(r["reason"]))
        else:
            final[c] = ("fail", infos[c]["reason"])
    with open(os.path.join(WORK, "results.jsonl"), "w") as f:
        for c in cases:
            f.write(json.dumps({"case": c, "family": infos[c]["family"], "status": final[c][0],
                                "reason": final[c][1], "ms": results.get(c, {}).get("ms")}) + "\n")
    n_pass = sum(1 for c in cases if final[c][0] == "pass")
    n_fail = len(cases) - n_pass

    fam = collections.defaultdict(lambda: [0, 0])
    for c in cases:
        f = fam[infos[c]["family"]]
        f[1] += 1
        f[0] += final[c][0] == "pass"
    rows = sorted(fam.items(), key=lambda kv: kv[0].lower())
    w = max(len(k) for k in fam)
    table = ["| %-*s | passed | total |" % (w, "family"), "|-%s-|-------:|------:|" % ("-" * w)]
    table += ["| %-*s | %6d | %5d |" % (w, k, v[0], v[1]) for k, v in rows]
    cats = collections.Counter(category(final[c][1]) for c in cases if final[c][0] == "fail")
    times["total"], cpus["total"] = time.time() - t_all, cpu() - c_all
    stage_line = ", ".join("%s %.1f s (cpu %.1f s)" % (k, times[k], cpus[k]) for k in times)
    summary = ["# ONNX node conformance (ml2candle)", "",
               "%d passed, %d failed (%d cases%s)" % (n_pass, n_fail, len(cases),
                                                      ", filter %r" % args.filter if args.filter else ""), "",
               "Stage wall times (and CPU time): " + stage_line, "",
               "## Per op family", ""] + table + ["", "## Failure categories", ""] + \
              ["- %d × %s" % (n, k) for k, n in cats.most_common()]
    with open(os.path.join(WORK, "summary.md"), "w") as f:
        f.write("\n".join(summary) + "\n")
    log("\n".join(table))
    if args.categories:
        log("\nfailure categories:")
        for k, n in cats.most_common():
            log("  %5d  %s" % (n, k))

    exp = read_expectations()
    regress = [c for c in cases if final[c][0] == "fail" and exp.get(c, ("?",))[0] == "pass"]
    fixed = [c for c in cases if final[c][0] == "pass" and exp.get(c, ("?",))[0] == "fail"]
    new = [c for c in cases if c not in exp]
    if args.update:
        for c in cases:
            exp[c] = final[c]
        write_expectations(exp)
        log("conformance: expectations.txt updated (%d cases)" % len(exp))
    else:
        if new:
            log("conformance: %d cases not in expectations.txt (run with --update): %s%s" %
                (len(new), " ".join(new[:10]), " ..." if len(new) > 10 else ""))
        if fixed:
            log("conformance: now passing (update with --update): " + " ".join(fixed))
        if regress:
            log("conformance: REGRESSIONS (expected to pass):")
            for c in regress:
                log("  %s: %s" % (c, final[c][1]))
    log("stage wall times (and CPU time): " + stage_line)
    log("%d passed, %d failed" % (n_pass, n_fail))
    return 1 if regress and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
