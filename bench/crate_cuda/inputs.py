"""bench/crate_cuda/inputs.py CARRY — larger inputs than the fixtures' cases, for the GPU timings: bert_ts at
(32, 64) (its position table's length) and llama_dynamo at (16, 128), some rows padded (mask 0 at the end)."""
import pathlib
import sys

import numpy as np
from safetensors.numpy import save_file

carry = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(5)


def batch(b, s, vocab):
    ids = rng.integers(0, vocab, (b, s), dtype=np.int64)
    mask = np.ones((b, s), dtype=np.int64)
    for r in range(0, b, 4):   # every 4th row padded to a random length
        mask[r, rng.integers(s // 2, s):] = 0
    return ids, mask


ids, mask = batch(32, 64, 100)
save_file({"input_ids": ids, "attention_mask": mask, "token_type_ids": rng.integers(0, 2, ids.shape, dtype=np.int64)},
          str(carry / "bert_ts" / "large_b32_s64.in.safetensors"))
ids, mask = batch(16, 128, 100)
save_file({"input_ids": ids, "attention_mask": mask}, str(carry / "llama_dynamo" / "large_b16_s128.in.safetensors"))
