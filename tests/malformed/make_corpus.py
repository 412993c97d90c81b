#!/usr/bin/env python3
"""tests/malformed/make_corpus.py — writes the broken .onnx files of tests/malformed/corpus and expect.txt.

Each case is a model broken in one way (at the wire level, in its structure, or in what it refers to), with
the exit code and a substring of the one diagnostic line `ml2candle inspect` must print for it.  The files are
committed: CI does not run this script (it needs the `onnx` package); rerun it when adding a case, then
`bash tests/malformed/run.sh build/ml2candle`.

    python3 tests/malformed/make_corpus.py
"""
import os
import random
import shutil

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
F, I64 = TensorProto.FLOAT, TensorProto.INT64
cases = []   # (file, exit code, substring)


# --- protobuf wire encoding, for what the onnx package refuses to write ---------------------------------
def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def tag(num, wt):
    return varint(num << 3 | wt)


def ld(num, payload):
    """a length-delimited field"""
    return tag(num, 2) + varint(len(payload)) + payload


# --- building ---------------------------------------------------------------------------------------------
def model(nodes, inputs, outputs, inits=(), opset=17, extra_opsets=(), **graph_kw):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits), **graph_kw)
    ops = [helper.make_opsetid("", opset)] if opset else []
    ops += [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=ops, producer_name="make_corpus")
    m.ir_version = 8
    return m


def vi(name, shape=(4,), dtype=F):
    return helper.make_tensor_value_info(name, dtype, list(shape) if shape is not None else None)


