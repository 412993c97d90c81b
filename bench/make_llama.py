#!/usr/bin/env python3
"""Export a small LLaMA-shaped decoder (random init) with both PyTorch ONNX exporters, for the CPU benchmark.

    .venv/bin/python bench/make_llama.py OUT_DIR [--last] [--no-check]

transformers LlamaForCausalLM: hidden 512, 4 layers, 8 heads / 2 KV heads (GQA, head_dim 64), SwiGLU
intermediate 1408, RMSNorm eps 1e-6, RoPE theta 10000, vocab 32000, max_position 2048, untied lm_head;
default attention implementation (sdpa). Writes, into OUT_DIR (outside the repository):

    llama_ts.onnx        TorchScript exporter (dynamo=False), opset 17
    llama_dynamo.onnx    torch.export-based exporter (dynamo=True), its default opset, optimize=True
    llama.json           config, versions, export times, sizes, ORT-vs-PyTorch check
    llama_hf.safetensors the PyTorch state_dict (HF names)

Both take input_ids and attention_mask (int64 [batch, seq]) and return logits [batch, seq, vocab]
(use_cache=False); batch and seq are dynamic. Same forward override as tests/models/generate.py's llama.
--last: logits of the last position only ([batch, 1, vocab], transformers' logits_to_keep=1), as a
generation loop wants them and candle-transformers' llama computes them; files named llama_last_*.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = dict(vocab_size=32000, hidden_size=512, intermediate_size=1408, num_hidden_layers=4,
              num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=2048, rms_norm_eps=1e-6,
              rope_theta=10000.0, bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)


def build(last):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(**CONFIG)
    model = LlamaForCausalLM(cfg).eval()
    cls = type(model)

    def forward(self, input_ids, attention_mask):
        return cls.forward(self, input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                           logits_to_keep=1 if last else 0, return_dict=True).logits

    sub = type(cls.__name__, (cls,), {"forward": forward})
    sub.__module__, sub.__qualname__ = cls.__module__, cls.__qualname__
    model.__class__ = sub
    return model, cfg


def inputs(cfg, batch, seq, seed):
    r = np.random.default_rng(seed)
    ids = r.integers(3, cfg.vocab_size, (batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for b in range(1, batch):
        mask[b, seq - 2 * b:] = 0
    ids[mask == 0] = 0
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--last", action="store_true", help="logits of the last position only")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out_dir)
    if os.path.commonpath([out, REPO]) == REPO:
        sys.exit(f"refusing to write the exports into the repository ({out}); give a directory outside {REPO}")
    os.makedirs(out, exist_ok=True)

    import onnx
    import onnxruntime as ort
    import transformers
    from safetensors.torch import save_file

    model, cfg = build(args.last)
    stem = "llama_last" if args.last else "llama"
    n_params = sum(p.numel() for p in model.parameters())
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out, f"{stem}_hf.safetensors"))
    ex = inputs(cfg, 2, 16, 0)
    names = list(ex)
    bs = {0: "batch", 1: "seq"}
    report = {"config": CONFIG, "logits_to_keep": 1 if args.last else 0, "parameters": n_params, "attn_implementation": cfg._attn_implementation,
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "onnx": onnx.__version__, "onnxruntime": ort.__version__},
              "exports": {}}
    print(f"LlamaForCausalLM: {n_params / 1e6:.1f}M parameters, attn {cfg._attn_implementation}", flush=True)
    for tag in ("ts", "dynamo"):
        path = os.path.join(out, f"{stem}_{tag}.onnx")
        t0 = time.time()
        if tag == "ts":
            torch.onnx.export(model, (), path, kwargs=ex, dynamo=False, opset_version=17, input_names=names,
                              output_names=["logits"],
                              dynamic_axes={"input_ids": bs, "attention_mask": bs, "logits": bs})
        else:
            b, s = torch.export.Dim("batch"), torch.export.Dim("seq")
            prog = torch.onnx.export(model, (), kwargs=ex, dynamo=True, input_names=names, output_names=["logits"],
                                     dynamic_shapes={"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}},
                                     optimize=True)
            prog.save(path, external_data=False)
        rec = {"path": path, "export_seconds": round(time.time() - t0, 1), "bytes": os.path.getsize(path)}
        print(f"{tag}: exported in {rec['export_seconds']}s, {rec['bytes'] / 1e6:.1f} MB", flush=True)
        if not args.no_check:
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            diffs = {}
            for batch, seq in ((1, 7), (3, 29)):
                x = inputs(cfg, batch, seq, batch * 100 + seq)
                got = sess.run(None, {k: v.numpy() for k, v in x.items()})[0]
                with torch.no_grad():
                    ref = model(**x).numpy()
                diffs[f"{batch}x{seq}"] = float(np.abs(got - ref).max())
            rec["ort_vs_torch_max_abs_diff"] = diffs
            print(f"{tag}: ORT vs torch {diffs}", flush=True)
        report["exports"][tag] = rec
    with open(os.path.join(out, f"{stem}.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
