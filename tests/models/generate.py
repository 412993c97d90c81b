#!/usr/bin/env python3
"""Regenerate the committed PyTorch -> ONNX test fixtures under tests/models/.

Usage (from the repository root, with the project virtualenv):

    .venv/bin/python tests/models/generate.py                 # every family, both exporters
    .venv/bin/python tests/models/generate.py --only bert,gpt2  # some families (index/README keep the rest)

For each family F and exporter E in {ts, dynamo} this writes tests/models/F_E/:

    model.onnx                     weights embedded (no external data)
    caseN.in.safetensors           graph inputs, named like the ONNX graph inputs
    caseN.out.safetensors          ONNX Runtime (CPUExecutionProvider) outputs, named like the graph outputs
    state_dict.safetensors         the PyTorch module's own state_dict (every key, tied ones included)
    meta.json                      versions, opset, dynamic axes as exported, cases, ORT-vs-eager diffs, notes
    greedy.{in,out}.safetensors    causal LMs only: prompt + 16 greedy tokens, and ORT logits for it

case0 is the export-time size; case1 and case2 use other sizes on every dynamic axis.
Everything is deterministic: torch.manual_seed(0) before building each model, numpy generators seeded
from the family name for the inputs, single-threaded ORT.
It also rewrites tests/models/index.json (summary of every fixture and of every export that failed)
and tests/models/README.md (rendered from index.json).
"""

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
import zlib

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import safetensors
import safetensors.numpy
import safetensors.torch
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
TS_OPSET = 17
N_GREEDY = 16

warnings.filterwarnings("ignore")


def versions():
    import onnxscript
    import torchaudio
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "onnxscript": onnxscript.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def rng_for(family, case):
    return np.random.default_rng(zlib.crc32(f"{family}/{case}".encode()))


