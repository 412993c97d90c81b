/* passes/fuse_linear.c — nn.Linear as one node: Linear(x, W, b) {trans_w}.
 *
 *   MatMul(x, W[in,out]) [+ Add(b[out]), bias on either side]   (exports of ≥3-D inputs; W folded, transposed)
 *   Gemm(x, W, b, transB)                                         (2-D inputs; alpha = beta = 1, no transA)
 *
 * W must be a constant (a weight, or the constant the export folded it into) and b a 1-D constant of the
 * output size; the MatMul's result must feed only the Add.  trans_w keeps W's layout, so no weight is copied:
 * 1 for PyTorch's (out, in), 0 for a MatMul's (in, out).  A Reshape to 2-D before and back after is folded
 * into the Linear (unflatten). */
#include "fuse.h"

static bool float_const(IrGraph *g, uint32_t v, int rank)
{
    return fu_const(g, v, rank) && ir_dtype_is_float(ir_val(g, v)->dtype);
}

static uint32_t fuse_matmul(IrGraph *g, IrNode *mm)
{
    uint32_t x = mm->in[0], w = mm->in[1];
    if (!float_const(g, w, 2) || float_const(g, x, -1) || ir_val(g, x)->rank < 1) return 0;
    if (ir_val(g, x)->dtype != ir_val(g, w)->dtype) return 0;
    int64_t out = ir_val(g, w)->konst->shape[1];
    IrNode *dead[2] = {mm, NULL};
    uint32_t nd = 1, b = IR_NONE;
    IrNode *add = fu_user(g, mm->out[0], IR_OP_ADD);
    if (add) {
        uint32_t other = fu_other(add, mm->out[0]);
        const IrValue *bv = other != IR_NONE ? ir_val(g, other) : NULL;
        /* the Add must not broadcast the product up (bias [out], output the product's shape) */
        if (bv && float_const(g, other, 1) && bv->konst->shape[0] == out && ir_val(g, add->out[0])->rank == ir_val(g, x)->rank) {
            b = other;
            dead[nd++] = add;
        }
    }
    uint32_t in[3] = {x, w, b};
    IrNode *n = fu_replace(g, dead[nd - 1], dead, nd, IR_OP_LINEAR, b != IR_NONE ? 3 : 2, in);
    ir_attr_set_int(g, n, "trans_w", 0);
    return 1;
}

static uint32_t fuse_gemm(IrGraph *g, IrNode *gm)
{
    uint32_t x = gm->in[0], w = gm->in[1], c = ir_input(gm, 2);
    if (ir_attr_int(gm, "transA", 0) || ir_attr_float(gm, "alpha", 1) != 1.0) return 0;
    if (c != IR_NONE && ir_attr_float(gm, "beta", 1) != 1.0) return 0;
    if (!float_const(g, w, 2) || float_const(g, x, -1) || ir_val(g, x)->rank != 2) return 0;
    bool trans = ir_attr_int(gm, "transB", 0) != 0;
    int64_t out = ir_val(g, w)->konst->shape[trans ? 0 : 1];
    if (c != IR_NONE && !(float_const(g, c, 1) && ir_val(g, c)->konst->shape[0] == out)) return 0;
    uint32_t in[3] = {x, w, c};
    IrNode *n = fu_replace(g, gm, &gm, 1, IR_OP_LINEAR, c != IR_NONE ? 3 : 2, in);
    ir_attr_set_int(g, n, "trans_w", trans);
    return 1;
}

/* Reshape(x[..., in] -> [rows, in]) → Linear → Reshape(-> [..., out]): HF's Conv1D (GPT-2) and Gemm-based
 * exports flatten the batch for a 2-D product and restore it after.  Linear takes the N-D input itself (the
 * backend flattens it as candle_nn::Linear does), so the pair of reshapes goes. */
static uint32_t unflatten(IrGraph *g, IrNode *lin)
{
    IrNode *flat = fu_prod(g, lin->in[0], IR_OP_RESHAPE);
    IrNode *back = fu_user(g, lin->out[0], IR_OP_RESHAPE);
    if (!flat || !back || !fu_single(g, lin->in[0])) return 0;
    uint32_t x = flat->in[0];
    const IrValue *xv = ir_val(g, x), *fv = ir_val(g, flat->out[0]), *bv = ir_val(g, back->out[0]);
    const IrValue *lv = ir_val(g, lin->out[0]);
    if (xv->rank < 3 || fv->rank != 2 || bv->rank != xv->rank || lv->rank != 2) return 0;
    IrDim rows = ir_dim_const(g, 1);
    for (int i = 0; i < xv->rank - 1; i++) {
        rows = ir_dim_mul(g, rows, xv->dims[i]);
        if (bv->dims[i] != xv->dims[i]) return 0;   /* the batch dims come back as they were */
    }
    if (fv->dims[0] != rows || fv->dims[1] != xv->dims[xv->rank - 1] || bv->dims[xv->rank - 1] != lv->dims[1]) return 0;
    uint32_t nin = ir_input(lin, 2) != IR_NONE ? 3 : 2;
    uint32_t in[3] = {x, lin->in[1], nin == 3 ? lin->in[2] : IR_NONE};
    int64_t trans = ir_attr_int(lin, "trans_w", 1);
    IrNode *dead[3] = {flat, lin, back};
    IrNode *n = fu_replace(g, back, dead, 3, IR_OP_LINEAR, nin, in);
    ir_attr_set_int(g, n, "trans_w", trans);
    return 1;
}

uint32_t fuse_linear(IrGraph *g)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (n->dead) continue;
        if (n->op == IR_OP_MATMUL) count += fuse_matmul(g, n);
        else if (n->op == IR_OP_GEMM) count += fuse_gemm(g, n);
    }
    /* then the flattening around them (counted with the Linear it belongs to) */
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (!n->dead && n->op == IR_OP_LINEAR) unflatten(g, n);
    }
    return count;
}
