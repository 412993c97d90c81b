/* backends/llvm/emit.c — what every kind's function is made of: the ABI trampoline and the inner function
 * with noalias arguments, symbolic dims as i64 arithmetic, loops, stack variables, loads and stores that
 * convert storage dtypes to the f32/i64 registers, merged axes and the walk over them; the dispatch over kinds. */
#include "llvm_impl.h"

#include <llvm-c/DebugInfo.h>   /* LLVMTemporaryMDNode: the self-reference of a loop id */
#include <stdlib.h>
#include <string.h>

LLVMValueRef lw_i64(Lw *L, int64_t v) { return LLVMConstInt(L->i64, (unsigned long long)v, true); }
LLVMValueRef lw_i32(Lw *L, int64_t v) { return LLVMConstInt(L->i32, (unsigned long long)v, true); }
LLVMValueRef lw_f32(Lw *L, double v) { return LLVMConstReal(L->f32, (double)(float)v); }
LLVMValueRef lw_add(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(L->b, a, b, ""); }
LLVMValueRef lw_mul(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(L->b, a, b, ""); }
LLVMValueRef lw_sub(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWSub(L->b, a, b, ""); }

LLVMValueRef lw_min(Lw *L, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(L->b, LLVMBuildICmp(L->b, LLVMIntSLT, a, b, ""), a, b, "");
}

LLVMValueRef lw_max(Lw *L, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(L->b, LLVMBuildICmp(L->b, LLVMIntSGT, a, b, ""), a, b, "");
}

