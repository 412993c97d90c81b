#!/usr/bin/env python3
"""Rewrite the two things of the BERT-base TorchScript export that candle-onnx 0.11's simple_eval cannot run.

    python3 bench/onnx_for_candle_onnx.py IN.onnx OUT.onnx

1. LayerNormalization (opset 17; candle-onnx 0.11 has no such op) becomes the chain the TorchScript exporter
   writes below opset 17:  d = x - ReduceMean(x);  y = d / Sqrt(ReduceMean(d * d) + eps) * w + b.
2. Gather with indices of rank > 2 (candle-onnx: "todo!: implement gather"; transformers' mask builder has
   one) becomes Reshape(Gather(data, Reshape(indices, [-1])), data.shape[:axis] ++ indices.shape ++
   data.shape[axis+1:]).
Same graph and weights otherwise. bench/bench_bert_cpu.sh feeds candle-onnx this copy. (The dynamo export
also has Max and GatherND, which candle-onnx 0.11 lacks; it is not rewritten.)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference


def rank_of(m):
    """value name -> rank, where shape inference knows it."""
    inferred = shape_inference.infer_shapes(m)
    ranks = {i.name: len(i.dims) for i in m.graph.initializer}
    for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if v.type.tensor_type.HasField("shape"):
            ranks[v.name] = len(v.type.tensor_type.shape.dim)
    return ranks


def split_gather(node, g, tag):
    """Gather(data, indices of rank > 2) as a Gather over the flattened indices and a Reshape."""
    axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 0)
    if axis < 0:
        sys.exit(f"{node.name}: negative Gather axis not handled")
    data, idx = node.input
    p = f"{node.name or 'gather'}_flat{tag}"
    for name, value in ((f"{p}_m1", [-1]), (f"{p}_0", [0]), (f"{p}_ax", [axis]), (f"{p}_ax1", [axis + 1]),
                        (f"{p}_end", [2**62])):
        g.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    return [
        helper.make_node("Reshape", [idx, f"{p}_m1"], [f"{p}_idx"]),
        helper.make_node("Gather", [data, f"{p}_idx"], [f"{p}_g"], axis=axis),
        helper.make_node("Shape", [data], [f"{p}_ds"]),
        helper.make_node("Shape", [idx], [f"{p}_is"]),
        helper.make_node("Slice", [f"{p}_ds", f"{p}_0", f"{p}_ax"], [f"{p}_pre"]),
        helper.make_node("Slice", [f"{p}_ds", f"{p}_ax1", f"{p}_end"], [f"{p}_post"]),
        helper.make_node("Concat", [f"{p}_pre", f"{p}_is", f"{p}_post"], [f"{p}_shape"], axis=0),
        helper.make_node("Reshape", [f"{p}_g", f"{p}_shape"], [node.output[0]]),
    ]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    m = onnx.load(src)
    g = m.graph
    # ReduceMean takes its axes as an input from opset 18, as an attribute before
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    ranks = rank_of(m)
    nodes = []
    n_ln = n_gather = 0
    for node in g.node:
        if node.op_type == "Gather" and ranks.get(node.input[1], 3) > 2:
            nodes.extend(split_gather(node, g, n_gather))
            n_gather += 1
            continue
        if node.op_type != "LayerNormalization" or node.domain not in ("", "ai.onnx"):
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("axis", -1) != -1 or len(node.output) != 1:
            sys.exit(f"{node.name}: only axis -1 with one output is handled")
        x, w = node.input[0], node.input[1]
        b = node.input[2] if len(node.input) > 2 and node.input[2] else None
        p = f"{node.name or 'ln'}_dec{n_ln}"
        eps = f"{p}_eps"
        g.initializer.append(numpy_helper.from_array(np.array(attrs.get("epsilon", 1e-5), np.float32), eps))
        if opset >= 18:
            axes = f"{p}_axes"
            g.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), axes))

            def mean(i, o):
                return helper.make_node("ReduceMean", [i, axes], [o], keepdims=1)
        else:
            def mean(i, o):
                return helper.make_node("ReduceMean", [i], [o], axes=[-1], keepdims=1)
        y = node.output[0]
        chain = [
            mean(x, f"{p}_mean"),
            helper.make_node("Sub", [x, f"{p}_mean"], [f"{p}_d"]),
            helper.make_node("Mul", [f"{p}_d", f"{p}_d"], [f"{p}_d2"]),
            mean(f"{p}_d2", f"{p}_var"),
            helper.make_node("Add", [f"{p}_var", eps], [f"{p}_vareps"]),
            helper.make_node("Sqrt", [f"{p}_vareps"], [f"{p}_std"]),
            helper.make_node("Div", [f"{p}_d", f"{p}_std"], [f"{p}_n"]),
            helper.make_node("Mul", [f"{p}_n", w], [f"{p}_nw" if b else y]),
        ]
        if b:
            chain.append(helper.make_node("Add", [f"{p}_nw", b], [y]))
        nodes.extend(chain)
        n_ln += 1
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, dst)
    print(f"{dst}: {n_ln} LayerNormalization decomposed, {n_gather} Gather split (opset {opset})")


if __name__ == "__main__":
    main()
