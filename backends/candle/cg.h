/* backends/candle/cg.h — table of contents of the Candle backend.
 *
 * The backend turns the optimized IR into a Rust crate (DESIGN §5).  crate.c writes the files atomically;
 * modules.c splits the graph into PyTorch modules (one struct per module type); function.c emits one
 * Rust function body from a list of nodes; emit.c dispatches each node to the lowering of its op family
 * (lower_*.c), which writes candle calls through the helpers below.  Rust that candle lacks (ONNX Round,
 * reflect padding, GatherND...) comes from snippets in rust/, copied into the crate's src/onnx_ops.rs
 * only when used.
 */
#ifndef CG_H
#define CG_H

#include "ir.h"
#include "passes.h"

/* --kernels: the fused groups as kernels of a target, shipped in the crate and used under a feature
 * (kernels.c).  CPU kernels come with the LLVM backend. */
typedef enum { CG_KERNELS_NONE, CG_KERNELS_CUDA, CG_KERNELS_CPU } CgKernelTarget;

/* What cg_emit_crate() is asked for (the CLI's options). */
typedef struct {
    const char *out_dir;       /* -o */
    const char *name;          /* crate name (--name), default from the model file */
    IrDType float_dtype;       /* --dtype: the VarBuilder dtype for float weights (DT_F32 default) */
    bool force;                /* --force: replace a non-empty -o */
    bool embed_weights;        /* --embed-weights: include_bytes! the safetensors into the crate */
    const char *model_path;    /* source model, for the README and the sha256 */
    M2cFileHash *model_hash;   /* its SHA-256 being computed (started before the import); NULL: hash here */
    const PassKvInfo *kv;      /* the graph was made incremental (pass_kv_cache): the decoder API */
    const char *candle_path;   /* tests only: a path dependency for candle instead of crates.io */
    CgKernelTarget kernels;    /* --kernels */
} CgOptions;

/*
 * out.c — Rust source text with indentation
 */
typedef struct {
    M2cBuf buf;
    int indent;
} CgOut;
void cg_line(CgOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);    /* one indented line */
void cg_open(CgOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);    /* a line ending in '{', then indent */
void cg_close(CgOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);   /* dedent, then a line starting with '}' */
void cg_blank(CgOut *o);

/*
 * names.c — Rust names
 */
const char *cg_snake(M2cArena *a, const char *s);       /* any text -> a snake_case identifier, keywords escaped */
const char *cg_camel(M2cArena *a, const char *s);       /* "self_attention" -> "SelfAttention" */
const char *cg_candle_dtype(IrDType t);                 /* "DType::F32"; bool -> U8, i8 -> I16 ... */
const char *cg_rust_type(IrDType t);                    /* element type in candle: "f32", "u8", "i64" */
IrDType cg_storage_dtype(IrDType t);                    /* the IR dtype candle holds the values in */
const char *cg_st_dtype(IrDType t);                     /* safetensors dtype string */

/*
 * safetensors.c
 */
typedef struct {
    const char *name;
    const IrTensor *tensor;
    bool transposed;           /* a 2-D tensor written transposed (Linear weights given as (in, out)) */
} CgStTensor;
bool cg_write_safetensors(const char *path, const CgStTensor *ts, uint32_t n, const char *source_sha256);
/* The same in two steps: the data starts being written (on threads) at once, the header when the source's
 * hash is known.  cg_st_start reports errors and returns NULL; cg_st_finish(NULL, ..) is false. */
typedef struct CgStWriter CgStWriter;
CgStWriter *cg_st_start(const char *path, const CgStTensor *ts, uint32_t n);
bool cg_st_finish(CgStWriter *w, const char *source_sha256);

/*
 * The state of the crate being generated: weights and constants to store, helper snippets used.
 */
typedef struct {
    const char *field;         /* Rust field name in its struct */
    const char *st_name;       /* full name in model.safetensors */
    const char *rel_name;      /* name relative to the struct's VarBuilder prefix */
    const IrTensor *tensor;
    uint32_t value;            /* IR value */
} CgWeight;

enum { CG_HELPER_COUNT_MAX = 256 };   /* room for helpers.def; checked against CG_HELPER_COUNT in helpers.c */

/* candle_nn items the generated code names (for its `use` lines) */
enum {
    CG_NN_MODULE = 1 << 0,             /* the Module trait: .forward() of candle_nn layers */
    CG_NN_LINEAR = 1 << 1, CG_NN_LINEAR_NO_BIAS = 1 << 2, CG_NN_LINEAR_T = 1 << 3,
    CG_NN_EMBEDDING = 1 << 4, CG_NN_EMBEDDING_T = 1 << 5,
    CG_NN_LAYER_NORM = 1 << 6, CG_NN_LAYER_NORM_NO_BIAS = 1 << 7, CG_NN_LAYER_NORM_T = 1 << 8,
    CG_NN_RMS_NORM = 1 << 9, CG_NN_RMS_NORM_T = 1 << 10,
};

