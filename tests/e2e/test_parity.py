"""tests/e2e/test_parity.py — every fixture in tests/models through ml2candle, cargo and back.

For each fixture (a real PyTorch export with ONNX Runtime reference inputs/outputs at several sizes): convert
it, build every generated crate in one cargo workspace with one target dir, run its example on each case's
inputs and compare with the ONNX Runtime outputs (DESIGN §6: |out - ref| <= 1e-4 + 1e-4 |ref|, NaN only
where the reference has NaN), with the fusion passes and with --no-fuse.  Also: conversion is deterministic, and the generated code is rustfmt-clean and
`cargo clippy -- -D warnings`-clean.

Run: python3 -m pytest tests/e2e -q   (ML2CANDLE: the binary, default build/ml2candle; CARGO_TARGET_DIR:
default <repo>/target, shared with the other Rust tests so candle compiles once; ML2CANDLE_E2E_WORK: the work
folder, default tests/e2e/work.)
"""
import filecmp
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

REPO = pathlib.Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "models"
# several checkouts' test runs may share a machine: each can name its own work folder
WORK = pathlib.Path(os.environ.get("ML2CANDLE_E2E_WORK", REPO / "tests" / "e2e" / "work"))
# every fixture is converted with the fusion passes and again with --no-fuse (the exported graph as is); a few
# also with --kernels cuda: the fused groups as CUDA kernels in the crate, which on the CPU (no `cuda` feature)
# must run exactly the candle code (the kernels themselves run on a GPU: bench/RESULTS.md); and a few with
# --kernels cpu: the fused groups as the LLVM backend's static library, which the crate links and runs here
VARIANTS = {"fused": [], "nofuse": ["--no-fuse"], "kernels": ["--kernels", "cuda"], "kernels_cpu": ["--kernels", "cpu"]}
KERNEL_FIXTURES = ("bert_ts", "gpt2_dynamo", "llama_dynamo")
# a row kernel shared by (time, batch, d) and (batch, time, d) sites; attention with the KV cache (greedy)
KERNEL_CPU_FIXTURES = ("bert_ts", "conformer_ts", "llama_dynamo")
BIN = pathlib.Path(os.environ.get("ML2CANDLE", REPO / "build" / "ml2candle"))
# A work folder of its own gets a target dir of its own: cargo keys a path crate's build by its name and
# its path relative to the workspace, so two work folders sharing one target dir would swap binaries.
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or
                      (pathlib.Path(os.environ["ML2CANDLE_E2E_WORK"] + "-target") if "ML2CANDLE_E2E_WORK" in os.environ
                       else REPO / "target"))


def fixtures():
    return sorted(p.parent.name for p in MODELS.glob("*/model.onnx"))


def nvrtc_env():
    """--kernels cuda compiles with NVRTC: $ML2CANDLE_NVRTC, else the nvidia-cuda-nvrtc wheel of this python
    (scripts/install_deps.sh installs it), else ml2candle's own search."""
    env = dict(os.environ)
    if "ML2CANDLE_NVRTC" not in env:
        import importlib.util
        spec = importlib.util.find_spec("nvidia")
        for p in (spec.submodule_search_locations if spec else []):
            for sub in ("cu13/lib", "cuda_nvrtc/lib"):
                if any((pathlib.Path(p) / sub / n).exists() for n in ("libnvrtc.so.13", "libnvrtc.so.12")):
                    env["ML2CANDLE_NVRTC"] = str(pathlib.Path(p) / sub)
    return env


def variants(fixture):
    """The variants a fixture is converted in; without NVRTC the kernels variant exists only where
    ML2CANDLE_NO_NVRTC=1 does not say the machine cannot have it (then it fails, loudly); the same for
    kernels_cpu and an ml2candle built without LLVM (ML2CANDLE_NO_LLVM=1)."""
    skip_kernels = fixture not in KERNEL_FIXTURES or os.environ.get("ML2CANDLE_NO_NVRTC") == "1"
    skip_cpu = fixture not in KERNEL_CPU_FIXTURES or os.environ.get("ML2CANDLE_NO_LLVM") == "1"
    return [v for v in VARIANTS if (v != "kernels" or not skip_kernels) and (v != "kernels_cpu" or not skip_cpu)]


