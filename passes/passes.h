/* passes/passes.h — table of contents of the passes/ layer.
 *
 * A pass is `bool pass_x(IrGraph *g)`: it returns true if it changed the graph and reports problems with the
 * model through m2c_error() (the pipeline stops when the error count grows).  Passes mark nodes dead and
 * rewire inputs; the pipeline calls ir_compact() after each pass, so analyses are recomputed, not patched.
 *
 * The pipeline (pipeline.c), as `inspect --after PASS` names the stages:
 *   infer  — dtypes, symbolic shapes and known contents of small integer values (symval), every op, opset 13–23
 *   fold   — constant folding through the reference evaluator; shape idioms become symbolic constants
 *   dce    — dead nodes, unused constants and initializers
 *   canon  — Identity, no-op Cast, inference-mode Dropout removed
 *   fuse   — the blocks exporters decompose, back to one op each: Linear, GELU/SiLU/QuickGELU/Mish, LayerNorm,
 *            RMSNorm (fuse_*.c); off with pass_set_fusion(false) (`--no-fuse`)
 * infer → fold → dce repeat until nothing changes.
 */
#ifndef PASSES_H
#define PASSES_H

#include "ir.h"

/*
 * pipeline.c
 */
typedef struct {
    const char *name;
    bool (*run)(IrGraph *g);
} PassInfo;

extern const PassInfo pass_list[];            /* NULL-terminated, in pipeline order */
const PassInfo *pass_find(const char *name);
/* Runs the pipeline; stop_after: stop after the first run of that pass (NULL: run all).  Returns false if
 * an error was reported. */
bool pass_run_pipeline(IrGraph *g, const char *stop_after);
/* Runs the named passes in order, separated by commas ("infer,fold"), each followed by ir_compact(). */
bool pass_run_list(IrGraph *g, const char *names);
void pass_set_fusion(bool on);                 /* the pipeline's fuse stage, on by default */

/*
 * fuse_util.c, fuse_*.c
 */
bool pass_fuse(IrGraph *g);

/* kv_cache.c — a causal decoder made incremental (KvCache per attention, positions from seqlen_offset).
 * Not part of pass_run_pipeline: the crate writer runs it on the fused graph (`inspect --after kv` shows it). */
enum { PASS_KV_MAX_MASKS = 4 };
typedef struct {
    bool applied;
    const char *why_not;       /* when not applied: what stopped it */
    const char *offset;        /* the new dim symbol: "seqlen_offset" */
    uint32_t tokens;           /* the token-id input */
    uint32_t masks[PASS_KV_MAX_MASKS], nmasks;   /* padding-mask inputs, now (batch, offset + seq) */
    uint32_t caches, positions;                  /* KvCache nodes, position ranges moved */
} PassKvInfo;
/* apply false: only the checks (inspect), info says whether it would apply and why not */
bool pass_kv_cache(IrGraph *g, PassKvInfo *info, bool apply);

/* The blocks the fused graph holds, as ONNX Runtime's optimizer reports its fused-operator statistics
 * (fuse_ffn.c): attention nodes, FFN blocks (Linear → activation → Linear, gated or not), norms (and how many
 * normalize a residual sum), RoPE. */
typedef struct {
    uint32_t attention, ffn, gated_ffn, norms, residual_norms, rope;
} PassBlockCounts;
void pass_count_blocks(IrGraph *g, PassBlockCounts *out);

/*
 * infer.c, infer_*.c — one rule per row of ops.def.
 *
 * pass_infer walks the nodes in order and, for each, calls the op's rule, which sets the dtype and shape
 * of every output (ir_value_set_shape) from its inputs, attributes and known input contents, and reports
 * bad input with m2c_error(&n->loc, ...).  Then symval_eval() records the contents of small integer
 * outputs when they follow from the inputs' known contents.  Unknown output dims become symbols named
 * deterministically after the value and axis (`<value>__d<axis>`, the same on every run), never an
 * export-time size.  pass_infer recomputes every shape from the graph inputs each
 * time it runs (it is idempotent), except for IR_OP_UNKNOWN nodes, whose outputs keep the value_info
 * shapes the importer recorded.
 */
bool pass_infer(IrGraph *g);
bool infer_node(IrGraph *g, IrNode *n);       /* one node: rule + symval; false after an error */

/*
 * symval.c — symbolic contents of small integer tensors (the exporters' shape arithmetic):
 * Shape, Size, Gather, Concat, Unsqueeze, Squeeze, Slice, Reshape/Flatten of 1-D, Cast, Identity,
 * Add/Sub/Mul/Div/Mod/Neg/Max/Min, Equal/Where over dims, ConstantOfShape/Range/Expand of small results.
 */
enum { SYMVAL_MAX = 64 };                     /* larger tensors are never tracked element by element */
void symval_eval(IrGraph *g, IrNode *n);

/*
 * fold.c — constant folding.  A node whose inputs are all constants is evaluated by the reference evaluator
 * (runtime/ref) and replaced by its result; a value whose contents are known symbolically becomes a symbolic
 * constant (a value with symval and no producer).  Folding never grows the weights: a result is folded only
 * if it is small (FOLD_SMALL_BYTES) or no larger than the constant inputs that die with it.
 */
enum { FOLD_SMALL_BYTES = 4096 };
bool pass_fold(IrGraph *g);

/*
 * dce.c
 */
bool pass_dce(IrGraph *g);

/*
 * canon.c
 */
bool pass_canon(IrGraph *g);
/* A constant i64[rank] holding `dims` (symbolic: written from the runtime dims), for a new Reshape */
uint32_t pass_shape_const(IrGraph *g, const char *hint, int rank, const IrDim *dims);
bool pass_canon_iota(IrGraph *g);
bool pass_collapse_reshapes(IrGraph *g);   /* the `tidy` stage after fuse: reshape chains -> one Reshape */   /* canon_iota.c: Gather/GatherND by aranges -> Reshape (part of canon) */

/*
 * scope.c — the module tree the scopes describe: repeated blocks (`encoder.layer.0 … layer.N-1`).
 */
typedef struct {
    const char *path;          /* "encoder.layer" */
    uint32_t count;            /* N */
    const char *cls;           /* class of the repeated module, short form ("BertLayer"), or NULL */
} ScopeLayers;
uint32_t pass_scope_layers(IrGraph *g, ScopeLayers **out);
const char *pass_scope_short_class(const char *cls);   /* "a.b.BertLayer" -> "BertLayer" */

#endif
