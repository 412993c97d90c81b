#!/usr/bin/env python3
"""Export a Conformer encoder and a HiFi-GAN generator at realistic sizes (random init), for the CPU benchmark
of issue 6 (bench/bench_cpu_kernels.sh).

    .venv/bin/python bench/make_audio.py OUT_DIR [--no-check]

conformer  stock torchaudio.models.Conformer(input_dim=256, num_heads=4, ffn_dim=1024, num_layers=4,
           depthwise_conv_kernel_size=31): a 4-layer d=256 encoder as after a 4x subsampling front end;
           input [1, 256, 256] (about 10 s of 40 ms frames) and lengths [1] int64.  TorchScript exporter,
           opset 17, static shapes (it bakes the time axis into nn.MultiheadAttention anyway).
hifigan    HiFi-GAN V1 generator (Kong et al. 2020, config_v1.json): 80 mels, upsample_initial_channel 512,
           upsample rates 8,8,2,2 with kernels 16,16,4,4, ResBlock1 kernels 3,7,11 with dilations 1,3,5;
           weight_norm folded by the exporter.  Input mel [1, 80, 86]: 1 s of 22.05 kHz audio at hop 256;
           output [1, 1, 22016].  TorchScript exporter, opset 17, static shapes.

Writes OUT_DIR/{conformer,hifigan}.onnx, OUT_DIR/{conformer,hifigan}_inputs.safetensors (the benchmark's
inputs) and OUT_DIR/audio.json (configs, versions, export times, ORT-vs-PyTorch check).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFORMER = dict(input_dim=256, num_heads=4, ffn_dim=1024, num_layers=4, depthwise_conv_kernel_size=31)
CONFORMER_T = 256
HIFIGAN = dict(n_mels=80, ch=512, up_rates=(8, 8, 2, 2), up_kernels=(16, 16, 4, 4), rb_kernels=(3, 7, 11))
HIFIGAN_FRAMES = 86


class ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: for each dilation d: x = x + conv2(lrelu(conv1_d(lrelu(x))))."""

    def __init__(self, ch, k, dilations=(1, 3, 5)):
        super().__init__()
        wn = nn.utils.parametrizations.weight_norm
        self.convs1 = nn.ModuleList(
            [wn(nn.Conv1d(ch, ch, k, dilation=d, padding=(k * d - d) // 2)) for d in dilations])
        self.convs2 = nn.ModuleList([wn(nn.Conv1d(ch, ch, k, dilation=1, padding=(k - 1) // 2)) for _ in dilations])

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = nn.functional.leaky_relu(x, 0.1)
            xt = c1(xt)
            xt = nn.functional.leaky_relu(xt, 0.1)
            xt = c2(xt)
            x = xt + x
        return x


class Generator(nn.Module):
    def __init__(self, n_mels, ch, up_rates, up_kernels, rb_kernels):
        super().__init__()
        wn = nn.utils.parametrizations.weight_norm
        self.num_kernels = len(rb_kernels)
        self.conv_pre = wn(nn.Conv1d(n_mels, ch, 7, padding=3))
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        c = ch
        for u, k in zip(up_rates, up_kernels):
            self.ups.append(wn(nn.ConvTranspose1d(c, c // 2, k, stride=u, padding=(k - u) // 2)))
            c //= 2
            for rk in rb_kernels:
                self.resblocks.append(ResBlock(c, rk))
        self.conv_post = wn(nn.Conv1d(c, 1, 7, padding=3))

    def forward(self, mel):
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = nn.functional.leaky_relu(x, 0.1)
            x = up(x)
            xs = None
            for j in range(self.num_kernels):
                y = self.resblocks[i * self.num_kernels + j](x)
                xs = y if xs is None else xs + y
            x = xs / self.num_kernels
        x = nn.functional.leaky_relu(x)
        x = self.conv_post(x)
        return torch.tanh(x)


def build():
    from torchaudio.models import Conformer

    torch.manual_seed(0)
    conf = Conformer(**CONFORMER).eval()
    r = np.random.default_rng(0)
    conf_in = {"input": torch.from_numpy(r.standard_normal((1, CONFORMER_T, 256), dtype=np.float32)),
               "lengths": torch.tensor([CONFORMER_T], dtype=torch.int64)}
    gen = Generator(**HIFIGAN).eval()
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("original0"):
                p.mul_(0.5 + torch.rand(p.shape))
    gen_in = {"mel": torch.from_numpy(r.standard_normal((1, 80, HIFIGAN_FRAMES), dtype=np.float32))}
    return [("conformer", conf, conf_in, ["output", "output_lengths"]), ("hifigan", gen, gen_in, ["audio"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out_dir)
    if os.path.commonpath([out, REPO]) == REPO:
        sys.exit(f"refusing to write the exports into the repository ({out}); give a directory outside {REPO}")
    os.makedirs(out, exist_ok=True)

    import onnx
    import onnxruntime as ort
    import torchaudio
    from safetensors.numpy import save_file

    report = {"conformer": CONFORMER, "conformer_time": CONFORMER_T, "hifigan": HIFIGAN,
              "hifigan_frames": HIFIGAN_FRAMES,
              "versions": {"torch": torch.__version__, "torchaudio": torchaudio.__version__,
                           "onnx": onnx.__version__, "onnxruntime": ort.__version__},
              "exports": {}}
    for name, model, ex, outs in build():
        path = os.path.join(out, f"{name}.onnx")
        n_params = sum(p.numel() for p in model.parameters())
        t0 = time.time()
        with torch.no_grad():
            torch.onnx.export(model, (), path, kwargs=ex, dynamo=False, opset_version=17, input_names=list(ex),
                              output_names=outs)
        save_file({k: v.numpy() for k, v in ex.items()}, os.path.join(out, f"{name}_inputs.safetensors"))
        rec = {"path": path, "parameters": n_params, "export_seconds": round(time.time() - t0, 1),
               "bytes": os.path.getsize(path), "inputs": {k: list(v.shape) for k, v in ex.items()}}
        if not args.no_check:
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            got = sess.run(None, {k: v.numpy() for k, v in ex.items()})[0]
            with torch.no_grad():
                ref = model(**ex)
            ref = (ref[0] if isinstance(ref, tuple) else ref).numpy()
            rec["ort_vs_torch_max_abs_diff"] = float(np.abs(got - ref).max())
        print(f"{name}: {n_params / 1e6:.1f}M parameters, {rec}", flush=True)
        report["exports"][name] = rec
    with open(os.path.join(out, "audio.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