def fixture_variants():
    return [(fx, v) for v in VARIANTS for fx in fixtures() if v in variants(fx)]


def crate_dir(fixture, variant="fused"):
    return fixture if variant == "fused" else f"{fixture}_{variant}"


def crate_name(fixture, variant="fused"):
    return "fx_" + crate_dir(fixture, variant)


def convert(fixture, out, variant="fused"):
    return subprocess.run([str(BIN), str(MODELS / fixture / "model.onnx"), "-o", str(out), "--name",
                           crate_name(fixture, variant), "--force", *VARIANTS[variant]], capture_output=True, text=True,
                          env=nvrtc_env() if variant == "kernels" else None)


@pytest.fixture(scope="session")
def workspace():
    """All fixtures converted, in one workspace, built once."""
    assert BIN.exists(), f"build ml2candle first ({BIN})"
    if WORK.exists():
        shutil.rmtree(WORK)
    (WORK / "crates").mkdir(parents=True)
    converted, failures = [], {}
    for fx in fixtures():
        for variant in variants(fx):
            d = crate_dir(fx, variant)
            r = convert(fx, WORK / "crates" / d, variant)
            if r.returncode == 0:
                converted.append(d)
            else:
                failures[d] = r.stderr.strip()
    members = ",\n".join(f'    "crates/{d}"' for d in converted)
    (WORK / "Cargo.toml").write_text(
        f'[workspace]\nresolver = "2"\nmembers = [\n{members}\n]\n\n'
        '[profile.release]\nopt-level = 3\ndebug = false\nincremental = true\n')
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    build = subprocess.run(["cargo", "build", "--release", "--workspace", "--examples", "-q"], cwd=WORK, env=env,
                           capture_output=True, text=True)
    return {"converted": converted, "failures": failures, "build": build, "env": env}


def run_example(workspace, fixture, args, variant="fused"):
    """examples/run.rs of one generated crate, with args.  Every crate's example is called `run` and cargo keeps
    one target/release/examples/run: `cargo run -p` puts the right one there before running it."""
    return subprocess.run(["cargo", "run", "--release", "-q", "-p", crate_name(fixture, variant), "--example", "run",
                           "--", *args], cwd=WORK, env=workspace["env"], capture_output=True, text=True)


def cases(fixture):
    d = MODELS / fixture
    return sorted(p.name.split(".")[0] for p in d.glob("case*.in.safetensors"))


def compare(out, ref, name):
    assert out.shape == ref.shape, f"{name}: shape {out.shape} != reference {ref.shape}"
    if ref.dtype.kind in "fc":
        o, r = out.astype(np.float64), ref.astype(np.float64)
        tol = 1e-2 if ref.dtype == np.float16 else 1e-4
        nan_ok = np.array_equal(np.isnan(o), np.isnan(r))
        assert nan_ok, f"{name}: NaN where the reference has none (or the reverse)"
        fin = np.isfinite(r)
        assert np.array_equal(o[~fin & ~np.isnan(r)], r[~fin & ~np.isnan(r)]), f"{name}: infinities differ"
        diff = np.abs(o[fin] - r[fin])
        bad = diff > tol + tol * np.abs(r[fin])
        assert not bad.any(), f"{name}: {bad.sum()} of {bad.size} elements off, max |diff| {diff.max():.3g}"
    else:
        assert np.array_equal(out.astype(np.int64), ref.astype(np.int64)), f"{name}: integer outputs differ"


