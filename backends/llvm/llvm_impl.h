/* backends/llvm/llvm_impl.h — what the LLVM emitters of backends/llvm/ share (private to it). */
#ifndef M2C_LLVM_IMPL_H
#define M2C_LLVM_IMPL_H

#include "llvm.h"

/* The state of emitting one group: the module, the builder inside the kernel's inner function, the values of
 * its arguments and symbols, and scratch for the expression DAG. */
typedef struct {
    IrGraph *g;
    const KirGroup *k;
    LLVMContextRef cx;
    LLVMModuleRef m;
    LLVMBuilderRef b;
    LLVMBuilderRef ab;          /* allocas, at the start of the entry block */
    LLVMValueRef fn;            /* the inner function */
    LLVMTypeRef f32, i64, i32, i16, i8, i1, vd;
    LLVMValueRef *arg;          /* per argument: its base pointer (element type of its dtype) */
    LLVMValueRef *sym;          /* per symbol: its i64 value */
    LLVMValueRef part, nparts;
    LLVMValueRef *xv;           /* per expression: its value at the element being built */
    unsigned md_loop;
} Lw;

/*
 * emit.c — constants, dims, loops, variables, loads and stores, argument offsets
 */
LLVMValueRef lw_i64(Lw *L, int64_t v);
LLVMValueRef lw_i32(Lw *L, int64_t v);
LLVMValueRef lw_f32(Lw *L, double v);
LLVMValueRef lw_dim(Lw *L, IrDim d);                      /* a symbolic dim as an i64 */
LLVMValueRef lw_add(Lw *L, LLVMValueRef a, LLVMValueRef b);   /* i64, nsw */
LLVMValueRef lw_mul(Lw *L, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef lw_sub(Lw *L, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef lw_min(Lw *L, LLVMValueRef a, LLVMValueRef b);   /* signed i64 */
LLVMValueRef lw_max(Lw *L, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef lw_fma(Lw *L, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);   /* a·b + c, fused where it is fast */
LLVMValueRef lw_call(Lw *L, LLVMValueRef fn, LLVMValueRef *args, unsigned n);
LLVMValueRef lw_intrinsic(Lw *L, const char *name, LLVMTypeRef *over, unsigned nover, LLVMValueRef *args,
                          unsigned n);

/* for (i = lo; i < hi; i++): the body is built after lw_for; lw_for_end closes it.  `vec`: LW_VEC_AUTO leaves
 * the loop to the vectorizer's cost model; LW_VEC_FORCE marks it llvm.loop.vectorize.enable (reductions: the
 * vectorizer may then reorder them); LW_VEC_OFF keeps it scalar (a few border elements: no vector code). */
enum { LW_VEC_AUTO, LW_VEC_FORCE, LW_VEC_OFF };
typedef struct {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef i;
} LwLoop;
LLVMValueRef lw_for(Lw *L, LwLoop *lp, LLVMValueRef lo, LLVMValueRef hi);
void lw_for_end(Lw *L, LwLoop *lp, int vec);
/* if (c) { ... } : lw_if positions in the then-block, lw_endif continues after it */
LLVMBasicBlockRef lw_if(Lw *L, LLVMValueRef c);
void lw_endif(Lw *L, LLVMBasicBlockRef after);

LLVMValueRef lw_var(Lw *L, LLVMTypeRef t, LLVMValueRef init);   /* a stack variable (SROA makes it SSA) */
LLVMValueRef lw_array(Lw *L, LLVMTypeRef t, int64_t n);         /* a stack array; its first element's address */
LLVMValueRef lw_get(Lw *L, LLVMValueRef var);
void lw_set(Lw *L, LLVMValueRef var, LLVMValueRef v);
LLVMValueRef lw_at(Lw *L, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef i);   /* &base[i] */

/* Argument a's element at offset i (i64), converted to its register class: f32 for floats, i64 otherwise. */
LLVMValueRef lw_load(Lw *L, int a, LLVMValueRef i);
void lw_store_out(Lw *L, LLVMValueRef i, LLVMValueRef v);   /* out[i] = v (f32 or i64, converted) */
/* part `part` of `nparts` of [0, n): *lo and *hi */
void lw_share(Lw *L, LLVMValueRef n, LLVMValueRef *lo, LLVMValueRef *hi);

/* Merged axes of a range of the space: adjacent axes that every argument in `use` reads with the strides of
 * one contiguous axis (or not at all) become one; axes of size 1 drop out.  at[a][i]: argument a's stride
 * over merged axis i; lin[i]: the output's (contiguous) stride. */
typedef struct {
    int n;
    IrDim dim[IR_MAX_RANK];
    IrDim lin[IR_MAX_RANK];
    IrDim *at[64];
} LwAxes;
void lw_axes(Lw *L, int from, int to, const bool *use, LwAxes *ax);
bool *lw_uses(Lw *L, uint32_t root, bool *use);   /* marks the pointwise arguments root reads; returns use */
/* Adds coordinate c[0..n) of the merged axes times each used argument's strides to off[]. */
void lw_offsets(Lw *L, const LwAxes *ax, int n, const bool *use, LLVMValueRef const *c, LLVMValueRef *off);
/* Coordinates of index r over merged axes [0, n) (last fastest). */
void lw_coords(Lw *L, const LwAxes *ax, int n, LLVMValueRef r, LLVMValueRef *c);

/* Loops over the merged axes [from, ax->n): per element `body` gets the offsets of the arguments in `use`
 * (base + coordinates·strides) and the output's linear offset. */
typedef void (*LwBody)(Lw *L, const LLVMValueRef *off, LLVMValueRef lin, void *ud);
void lw_walk(Lw *L, const LwAxes *ax, int from, const bool *use, const LLVMValueRef *base, LLVMValueRef lin,
             int vec, LwBody body, void *ud);

/*
 * expr.c — the expression DAG at one element
 */
/* Values of the expressions reachable from root; LOAD of argument a reads off[a]; ACC is `acc`. */
LLVMValueRef lw_dag(Lw *L, uint32_t root, const LLVMValueRef *off, LLVMValueRef acc);
LLVMValueRef lw_to_f32(Lw *L, LLVMValueRef v);   /* an i64 or f32 value as f32 */

/*
 * math.c — f32 functions defined once per module (internal, always inlined) and the 16-bit float conversions
 */
typedef enum {
    LWM_EXP, LWM_EXPM1, LWM_LOG, LWM_LOG1P, LWM_TANH, LWM_ERF, LWM_SIGMOID, LWM_H2F, LWM_F2H, LWM_F2B,
    LWM_COUNT
} LwMath;
LLVMValueRef lw_math(Lw *L, LwMath f, LLVMValueRef x);
LLVMValueRef lw_libm(Lw *L, const char *name, LLVMValueRef x);   /* float name(float) from libm */
LLVMValueRef lw_fmax_key(Lw *L, LLVMValueRef x);   /* an i32 that orders like x (no NaN): for max reductions */
LLVMValueRef lw_fmax_unkey(Lw *L, LLVMValueRef key);

/* The kinds: the inner function's body (emit_elt.c, emit_misc.c, emit_attn.c). */
void lw_emit_eltwise(Lw *L);    /* eltwise and GEMM epilogue */
void lw_emit_row(Lw *L);
void lw_emit_rope(Lw *L);
void lw_emit_dwconv(Lw *L);
void lw_emit_attention(Lw *L);

#endif
