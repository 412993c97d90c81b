#!/usr/bin/env python3
"""Export a BERT-base-shaped model (random init, ~110M parameters) with both PyTorch ONNX exporters.

    .venv/bin/python bench/make_bert_base.py OUT_DIR [--attn eager|sdpa] [--no-check]

Writes, into OUT_DIR (must be outside the repository: the files are ~440 MB each):

    bert_base_ts.onnx        TorchScript exporter (dynamo=False), opset 17
    bert_base_dynamo.onnx    torch.export-based exporter (dynamo=True), its default opset, optimize=True
    bert_base.json           config, versions, export times, file sizes, opsets, ORT-vs-PyTorch check

Both take input_ids, attention_mask, token_type_ids (int64 [batch, seq]) and return last_hidden_state
[batch, seq, 768] and pooler_output [batch, 768]; batch and seq are dynamic. Weights are embedded (no
external data; each file is below the 2 GB protobuf limit). Same model and forward override as the
bert fixtures in tests/models/generate.py (eager attention by default).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(attn):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, pad_token_id=0)
    cfg._attn_implementation = attn
    model = BertModel(cfg).eval()
    cls = type(model)

    # Explicit tensor arguments (the dynamo exporter's dynamic_shapes must mirror the forward signature) and
    # a plain tuple out; class name/module kept so the exported metadata names the stock class.
    def forward(self, input_ids, attention_mask, token_type_ids):
        o = cls.forward(self, input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        return_dict=True)
        return o.last_hidden_state, o.pooler_output

    sub = type(cls.__name__, (cls,), {"forward": forward})
    sub.__module__, sub.__qualname__ = cls.__module__, cls.__qualname__
    model.__class__ = sub
    return model, cfg


def inputs(cfg, batch, seq, seed):
    r = np.random.default_rng(seed)
    ids = r.integers(1, cfg.vocab_size, (batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for b in range(1, batch):
        mask[b, seq - 3 * b:] = 0
    ids[mask == 0] = 0
    tt = np.zeros((batch, seq), dtype=np.int64)
    tt[:, seq // 2:] = 1
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
            "token_type_ids": torch.from_numpy(tt)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--no-check", action="store_true", help="skip the onnx.load / ORT-vs-PyTorch check")
    args = ap.parse_args()
    out = os.path.abspath(args.out_dir)
    if os.path.commonpath([out, REPO]) == REPO:
        sys.exit(f"refusing to write ~900 MB into the repository ({out}); give a directory outside {REPO}")
    os.makedirs(out, exist_ok=True)

    import onnx
    import onnxruntime as ort
    import transformers

    model, cfg = build(args.attn)
    n_params = sum(p.numel() for p in model.parameters())
    ex = inputs(cfg, 2, 16, 0)
    names = list(ex)
    outs = ["last_hidden_state", "pooler_output"]
    bs = {0: "batch", 1: "seq"}
    report = {
        "config": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "intermediate_size": 3072, "vocab_size": 30522, "attn_implementation": args.attn},
        "parameters": n_params,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "exports": {},
    }
    print(f"BertModel: {n_params / 1e6:.1f}M parameters, attn {args.attn}", flush=True)

    for tag in ("ts", "dynamo"):
        path = os.path.join(out, f"bert_base_{tag}.onnx")
        t0 = time.time()
        if tag == "ts":
            torch.onnx.export(model, (), path, kwargs=ex, dynamo=False, opset_version=17, input_names=names,
                              output_names=outs,
                              dynamic_axes={"input_ids": bs, "attention_mask": bs, "token_type_ids": bs,
                                            "last_hidden_state": bs, "pooler_output": {0: "batch"}})
        else:
            b, s = torch.export.Dim("batch"), torch.export.Dim("seq")
            prog = torch.onnx.export(model, (), kwargs=ex, dynamo=True, input_names=names, output_names=outs,
                                     dynamic_shapes={"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s},
                                                     "token_type_ids": {0: b, 1: s}}, optimize=True)
            prog.save(path, external_data=False)
        secs = time.time() - t0
        size = os.path.getsize(path)
        rec = {"path": path, "export_seconds": round(secs, 1), "bytes": size}
        print(f"{tag}: exported in {secs:.1f}s, {size / 1e6:.1f} MB -> {path}", flush=True)
        if not args.no_check:
            t0 = time.time()
            m = onnx.load(path)
            rec["onnx_load_seconds"] = round(time.time() - t0, 1)
            rec["opset"] = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
            rec["nodes"] = len(m.graph.node)
            rec["initializers"] = len(m.graph.initializer)
            rec["inputs"] = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                             for v in m.graph.input}
            del m
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            diffs = {}
            for batch, seq in ((1, 7), (3, 29)):
                x = inputs(cfg, batch, seq, batch * 100 + seq)
                got = sess.run(None, {k: v.numpy() for k, v in x.items()})
                with torch.no_grad():
                    ref = model(**x)
                diffs[f"{batch}x{seq}"] = {n: float(np.abs(g - r.numpy()).max()) for n, g, r in zip(outs, got, ref)}
            rec["ort_vs_torch_max_abs_diff"] = diffs
            del sess
            print(f"{tag}: onnx.load ok ({rec['onnx_load_seconds']}s), opset {rec['opset']}, {rec['nodes']} nodes, "
                  f"inputs {rec['inputs']}, ORT vs torch {diffs}", flush=True)
        report["exports"][tag] = rec

    with open(os.path.join(out, "bert_base.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