typedef struct CgCrate {
    IrGraph *g;
    const CgOptions *opt;
    M2C_VEC(CgStTensor) st;            /* the weights: model.safetensors, PyTorch names */
    M2C_VEC(CgStTensor) consts;        /* other constants: constants.safetensors, compiled into the crate */
    M2cMap st_names;
    bool helpers[CG_HELPER_COUNT_MAX];  /* the CgHelper snippets used */
    bool any_helper;
    unsigned nn_items;                 /* CG_NN_* */
    const PassKvInfo *kv;              /* the decoder's KV cache (passes/kv_cache.c), or NULL */
    struct CgKernels *kernels;         /* --kernels: the plan and the compiled kernels (kernels.c), or NULL */
    const char *name;                  /* the crate's name (Cargo.toml) */
} CgCrate;

/*
 * function.c — one Rust function: locals, dims, statements
 */
typedef enum {
    REF_NONE,      /* not available in this function */
    REF_LOCAL,     /* an owned `Tensor` local: `x` as receiver, `&x` as argument */
    REF_BORROW,    /* a `&Tensor` parameter: `x` either way */
    REF_FIELD,     /* a struct field: `self.w`, `&self.w` */
} CgRefKind;

typedef enum {
    LAYOUT_CONTIG,     /* fresh result of a computing op, or a weight */
    LAYOUT_T_LAST2,    /* a contiguous tensor with its last two dims swapped: fine for matmul */
    LAYOUT_VIEW,       /* any other view (permute, narrow, broadcast), or a caller's tensor */
} CgLayout;

typedef struct {
    const char *name;          /* the symbol */
    const char *expr;          /* how to get it: "batch" (a let at the top) or "xs.dim(1)?" */
    const char *let_src;       /* for a let at the top: "input_ids", axis below */
    int axis;
    bool used;
} CgSymBinding;

typedef struct CgFn {
    IrGraph *g;
    CgCrate *crate;
    CgOut *o;                  /* the body being written */
    M2cArena *a;
    const char **ref;          /* per value id: the Rust expression that holds the tensor */
    uint8_t *refkind;          /* CgRefKind per value id */
    uint8_t *layout;           /* CgLayout per value id: is the tensor contiguous in memory? */
    M2cMap names;              /* identifiers in use in the function */
    M2C_VEC(CgSymBinding) syms;
    M2C_VEC(CgWeight) fields;  /* weights and constants this function reads as struct fields */
    bool uses_device;          /* the struct keeps its Device */
    bool collect_missing;      /* unbound symbols become usize parameters (module forwards) */
    bool instance;             /* a module instance: no names that differ between instances */
    const char *scope_path;    /* the module's path: weights are named relative to it */
    M2C_VEC(const char *) missing;
    uint32_t kv_caches;        /* KvCache nodes lowered: the struct's fields kv_cache, kv_cache_1, ... */
    M2cMap prepared;           /* locals a lowering made once for the whole function (rope tables), by key */
    M2C_VEC(const char *) prepared_names;
    bool failed;
} CgFn;

void cg_fn_init(CgFn *f, IrGraph *g, CgCrate *crate, CgOut *body);
void cg_fn_param(CgFn *f, uint32_t v, const char *name);     /* a `&Tensor` parameter; binds its symbols */
void cg_fn_field(CgFn *f, uint32_t v, const char *field);    /* a tensor held in a struct field */
void cg_fn_bind_outputs(CgFn *f, const IrNode *n);           /* symbols first seen in n's outputs */
void cg_fn_bind_symbol(CgFn *f, const char *sym, const char *expr);   /* a symbol given as a usize argument */
const char *cg_kv_field(M2cArena *a, uint32_t i);            /* "kv_cache", "kv_cache_1", ... */
void cg_set_layout(CgFn *f, uint32_t v, CgLayout l);
CgLayout cg_layout(CgFn *f, uint32_t v);
const char *cg_contig(CgFn *f, uint32_t v, bool transposed_ok);   /* receiver, `.contiguous()?` if needed */
void cg_fn_symbol_lets(CgFn *f, CgOut *o);                   /* `let (batch, seq) = x.dims2()?;` for used ones */

