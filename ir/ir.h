/* ir/ir.h — the graph IR: table of contents of the ir/ layer.
 *
 * A graph owns arrays of values and nodes; everything refers to them by 32-bit id (QBE's Ref), so passes
 * renumber instead of chasing pointers.  Dims are interned expressions over named symbols (dim.c): two dims
 * are equal exactly when their ids are.  All memory comes from the graph's arena.
 */
#ifndef IR_H
#define IR_H

#include "m2c.h"

#define IR_NONE UINT32_MAX   /* an omitted optional input, no producer, no scope */
#define IR_MAX_RANK 16

/*
 * Element types.  The numbering is ONNX's TensorProto.DataType, so import needs no table.
 */
typedef enum {
    DT_UNDEF = 0,
    DT_F32 = 1,
    DT_U8 = 2,
    DT_I8 = 3,
    DT_U16 = 4,
    DT_I16 = 5,
    DT_I32 = 6,
    DT_I64 = 7,
    DT_STRING = 8,
    DT_BOOL = 9,
    DT_F16 = 10,
    DT_F64 = 11,
    DT_U32 = 12,
    DT_U64 = 13,
    DT_COMPLEX64 = 14,
    DT_COMPLEX128 = 15,
    DT_BF16 = 16,
    DT_ONNX_MAX = 26,        /* the largest ONNX data type we know the name of (INT2) */
} IrDType;

/*
 * Dims: an IrDim is an id into the graph's dim table.  A dim is a constant, a named symbol or a canonical
 * expression over them; constructors simplify, so structural equality is id equality.
 */
typedef uint32_t IrDim;
#define IR_DIM_INVALID UINT32_MAX   /* result of an overflowing or undefined dim computation */

typedef enum {
    DIM_CONST,   /* c */
    DIM_SYM,     /* name */
    DIM_ADD,     /* c + ops[0] + ops[1] + ...   (terms sorted, no constant term among ops) */
    DIM_MUL,     /* c * ops[0] * ops[1] * ...   (c != 0; factors are atoms, sorted, repeats allowed) */
    DIM_DIV,     /* floor(ops[0] / ops[1]) */
    DIM_MOD,     /* ops[0] mod ops[1], sign of the divisor (Python) */
    DIM_MAX,     /* max(ops...), sorted, no duplicates */
    DIM_MIN,     /* min(ops...) */
} IrDimKind;

typedef struct {
    IrDimKind kind;
    uint32_t nops;
    int64_t c;
    const char *name;      /* DIM_SYM */
    const IrDim *ops;
} IrDimExpr;

/* Tensor data, owned by the arena or borrowed from a mapped file (weights are never copied). */
typedef struct {
    IrDType dtype;
    int rank;
    const int64_t *shape;
    uint64_t numel;
    uint64_t nbytes;
    const void *data;          /* little-endian, packed; bool as one byte per element */
    const char *file;          /* external data: the file it is mapped from, else NULL */
    uint64_t file_offset;
} IrTensor;

/* Attributes keep their ONNX kind; the importer moved the ones that became inputs. */
typedef enum {
    ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS,
} IrAttrKind;

typedef struct {
    const char *name;
    IrAttrKind kind;
    uint32_t n;                /* element count of the list kinds; string length of ATTR_STRING */
    union {
        double f;
        int64_t i;
        const char *s;         /* NUL-terminated; may contain NULs in ONNX, then n says the length */
        const IrTensor *t;
        const double *fs;
        const int64_t *is;
        const char *const *ss;
    } u;
} IrAttr;

/* Ops: one enum entry per row of ops.def. */
typedef enum {
#define OP(id, onnx, dom, since, inmin, inmax, outmin, outmax, flags, rule) IR_OP_##id,
#include "ops.def"
#undef OP
    IR_OP_COUNT,
    IR_OP_UNKNOWN = IR_OP_COUNT,    /* an op we do not support: kept so every one can be reported */
} IrOp;