def perturb_norms(model, seed=1):
    """Norm layers start as weight=1, bias=0, running stats 0/1, and HF initialises every Linear bias to 0:
    make them all non-trivial and distinct, so a loader that forgets one (or swaps weight and bias) is
    caught, and so neither exporter merges identical zero initializers into one (both deduplicate
    initializers with equal contents)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
        for m in model.modules():
            if "Norm" not in type(m).__name__:
                continue
            w = getattr(m, "weight", None)
            b = getattr(m, "bias", None)
            if isinstance(w, torch.Tensor):
                w.add_(0.1 * torch.randn(w.shape, generator=g))
            if isinstance(b, torch.Tensor):
                b.add_(0.1 * torch.randn(b.shape, generator=g))
            if getattr(m, "running_mean", None) is not None:
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))


# --------------------------------------------------------------------------------------------------------
# Families. Each returns a dict:
#   model            nn.Module in eval mode, called as model(**inputs)
#   inputs(case)     -> dict name -> torch.Tensor (ordered like the ONNX graph inputs)
#   cases            list of dicts of sizes, case0 = export-time
#   outputs          output names
#   ts_axes          dynamic_axes for the TorchScript exporter (inputs and outputs)
#   dy_shapes()      dynamic_shapes for the dynamo exporter, keyed by forward() argument names
#   exporters        subset of ("ts", "dynamo")
#   attn, notes, causal, static_axes
# --------------------------------------------------------------------------------------------------------

Dim = torch.export.Dim


def fam_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 32), nn.ReLU(), nn.LayerNorm(32)
    ).eval()
    perturb_norms(model)

    def inputs(c, i):
        r = rng_for("mlp", i)
        return {"input": torch.from_numpy(r.standard_normal((c["batch"], 16), dtype=np.float32))}

    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2}, {"batch": 1}, {"batch": 3}],
        outputs=["output"],
        ts_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        dy_shapes=lambda: {"input": {0: Dim("batch")}},
        short='Linear, GELU (erf), Linear, ReLU, LayerNorm.',
        notes=["nn.Sequential(Linear(16,32), GELU() [erf], Linear(32,32), ReLU(), LayerNorm(32)); "
               "input [batch, 16] -> output [batch, 32]."],
    )


def fam_conv1d():
    torch.manual_seed(0)
    C = 16
    model = nn.Sequential(
        nn.Conv1d(4, C, kernel_size=3, padding=1),
        nn.BatchNorm1d(C),
        nn.SiLU(),
        nn.Conv1d(C, C, kernel_size=5, padding=4, dilation=2, groups=C),  # depthwise, dilated
        nn.BatchNorm1d(C),
        nn.SiLU(),
        nn.Conv1d(C, 8, kernel_size=1),  # pointwise
        nn.SiLU(),
        nn.Conv1d(8, 8, kernel_size=3, stride=2, padding=1),  # strided: time_out = (time - 1) // 2 + 1
    ).eval()
    perturb_norms(model)

    def inputs(c, i):
        r = rng_for("conv1d", i)
        return {"input": torch.from_numpy(r.standard_normal((c["batch"], 4, c["time"]), dtype=np.float32))}

    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2, "time": 40}, {"batch": 1, "time": 17}, {"batch": 3, "time": 63}],
        outputs=["output"],
        ts_axes={"input": {0: "batch", 2: "time"}, "output": {0: "batch", 2: "time_out"}},
        dy_shapes=lambda: {"input": {0: Dim("batch"), 2: Dim("time")}},
        short='Conv1d stack, depthwise + dilated + strided; both exporters fold BatchNorm into the Conv.',
        ts_short='Fused conv weights are anonymous (onnx::Conv_N).',
        dynamo_short='Fused conv weights keep the state_dict names 0.weight/0.bias/3.weight/3.bias with fused values.',
        notes=["Conv1d(4,16,k3,p1) BN SiLU, depthwise Conv1d(16,16,k5,dilation2,p4,groups16) BN SiLU, "
               "Conv1d(16,8,k1) SiLU, Conv1d(8,8,k3,stride2,p1); BatchNorm running stats randomised.",
               "Output time is (time - 1) // 2 + 1; the TorchScript export names it 'time_out'."],
    )


def _lengths(B, S):
    """Row 0 full, later rows padded (right); a batch of 1 is padded too."""
    if B == 1:
        return [S - 2]
    return [S] + [max(2, S - 3 * i - 1) for i in range(1, B)]


def plain_forward(model, fwd, doc):
    """Swap model's class for a subclass whose forward is `fwd` (explicit tensor arguments, tuple of tensors
    out, use_cache=False), keeping the class's name, qualname and module, so state_dict keys, module paths and
    the dynamo exporter's class_hierarchy metadata are those of the stock class. (transformers 5 ignores
    config.return_dict=False inside nested models, and the dynamo exporter's dynamic_shapes must mirror the
    forward signature, hence the override.)"""
    cls = type(model)
    sub = type(cls.__name__, (cls,), {"forward": fwd, "__doc__": doc, "_stock_class": cls})
    sub.__module__ = cls.__module__
    sub.__qualname__ = cls.__qualname__
    model.__class__ = sub
    return model


@contextlib.contextmanager
def stock_class(model):
    sub = type(model)
    model.__class__ = sub._stock_class
    try:
        yield model
    finally:
        model.__class__ = sub


def fam_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, pad_token_id=0,
                     initializer_range=0.2)
    cfg._attn_implementation = "eager"
    model = BertModel(cfg).eval()

    def forward(self, input_ids, attention_mask, token_type_ids):
        o = BertModel.forward(self, input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids, return_dict=True)
        return o.last_hidden_state, o.pooler_output

    plain_forward(model, forward, "BertModel.forward(input_ids, attention_mask, token_type_ids) -> "
                                  "(last_hidden_state, pooler_output)")
    perturb_norms(model)

    def inputs(c, i):
        r = rng_for("bert", i)
        B, S = c["batch"], c["seq"]
        ids = r.integers(1, cfg.vocab_size, (B, S), dtype=np.int64)
        mask = np.zeros((B, S), dtype=np.int64)
        for b, L in enumerate(_lengths(B, S)):
            mask[b, :L] = 1
        ids[mask == 0] = cfg.pad_token_id
        tt = np.zeros((B, S), dtype=np.int64)
        for b in range(B):
            tt[b, r.integers(1, S):] = 1
        tt[mask == 0] = 0
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                "token_type_ids": torch.from_numpy(tt)}

    bs = {0: "batch", 1: "seq"}
    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2, "seq": 12}, {"batch": 1, "seq": 7}, {"batch": 3, "seq": 29}],
        outputs=["last_hidden_state", "pooler_output"],
        ts_axes={"input_ids": bs, "attention_mask": bs, "token_type_ids": bs, "last_hidden_state": bs,
                 "pooler_output": {0: "batch"}},
        dy_shapes=lambda: (lambda b, s: {"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s},
                                         "token_type_ids": {0: b, 1: s}})(Dim("batch"), Dim("seq")),
        attn="eager",
        hf_config=cfg,
        short='eager attention; right-padded mask; token_type_ids.',
        notes=["transformers BertModel, tiny config (hidden 32, 2 layers, 4 heads, intermediate 64, vocab 100, "
               "max_position 64), initializer_range 0.2, attn_implementation='eager', forward overridden (see plain_forward) to take (input_ids, attention_mask, token_type_ids) and return (last_hidden_state, pooler_output).",
               "attention_mask is right-padded: row 0 full, other rows shorter; a batch of 1 has 2 pad positions. "
               "Padded input_ids are pad_token_id 0."],
    )


def _causal_inputs(family, cfg):
    def inputs(c, i):
        r = rng_for(family, i)
        B, S = c["batch"], c["seq"]
        ids = r.integers(3, cfg.vocab_size, (B, S), dtype=np.int64)
        mask = np.zeros((B, S), dtype=np.int64)
        for b, L in enumerate(_lengths(B, S)):
            mask[b, :L] = 1
        ids[mask == 0] = cfg.pad_token_id
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    return inputs


def _causal_common(family, cfg, model, attn, notes, short):
    bs = {0: "batch", 1: "seq"}
    return dict(
        model=model,
        inputs=_causal_inputs(family, cfg),
        cases=[{"batch": 2, "seq": 12}, {"batch": 1, "seq": 7}, {"batch": 3, "seq": 29}],
        outputs=["logits"],
        ts_axes={"input_ids": bs, "attention_mask": bs, "logits": bs},
        dy_shapes=lambda: (lambda b, s: {"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}})(
            Dim("batch"), Dim("seq")),
        attn=attn,
        causal=True,
        hf_config=cfg,
        short=short,
        notes=notes + ["attention_mask is right-padded (row 0 full, other rows shorter, a batch of 1 has 2 pad "
                       "positions): right padding never masks a whole query row, so no NaN can appear. "
                       "Padded input_ids are pad_token_id 0."],
    )


_CAUSAL_DOC = "forward(input_ids, attention_mask) -> logits, use_cache=False"


def _causal_forward(cls):
    def forward(self, input_ids, attention_mask):
        return cls.forward(self, input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                           return_dict=True).logits

    return forward


def fam_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=100, n_positions=64, n_embd=32, n_layer=2, n_head=4, n_inner=64,
                     bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=0.2)
    model = GPT2LMHeadModel(cfg).eval()
    plain_forward(model, _causal_forward(GPT2LMHeadModel), _CAUSAL_DOC)
    perturb_norms(model)
    return _causal_common("gpt2", cfg, model, model.config._attn_implementation, short=(
        "sdpa; lm_head tied to wte; greedy reference."), notes=[
        "transformers GPT2LMHeadModel, tiny config (n_embd 32, 2 layers, 4 heads, n_inner 64, vocab 100, "
        "n_positions 64), initializer_range 0.2, default attention implementation, forward overridden "
        "(see plain_forward) to take (input_ids, attention_mask) and return logits with use_cache=False. lm_head.weight is tied to transformer.wte.weight."])


def fam_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                      tie_word_embeddings=False, initializer_range=0.2)
    model = LlamaForCausalLM(cfg).eval()
    plain_forward(model, _causal_forward(LlamaForCausalLM), _CAUSAL_DOC)
    perturb_norms(model)
    return _causal_common("llama", cfg, model, model.config._attn_implementation, short=(
        "sdpa; GQA 4/2 heads, RoPE, RMSNorm, SwiGLU; greedy reference."), notes=[
        "transformers LlamaForCausalLM, tiny config (hidden 32, 2 layers, 4 heads / 2 KV heads (GQA), "
        "head_dim 8, intermediate 64 (SwiGLU), RMSNorm eps 1e-6, RoPE theta default, vocab 100, max_position 64, "
        "untied lm_head), initializer_range 0.2, default attention implementation, forward overridden "
        "(see plain_forward) to take (input_ids, attention_mask) and return logits with use_cache=False."])


def fam_whisper_encoder():
    from transformers import WhisperConfig, WhisperModel

    torch.manual_seed(0)
    cfg = WhisperConfig(vocab_size=100, num_mel_bins=8, d_model=32, encoder_layers=2, encoder_attention_heads=4,
                        decoder_layers=2, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_source_positions=16, max_target_positions=32, pad_token_id=1, bos_token_id=2,
                        eos_token_id=3, decoder_start_token_id=2, init_std=0.2)
    model = WhisperModel(cfg).get_encoder().eval()
    enc_cls = type(model)

    def forward(self, input_features):
        return enc_cls.forward(self, input_features=input_features, return_dict=True).last_hidden_state

    plain_forward(model, forward, "WhisperEncoder.forward(input_features) -> last_hidden_state")
    perturb_norms(model)
    frames = 2 * cfg.max_source_positions

    def inputs(c, i):
        r = rng_for("whisper_encoder", i)
        return {"input_features": torch.from_numpy(
            r.standard_normal((c["batch"], cfg.num_mel_bins, c["frames"]), dtype=np.float32))}

    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2, "frames": frames}, {"batch": 1, "frames": frames}, {"batch": 3, "frames": frames}],
        outputs=["last_hidden_state"],
        ts_axes={"input_features": {0: "batch"}, "last_hidden_state": {0: "batch"}},
        dy_shapes=lambda: {"input_features": {0: Dim("batch")}},
        attn=model.config._attn_implementation,
        hf_config=cfg,
        static_axes={"input_features": {1: "num_mel_bins = 8", 2: f"frames = 2 * max_source_positions = {frames}"}},
        short='Only batch dynamic: frames = 2*max_source_positions = 32 is static.',
        notes=[f"transformers WhisperModel(cfg).get_encoder() (a WhisperEncoder), tiny config (d_model 32, 2 layers, "
               f"4 heads, ffn 64, num_mel_bins 8, max_source_positions 16), init_std 0.2, default attention "
               f"implementation. state_dict keys are the encoder's own (no 'encoder.' prefix).",
               f"frames is STATIC ({frames} = 2 * max_source_positions): WhisperEncoder.forward raises unless "
               f"input_features.shape[-1] == 2 * max_source_positions, and embed_positions is added whole. "
               f"Only batch is dynamic; all cases use {frames} frames."],
    )


def _conformer_parts():
    def inputs(c, i):
        r = rng_for("conformer", i)
        B, T = c["batch"], c["time"]
        x = r.standard_normal((B, T, 32), dtype=np.float32)
        lens = np.array(_lengths(B, T) if B > 1 else [T], dtype=np.int64)
        return {"input": torch.from_numpy(x), "lengths": torch.from_numpy(lens)}

    bt = {0: "batch", 1: "time"}
    return dict(
        inputs=inputs,
        cases=[{"batch": 2, "time": 20}, {"batch": 1, "time": 9}, {"batch": 3, "time": 31}],
        outputs=["output", "output_lengths"],
        ts_axes={"input": bt, "lengths": {0: "batch"}, "output": bt, "output_lengths": {0: "batch"}},
        dy_shapes=lambda: (lambda b, t: {"input": {0: b, 1: t}, "lengths": {0: b}})(Dim("batch"), Dim("time")),
    )


CONFORMER_KW = dict(input_dim=32, num_heads=4, ffn_dim=64, num_layers=2, depthwise_conv_kernel_size=7)


def fam_conformer():
    from torchaudio.models import Conformer

    torch.manual_seed(0)
    model = Conformer(**CONFORMER_KW).eval()
    perturb_norms(model)
    d = _conformer_parts()
    T0 = d["cases"][0]["time"]
    d.update(
        model=model,
        attn="torch.nn.MultiheadAttention (batch_first=False, need_weights=False, key_padding_mask)",
        # TorchScript bakes the export-time T into nn.MultiheadAttention (k.view(k.shape[0], ...)), so its
        # fixture declares time static; see probe_conformer_ts_dynamic_time.
        ts_axes={"input": {0: "batch"}, "lengths": {0: "batch"}, "output": {0: "batch"},
                 "output_lengths": {0: "batch"}},
        ts_cases=[{"batch": 2, "time": T0}, {"batch": 1, "time": T0}, {"batch": 3, "time": T0}],
        ts_static_axes={"input": {1: f"time = {T0}"}, "output": {1: f"time = {T0}"}},
        short='stock torchaudio Conformer.',
        ts_short='time STATIC (20): TorchScript bakes T into MultiheadAttention.',
        dynamo_short='Data-dependent mask length ReduceMax(lengths) -> Range; needs max(lengths) == time.',
        ts_notes=[f"TorchScript: time is STATIC ({T0}), only batch is dynamic. With time declared dynamic the "
                  f"export succeeds but nn.MultiheadAttention's k.view(k.shape[0], bsz * num_heads, head_dim) is "
                  f"traced with k.shape[0] as the constant {T0}, and ORT fails at any other T (pytorch issues "
                  f"#120075/#122321, PR #135691); int(lengths.max().item()) is baked as {T0} too. "
                  f"See README 'Probes' for the verbatim error."],
        dynamo_notes=["dynamo: fully dynamic (batch, time). The key-padding mask length is data-dependent: "
                      "int(lengths.max().item()) becomes an unbacked symbol in torch.export and "
                      "ReduceMax(lengths) -> Range -> Expand -> GreaterOrEqual in the graph. The mask must be "
                      "[batch, time] for MultiheadAttention, so inputs must satisfy max(lengths) == time (true in "
                      "every case: row 0 is full length)."],
        notes=["Stock torchaudio.models.Conformer(input_dim=32, num_heads=4, ffn_dim=64, num_layers=2, "
               "depthwise_conv_kernel_size=7), unmodified. forward(input [batch, time, 32], lengths [batch] "
               "int64) -> (output [batch, time, 32], output_lengths == lengths). Rows after the first are "
               "padded (shorter lengths)."],
    )
    return d


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


class HiFiGANGenerator(nn.Module):
    def __init__(self, n_mels=8, ch=32, up_rates=(2, 2), up_kernels=(4, 4), rb_kernels=(3, 5)):
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


def fam_hifigan():
    torch.manual_seed(0)
    model = HiFiGANGenerator().eval()
    # weight_norm initialises g = ||v||, so the parametrization is an identity; make g differ.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                p.mul_(0.5 + torch.rand(p.shape))

    def inputs(c, i):
        r = rng_for("hifigan", i)
        return {"mel": torch.from_numpy(r.standard_normal((c["batch"], 8, c["time"]), dtype=np.float32))}

    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2, "time": 10}, {"batch": 1, "time": 7}, {"batch": 3, "time": 23}],
        outputs=["audio"],
        ts_axes={"mel": {0: "batch", 2: "time"}, "audio": {0: "batch", 2: "samples"}},
        dy_shapes=lambda: {"mel": {0: Dim("batch"), 2: Dim("time")}},
        short='weight_norm on every conv; both exporters fold it into plain conv weights.',
        notes=["HiFi-GAN generator defined in generate.py: conv_pre Conv1d(8,32,k7), 2 x [LeakyReLU(0.1), "
               "ConvTranspose1d(c, c/2, k4, stride2, p1), mean of ResBlock1 with kernels 3 and 5, dilations 1,3,5] "
               "(channels 32 -> 16 -> 8), LeakyReLU(0.01), conv_post Conv1d(8,1,k7), tanh. Every conv carries "
               "torch.nn.utils.parametrizations.weight_norm (state_dict: *.parametrizations.weight.original0 = g, "
               "original1 = v); g was rescaled randomly so weight != v.",
               "audio [batch, 1, samples], samples = 4 * time; the TorchScript export names that axis 'samples'."],
    )


class LogMel(nn.Module):
    def __init__(self):
        super().__init__()
        import torchaudio

        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=64, hop_length=16, n_mels=8)

    def forward(self, waveform):
        return torch.log(torch.clamp(self.mel(waveform), min=1e-5))


def fam_logmel():
    torch.manual_seed(0)
    model = LogMel().eval()

    def inputs(c, i):
        r = rng_for("logmel", i)
        return {"waveform": torch.from_numpy(0.5 * r.standard_normal((c["batch"], c["samples"]), dtype=np.float32))}

    return dict(
        model=model,
        inputs=inputs,
        cases=[{"batch": 2, "samples": 800}, {"batch": 1, "samples": 333}, {"batch": 3, "samples": 1601}],
        outputs=["logmel"],
        ts_axes={"waveform": {0: "batch", 1: "samples"}, "logmel": {0: "batch", 2: "frames"}},
        dy_shapes=lambda: {"waveform": {0: Dim("batch"), 1: Dim("samples", min=33)}},
        exporters=("ts", "dynamo"),
        expect_fail={"ts"},
        fail_explain={"ts": "Expected: torchaudio computes the spectrogram with torch.stft(..., return_complex=True) and the "
                            "TorchScript exporter's STFT symbolic has no complex support (the dynamo exporter maps "
                            "aten.stft to ONNX STFT). There is no logmel_ts fixture."},
        short='STFT op (opset 17+), ReduceL2, mel MatMul, log(clamp).',
        notes=["torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=64, hop_length=16, n_mels=8) "
               "(hann window, center=True reflect padding, power 2, HTK mel scale, no norm) then "
               "log(clamp(x, min=1e-5)). waveform [batch, samples] -> logmel [batch, 8, samples // 16 + 1].",
               "samples must exceed n_fft/2 = 32 (reflect padding); the dynamo export declares min=33."],
    )


FAMILIES = {
    "mlp": fam_mlp,
    "conv1d": fam_conv1d,
    "bert": fam_bert,
    "gpt2": fam_gpt2,
    "llama": fam_llama,
    "whisper_encoder": fam_whisper_encoder,
    "conformer": fam_conformer,
    "hifigan": fam_hifigan,
    "logmel": fam_logmel,
}

# --------------------------------------------------------------------------------------------------------
# Export, check, run.
# --------------------------------------------------------------------------------------------------------


def export(fam, exporter, path):
    model = fam["model"]
    ins = fam["inputs"](fam.get(f"{exporter}_cases", fam["cases"])[0], 0)
    names = list(ins)
    if exporter == "ts":
        torch.onnx.export(model, (), path, kwargs=ins, dynamo=False, opset_version=TS_OPSET,
                          input_names=names, output_names=fam["outputs"], dynamic_axes=fam["ts_axes"])
    else:
        prog = torch.onnx.export(model, (), kwargs=ins, dynamo=True, dynamic_shapes=fam["dy_shapes"](),
                                 input_names=names, output_names=fam["outputs"], optimize=True)
        prog.save(path, external_data=False)


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run_ort(sess, ins):
    feeds = {k: v.numpy() for k, v in ins.items()}
    outs = sess.run(None, feeds)
    return {o.name: np.ascontiguousarray(v) for o, v in zip(sess.get_outputs(), outs)}


def run_torch(model, ins, out_names):
    with torch.no_grad():
        out = model(**ins)
    if isinstance(out, torch.Tensor):
        out = (out,)
    out = [o for o in out if o is not None]
    return {n: o.detach().numpy() for n, o in zip(out_names, out)}


def value_dims(v):
    dims = []
    for d in v.type.tensor_type.shape.dim:
        if d.HasField("dim_param"):
            dims.append(d.dim_param)
        elif d.HasField("dim_value"):
            dims.append(d.dim_value)
        else:
            dims.append(None)
    return dims


def describe_graph(m):
    g = m.graph
    inits = {i.name for i in g.initializer}
    io = {}
    for kind, vals in (("inputs", [v for v in g.input if v.name not in inits]), ("outputs", g.output)):
        io[kind] = {
            v.name: {"dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                     "shape": value_dims(v)} for v in vals}
    dyn = {}
    for kind in ("inputs", "outputs"):
        for n, d in io[kind].items():
            axes = {str(a): s for a, s in enumerate(d["shape"]) if not isinstance(s, int)}
            if axes:
                dyn[n] = axes
    ops = {}
    for n in g.node:
        key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        ops[key] = ops.get(key, 0) + 1
    return io, dyn, dict(sorted(ops.items()))


def check(path):
    try:
        onnx.checker.check_model(path, full_check=True)
        return "ok (full_check=True)"
    except Exception as e:  # record, fall back to the plain check
        onnx.checker.check_model(path)
        return f"plain check ok; full_check failed: {type(e).__name__}: {str(e)[:500]}"


def max_abs(a, b):
    if a.shape != b.shape:
        return f"shape mismatch {list(a.shape)} vs {list(b.shape)}"
    if a.size == 0:
        return 0.0
    if a.dtype.kind in "iub":
        return float(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def save_state_dict(model, path):
    sd = model.state_dict()
    by_ptr = {}
    for k, v in sd.items():
        if v.numel():
            by_ptr.setdefault((v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape)), []).append(k)
    tied = [ks for ks in by_ptr.values() if len(ks) > 1]
    safetensors.torch.save_file({k: v.detach().clone().contiguous() for k, v in sd.items()}, path)
    return tied


def compare_initializers(m, sd_path):
    """Which ONNX initializers are state_dict entries (same name, same value), which carry a state_dict name
    but a different value (e.g. Conv weights with a BatchNorm folded in), and which are not in the state_dict
    (folded constants, transposed weights, non-persistent buffers)."""
    sd = safetensors.numpy.load_file(sd_path)
    res = {"same_name_same_value": [], "same_name_different_value": [], "not_in_state_dict": []}
    for init in m.graph.initializer:
        a = onnx.numpy_helper.to_array(init)
        if init.name not in sd:
            res["not_in_state_dict"].append(f"{init.name} {list(a.shape)}")
        elif sd[init.name].shape == a.shape and np.array_equal(sd[init.name], a):
            res["same_name_same_value"].append(init.name)
        else:
            res["same_name_different_value"].append(init.name)
    res["state_dict_keys_not_in_onnx"] = sorted(set(sd) - {i.name for i in m.graph.initializer})
    return res


def greedy(family, fam, d, sess, meta):
    """Prompt (batch 1, no padding) -> 16 greedy tokens by full recompute, in PyTorch and in ORT."""
    model = fam["model"]
    cfg = fam["hf_config"]
    r = rng_for(family, "prompt")
    prompt = [int(t) for t in r.integers(3, cfg.vocab_size, 5)]

    def step_torch(ids):
        with torch.no_grad():
            t = torch.tensor([ids])
            return model(input_ids=t, attention_mask=torch.ones_like(t))[0, -1].numpy()

    def step_ort(ids):
        t = torch.tensor([ids])
        return run_ort(sess, {"input_ids": t, "attention_mask": torch.ones_like(t)})["logits"][0, -1]

    res = {}
    for name, step in (("torch", step_torch), ("ort", step_ort)):
        ids, margins = list(prompt), []
        for _ in range(N_GREEDY):
            lg = step(ids)
            top = np.sort(lg)[-2:]
            margins.append(float(top[1] - top[0]))
            ids.append(int(lg.argmax()))
        res[name] = (ids[len(prompt):], min(margins))
    tokens, margin = res["torch"]

    gen_tokens = None
    try:
        with stock_class(model):
            gen = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                 max_new_tokens=N_GREEDY, do_sample=False, use_cache=True,
                                 pad_token_id=cfg.pad_token_id, eos_token_id=None, return_dict_in_generate=False)
        gen_tokens = [int(t) for t in gen[0, len(prompt):]]
    except Exception as e:
        gen_tokens = f"model.generate failed: {type(e).__name__}: {str(e)[:300]}"

    full = torch.tensor([prompt + tokens])
    gin = {"input_ids": full, "attention_mask": torch.ones_like(full)}
    gout = run_ort(sess, gin)
    safetensors.numpy.save_file({k: v.numpy() for k, v in gin.items()}, os.path.join(d, "greedy.in.safetensors"))
    safetensors.numpy.save_file(gout, os.path.join(d, "greedy.out.safetensors"))
    tref = run_torch(model, gin, fam["outputs"])
    meta["greedy"] = {
        "prompt": prompt,
        "tokens": tokens,
        "method": "PyTorch eager, batch 1, attention_mask all ones, argmax over the last position, "
                  "full recompute each step (no KV cache)",
        "torch_generate_tokens": gen_tokens,
        "torch_generate_agrees": gen_tokens == tokens,
        "ort_full_recompute_tokens": res["ort"][0],
        "ort_agrees": res["ort"][0] == tokens,
        "min_top1_top2_margin": margin,
        "logits_inputs": "greedy.in.safetensors",
        "logits_reference": "greedy.out.safetensors",
        "logits_reference_note": "ORT logits [1, len(prompt)+16, vocab] for prompt + tokens; logits[0, i] predicts "
                                 "token i+1, so argmax of logits[0, len(prompt)-1+k] == tokens[k] for k < 16",
        "ort_vs_torch_max_abs_diff": max_abs(gout["logits"], tref["logits"]),
    }


def build_fixture(family, fam, exporter, out_root, vers):
    d = os.path.join(out_root, f"{family}_{exporter}")
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    path = os.path.join(tmp, "model.onnx")
    t0 = time.time()
    export(fam, exporter, path)
    export_s = time.time() - t0
    m = onnx.load(path)
    for init in m.graph.initializer:
        assert init.data_location != onnx.TensorProto.EXTERNAL, "external data"
    assert not any(f.endswith(".data") for f in os.listdir(tmp)), "external data file written"
    checked = check(path)
    io, dyn, ops = describe_graph(m)
    opset = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    sess = session(path)

    meta = {
        "family": family,
        "exporter": "torchscript" if exporter == "ts" else "dynamo",
        "opset": opset.get("ai.onnx"),
        "opset_imports": opset,
        "ir_version": m.ir_version,
        "producer": f"{m.producer_name} {m.producer_version}",
        "versions": vers,
        "export_settings": (
            {"dynamo": False, "opset_version": TS_OPSET, "do_constant_folding": True, "dynamic_axes": fam["ts_axes"]}
            if exporter == "ts" else
            {"dynamo": True, "opset_version": "default", "optimize": True, "external_data": False,
             "dynamic_shapes": {k: {str(a): (v.__name__ if hasattr(v, "__name__") else str(v)) for a, v in ax.items()}
                                for k, ax in fam["dy_shapes"]().items()}}),
        "attn_implementation": fam.get("attn"),
        "inputs": io["inputs"],
        "outputs": io["outputs"],
        "dynamic_axes": dyn,
        "static_axes": fam.get(f"{exporter}_static_axes", fam.get("static_axes", {})),
        "checker": checked,
        "node_count": len(m.graph.node),
        "initializer_count": len(m.graph.initializer),
        "op_counts": ops,
        "ort": {"providers": ["CPUExecutionProvider"], "graph_optimization_level": "ORT_ENABLE_ALL (default)",
                "intra_op_num_threads": 1},
        "state_dict": "state_dict.safetensors",
        "cases": [],
        "notes": list(fam.get("notes", [])) + list(fam.get(f"{exporter}_notes", [])),
    }
    for i, c in enumerate(fam.get(f"{exporter}_cases", fam["cases"])):
        ins = fam["inputs"](c, i)
        outs = run_ort(sess, ins)
        tref = run_torch(fam["model"], ins, fam["outputs"])
        safetensors.numpy.save_file({k: v.numpy() for k, v in ins.items()}, os.path.join(tmp, f"case{i}.in.safetensors"))
        safetensors.numpy.save_file(outs, os.path.join(tmp, f"case{i}.out.safetensors"))
        meta["cases"].append({
            "name": f"case{i}",
            "export_time_size": i == 0,
            "dims": c,
            "input_shapes": {k: list(v.shape) for k, v in ins.items()},
            "output_shapes": {k: list(v.shape) for k, v in outs.items()},
            "ort_vs_torch_max_abs_diff": {k: max_abs(outs[k], tref[k]) for k in outs},
            "ref_max_abs": {k: float(np.abs(v).max()) if v.size else 0.0 for k, v in outs.items()},
        })
    meta["ort_vs_torch_max_abs_diff_case0"] = meta["cases"][0]["ort_vs_torch_max_abs_diff"]
    tied = save_state_dict(fam["model"], os.path.join(tmp, "state_dict.safetensors"))
    meta["initializers_vs_state_dict"] = compare_initializers(m, os.path.join(tmp, "state_dict.safetensors"))
    gmeta = {p.key: p.value for p in m.graph.metadata_props}
    if "pkg.torch.export.ExportedProgram.range_constraints" in gmeta:
        meta["dynamo_range_constraints"] = gmeta["pkg.torch.export.ExportedProgram.range_constraints"]
    meta["state_dict_policy"] = ("every key of model.state_dict() (tied duplicates kept as separate copies; "
                                 "non-persistent buffers are not in it)")
    meta["state_dict_tied"] = tied
    if fam.get("causal"):
        greedy(family, fam, tmp, sess, meta)
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    meta["_export_seconds"] = export_s  # printed, not written (keeps regeneration byte-identical)
    return d, meta


def dir_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def short_error(e):
    msg = f"{type(e).__name__}: {e}"
    lines = [l for l in msg.splitlines() if l.strip()]
    return "\n".join(lines[:12])[:2500]


# --------------------------------------------------------------------------------------------------------
# Probes: exports that are expected to fail or to be wrong; recorded verbatim in index.json / README.
# --------------------------------------------------------------------------------------------------------


def probe_conformer_ts_dynamic_time():
    """The stock Conformer through TorchScript with time declared dynamic: exports, runs at the export-time T,
    fails at any other T."""
    fam = fam_conformer()
    fam = dict(fam, ts_axes=_conformer_parts()["ts_axes"])
    fam.pop("ts_cases")
    with tempfile.TemporaryDirectory() as td:
        path = os.path.join(td, "model.onnx")
        try:
            export(fam, "ts", path)
        except Exception as e:
            return {"export": "failed", "error": short_error(e)}
        sess = session(path)
        res = {"export": "ok", "dynamic_axes": fam["ts_axes"], "cases": {}}
        for i, c in enumerate(fam["cases"]):
            ins = fam["inputs"](c, i)
            try:
                outs = run_ort(sess, ins)
                tref = run_torch(fam["model"], ins, fam["outputs"])
                res["cases"][f"case{i} {c}"] = {"ort_vs_torch_max_abs_diff": {k: max_abs(outs[k], tref[k])
                                                                              for k in outs}}
            except Exception as e:
                res["cases"][f"case{i} {c}"] = "ORT failed: " + short_error(e)
        return res


PROBES = {"conformer": [("conformer_ts with time dynamic (stock torchaudio Conformer)",
                         probe_conformer_ts_dynamic_time)]}


# --------------------------------------------------------------------------------------------------------


def render_readme(index):
    v = index["versions"]
    L = []
    A = L.append
    A("# tests/models — PyTorch-exported ONNX fixtures")
    A("")
    A("Real `torch.onnx.export` outputs (both exporters) of small models, with inputs and ONNX Runtime reference")
    A("outputs. **Generated — do not edit by hand**: this file, `index.json` and every fixture directory are written by")
    A("`generate.py`.")
    A("")
    A("## Regenerate")
    A("")
    A("```")
    A("python3 -m venv .venv")
    A(".venv/bin/pip install torch==2.11.* torchaudio==2.11.* transformers==5.17.* onnx==1.23.* "
      "onnxruntime==1.30.* onnxscript safetensors numpy")
    A(".venv/bin/python tests/models/generate.py            # all families, ~3 min on 2 CPU cores")
    A(".venv/bin/python tests/models/generate.py --only bert,llama")
    A("```")
    A("")
    A("`.venv/bin/python tests/models/verify.py` replays every committed case through ONNX Runtime (DESIGN.md §6 "
      "tolerance) and checks names, shapes and the greedy references, without regenerating anything.")
    A("")
    A("Deterministic on one machine and version set (torch.manual_seed(0) before each model; inputs from numpy")
    A("generators seeded by family and case; ORT single-threaded; two runs give byte-identical trees). The dynamo")
    A("exports embed Python stack traces (file paths and line numbers, generate.py's included) in node metadata,")
    A("so their bytes change with the venv location and with edits to generate.py; the tensors do not.")
    A("")
    A("Versions used: " + ", ".join(f"{k} {v[k]}" for k in v) + " (the PyPI torch wheel is the CUDA build; "
      "everything ran on CPU). Exporters: TorchScript `dynamo=False, opset_version=17`; dynamo `dynamo=True`, "
      "default opset (20), `optimize=True`, saved with `external_data=False`.")
    A("")
    A("## Layout of a fixture `<family>_<ts|dynamo>/`")
    A("")
    A("| file | contents |")
    A("|---|---|")
    A("| `model.onnx` | the export, weights embedded (no external data) |")
    A("| `caseN.in.safetensors` | inputs, tensor names = ONNX graph input names |")
    A("| `caseN.out.safetensors` | ONNX Runtime (CPUExecutionProvider, default optimisation level, 1 thread) outputs, names = graph output names |")
    A("| `state_dict.safetensors` | `model.state_dict()` of the exported module: every key, tied duplicates stored as separate copies (`meta.json: state_dict_tied` lists them) |")
    A("| `meta.json` | family, exporter, opset, versions, inputs/outputs with dims as exported, `dynamic_axes` (name → {axis: symbol}, read back from the ONNX file), `static_axes`, cases with dims, ORT-vs-PyTorch max abs diff per case and output, attn implementation, op counts, notes |")
    A("| `greedy.in/out.safetensors` | causal LMs: prompt + 16 greedy tokens and ORT logits for that sequence (`meta.json: greedy`) |")
    A("")
    A("case0 is the export-time size; case1 and case2 change every dynamic axis (batch 1 and 3, other lengths).")
    A("Padding: attention masks / lengths are right-padded (row 0 full).")
    A("")
    A("## Fixtures")
    A("")
    A("| fixture | exporter | opset | model.onnx | dir | inputs | outputs | attn | max abs ORT−torch (case0) | notes |")
    A("|---|---|---|---|---|---|---|---|---|---|")
    total = 0
    for key in sorted(index["fixtures"]):
        f = index["fixtures"][key]
        total += f["dir_bytes"]

        def fmt(io):
            return "<br>".join(f"`{n}` {d['dtype']} [{', '.join(str(x) for x in d['shape'])}]" for n, d in io.items())

        diff = max(x for c in f["diffs_all_cases"] for x in c.values() if isinstance(x, float))
        d0 = max(x for x in f["diff_case0"].values() if isinstance(x, float))
        A(f"| `{key}` | {f['exporter']} | {f['opset']} | {f['onnx_bytes'] / 1024:.0f} KiB | {f['dir_bytes'] / 1024:.0f} KiB "
          f"| {fmt(f['inputs'])} | {fmt(f['outputs'])} | {f['attn'] or '-'} | {d0:.2e} (all cases {diff:.2e}) "
          f"| {' '.join(f['short_notes'])} |")
    A("")
    A(f"Total size of the fixture directories: {total / 1024 / 1024:.2f} MiB.")
    A("")
    A("## Greedy references (causal LMs)")
    A("")
    A("Batch 1, attention_mask all ones, argmax of the last position, full recompute per step, 16 steps; "
      "`greedy.out.safetensors` holds ORT logits for prompt + tokens.")
    A("")
    A("| fixture | prompt | 16 greedy tokens | ORT loop agrees | model.generate agrees | min top1-top2 logit margin |")
    A("|---|---|---|---|---|---|")
    for key in sorted(index["fixtures"]):
        g = index["fixtures"][key].get("greedy")
        if g:
            A(f"| `{key}` | {g['prompt']} | {g['tokens']} | {g['ort_agrees']} | {g['torch_generate_agrees']} | "
              f"{g['min_top1_top2_margin']:.3f} |")
    A("")
    A("## Exports that failed")
    A("")
    if not index["failures"]:
        A("None.")
    for key in sorted(index["failures"]):
        A(f"### `{key}`")
        A("")
        if index.get("failure_notes", {}).get(key):
            A(index["failure_notes"][key])
            A("")
        A("```")
        A(index["failures"][key])
        A("```")
        A("")
    A("## Probes")
    A("")
    A("Exports in the configuration the task asked for that export but give wrong results, so the fixture uses a "
      "restricted variant. `conformer_ts` with `time` dynamic: the export succeeds, but nn.MultiheadAttention's "
      "`k.view(k.shape[0], bsz * num_heads, head_dim)` is traced with `k.shape[0]` as the constant 20 (and "
      "`int(lengths.max().item())` is baked as 20 too), so ORT fails at any other length (pytorch issues #120075, "
      "#122321; unmerged PR #135691). The committed `conformer_ts` therefore declares time static (20); "
      "`conformer_dynamo` is fully dynamic.")
    A("")
    for key in sorted(index.get("probes", {})):
        A(f"### {key}")
        A("")
        A("```")
        A(json.dumps(index["probes"][key], indent=2))
        A("```")
        A("")
    A("## Observations about the exported graphs")
    A("")
    for line in index.get("observations", []):
        A(f"* {line}")
    A("")
    return "\n".join(L)


OBSERVATIONS = [
    # Verified on the fixtures generated with the versions above; per-fixture details are in meta.json
    # (op_counts, initializers_vs_state_dict, dynamic_axes, dynamo_range_constraints).
    "TorchScript (ts): no NodeProto.metadata_props and no doc_string. Node names are `/<module path, '.' kept "
    "inside names, '/' between modules>/<OpType>[_k]`, e.g. `/encoder/layer.0/attention/self/query/MatMul`, "
    "`/embeddings/LayerNorm/LayerNormalization`, `/0/Gemm` (nn.Sequential index); exporter-made nodes outside "
    "any module have bare names (`Constant_80`); values are `<node name>_output_0`.",
    "ts initializers: parameters used as they are keep their state_dict names (biases, norms, embeddings, Gemm "
    "weights with transB=1 such as `pooler.dense.weight`, GPT-2's Conv1D weights); constant-folded ones are "
    "anonymous `onnx::<consumer op>_<n>`: transposed Linear weights (`onnx::MatMul_317`), BatchNorm-folded conv "
    "weights (`onnx::Conv_32`), weight_norm results (`onnx::Conv_243`, `onnx::ConvTranspose_246`). The consumer "
    "node's name gives the module path.",
    "dynamo: every node carries metadata_props `namespace`, `pkg.torch.onnx.class_hierarchy`, "
    "`pkg.torch.onnx.fx_node`, `pkg.torch.onnx.name_scopes`, `pkg.torch.onnx.stack_trace` (Python reprs, parse "
    "with ast.literal_eval), except a few nodes made by the optimizer (gpt2: `node_Split_301`, `node_Split_307`; "
    "conformer: the `node_Identity_325` passing lengths to output_lengths). Node names: `node_<fx name>` for the "
    "node that produces an FX node's value (`node_linear`, `node_layer_norm`, `node_gelu`, `node_silu`), "
    "`node_<OpType>_<n>` for helper nodes (`node_MatMul_61` is the MatMul half of a linear whose Add is "
    "`node_linear`); values are FX names or `val_<n>`.",
    "dynamo initializers carry NO metadata_props in these versions (no `pkg.torch.onnx.original_node_name`, no "
    "`pkg.onnxscript.optimizer.folded_from`); graph inputs do (`pkg.torch.export.graph_signature.InputSpec.kind` "
    "= USER_INPUT, ...). Graph metadata_props: `pkg.torch.export.ExportedProgram.graph_signature` and "
    "`pkg.torch.export.ExportedProgram.range_constraints` (bert: `{s18: VR[0, int_oo], s41: VR[0, 64]}`, seq "
    "bounded by max_position_embeddings; the ONNX dims use the Dim names, not s18/s41).",
    "dynamo initializer names: parameters used as they are keep state_dict names; transposed Linear weights are "
    "anonymous `val_<n>`; other folded constants are named after their FX node (`new_ones`, `clone_1`, "
    "`expand_1`; hifigan's weight_norm results `mul`, `mul_7`, ...; whisper's sliced positional table "
    "`embedding`); non-persistent buffers appear too (bert: `embeddings.position_ids`, not in the state_dict).",
    "TRAP: the dynamo exporter's optimizer folds BatchNorm into the preceding Conv and KEEPS the conv's state_dict "
    "names with the fused values: conv1d_dynamo `0.weight`, `0.bias`, `3.weight`, `3.bias` and conformer_dynamo "
    "`conformer_layers.N.conv_module.sequential.2.weight/bias` differ from the state_dict tensors of the same "
    "name (meta.json: initializers_vs_state_dict.same_name_different_value). The ts exporter folds BatchNorm too "
    "but names the result anonymously. Neither graph has a BatchNormalization node.",
    "Tied weights: gpt2_dynamo stores the shared embedding once as `lm_head.weight` (used by the token "
    "embedding Gather!) plus a transposed copy `val_291` for the LM head MatMul; gpt2_ts stores it as "
    "`transformer.wte.weight` plus `onnx::MatMul_615`.",
    "Both exporters deduplicate initializers with equal contents: with transformers' zero-initialised Linear "
    "biases, bert_ts kept one zero bias initializer and reached the others through Identity nodes, and "
    "bert_dynamo reused one name for all. generate.py perturbs every bias (perturb_norms) so the fixtures "
    "have one initializer per parameter.",
    "Ops: GELU(erf) is Div/Erf/Add/Mul/Mul in ts (opset 17) and a single `Gelu` in dynamo (opset 20); GPT-2's "
    "gelu_new (tanh) is decomposed by both (Pow, Tanh); SiLU is Sigmoid+Mul in both; nn.LayerNorm is "
    "LayerNormalization in both; LLaMA's RMSNorm (written out in transformers) is Pow/ReduceMean/Add/Sqrt/Div "
    "(ts) or Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul (dynamo); sdpa attention is MatMul/Softmax/MatMul in both "
    "and dynamo's SDPA translation adds IsNaN+Where after the Softmax (NaN rows -> 0). GQA is Expand+Reshape "
    "(repeat_kv). No com.microsoft ops and no opset-23 Attention/RMSNormalization/RotaryEmbedding anywhere. "
    "Linear on 3-D input is MatMul+Add in both; on 2-D input Gemm. The whole causal/padding mask computation "
    "(Range, LessOrEqual/GreaterOrEqual, And, GatherND, Where, ...) is in the graph.",
    "Dims: ts writes the dynamic_axes names verbatim, including names given for derived output dims (conv1d "
    "`time_out`, hifigan `samples`); dynamo names input dims after the torch.export.Dim names and writes derived "
    "output dims as expressions: `(((time - 1)//2)) + 1` (conv1d), `4*time` (hifigan), `((samples//16)) + 1` "
    "(logmel). Sharing one Dim between inputs makes the dynamo exporter warn 'The axis name: batch will not be "
    "used, since it shares the same shape constraints with another axis: batch.' but the names are applied.",
    "logmel_dynamo: torchaudio's spectrogram becomes Pad(reflect) -> STFT (onesided, window initializer) -> "
    "ReduceL2 over the real/imag axis -> Pow 2 -> MatMul with the mel filterbank.",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma-separated families (default: all)")
    ap.add_argument("--out", default=HERE, help="output root (default: tests/models)")
    ap.add_argument("--no-probes", action="store_true", help="skip the probe exports of unmodified modules")
    args = ap.parse_args()
    fams = [f for f in args.only.split(",") if f] or list(FAMILIES)
    for f in fams:
        if f not in FAMILIES:
            sys.exit(f"unknown family {f}; known: {', '.join(FAMILIES)}")
    torch.set_num_threads(1)
    vers = versions()
    idx_path = os.path.join(args.out, "index.json")
    index = {"fixtures": {}, "failures": {}, "probes": {}}
    if os.path.exists(idx_path):
        with open(idx_path) as f:
            index = json.load(f)
    index["versions"] = vers
    index["observations"] = OBSERVATIONS
    for family in fams:
        fam = FAMILIES[family]()
        for exporter in ("ts", "dynamo"):
            key = f"{family}_{exporter}"
            index["fixtures"].pop(key, None)
            index["failures"].pop(key, None)
            if exporter not in fam.get("exporters", ("ts", "dynamo")):
                continue
            t0 = time.time()
            try:
                d, meta = build_fixture(family, fam, exporter, args.out, vers)
            except Exception as e:
                shutil.rmtree(os.path.join(args.out, key + ".tmp"), ignore_errors=True)
                shutil.rmtree(os.path.join(args.out, key), ignore_errors=True)
                index["failures"][key] = short_error(e)
                index.setdefault("failure_notes", {})[key] = fam.get("fail_explain", {}).get(exporter, "")
                tag = "expected failure" if exporter in fam.get("expect_fail", ()) else "FAILED"
                print(f"{key}: {tag}: {short_error(e).splitlines()[0][:200]}", flush=True)
                if exporter not in fam.get("expect_fail", ()):
                    traceback.print_exc()
                continue
            index["fixtures"][key] = {
                "exporter": meta["exporter"],
                "opset": meta["opset"],
                "onnx_bytes": os.path.getsize(os.path.join(d, "model.onnx")),
                "dir_bytes": dir_size(d),
                "inputs": meta["inputs"],
                "outputs": meta["outputs"],
                "attn": meta["attn_implementation"],
                "diff_case0": meta["ort_vs_torch_max_abs_diff_case0"],
                "greedy": ({k: meta["greedy"][k] for k in ("prompt", "tokens", "ort_agrees", "torch_generate_agrees",
                                                           "min_top1_top2_margin")} if "greedy" in meta else None),
                "initializers_same_name_different_value":
                    meta["initializers_vs_state_dict"]["same_name_different_value"],
                "diffs_all_cases": [c["ort_vs_torch_max_abs_diff"] for c in meta["cases"]],
                "short_notes": [fam.get("short", "")] + ([fam[f"{exporter}_short"]] if f"{exporter}_short" in fam else [])
                + ([f"static: {json.dumps(meta['static_axes'])}."] if meta["static_axes"] else [])
                + ([f"greedy tokens ORT==torch: {meta['greedy']['ort_agrees']}, generate()==loop: "
                    f"{meta['greedy']['torch_generate_agrees']}."] if "greedy" in meta else []),
            }
            print(f"{key}: ok (export {meta['_export_seconds']:.1f}s, total {time.time() - t0:.1f}s, {index['fixtures'][key]['onnx_bytes']} B onnx, "
                  f"diff case0 {meta['ort_vs_torch_max_abs_diff_case0']}, checker: {meta['checker'][:60]})", flush=True)
    index["probes"] = {k: v for k, v in index.get("probes", {}).items()
                       if not any(k == name for f in fams for name, _ in PROBES.get(f, []))}
    for f in fams:
        for name, fn in PROBES.get(f, []) if not args.no_probes else []:
            res = fn()
            index["probes"][name] = res
            print(f"probe {name}: {json.dumps(res)[:300]}", flush=True)
    index["fixtures"] = dict(sorted(index["fixtures"].items()))
    with open(idx_path, "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(render_readme(index))


if __name__ == "__main__":
    main()