const char *cg_fresh(CgFn *f, const char *hint);              /* a new local identifier */
const char *cg_def(CgFn *f, uint32_t v);                      /* names the local for value v, records it */
const char *cg_v(CgFn *f, uint32_t v);                        /* the value as a receiver: "xs", "self.w" */
const char *cg_ref(CgFn *f, uint32_t v);                      /* the value as an argument: "&xs" */
const char *cg_in(CgFn *f, const IrNode *n, uint32_t i);      /* cg_v of input i */
const char *cg_in_ref(CgFn *f, const IrNode *n, uint32_t i);  /* cg_ref of input i */
const char *cg_out(CgFn *f, const IrNode *n, uint32_t i);     /* cg_def of output i */
const char *cg_dim(CgFn *f, IrDim d);                         /* usize expression of a dim */
const char *cg_shape(CgFn *f, int rank, const IrDim *dims);   /* "(b, t, 4, 8)" */
const char *cg_shape_of(CgFn *f, uint32_t v);                 /* cg_shape of a value's dims */
const char *cg_device(CgFn *f);                               /* "&self.device" */
bool cg_scalar_const(CgFn *f, uint32_t v, double *out);       /* a constant with one element */
const char *cg_f64(M2cArena *a, double v);                    /* a Rust f64 literal: "0.5", "f64::INFINITY" */
const char *cg_f32(M2cArena *a, double v);                    /* the same, shortest digits that read back as f32 */
const char *cg_typed_lit(M2cArena *a, IrDType t, double v);   /* "0.5f32", "3i64", "1u8" */
const char *cg_scalar_lit(CgFn *f, uint32_t v);               /* a scalar constant as an f64 literal */
void cg_stmt(CgFn *f, const char *fmt, ...) M2C_PRINTF(2, 3); /* one statement line */
void cg_comment(CgFn *f, const char *fmt, ...) M2C_PRINTF(2, 3);
bool cg_unsupported(CgFn *f, const IrNode *n, const char *why);   /* reports; returns false */

/*
 * emit.c — one switch over the op table
 */
bool cg_lower_node(CgFn *f, const IrNode *n);

/* lower_*.c — the op families; each returns false after reporting what it cannot lower */
bool cg_lower_eltwise(CgFn *f, const IrNode *n);
bool cg_lower_shape(CgFn *f, const IrNode *n);
bool cg_lower_reduce(CgFn *f, const IrNode *n);
bool cg_lower_nn(CgFn *f, const IrNode *n);
bool cg_lower_misc(CgFn *f, const IrNode *n);
bool cg_lower_fused(CgFn *f, const IrNode *n);
bool cg_lower_extra(CgFn *f, const IrNode *n);

/*
 * helpers.c — Rust snippets for what candle lacks, added to src/onnx_ops.rs when used
 */
typedef enum {
#define HELPER(id, file) CG_HELPER_##id,
#include "helpers.def"
#undef HELPER
    CG_HELPER_COUNT
} CgHelper;
const char *cg_helper(CgFn *f, CgHelper h);   /* marks it used; returns its Rust path "onnx_ops::name" */
void cg_write_helpers(CgCrate *c, CgOut *o);

/*
 * kernels.c — --kernels cuda: fused groups as CUDA kernels in the crate (src/kernels/, src/fused.rs), each
 * launched in place of its group's candle code when the tensors are on a CUDA device; the target's part is in
 * kernels_cuda.c (kernels.h between them)
 */
typedef struct CgKernels CgKernels;
bool cg_kernels_prepare(CgCrate *c);                  /* plan, emit, compile to PTX; false after reporting */
const char *cg_kernels_rust(CgCrate *c);              /* src/fused.rs, or NULL when no kernel is launched */
bool cg_kernels_write(CgCrate *c, const char *dir);   /* DIR/src/kernels/ */
const char *cg_kernels_summary(CgCrate *c);           /* for the README, or NULL */
void cg_kernels_free(CgCrate *c);

/* One item of a function body, as the kernels see it: an own node, a call of a candle_nn layer of the
 * function's module (its nodes, and how the function names it), or a call of another struct (no nodes: no
 * group reaches into it). */
typedef struct {
    const uint32_t *nodes;
    uint32_t nnodes;
    const char *leaf;          /* a candle_nn layer: "self.dense"; NULL otherwise */
    uint32_t weight, bias;     /* the layer's parameters, IR_NONE if none */
} CgItem;
typedef struct CgSites CgSites;
/* Writes item `item` as the plain candle code; in_block: inside a kernel's else branch (no symbol bindings:
 * the caller's locals end with the branch). */
typedef void (*CgItemEmit)(CgFn *f, uint32_t item, bool in_block, void *ctx);
CgSites *cg_kernel_sites(CgFn *f, const CgItem *items, uint32_t n);   /* NULL without kernels */
bool cg_kernel_member(const CgSites *s, uint32_t item);   /* written with its group's root: skip it */
bool cg_kernel_root(const CgSites *s, uint32_t item);     /* write it with cg_kernel_emit */
void cg_kernel_emit(CgFn *f, CgSites *s, uint32_t item, CgItemEmit emit, void *ctx);
void cg_kernel_sites_free(CgSites *s);

/*
 * model.c — src/model.rs
 */
bool cg_emit_flat_model(CgCrate *c, CgOut *out, const char *doc);
void cg_write_uses(CgCrate *c, CgOut *o, const char *text);   /* `use` lines for what text names */

/*
 * example.c — examples/run.rs (kv: a decoder's KV cache, for --generate; NULL otherwise)
 */
char *cg_example(IrGraph *g, const char *name, const PassKvInfo *kv);

/*
 * crate.c — the crate on disk
 */
/* -o is usable: absent, an empty folder, or any folder with --force (reports the error) */
bool cg_out_dir_ok(const CgOptions *opt);
/* Writes the crate; finishes (joins and frees) opt->model_hash, whatever happens. */
bool cg_emit_crate(IrGraph *g, const CgOptions *opt);

#endif
