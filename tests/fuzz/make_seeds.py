#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py — writes the fuzzer's seed corpus, tests/fuzz/corpus (committed; CI does not run this).

The seeds are small valid models the fuzzer mutates from: the ones tests/unit/test_import.c builds (it writes
copies when M2C_IMPORT_SEEDS names a folder), a few tests/malformed files, the exported fixtures of tests/models
that are small (at most 10, each under 100 KB, weights inline), and three models made here with the `onnx`
package whose shape arithmetic keeps the passes busy (the exporters' Shape/Gather/Concat/Reshape idioms, an
attention block, a small conv net).

    python3 tests/fuzz/make_seeds.py build/tests/test_import
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
FROM_UNIT_TEST = ["raw.onnx", "typed.onnx", "interface.onnx", "constants.onnx", "scopes.onnx", "up13.onnx",
                  "up11.onnx", "up9.onnx", "ai_onnx.onnx", "cycle.onnx", "if.onnx", "function.onnx"]
FROM_MALFORMED = ["truncated_in_raw_data.onnx", "wire_dims_as_fixed32.onnx", "nested_subgraphs.onnx",
                  "sparse_index_out_of_range.onnx", "reshape_two_minus_one.onnx", "private_raw_ref.onnx"]
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def save(m, name):
    m.ir_version = 8
    onnx.checker.check_model(m)
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(m.SerializeToString())


def attention():
    """(batch, seq, 16) -> 2 heads of 8, the TorchScript exporter's shape idioms, scaled softmax attention."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), n)
             for n in ("wq", "wk", "wv")]
    inits += [const("i0", [0]), const("i1", [1]), const("heads", [2]), const("hd", [8]), const("m1", [-1]),
              const("ax0", [0]), numpy_helper.from_array(np.array(8 ** -0.5, dtype=np.float32), "scale")]
    nodes = [helper.make_node("Shape", ["x"], ["shp"], name="/attn/Shape"),
             helper.make_node("Gather", ["shp", "i0"], ["b"], name="/attn/Gather", axis=0),
             helper.make_node("Gather", ["shp", "i1"], ["t"], name="/attn/Gather_1", axis=0),
             helper.make_node("Concat", ["b", "t", "heads", "hd"], ["split_shape"], name="/attn/Concat", axis=0),
             helper.make_node("Concat", ["b", "t", "m1"], ["merge_shape"], name="/attn/Concat_1", axis=0)]
    for w in ("q", "k", "v"):
        nodes += [helper.make_node("MatMul", ["x", "w" + w], [w + "0"], name=f"/attn/{w}/MatMul"),
                  helper.make_node("Reshape", [w + "0", "split_shape"], [w + "1"], name=f"/attn/{w}/Reshape"),
                  helper.make_node("Transpose", [w + "1"], [w + "2"], name=f"/attn/{w}/Transpose",
                                   perm=[0, 2, 3, 1] if w == "k" else [0, 2, 1, 3])]
    nodes += [helper.make_node("MatMul", ["q2", "k2"], ["s0"], name="/attn/MatMul"),
              helper.make_node("Mul", ["s0", "scale"], ["s1"], name="/attn/Mul"),
              helper.make_node("Softmax", ["s1"], ["p"], name="/attn/Softmax", axis=-1),
              helper.make_node("MatMul", ["p", "v2"], ["o0"], name="/attn/MatMul_1"),
              helper.make_node("Transpose", ["o0"], ["o1"], name="/attn/Transpose", perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["o1", "merge_shape"], ["o2"], name="/attn/Reshape"),
              helper.make_node("ReduceMean", ["o2", "m1"], ["mean"], name="/norm/ReduceMean", keepdims=1),
              helper.make_node("Sub", ["o2", "mean"], ["y"], name="/norm/Sub")]
    g = helper.make_graph(nodes, "attention", [helper.make_tensor_value_info("x", F, ["batch", "seq", 16])],
                          [helper.make_tensor_value_info("y", F, ["batch", "seq", 16])], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), "seed_attention.onnx")


def convnet():
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(np.zeros(4, np.float32), "b"), const("flat", [0, -1])]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "flat"], ["y"])]
    g = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", F, ["n", 3, 16, 16])],
                          [helper.make_tensor_value_info("y", F, ["n", 64])], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "seed_convnet.onnx")


def shape_math():
    """the dynamo exporter's forms: Constant nodes, Expand/Range/Where over symbolic sizes, a causal mask"""
    nodes = [helper.make_node("Shape", ["ids"], ["s"], start=1, end=2),
             helper.make_node("Constant", [], ["zero"], value_int=0),
             helper.make_node("Constant", [], ["one"], value_int=1),
             helper.make_node("Squeeze", ["s"], ["n"]),
             helper.make_node("Range", ["zero", "n", "one"], ["pos"]),
             helper.make_node("Unsqueeze", ["pos", "ax0"], ["row"]),
             helper.make_node("Unsqueeze", ["pos", "ax1"], ["col"]),
             helper.make_node("LessOrEqual", ["row", "col"], ["causal"]),
             helper.make_node("Cast", ["causal"], ["maskf"], to=F),
             helper.make_node("Concat", ["s", "s"], ["ss"], axis=0),
             helper.make_node("ConstantOfShape", ["ss"], ["zeros"],
                              value=numpy_helper.from_array(np.array([0], np.float32))),
             helper.make_node("Where", ["causal", "zeros", "ninf"], ["bias"]),
             helper.make_node("Add", ["bias", "maskf"], ["y"])]
    inits = [const("ax0", [0]), const("ax1", [1]), numpy_helper.from_array(np.array(-1e9, np.float32), "ninf")]
    g = helper.make_graph(nodes, "shape_math", [helper.make_tensor_value_info("ids", I64, ["batch", "seq"])],
                          [helper.make_tensor_value_info("y", F, ["seq", "seq"])], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), "seed_shape_math.onnx")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    with tempfile.TemporaryDirectory() as seeds:
        subprocess.run([sys.argv[1]], check=True, cwd=os.path.join(ROOT, "tests"),
                       env=dict(os.environ, M2C_IMPORT_SEEDS=seeds), stdout=subprocess.DEVNULL)
        for name in FROM_UNIT_TEST:
            shutil.copy(os.path.join(seeds, name), os.path.join(CORPUS, "unit_" + name))
    for name in FROM_MALFORMED:
        shutil.copy(os.path.join(ROOT, "tests", "malformed", "corpus", name), os.path.join(CORPUS, "malformed_" + name))
    fixtures = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "models", "*", "model.onnx"))):
        m = onnx.load(path, load_external_data=False)
        if (os.path.getsize(path) > 100 * 1024 or fixtures == 10
                or any(t.data_location == TensorProto.EXTERNAL for t in m.graph.initializer)):
            continue
        shutil.copy(path, os.path.join(CORPUS, f"fixture_{os.path.basename(os.path.dirname(path))}.onnx"))
        fixtures += 1
    attention()
    convnet()
    shape_math()
    print(f"{len(os.listdir(CORPUS))} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