enum {
    F_UNARY = 1 << 0,
    F_BINARY = 1 << 1,
    F_BOOL_OUT = 1 << 2,
    F_SHAPE_OP = 1 << 3,
    F_REDUCE = 1 << 4,
    F_FUSED = 1 << 5,
    F_FUSED_FORM = 1 << 6,
};

typedef struct {
    const char *name;          /* IR name, e.g. "LayerNorm" */
    const char *onnx;          /* ONNX op_type, NULL for fused ops */
    const char *domain;
    int since;
    int in_min, in_max, out_min, out_max;   /* -1: variadic */
    unsigned flags;
} IrOpInfo;

extern const IrOpInfo ir_op_info[IR_OP_COUNT];

/* Value flags. */
enum {
    V_INPUT = 1 << 0,     /* graph input */
    V_OUTPUT = 1 << 1,    /* graph output */
    V_PARAM = 1 << 2,     /* initializer: a weight of the model */
    V_CONST = 1 << 3,     /* constant made by a Constant node or by folding */
    V_INIT = 1 << 4,      /* came from an initializer of the ONNX graph (a weight, or a constant the export folded) */
};

typedef struct {
    const char *name;          /* ONNX value name */
    IrDType dtype;             /* DT_UNDEF until inferred */
    int rank;                  /* -1 until inferred */
    const IrDim *dims;
    const IrTensor *konst;     /* known contents (initializer, Constant, folded) */
    const IrDim *symval;       /* known symbolic contents of a small integer tensor (numel entries) */
    uint32_t symval_n;
    uint32_t producer;         /* node id, IR_NONE for inputs and constants */
    uint32_t flags;
    const char *state_name;    /* PyTorch state_dict name of a weight, when the export lost it */
} IrValue;

typedef uint32_t IrScopeId;    /* id into g->scopes; 0 is the root module */

typedef struct {
    const char *path;          /* "encoder.layer.3.attention.self"; "" for the root */
    const char *cls;           /* "transformers.models.bert.modeling_bert.BertSelfAttention" or NULL */
    IrScopeId parent;
} IrScope;

typedef struct {
    IrOp op;
    const char *op_type;       /* ONNX op type as written (kept for unknown ops and diagnostics) */
    const char *domain;        /* "" for ai.onnx */
    int opset;                 /* version of the node's domain in the model */
    uint32_t nin, nout;
    uint32_t *in;              /* value ids, IR_NONE for an omitted optional input */
    uint32_t *out;
    uint32_t nattrs;
    IrAttr *attrs;
    SrcLoc loc;
    IrScopeId scope;
    bool dead;                 /* removed by a pass; dropped by ir_compact */
} IrNode;

typedef struct {
    const char *domain;
    int64_t version;
} IrOpset;

typedef struct {
    const char *name;          /* the symbol, e.g. "batch" */
    uint32_t value;            /* graph input whose dim defines it at run time, IR_NONE if derived */
    int axis;
} IrSymbol;

typedef struct IrGraph {
    M2cArena *arena;
    const char *name;
    const char *file;          /* model path, for diagnostics and reports */
    const char *producer;      /* "pytorch 2.11.0" */
    int64_t ir_version;
    M2C_VEC(IrOpset) opsets;
    M2C_VEC(IrValue) values;
    M2C_VEC(IrNode) nodes;     /* kept in topological order by ir_compact */
    M2C_VEC(uint32_t) inputs;  /* graph inputs that are not initializers, in ONNX order */
    M2C_VEC(uint32_t) outputs;
    M2C_VEC(uint32_t) params;  /* initializers, in ONNX order */
    M2C_VEC(IrScope) scopes;
    M2C_VEC(IrSymbol) symbols;
    M2cMap value_by_name;
    M2cMap scope_by_path;
    M2cMap symbol_by_name;
    struct IrDimTable *dimtab;
    struct IrCleanup *cleanups;   /* run by ir_graph_free: unmapping weight files */
    /* Uses (ir_fill_uses): uses of value v are use_node[use_start[v] .. use_start[v+1]). */
    uint32_t *use_start, *use_node;
    uint32_t nuses_for;        /* value count the use lists were built for */
} IrGraph;