def tensor(name, dtype, dims, raw=None, **fields):
    """A TensorProto written field by field: no consistency checks, so it can be wrong on purpose."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    for k, v in fields.items():
        getattr(t, k).extend(v)
    return t


def relu_model(**kw):
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")], **kw)


def add(name, data, code, substring):
    if isinstance(data, onnx.ModelProto):
        data = data.SerializeToString()
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(data)
    cases.append((name, code, substring))


def uses_w(w, **kw):
    """x + w, w an initializer"""
    return model([helper.make_node("Add", ["x", w.name], ["y"], name="add")], [vi("x")], [vi("y")], inits=[w], **kw)


def ext_tensor(location, offset=None, length=None, n=4):
    t = tensor("w", F, [n])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    rng = random.Random(20240601)

    # --- not a model at all ---
    add("empty.onnx", b"", 1, "empty file: not an ONNX model")
    add("random_bytes.onnx", bytes(rng.randrange(256) for _ in range(4096)), 1, "not a valid ONNX model")
    add("text_file.onnx", b"this is not a model\n", 1, "not a valid ONNX model")

    # --- truncated: a valid model with a 256-byte raw_data, cut at several points ---
    w = tensor("w", F, [64], raw=bytes(range(256)))
    good = uses_w(w, opset=17)
    good.graph.input[0].CopyFrom(vi("x", (64,)))
    blob = good.SerializeToString()
    raw_at = blob.index(bytes(range(256)))
    for label, cut in (("1", 1), ("3", 3), ("half", len(blob) // 2), ("in_raw_data", raw_at + 100),
                       ("at_raw_data", raw_at), ("last_byte", len(blob) - 1)):
        add(f"truncated_{label}.onnx", blob[:cut], 1, "truncated")

    # --- wrong wire types and malformed fields ---
    body = good.SerializeToString()
    add("wire_graph_as_varint.onnx", tag(1, 0) + varint(8) + tag(7, 0) + varint(5) + body[2:], 1,
        "ModelProto field 'graph' has the wrong wire type (varint, expected length-delimited)")
    bad_tensor = tag(1, 5) + b"\x04\x00\x00\x00" + tag(2, 0) + varint(F) + ld(8, b"w") + tag(4, 5) + b"\0\0\0\0"
    graph = (ld(1, helper.make_node("Add", ["x", "w"], ["y"], name="add").SerializeToString()) + ld(5, bad_tensor)
             + ld(11, vi("x", (1,)).SerializeToString()) + ld(12, vi("y", (1,)).SerializeToString()))
    opset = ld(8, helper.make_opsetid("", 17).SerializeToString())
    add("wire_dims_as_fixed32.onnx", tag(1, 0) + varint(8) + opset + ld(7, graph), 1,
        "TensorProto field 'dims' has the wrong wire type (32-bit, expected varint)")
    add("wire_group.onnx", tag(1, 0) + varint(8) + tag(3, 3) + body, 1, "wire type group start, which ONNX never uses")
    add("wire_type_7.onnx", tag(1, 0) + varint(8) + tag(9, 7) + body, 1, "wire type invalid (7)")
    add("wire_long_varint.onnx", b"\x08" + b"\xff" * 11 + body, 1, "truncated varint in ModelProto field 1")
    add("wire_field_zero.onnx", tag(0, 0) + varint(1) + body, 1, "invalid field number in ModelProto")
    add("wire_length_past_end.onnx", tag(1, 0) + varint(8) + tag(7, 2) + varint(1 << 40) + body, 1,
        "claims 1099511627776 bytes, past the end")
    # our private raw_data reference (field 1000000) in an input model: stripped, never trusted
    fake_ref = tensor("w", F, [4]).SerializeToString() + tag(1000000, 0) + varint(7)
    graph = (ld(1, helper.make_node("Add", ["x", "w"], ["y"], name="add").SerializeToString()) + ld(5, fake_ref)
             + ld(11, vi("x").SerializeToString()) + ld(12, vi("y").SerializeToString()))
    add("private_raw_ref.onnx", tag(1, 0) + varint(8) + opset + ld(7, graph), 1,
        "initializer 'w': tensor of 4 elements has no data")

    # --- bounded recursion: deeply nested messages ---
    t = ld(1, tag(1, 0) + varint(F))   # TypeProto{tensor_type{elem_type}}
    for _ in range(2000):
        t = ld(4, ld(1, t))            # TypeProto{sequence_type{elem_type: t}}
    deep_in = ld(1, b"x") + ld(2, t)
    graph = ld(1, helper.make_node("Relu", ["x"], ["y"]).SerializeToString()) + ld(11, deep_in) + ld(
        12, vi("y").SerializeToString())
    add("nested_sequence_types.onnx", tag(1, 0) + varint(8) + opset + ld(7, graph), 1, "nested too deeply")
    # If nodes nested in then_branch 40 deep (the onnx package itself refuses to build this)
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "leaf", [vi("x")], [vi("y")]).SerializeToString()
    for i in range(40):
        attr = ld(1, b"then_branch") + tag(20, 0) + varint(onnx.AttributeProto.GRAPH) + ld(6, g)
        node = ld(1, b"c") + ld(2, b"y") + ld(3, f"if{i}".encode()) + ld(4, b"If") + ld(5, attr)
        g = ld(1, node) + ld(2, f"g{i}".encode())
    g += ld(11, vi("c", (), TensorProto.BOOL).SerializeToString()) + ld(12, vi("y").SerializeToString())
    add("nested_subgraphs.onnx", tag(1, 0) + varint(8) + opset + ld(7, g), 1, "nested too deeply")

    # --- the model's header ---
    m = relu_model()
    m.ClearField("graph")
    add("no_graph.onnx", m, 1, "the model has no graph")
    add("no_opset_import.onnx", relu_model(opset=0), 1, "the model imports no opset of the default ONNX domain")
    add("opset_too_new.onnx", relu_model(opset=29), 1, "ONNX opset 29 is not supported")
    # opsets 1-6 are read, but not the forms whose meaning changed in 7
    add("legacy_broadcast_axis.onnx",
        model([helper.make_node("Add", ["x", "b"], ["y"], name="add", broadcast=1, axis=0)], [vi("x", (4, 2)), vi("b")],
              [vi("y", (4, 2))], opset=6), 1, "broadcasting along 'axis' (before opset 7) is not supported")
    add("opset_twice.onnx", relu_model(extra_opsets=[("ai.onnx", 18)]), 1, "opset_import lists domain '' twice")
    add("opset_flood.onnx", relu_model(extra_opsets=[(f"d{i}", 1) for i in range(1100)]), 1,
        "opset_import lists 1101 domains")

    # --- tensors ---
    add("unknown_dtype.onnx", uses_w(tensor("w", 99, [4], raw=b"\0" * 16)), 1, "initializer 'w': unknown tensor data type 99")
    add("float8_initializer.onnx", uses_w(tensor("w", TensorProto.FLOAT8E4M3FN, [4], raw=b"\0" * 4)), 1,
        "tensors of type FLOAT8E4M3FN are not supported")
    add("string_initializer.onnx", uses_w(tensor("w", TensorProto.STRING, [1], string_data=[b"a"])), 1,
        "tensors of type STRING are not supported")
    add("no_dtype.onnx", uses_w(tensor("w", 0, [4], raw=b"\0" * 16)), 1, "initializer 'w': tensor has no data type")
    add("negative_dim_initializer.onnx", uses_w(tensor("w", F, [-2, 2], raw=b"")), 1, "initializer 'w': invalid dim -2")
    add("absurd_dim_initializer.onnx", uses_w(tensor("w", F, [1 << 50], raw=b"")), 1,
        "initializer 'w': invalid dim 1125899906842624")
    add("huge_numel_initializer.onnx", uses_w(tensor("w", F, [1 << 40, 1 << 10], raw=b"")), 1,
        "the shape has more than 2^46 elements")
    add("huge_shape_no_data.onnx", uses_w(tensor("w", TensorProto.DOUBLE, [1 << 30, 1 << 10])), 1,
        "initializer 'w': tensor of 1099511627776 elements has no data")
    add("rank_17_initializer.onnx", uses_w(tensor("w", F, [1] * 17, raw=b"\0" * 4)), 1, "rank 17 is above the supported 16")
    add("raw_size_mismatch.onnx", uses_w(tensor("w", F, [4], raw=b"\0" * 100)), 1,
        "raw_data has 100 bytes, but FLOAT with 4 elements needs 16")
    add("typed_count_mismatch.onnx", uses_w(tensor("w", F, [3], float_data=[1.0, 2.0])), 1,
        "float_data has 2 values for 3 elements")
    seg = tensor("w", F, [4], float_data=[1, 2, 3, 4])
    seg.segment.begin, seg.segment.end = 0, 4
    add("segment_tensor.onnx", uses_w(seg), 1, "segmented tensors (TensorProto.segment) are not supported")
    nameless = tensor("", F, [4], float_data=[1, 2, 3, 4])
    add("initializer_no_name.onnx", relu_model(inits=[nameless]), 1, "initializer #0 has no name")
    w1 = tensor("w", F, [4], float_data=[1, 2, 3, 4])
    m = uses_w(w1)
    m.graph.initializer.append(w1)
    add("initializer_twice.onnx", m, 1, "initializer 'w' is defined twice")
    sp = helper.make_sparse_tensor(tensor("w", F, [1], float_data=[1]), tensor("", I64, [1], int64_data=[9]), [4])
    m = relu_model()
    m.graph.sparse_initializer.append(sp)
    add("sparse_index_out_of_range.onnx", m, 1, "initializer 'w': sparse index out of range")
    sp = helper.make_sparse_tensor(tensor("w", F, [1], float_data=[1]), tensor("", I64, [1], int64_data=[0]),
                                   [1 << 20, 1 << 20])
    m = relu_model()
    m.graph.sparse_initializer.append(sp)
    add("sparse_too_large.onnx", m, 1, "sparse tensor too large to densify")
    m = relu_model()   # 64 MiB each: the fifth goes over the budget for the whole model
    for i in range(8):
        m.graph.sparse_initializer.append(helper.make_sparse_tensor(
            tensor(f"w{i}", F, [1], float_data=[1]), tensor("", I64, [1], int64_data=[0]), [1 << 24]))
    add("sparse_many.onnx", m, 1, "initializer 'w4': sparse tensor too large to densify")

    # --- external data (short_external.bin is the one side file: 8 bytes) ---
    with open(os.path.join(CORPUS, "short_external.bin"), "wb") as f:
        f.write(b"\0" * 8)
    add("ext_dotdot.onnx", uses_w(ext_tensor("../weights.bin")), 1, "leaves the model's folder")
    add("ext_dotdot_inner.onnx", uses_w(ext_tensor("a/../../weights.bin")), 1, "leaves the model's folder")
    add("ext_absolute.onnx", uses_w(ext_tensor("/etc/hostname")), 1, "must be a relative path inside the model's folder")
    add("ext_missing.onnx", uses_w(ext_tensor("no_such_file.bin")), 3, "not found")
    add("ext_short.onnx", uses_w(ext_tensor("short_external.bin")), 3,
        "external data needs bytes [0, 16) of 'short_external.bin', which has only 8 bytes")
    add("ext_offset_past_end.onnx", uses_w(ext_tensor("short_external.bin", offset=1 << 62)), 3, "which has only 8 bytes")
    add("ext_length_mismatch.onnx", uses_w(ext_tensor("short_external.bin", length=8)), 1,
        "external data length 8 does not match the 16 bytes")
    add("ext_bad_offset.onnx", uses_w(ext_tensor("short_external.bin", offset="-1")), 1,
        "external data offset '-1' is not a byte count")
    no_loc = ext_tensor("x")
    del no_loc.external_data[:]
    add("ext_no_location.onnx", uses_w(no_loc), 1, "external data without a 'location'")

    # --- graph interface ---
    add("negative_dim_input.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", (2, -5))], [vi("y")]), 1,
        "graph input 'x' has an invalid dim -5 at axis 1")
    add("absurd_dim_input.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", (1 << 50,))], [vi("y")]),
        1, "graph input 'x' has an invalid dim 1125899906842624 at axis 0")
    add("input_unknown_elem_type.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", (4,), 99)], [vi("y")]),
        1, "graph input 'x' has unknown element type 99")
    seq_in = helper.make_tensor_sequence_value_info("x", F, [4])
    add("input_sequence_type.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [seq_in], [vi("y")]), 1,
        "graph input 'x' has a sequence type; only tensors are supported")
    add("input_rank_17.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", (1,) * 17)], [vi("y")]), 1,
        "graph input 'x' has rank 17, above the supported 16")
    add("input_listed_twice.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x"), vi("x")], [vi("y")]), 1,
        "graph input 'x' is listed twice")
    add("input_no_name.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x"), vi("")], [vi("y")]), 1,
        "graph input #1 has no name")
    add("no_outputs.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], []), 1, "the graph has no outputs")
    add("missing_graph_output.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("nope")]), 1,
        "graph output 'nope' is not produced by any node")
    add("duplicate_graph_output.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y"), vi("y")]),
        1, "graph output 'y' is listed twice")

    # --- nodes and values ---
    add("dangling_input.onnx",
        model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add_dangling")], [vi("x")], [vi("y")]), 1,
        "node 'add_dangling' (Add): input 'nowhere' is not produced by any node")
    add("cycle.onnx", model([helper.make_node("Add", ["x", "b"], ["a"], name="cyc_a"),
                             helper.make_node("Relu", ["a"], ["b"], name="cyc_b")], [vi("x")], [vi("a")]), 1,
        "the graph has a cycle: 'cyc_a' (Add) -> 'cyc_b' (Relu) -> 'cyc_a'")
    add("self_loop.onnx", model([helper.make_node("Relu", ["y"], ["y"], name="loop")], [vi("x")], [vi("y")]), 1,
        "the graph has a cycle: 'loop' (Relu) -> 'loop'")
    add("duplicate_node_output.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="first"),
                                             helper.make_node("Sigmoid", ["x"], ["y"], name="second")],
                                            [vi("x")], [vi("y")]), 1,
        "node 'second' (Sigmoid): output 'y' is already defined (by another node)")
    add("duplicate_output_in_node.onnx",
        model([helper.make_node("Split", ["x"], ["y", "y"], name="split", num_outputs=2)], [vi("x")], [vi("y")], opset=18),
        1, "node 'split' (Split): output 'y' is listed twice")
    add("output_shadows_input.onnx", model([helper.make_node("Relu", ["x"], ["x"], name="r")], [vi("x")], [vi("x")]), 1,
        "node 'r' (Relu): output 'x' is already defined (a graph input)")
    add("output_shadows_initializer.onnx",
        model([helper.make_node("Relu", ["x"], ["w"], name="r")], [vi("x")], [vi("w")],
              inits=[tensor("w", F, [4], float_data=[1, 2, 3, 4])]), 1,
        "node 'r' (Relu): output 'w' is already defined (an initializer)")
    n = helper.make_node("Relu", ["x"], ["y"], name="no_op")
    n.ClearField("op_type")
    add("no_op_type.onnx", model([n, helper.make_node("Relu", ["y"], ["z"], name="next")], [vi("x")], [vi("z")]), 1,
        "node 'no_op' (?): node has no op_type")
    add("domain_not_imported.onnx",
        model([helper.make_node("Frob", ["x"], ["y"], name="frob", domain="com.example")], [vi("x")], [vi("y")]), 1,
        "node 'frob' (Frob): op Frob is in domain 'com.example', which the model does not import")
    add("unsupported_op.onnx",
        model([helper.make_node("FooBar", ["x"], ["y"], name="foo")], [vi("x")], [vi("y")]), 1,
        "node 'foo' (FooBar): unsupported op FooBar (domain '', opset 17)")
    add("gelu_opset17.onnx", model([helper.make_node("Gelu", ["x"], ["y"], name="gelu")], [vi("x")], [vi("y")]), 1,
        "node 'gelu' (Gelu): Gelu needs opset 20 of domain '' or later; the model imports opset 17")
    add("wrong_input_count.onnx",
        model([helper.make_node("Add", ["x", "x", "x"], ["y"], name="add3")], [vi("x")], [vi("y")]), 1,
        "node 'add3' (Add): Add takes 2 to 2 inputs, has 3")
    leaf = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "leaf", [], [vi("y")])
    add("if_subgraph.onnx",
        model([helper.make_node("If", ["c"], ["y"], name="if", then_branch=leaf, else_branch=leaf)],
              [vi("c", (), TensorProto.BOOL)], [vi("y")]), 1,
        "node 'if' (If): attribute 'else_branch' is a subgraph; control flow (If/Loop/Scan) is not supported")
    m = model([helper.make_node("MyFunc", ["x"], ["y"], name="call", domain="local")], [vi("x")], [vi("y")],
              extra_opsets=[("local", 1)])
    m.functions.append(helper.make_function("local", "MyFunc", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                            [helper.make_opsetid("", 17)]))
    add("model_function.onnx", m, 1, "node 'call' (MyFunc): op MyFunc is a model-local function")
    add("constant_no_attr.onnx", model([helper.make_node("Constant", [], ["y"], name="c")], [], [vi("y")]), 1,
        "node 'c' (Constant): Constant needs exactly one attribute, has 0")
    add("constant_string.onnx",
        model([helper.make_node("Constant", [], ["y"], name="c", value_string="hi")], [], [vi("y")]), 1,
        "node 'c' (Constant): string constants are not supported")
    add("constant_two_outputs.onnx",
        model([helper.make_node("Constant", [], ["y", "z"], name="c", value_float=1.0)], [], [vi("y")]), 1,
        "node 'c' (Constant): Constant needs exactly one output")
    n = helper.make_node("Relu", ["x"], ["y"], name="r")
    a = n.attribute.add()
    a.ref_attr_name, a.name, a.type = "alpha", "alpha", onnx.AttributeProto.FLOAT
    add("attribute_ref.onnx", model([n], [vi("x")], [vi("y")]), 1,
        "node 'r' (Relu): attribute 'alpha' refers to a function attribute ('alpha')")
    n = helper.make_node("Relu", ["x"], ["y"], name="r")
    a = n.attribute.add()
    a.type, a.i = onnx.AttributeProto.INT, 1
    add("attribute_no_name.onnx", model([n], [vi("x")], [vi("y")]), 1, "node 'r' (Relu): attribute without a name")
    n = helper.make_node("Relu", ["x"], ["y"], name="r", **{f"a{i}": i for i in range(300)})
    add("too_many_attributes.onnx", model([n], [vi("x")], [vi("y")]), 1,
        "node 'r' (Relu): node has 300 attributes, more than the 256 an op can have")

    add("unsqueeze11_no_axes.onnx",
        model([helper.make_node("Unsqueeze", ["x"], ["y"], name="unsq")], [vi("x")], [vi("y", None)], opset=11), 1,
        "node 'unsq' (Unsqueeze): Unsqueeze needs axes (input 1 from opset 13, the attribute 'axes' before)")
    add("unsqueeze13_no_axes.onnx",
        model([helper.make_node("Unsqueeze", ["x", ""], ["y"], name="unsq")], [vi("x")], [vi("y", None)], opset=13), 1,
        "node 'unsq' (Unsqueeze): Unsqueeze needs axes")

    # --- caught by shape inference ---
    shape = tensor("shape", I64, [2], int64_data=[-1, -1])
    add("reshape_two_minus_one.onnx",
        model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")], [vi("x", (2, 3))],
              [vi("y", None)], inits=[shape]), 1, "more than one -1 in the target shape")

    with open(os.path.join(HERE, "expect.txt"), "w") as f:
        f.write("# tests/malformed/expect.txt — written by make_corpus.py; one case per line:\n"
                "# <file in corpus/> <exit code> <substring of the one diagnostic line>\n")
        for name, code, sub in cases:
            f.write(f"{name} {code} {sub}\n")
    print(f"{len(cases)} cases in {CORPUS}")


if __name__ == "__main__":
    main()