LLVMValueRef lw_call(Lw *L, LLVMValueRef fn, LLVMValueRef *args, unsigned n)
{
    return LLVMBuildCall2(L->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

LLVMValueRef lw_intrinsic(Lw *L, const char *name, LLVMTypeRef *over, unsigned nover, LLVMValueRef *args, unsigned n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    M2C_ASSERT(id != 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(L->m, id, over, nover);
    return LLVMBuildCall2(L->b, LLVMIntrinsicGetType(L->cx, id, over, nover), fn, args, n, "");
}

LLVMValueRef lw_fma(Lw *L, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMTypeRef t = L->f32;
    LLVMValueRef ops[3] = {a, b, c};
    return lw_intrinsic(L, "llvm.fmuladd", &t, 1, ops, 3);
}

/* Floor division and modulo with the divisor's sign, as ir/dim.c defines them. */
static LLVMValueRef floordiv(Lw *L, LLVMValueRef a, LLVMValueRef b, bool mod)
{
    LLVMValueRef q = LLVMBuildSDiv(L->b, a, b, ""), r = LLVMBuildSRem(L->b, a, b, "");
    LLVMValueRef nz = LLVMBuildICmp(L->b, LLVMIntNE, r, lw_i64(L, 0), "");
    LLVMValueRef neg = LLVMBuildICmp(L->b, LLVMIntSLT, LLVMBuildXor(L->b, r, b, ""), lw_i64(L, 0), "");
    LLVMValueRef adj = LLVMBuildAnd(L->b, nz, neg, "");
    if (mod) return LLVMBuildSelect(L->b, adj, LLVMBuildAdd(L->b, r, b, ""), r, "");
    return LLVMBuildSub(L->b, q, LLVMBuildZExt(L->b, adj, L->i64, ""), "");
}

LLVMValueRef lw_dim(Lw *L, IrDim d)
{
    const IrDimExpr *e = ir_dim_expr(L->g, d);
    LLVMValueRef v;
    switch (e->kind) {
    case DIM_CONST: return lw_i64(L, e->c);
    case DIM_SYM:
        for (uint32_t i = 0; i < L->k->syms.n; i++)
            if (strcmp(L->k->syms.v[i].name, e->name) == 0) return L->sym[i];
        M2C_UNREACHABLE();
    case DIM_ADD:
        v = lw_i64(L, e->c);
        for (uint32_t i = 0; i < e->nops; i++) v = lw_add(L, v, lw_dim(L, e->ops[i]));
        return v;
    case DIM_MUL:
        v = lw_i64(L, e->c);
        for (uint32_t i = 0; i < e->nops; i++) v = lw_mul(L, v, lw_dim(L, e->ops[i]));
        return v;
    case DIM_DIV: case DIM_MOD:
        return floordiv(L, lw_dim(L, e->ops[0]), lw_dim(L, e->ops[1]), e->kind == DIM_MOD);
    case DIM_MAX: case DIM_MIN:
        v = lw_dim(L, e->ops[0]);
        for (uint32_t i = 1; i < e->nops; i++)
            v = e->kind == DIM_MAX ? lw_max(L, v, lw_dim(L, e->ops[i])) : lw_min(L, v, lw_dim(L, e->ops[i]));
        return v;
    }
    M2C_UNREACHABLE();
}

/*
 * Control flow and variables.
 */
LLVMValueRef lw_for(Lw *L, LwLoop *lp, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(L->b);
    lp->head = LLVMAppendBasicBlockInContext(L->cx, L->fn, "loop");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(L->cx, L->fn, "body");
    lp->exit = LLVMAppendBasicBlockInContext(L->cx, L->fn, "done");
    LLVMBuildBr(L->b, lp->head);
    LLVMPositionBuilderAtEnd(L->b, lp->head);
    lp->i = LLVMBuildPhi(L->b, L->i64, "i");
    LLVMAddIncoming(lp->i, &lo, &pre, 1);
    LLVMBuildCondBr(L->b, LLVMBuildICmp(L->b, LLVMIntSLT, lp->i, hi, ""), body, lp->exit);
    LLVMPositionBuilderAtEnd(L->b, body);
    return lp->i;
}

/* !{!self, !{"llvm.loop.vectorize.enable", i1 on}}: a distinct, self-referencing loop id */
static LLVMValueRef vectorize_md(Lw *L, bool on)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(L->cx, NULL, 0);
    const char *s = "llvm.loop.vectorize.enable";
    LLVMMetadataRef en[2] = {LLVMMDStringInContext2(L->cx, s, strlen(s)),
                             LLVMValueAsMetadata(LLVMConstInt(L->i1, on, false))};
    LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(L->cx, en, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(L->cx, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    return LLVMMetadataAsValue(L->cx, id);
}

void lw_for_end(Lw *L, LwLoop *lp, int vec)
{
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(L->b);
    LLVMValueRef next = LLVMBuildNSWAdd(L->b, lp->i, lw_i64(L, 1), "");
    LLVMValueRef br = LLVMBuildBr(L->b, lp->head);
    if (vec != LW_VEC_AUTO) LLVMSetMetadata(br, L->md_loop, vectorize_md(L, vec == LW_VEC_FORCE));
    LLVMAddIncoming(lp->i, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(L->b, lp->exit);
}

LLVMBasicBlockRef lw_if(Lw *L, LLVMValueRef c)
{
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(L->cx, L->fn, "then");
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(L->cx, L->fn, "endif");
    LLVMBuildCondBr(L->b, c, then, after);
    LLVMPositionBuilderAtEnd(L->b, then);
    return after;
}

void lw_endif(Lw *L, LLVMBasicBlockRef after)
{
    LLVMBuildBr(L->b, after);
    LLVMPositionBuilderAtEnd(L->b, after);
}

LLVMValueRef lw_var(Lw *L, LLVMTypeRef t, LLVMValueRef init)
{
    LLVMValueRef v = LLVMBuildAlloca(L->ab, t, "");
    if (init) LLVMBuildStore(L->b, init, v);
    return v;
}

LLVMValueRef lw_array(Lw *L, LLVMTypeRef t, int64_t n)
{
    LLVMTypeRef at = LLVMArrayType(t, (unsigned)n);
    LLVMValueRef v = LLVMBuildAlloca(L->ab, at, "");
    LLVMSetAlignment(v, 64);
    LLVMValueRef idx[2] = {lw_i64(L, 0), lw_i64(L, 0)};
    return LLVMBuildInBoundsGEP2(L->ab, at, v, idx, 2, "");
}

LLVMValueRef lw_get(Lw *L, LLVMValueRef var) { return LLVMBuildLoad2(L->b, LLVMGetAllocatedType(var), var, ""); }
void lw_set(Lw *L, LLVMValueRef var, LLVMValueRef v) { LLVMBuildStore(L->b, v, var); }

LLVMValueRef lw_at(Lw *L, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef i)
{
    return LLVMBuildInBoundsGEP2(L->b, t, base, &i, 1, "");
}

/*
 * Storage.
 */
static LLVMTypeRef elem_type(Lw *L, IrDType t)
{
    switch (t) {
    case DT_F32: return L->f32;
    case DT_F16: case DT_BF16: return L->i16;
    case DT_BOOL: case DT_U8: case DT_I8: return L->i8;
    case DT_I32: return L->i32;
    case DT_I64: return L->i64;
    default: return NULL;
    }
}

LLVMValueRef lw_load(Lw *L, int a, LLVMValueRef i)
{
    IrDType t = L->k->args.v[a].dtype;
    LLVMTypeRef et = elem_type(L, t);
    LLVMValueRef v = LLVMBuildLoad2(L->b, et, lw_at(L, et, L->arg[a], i), "");
    switch (t) {
    case DT_F32: return v;
    case DT_F16: return lw_math(L, LWM_H2F, v);
    case DT_BF16:
        return LLVMBuildBitCast(L->b, LLVMBuildShl(L->b, LLVMBuildZExt(L->b, v, L->i32, ""), lw_i32(L, 16), ""), L->f32, "");
    case DT_BOOL: case DT_U8: return LLVMBuildZExt(L->b, v, L->i64, "");
    case DT_I8: case DT_I32: return LLVMBuildSExt(L->b, v, L->i64, "");
    case DT_I64: return v;
    default: M2C_UNREACHABLE();
    }
}

void lw_store_out(Lw *L, LLVMValueRef i, LLVMValueRef v)
{
    int a = (int)L->k->args.n - 1;
    IrDType t = L->k->args.v[a].dtype;
    bool isf = LLVMTypeOf(v) == L->f32;
    LLVMTypeRef et = elem_type(L, t);
    if (ir_dtype_is_float(t) && !isf) v = LLVMBuildSIToFP(L->b, v, L->f32, "");
    if (!ir_dtype_is_float(t) && isf) {
        LLVMTypeRef over[2] = {L->i64, L->f32};
        v = lw_intrinsic(L, "llvm.fptosi.sat", over, 2, &v, 1);
    }
    switch (t) {
    case DT_F32: break;
    case DT_F16: v = lw_math(L, LWM_F2H, v); break;
    case DT_BF16: v = lw_math(L, LWM_F2B, v); break;
    case DT_BOOL: v = LLVMBuildZExt(L->b, LLVMBuildICmp(L->b, LLVMIntNE, v, lw_i64(L, 0), ""), L->i8, ""); break;
    case DT_U8: case DT_I8: case DT_I32: v = LLVMBuildTrunc(L->b, v, et, ""); break;
    case DT_I64: break;
    default: M2C_UNREACHABLE();
    }
    LLVMBuildStore(L->b, v, lw_at(L, et, L->arg[a], i));
}

void lw_share(Lw *L, LLVMValueRef n, LLVMValueRef *lo, LLVMValueRef *hi)
{
    /* n·part/nparts: n < 2^40 (the symbols' bound), nparts a thread count, so the product fits */
    *lo = LLVMBuildSDiv(L->b, lw_mul(L, n, L->part), L->nparts, "lo");
    *hi = LLVMBuildSDiv(L->b, lw_mul(L, n, lw_add(L, L->part, lw_i64(L, 1))), L->nparts, "hi");
}

/*
 * Axes and offsets.
 */
static bool is_one(Lw *L, IrDim d)
{
    int64_t c;
    return ir_dim_const_value(L->g, d, &c) && c == 1;
}

static void reach(const KirGroup *k, uint32_t root, bool *seen)
{
    if (seen[root]) return;
    seen[root] = true;
    const KirExpr *e = &k->ex.v[root];
    for (int j = 0; j < kir_xop_arity(e->op); j++) reach(k, e->a[j], seen);
}

bool *lw_uses(Lw *L, uint32_t root, bool *use)
{
    const KirGroup *k = L->k;
    bool *seen = calloc(k->ex.n, 1);
    reach(k, root, seen);
    for (uint32_t i = 0; i < k->ex.n; i++)
        if (seen[i] && k->ex.v[i].op == KX_LOAD) use[k->ex.v[i].arg] = true;
    free(seen);
    return use;
}

void lw_axes(Lw *L, int from, int to, const bool *use, LwAxes *ax)
{
    IrGraph *g = L->g;
    const KirGroup *k = L->k;
    memset(ax, 0, sizeof *ax);
    for (uint32_t a = 0; a < k->args.n && a < 64; a++)
        if (use[a]) ax->at[a] = m2c_alloc_array(g->arena, IR_MAX_RANK, sizeof(IrDim));
    /* from the last axis: each axis either merges into the one after it or starts a new one */
    int n = 0;
    IrDim dims[IR_MAX_RANK];
    int src[IR_MAX_RANK];
    for (int i = to - 1; i >= from; i--) {
        if (is_one(L, k->space[i])) continue;
        bool merge = n > 0;
        for (uint32_t a = 0; merge && a < k->args.n; a++) {
            if (!use[a] || k->args.v[a].use != KIR_ARG_POINTWISE) continue;
            const IrDim *at = k->args.v[a].at;
            merge = at[i] == ir_dim_mul(g, at[src[n - 1]], dims[n - 1]);
        }
        if (merge) {
            dims[n - 1] = ir_dim_mul(g, dims[n - 1], k->space[i]);
        } else {
            dims[n] = k->space[i];
            src[n++] = i;
        }
    }
    /* reverse into the outer-to-inner order */
    IrDim lin = ir_dim_const(g, 1);
    ax->n = n;
    for (int j = 0; j < n; j++) {
        int i = n - 1 - j;   /* merged axis i is dims[j] */
        ax->dim[i] = dims[j];
        ax->lin[i] = lin;
        lin = ir_dim_mul(g, lin, dims[j]);
        for (uint32_t a = 0; a < k->args.n && a < 64; a++)
            if (use[a] && k->args.v[a].use == KIR_ARG_POINTWISE) ax->at[a][i] = k->args.v[a].at[src[j]];
    }
}

void lw_offsets(Lw *L, const LwAxes *ax, int n, const bool *use, LLVMValueRef const *c, LLVMValueRef *off)
{
    const KirGroup *k = L->k;
    for (uint32_t a = 0; a + 1 < k->args.n; a++) {
        if (!use[a] || k->args.v[a].use != KIR_ARG_POINTWISE) continue;
        for (int i = 0; i < n; i++) {
            int64_t s;
            if (ir_dim_const_value(L->g, ax->at[a][i], &s) && s == 0) continue;
            off[a] = lw_add(L, off[a], lw_mul(L, c[i], lw_dim(L, ax->at[a][i])));
        }
    }
}

void lw_coords(Lw *L, const LwAxes *ax, int n, LLVMValueRef r, LLVMValueRef *c)
{
    for (int i = n - 1; i > 0; i--) {
        LLVMValueRef d = lw_dim(L, ax->dim[i]);
        c[i] = LLVMBuildSRem(L->b, r, d, "");
        r = LLVMBuildSDiv(L->b, r, d, "");
    }
    if (n > 0) c[0] = r;
}

static void walk(Lw *L, const LwAxes *ax, int i, const bool *use, const LLVMValueRef *base, LLVMValueRef lin,
                 int vec, LwBody body, void *ud)
{
    const KirGroup *k = L->k;
    if (i >= ax->n) {
        body(L, base, lin, ud);
        return;
    }
    LwLoop lp;
    LLVMValueRef c = lw_for(L, &lp, lw_i64(L, 0), lw_dim(L, ax->dim[i]));
    LLVMValueRef off[64];
    for (uint32_t a = 0; a < k->args.n && a < 64; a++) {
        off[a] = base[a];
        if (use[a] && k->args.v[a].use == KIR_ARG_POINTWISE && ax->at[a])
            off[a] = lw_add(L, base[a], lw_mul(L, c, lw_dim(L, ax->at[a][i])));
    }
    walk(L, ax, i + 1, use, off, lw_add(L, lin, lw_mul(L, c, lw_dim(L, ax->lin[i]))), vec, body, ud);
    lw_for_end(L, &lp, i == ax->n - 1 ? vec : LW_VEC_AUTO);
}

void lw_walk(Lw *L, const LwAxes *ax, int from, const bool *use, const LLVMValueRef *base, LLVMValueRef lin,
             int vec, LwBody body, void *ud)
{
    walk(L, ax, from, use, base, lin, vec, body, ud);
}

/*
 * The function: ABI trampoline + inner function.
 */
static void add_attr(Lw *L, LLVMValueRef fn, int idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, (LLVMAttributeIndex)idx, LLVMCreateEnumAttribute(L->cx, kind, 0));
}

bool llvm_emit(IrGraph *g, const KirGroup *k, LLVMModuleRef m, const char *fname)
{
    Lw L = {0};
    L.g = g, L.k = k, L.m = m, L.cx = LLVMGetModuleContext(m);
    L.f32 = LLVMFloatTypeInContext(L.cx), L.i64 = LLVMInt64TypeInContext(L.cx), L.i32 = LLVMInt32TypeInContext(L.cx);
    L.i16 = LLVMInt16TypeInContext(L.cx), L.i8 = LLVMInt8TypeInContext(L.cx), L.i1 = LLVMInt1TypeInContext(L.cx);
    L.vd = LLVMVoidTypeInContext(L.cx);
    L.md_loop = LLVMGetMDKindIDInContext(L.cx, "llvm.loop", 9);
    uint32_t na = k->args.n, ns = k->syms.n;
    if (na > 64) {
        llvm_set_error("%s: more than 64 arguments", k->name);
        return false;
    }
    for (uint32_t a = 0; a < na; a++)
        if (!elem_type(&L, k->args.v[a].dtype)) {
            llvm_set_error("%s: no CPU form for dtype %s", k->name, ir_dtype_name(k->args.v[a].dtype));
            return false;
        }
    /* inner: void NAME.body(T0 *noalias in0, ..., Tout *noalias out, i64 syms..., i64 part, i64 nparts) */
    LLVMTypeRef *pt = calloc(na + ns + 2, sizeof *pt);
    for (uint32_t a = 0; a < na; a++) pt[a] = LLVMPointerType(elem_type(&L, k->args.v[a].dtype), 0);
    for (uint32_t s = 0; s < ns + 2; s++) pt[na + s] = L.i64;
    LLVMTypeRef ity = LLVMFunctionType(L.vd, pt, na + ns + 2, false);
    char *iname = m2c_sprintf(g->arena, "%s.body", fname);
    L.fn = LLVMAddFunction(m, iname, ity);
    LLVMSetLinkage(L.fn, LLVMInternalLinkage);
    /* not inlined into the trampoline: the noalias parameters are what lets the vectorizer skip overlap checks */
    add_attr(&L, L.fn, -1, "noinline");
    add_attr(&L, L.fn, -1, "nounwind");
    for (uint32_t a = 0; a < na; a++) {
        add_attr(&L, L.fn, (int)a + 1, "noalias");
        add_attr(&L, L.fn, (int)a + 1, "nocapture");
        if (a + 1 < na) add_attr(&L, L.fn, (int)a + 1, "readonly");
    }
    L.arg = calloc(na, sizeof *L.arg);
    L.sym = calloc(ns ? ns : 1, sizeof *L.sym);
    L.xv = calloc(k->ex.n ? k->ex.n : 1, sizeof *L.xv);
    for (uint32_t a = 0; a < na; a++) {
        L.arg[a] = LLVMGetParam(L.fn, a);
        LLVMSetValueName2(L.arg[a], k->args.v[a].name, strlen(k->args.v[a].name));
    }
    for (uint32_t s = 0; s < ns; s++) {
        L.sym[s] = LLVMGetParam(L.fn, na + s);
        LLVMSetValueName2(L.sym[s], k->syms.v[s].cname, strlen(k->syms.v[s].cname));
    }
    L.part = LLVMGetParam(L.fn, na + ns);
    L.nparts = LLVMGetParam(L.fn, na + ns + 1);
    LLVMSetValueName2(L.part, "part", 4);
    LLVMSetValueName2(L.nparts, "nparts", 6);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(L.cx, L.fn, "entry");
    L.b = LLVMCreateBuilderInContext(L.cx);
    L.ab = LLVMCreateBuilderInContext(L.cx);
    LLVMPositionBuilderAtEnd(L.ab, entry);
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(L.cx, L.fn, "start");
    LLVMPositionBuilderAtEnd(L.b, start);
    bool ok = true;
    switch (k->kind) {
    case KIR_ELTWISE: case KIR_EPILOGUE: lw_emit_eltwise(&L); break;
    case KIR_ROW: lw_emit_row(&L); break;
    case KIR_ROPE: lw_emit_rope(&L); break;
    case KIR_DWCONV1D: lw_emit_dwconv(&L); break;
    case KIR_ATTENTION: lw_emit_attention(&L); break;
    default:
        llvm_set_error("%s: unknown kernel kind", k->name);
        ok = false;
        LLVMBuildRetVoid(L.b);
        break;
    }
    /* the allocas' block falls through to the code */
    LLVMBuildBr(L.ab, start);
    /* trampoline: void NAME(i8 **args, i64 *syms, i64 part, i64 nparts) */
    LLVMTypeRef i8p = LLVMPointerType(L.i8, 0), i64p = LLVMPointerType(L.i64, 0);
    LLVMTypeRef tp[4] = {LLVMPointerType(i8p, 0), i64p, L.i64, L.i64};
    LLVMValueRef tr = LLVMAddFunction(m, fname, LLVMFunctionType(L.vd, tp, 4, false));
    add_attr(&L, tr, -1, "nounwind");
    LLVMPositionBuilderAtEnd(L.b, LLVMAppendBasicBlockInContext(L.cx, tr, "entry"));
    LLVMValueRef *cargs = calloc(na + ns + 2, sizeof *cargs);
    for (uint32_t a = 0; a < na; a++) {
        LLVMValueRef idx = lw_i64(&L, a);
        LLVMValueRef p = LLVMBuildLoad2(L.b, i8p, LLVMBuildInBoundsGEP2(L.b, i8p, LLVMGetParam(tr, 0), &idx, 1, ""), "");
        cargs[a] = LLVMBuildBitCast(L.b, p, pt[a], k->args.v[a].name);
    }
    for (uint32_t s = 0; s < ns; s++) {
        LLVMValueRef idx = lw_i64(&L, s);
        cargs[na + s] = LLVMBuildLoad2(L.b, L.i64, LLVMBuildInBoundsGEP2(L.b, L.i64, LLVMGetParam(tr, 1), &idx, 1, ""),
                                       k->syms.v[s].cname);
    }
    cargs[na + ns] = LLVMGetParam(tr, 2);
    cargs[na + ns + 1] = LLVMGetParam(tr, 3);
    LLVMBuildCall2(L.b, ity, L.fn, cargs, na + ns + 2, "");
    LLVMBuildRetVoid(L.b);
    LLVMDisposeBuilder(L.b);
    LLVMDisposeBuilder(L.ab);
    free(cargs), free(pt), free(L.arg), free(L.sym), free(L.xv);
    return ok;
}