/*
 * ops.c
 */
const char *ir_op_name(IrOp op);
IrOp ir_op_lookup(const char *domain, const char *op_type);    /* IR_OP_UNKNOWN if not in the table */
bool ir_domain_is_onnx(const char *domain);

/*
 * dtype.c
 */
const char *ir_dtype_name(IrDType t);        /* "f32", "i64", ...; "?" for unknown */
const char *ir_dtype_onnx_name(IrDType t);   /* "FLOAT", "INT64", ... */
size_t ir_dtype_size(IrDType t);             /* bytes per element; 0 if not supported */
bool ir_dtype_supported(IrDType t);
bool ir_dtype_is_float(IrDType t);
bool ir_dtype_is_int(IrDType t);             /* signed or unsigned integer (not bool) */
bool ir_dtype_is_signed(IrDType t);
IrDType ir_dtype_parse(const char *s);       /* from ir_dtype_name; DT_UNDEF if not one */
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_f16(float f);
float ir_bf16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);

/*
 * dim.c
 */
IrDim ir_dim_const(IrGraph *g, int64_t c);
IrDim ir_dim_sym(IrGraph *g, const char *name);
IrDim ir_dim_add(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_sub(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_neg(IrGraph *g, IrDim a);
IrDim ir_dim_mul(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_div(IrGraph *g, IrDim a, IrDim b);     /* floor division */
IrDim ir_dim_mod(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_max(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_min(IrGraph *g, IrDim a, IrDim b);
IrDim ir_dim_ceil_div(IrGraph *g, IrDim a, IrDim b);
const IrDimExpr *ir_dim_expr(const IrGraph *g, IrDim d);
bool ir_dim_is_const(const IrGraph *g, IrDim d);
bool ir_dim_const_value(const IrGraph *g, IrDim d, int64_t *out);   /* true if constant */
int64_t ir_dim_value(const IrGraph *g, IrDim d);    /* the constant; asserts it is one */
bool ir_dim_is_sym(const IrGraph *g, IrDim d);
void ir_dim_bounds(const IrGraph *g, IrDim d, int64_t *lo, int64_t *hi);   /* symbols in [1, 2^40] */
void ir_dim_print(const IrGraph *g, IrDim d, M2cBuf *out);
const char *ir_dim_str(IrGraph *g, IrDim d);        /* arena string */
IrDim ir_dim_parse(IrGraph *g, const char **s);     /* inverse of ir_dim_print; IR_DIM_INVALID on error */
IrDim ir_dim_fresh(IrGraph *g, const char *hint);   /* a new symbol named after hint, unique */
IrDim ir_dim_subst(IrGraph *g, IrDim d, IrDim sym, IrDim by);   /* d with the symbol sym replaced by `by` */
uint32_t ir_dim_count(const IrGraph *g);

/*
 * graph.c
 */
IrGraph *ir_graph_new(const char *name);
void ir_graph_free(IrGraph *g);
void ir_graph_on_free(IrGraph *g, void (*fn)(void *arg), void *arg);
uint32_t ir_value_new(IrGraph *g, const char *name);           /* name NULL: a fresh unique name */
uint32_t ir_value_lookup(const IrGraph *g, const char *name);  /* IR_NONE if absent */
const char *ir_unique_name(IrGraph *g, const char *hint);
void ir_value_set_shape(IrGraph *g, uint32_t v, IrDType t, int rank, const IrDim *dims);
void ir_value_set_const(IrGraph *g, uint32_t v, const IrTensor *t);   /* also sets dtype and shape */
void ir_value_set_symval(IrGraph *g, uint32_t v, const IrDim *vals, uint32_t n);
uint32_t ir_const_new(IrGraph *g, const char *hint, const IrTensor *t);
uint32_t ir_const_i64(IrGraph *g, const char *hint, const int64_t *vals, int n, bool scalar);
IrTensor *ir_tensor_new(IrGraph *g, IrDType t, int rank, const int64_t *shape);  /* zeroed data */
uint32_t ir_node_new(IrGraph *g, IrOp op, uint32_t nin, const uint32_t *in, uint32_t nout,
                     const uint32_t *out);
IrValue *ir_val(IrGraph *g, uint32_t v);
IrNode *ir_node(IrGraph *g, uint32_t n);
uint32_t ir_node_id(const IrGraph *g, const IrNode *n);
uint32_t ir_input(const IrNode *n, uint32_t i);     /* IR_NONE when absent or omitted */
void ir_node_kill(IrGraph *g, uint32_t n);
void ir_replace_uses(IrGraph *g, uint32_t from, uint32_t to);  /* in nodes and graph outputs */
bool ir_fill_uses(IrGraph *g);                      /* recompute use lists */
uint32_t ir_use_count(const IrGraph *g, uint32_t v);/* node uses + graph output uses */
const uint32_t *ir_uses(const IrGraph *g, uint32_t v, uint32_t *n);
bool ir_compact(IrGraph *g);                        /* drop dead nodes, toposort; false on a cycle */
void ir_fill_producers(IrGraph *g);
IrScopeId ir_scope_get(IrGraph *g, const char *path, const char *cls);
int64_t ir_opset(const IrGraph *g, const char *domain);   /* -1 if not imported */
uint64_t ir_param_bytes(const IrGraph *g);          /* bytes of the initializers still in use */
uint32_t ir_param_count(const IrGraph *g);
void ir_symbol_bind(IrGraph *g, const char *name, uint32_t value, int axis);

/*
 * attr.c
 */
const IrAttr *ir_attr(const IrNode *n, const char *name);
int64_t ir_attr_int(const IrNode *n, const char *name, int64_t dflt);
double ir_attr_float(const IrNode *n, const char *name, double dflt);
const char *ir_attr_str(const IrNode *n, const char *name, const char *dflt);
const int64_t *ir_attr_ints(const IrNode *n, const char *name, uint32_t *count);  /* NULL if absent */
void ir_attr_set_int(IrGraph *g, IrNode *n, const char *name, int64_t v);
void ir_attr_set_float(IrGraph *g, IrNode *n, const char *name, double v);
void ir_attr_set_str(IrGraph *g, IrNode *n, const char *name, const char *v);
void ir_attr_set_ints(IrGraph *g, IrNode *n, const char *name, const int64_t *v, uint32_t count);
void ir_attr_remove(IrNode *n, const char *name);
IrAttr *ir_attr_add(IrGraph *g, IrNode *n, const char *name, IrAttrKind kind);

/*
 * tensor.c
 */
double ir_tensor_get_f64(const IrTensor *t, uint64_t i);
int64_t ir_tensor_get_i64(const IrTensor *t, uint64_t i);
void ir_tensor_set_f64(IrTensor *t, uint64_t i, double v);
void ir_tensor_set_i64(IrTensor *t, uint64_t i, int64_t v);
bool ir_tensor_ints(const IrTensor *t, int64_t *out, uint64_t max);   /* integer contents, <= max */
bool ir_value_ints(const IrGraph *g, uint32_t v, int64_t *out, uint32_t max, uint32_t *n);
bool ir_value_dims(IrGraph *g, uint32_t v, IrDim *out, uint32_t max, uint32_t *n);  /* konst or symval */
bool ir_value_scalar_f64(const IrGraph *g, uint32_t v, double *out);

/*
 * print.c
 */
void ir_print(IrGraph *g, M2cBuf *out);
void ir_print_file(IrGraph *g, FILE *f);
void ir_print_value_type(IrGraph *g, uint32_t v, M2cBuf *out);
void ir_print_dot(IrGraph *g, FILE *f);

/*
 * parse.c — the text form back into a graph (pass tests are text in, text out)
 */
IrGraph *ir_parse(const char *text, const char *filename);   /* NULL after reporting errors */

/*
 * verify.c
 */
bool ir_verify(IrGraph *g, const char *after);   /* reports compiler bugs as errors; true if sound */

#endif