@pytest.mark.parametrize("fixture,variant", fixture_variants(), ids=[f"{v}-{fx}" for fx, v in fixture_variants()])
def test_parity(workspace, fixture, variant):
    d = crate_dir(fixture, variant)
    assert d not in workspace["failures"], f"ml2candle failed:\n{workspace['failures'].get(d)}"
    assert workspace["build"].returncode == 0, f"cargo build failed:\n{workspace['build'].stderr[-4000:]}\n{workspace['build'].stdout[-4000:]}"
    for case in cases(fixture):
        inp = MODELS / fixture / f"{case}.in.safetensors"
        out = WORK / f"{d}.{case}.out.safetensors"
        r = run_example(workspace, fixture, [str(inp), str(out)], variant)
        assert r.returncode == 0, f"{case}: the generated model failed:\n{r.stderr[-3000:]}"
        got, ref = load_file(str(out)), load_file(str(MODELS / fixture / f"{case}.out.safetensors"))
        for name, expected in ref.items():
            assert name in got, f"{case}: output {name} missing"
            compare(got[name], expected, f"{case}/{name}")


@pytest.mark.parametrize("fixture", [fx for fx in fixtures() if "kernels_cpu" in variants(fx)])
def test_kernels_cpu_linked(workspace, fixture):
    """The --kernels cpu crate's example links its library (build.rs found the x86-64 Linux target): the
    kernels' symbols, prefixed with the crate's name, are in the binary test_parity ran; and its x86-64-v2
    objects (ML2CANDLE_CPU_VARIANT) match ONNX Runtime too."""
    import platform
    if platform.machine() != "x86_64" or platform.system() != "Linux":
        pytest.skip("the library is x86-64 Linux code: build.rs leaves it out here")
    assert crate_dir(fixture, "kernels_cpu") in workspace["converted"] and workspace["build"].returncode == 0
    r = run_example(workspace, fixture, ["--repeat", "1"], "kernels_cpu")
    assert r.returncode == 0, r.stderr[-3000:]
    binary = (TARGET / "release" / "examples" / "run").read_bytes()
    assert (crate_name(fixture, "kernels_cpu") + "_m2c_").encode() in binary, "the CPU kernels are not linked"
    # the x86-64-v2 objects, which this CPU would not pick, on the first case
    case = cases(fixture)[0]
    out = WORK / f"{crate_dir(fixture, 'kernels_cpu')}.{case}.v2.safetensors"
    r = subprocess.run(["cargo", "run", "--release", "-q", "-p", crate_name(fixture, "kernels_cpu"), "--example", "run",
                        "--", str(MODELS / fixture / f"{case}.in.safetensors"), str(out)], cwd=WORK,
                       env=dict(workspace["env"], ML2CANDLE_CPU_VARIANT="x86-64-v2"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    got, ref = load_file(str(out)), load_file(str(MODELS / fixture / f"{case}.out.safetensors"))
    for name, expected in ref.items():
        compare(got[name], expected, f"{case}/{name} (x86-64-v2 kernels)")


def checkpoint_fixtures():
    return [fx for fx in fixtures() if (MODELS / fx / "state_dict.safetensors").exists()]


@pytest.mark.parametrize("fixture", checkpoint_fixtures())
def test_pytorch_checkpoint(workspace, fixture):
    """The generated crate loads the safetensors checkpoint saved from the PyTorch model itself (its
    state_dict), and computes the same outputs with it: the weights kept their PyTorch names."""
    meta = json.loads((MODELS / fixture / "meta.json").read_text())
    changed = meta.get("initializers_vs_state_dict", {}).get("same_name_different_value", [])
    if changed:
        pytest.xfail(f"the exporter fused BatchNorm into these weights and kept their names ({', '.join(changed[:2])}"
                     "...): the graph no longer has the checkpoint's weights")
    assert fixture in workspace["converted"] and workspace["build"].returncode == 0
    case = cases(fixture)[0]
    out = WORK / f"{fixture}.{case}.ckpt.safetensors"
    r = run_example(workspace, fixture, [str(MODELS / fixture / f"{case}.in.safetensors"), str(out), "--weights",
                                         str(MODELS / fixture / "state_dict.safetensors")])
    assert r.returncode == 0, f"loading the PyTorch checkpoint failed:\n{r.stderr[-3000:]}"
    got, ref = load_file(str(out)), load_file(str(MODELS / fixture / f"{case}.out.safetensors"))
    for name, expected in ref.items():
        compare(got[name], expected, f"{case}/{name} (PyTorch weights)")


def greedy_fixtures():
    return [fx for fx in fixtures() if (MODELS / fx / "greedy.in.safetensors").exists()]


@pytest.mark.parametrize("fixture,variant", [(fx, v) for fx in greedy_fixtures()
                                              for v in ("fused", "kernels", "kernels_cpu") if v in variants(fx)])
def test_kv_cache_greedy(workspace, fixture, variant):
    """A causal decoder's incremental API: the prompt, then 16 greedy steps of one token through the KV caches
    (examples/run.rs --generate).  The tokens are PyTorch's greedy tokens and the logits of every position
    match ONNX Runtime's for the whole sequence at once (1e-4)."""
    assert crate_dir(fixture, variant) in workspace["converted"] and workspace["build"].returncode == 0
    meta = json.loads((MODELS / fixture / "meta.json").read_text())["greedy"]
    prompt, want = meta["prompt"], meta["tokens"]
    from safetensors.numpy import save_file
    inp = WORK / f"{crate_dir(fixture, variant)}.prompt.safetensors"
    save_file({"input_ids": np.array([prompt], dtype=np.int64),
               "attention_mask": np.ones((1, len(prompt)), dtype=np.int64)}, str(inp))
    out = WORK / f"{crate_dir(fixture, variant)}.generate.safetensors"
    r = run_example(workspace, fixture, [str(inp), str(out), "--generate", str(len(want))], variant)
    assert r.returncode == 0, f"--generate failed:\n{r.stderr[-3000:]}"
    got = load_file(str(out))
    assert got["tokens"].astype(np.int64).tolist() == [want], f"tokens {got['tokens'].tolist()} != PyTorch {want}"
    ref = load_file(str(MODELS / fixture / "greedy.out.safetensors"))["logits"]
    compare(got["logits"], ref, "logits of prompt + 16 cached steps vs the whole sequence")


@pytest.mark.parametrize("variant", ["fused", "kernels", "kernels_cpu"])
def test_deterministic(tmp_path, variant):
    """Two conversions of the same model give byte-identical crates (with --kernels cuda: the same PTX too; with
    --kernels cpu: the same library)."""
    fx = fixtures()[0] if "bert_ts" not in fixtures() else "bert_ts"
    if variant not in variants(fx):
        pytest.skip("no kernels variant here")
    a, b = tmp_path / "a", tmp_path / "b"
    assert convert(fx, a, variant).returncode == 0 and convert(fx, b, variant).returncode == 0
    cmp = filecmp.dircmp(a, b)
    diffs = []

    def walk(c):
        diffs.extend(c.diff_files + c.left_only + c.right_only)
        for sub in c.subdirs.values():
            walk(sub)
    walk(cmp)
    # filecmp compares shallowly (size+mtime); check contents too
    for p in a.rglob("*"):
        if p.is_file():
            q = b / p.relative_to(a)
            if p.read_bytes() != q.read_bytes():
                diffs.append(str(p.relative_to(a)))
    assert not diffs, f"differences: {diffs}"


def test_kernels_without_nvrtc(tmp_path):
    """--kernels cuda where NVRTC cannot be found: exit 3 (DESIGN §4), one message saying so, nothing written."""
    out = tmp_path / "crate"
    r = subprocess.run([str(BIN), str(MODELS / "mlp_ts" / "model.onnx"), "-o", str(out), "--kernels", "cuda"],
                       capture_output=True, text=True, env=dict(os.environ, ML2CANDLE_NVRTC="/nonexistent"))
    assert r.returncode == 3, r.stderr
    assert "NVRTC not found" in r.stderr and not out.exists() and not any(tmp_path.iterdir())


def test_rustfmt_clean(workspace):
    files = [str(p) for fx in workspace["converted"] for p in (WORK / "crates" / fx).rglob("*.rs")]
    r = subprocess.run(["rustfmt", "--check", "--edition", "2021", *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


def test_clippy_clean(workspace):
    r = subprocess.run(["cargo", "clippy", "--release", "--workspace", "--all-targets", "-q", "--", "-D", "warnings"],
                       cwd=WORK, env=workspace["env"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
