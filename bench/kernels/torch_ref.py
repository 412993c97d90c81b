#!/usr/bin/env python3
"""bench/kernels/torch_ref.py [--quick] [--csv FILE] — torch's side of issue 5's kernel benchmark, timed the way
bench/kernels/bench_kernels.c times ours: CUDA events around back-to-back launches in batches of about 5 ms,
after a warm-up, the median of 9 batches; fresh random fp16 inputs.

- attention: F.scaled_dot_product_attention forced to the flash and the cuDNN backends, causal and not;
  TFLOP/s with 4·B·H·S²·D (half when causal).
- bias+GELU (gelu(x + b), exact erf), LayerNorm, RMSNorm, softmax over the last axis: eager and
  torch.compile (default mode); TB/s counting the tensor read once and written once.
- the device-to-device copy (y.copy_(x)), the bandwidth ceiling.
"""
import argparse
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def median_ms(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(3):
        fn()
    end.record()
    end.synchronize()
    one = start.elapsed_time(end) / 3
    reps = max(1, min(2000, int(5.0 / one))) if one > 0 else 100
    times = []
    for _ in range(9):
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / reps)
    return statistics.median(times)


rows_out = []


def report(kind, shape, variant, ms, rate, unit, err=float("nan")):
    print(f"{kind:<10} {shape:<22} {variant:<16} rel_l2 {err:.1e}  {ms:9.4f} ms  {rate:7.2f} {unit}", flush=True)
    rows_out.append(f'{kind},"{shape}","{variant}",{err:.3e},{ms:.5f},{rate:.4f},{unit}')


def rel_l2(got, want):
    got, want = got.double(), want.double()
    return ((got - want).norm() / want.norm()).item()


def bench_attention(b, h, s, d, causal):
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16) for _ in range(3))
    shape = f"{b},{h},{s},{d}" + (" causal" if causal else "")
    flop = 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)
    with sdpa_kernel(SDPBackend.MATH):
        ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal)
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                err = rel_l2(F.scaled_dot_product_attention(q, k, v, is_causal=causal), ref)
                ms = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
            report("attention", shape, "torch " + name, ms, flop / (ms * 1e-3) / 1e12, "TFLOP/s", err)
        except RuntimeError as e:
            print(f"attention  {shape:<22} torch {name}: not available ({str(e).splitlines()[0][:80]})")
    del ref


def row_fns(n):
    def bias_gelu(x, w, b):
        return F.gelu(x + b)

    def layernorm(x, w, b):
        return F.layer_norm(x, (n,), w, b, 1e-5)

    def rmsnorm(x, w, b):
        return F.rms_norm(x, (n,), w, 1e-6)

    def softmax(x, w, b):
        return torch.softmax(x, dim=-1)

    return {"bias_gelu": bias_gelu, "layernorm": layernorm, "rmsnorm": rmsnorm, "softmax": softmax}


def bench_rows(m, n):
    shape = f"{m},{n}"
    x = torch.randn(m, n, device="cuda", dtype=torch.float16)
    w = torch.rand(n, device="cuda", dtype=torch.float16) + 0.5
    b = torch.rand(n, device="cuda", dtype=torch.float16) - 0.5
    nbytes = 2 * x.numel() * x.element_size()
    y = torch.empty_like(x)
    ms = median_ms(lambda: y.copy_(x))
    report("copy", shape, "torch copy_", ms, nbytes / (ms * 1e-3) / 1e12, "TB/s")
    for name, fn in row_fns(n).items():
        want = fn(x.float(), w.float(), b.float())
        for variant, f in (("torch eager", fn), ("torch compile", torch.compile(fn, dynamic=False))):
            err = rel_l2(f(x, w, b), want)
            ms = median_ms(lambda: f(x, w, b))
            report(name, shape, variant, ms, nbytes / (ms * 1e-3) / 1e12, "TB/s", err)
    del x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--csv")
    a = ap.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, cudnn {torch.backends.cudnn.version()}")
    shapes = [(8, 16, 512, 64), (4, 16, 2048, 64), (2, 16, 4096, 128)]
    for s in shapes[:1] if a.quick else shapes:
        for causal in (False, True):
            bench_attention(*s, causal)
    for m, n in [(8192, 4096), (16384, 11008)][:1 if a.quick else 2]:
        bench_rows(m, n)
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("kind,shape,variant,rel_l2,ms,rate,unit\n" + "\n".join(rows_out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
