/* backends/candle/lower_misc.c — signal processing (DFT, STFT) and Col2Im.
 *
 * A DFT is one matmul with a real cos/sin basis (dft_basis.rs, built per call from n_fft-entry tables),
 * which on the sizes models use (n_fft of a few hundred) beats an FFT launched op by op.  STFT frames
 * the signal as a strided view (unfold), lays it out with the window product, then multiplies by the
 * same basis.  Col2Im scatters each kernel offset's columns with zero interleaving and padding on the
 * device.  The sizes are literals when constant, read from their tensors at run time otherwise. */
#include "lower_reduce.h"

#include <string.h>

/* An optional integer scalar input as a Rust usize expression; NULL when absent. */
static const char *usize_input(CgFn *f, const IrNode *n, uint32_t i, const char *hint)
{
    if (ir_input(n, i) == IR_NONE) return NULL;
    return cg_int_input(f, n, i, hint, true);
}

static bool dft(CgFn *f, const IrNode *n)
{
    /* axis: opset 20 input (default -2); opset 17 attribute, moved to input 2 by the importer */
    const char *axis = ir_input(n, 2) != IR_NONE ? cg_int_input(f, n, 2, "axis", false) : n->opset < 20 ? "1" : "-2";
    const char *len = usize_input(f, n, 1, "dft_length");
    cg_helper(f, CG_HELPER_DFT_BASIS);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_DFT), cg_in_ref(f, n, 0), axis,
            len ? m2c_sprintf(f->a, "Some(%s)", len) : "None", ir_attr_int(n, "inverse", 0) ? "true" : "false",
            ir_attr_int(n, "onesided", 0) ? "true" : "false");
    return true;
}

static bool stft(CgFn *f, const IrNode *n)
{
    const IrValue *x = ir_val(f->g, n->in[0]);
    const char *step = usize_input(f, n, 1, "frame_step");
    const char *len = usize_input(f, n, 3, "frame_length");
    uint32_t w = ir_input(n, 2);
    if (!len) {
        /* no frame_length: the window's length, else one frame of the whole signal */
        const IrValue *wv = w != IR_NONE ? ir_val(f->g, w) : NULL;
        len = cg_dim(f, wv ? wv->dims[0] : x->dims[1]);
    }
    cg_helper(f, CG_HELPER_DFT_BASIS);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_STFT), cg_in_ref(f, n, 0), step,
            w != IR_NONE ? m2c_sprintf(f->a, "Some(%s)", cg_ref(f, w)) : "None", len,
            ir_attr_int(n, "onesided", 1) ? "true" : "false");
    return true;
}

/* A list attribute as a Rust slice literal, `dflt` for each of `count` entries when absent. */
static const char *ints_attr(CgFn *f, const IrNode *n, const char *name, int count, int64_t dflt)
{
    uint32_t k = 0;
    const int64_t *v = ir_attr_ints(n, name, &k);
    M2cBuf b = {0};
    m2c_buf_puts(&b, "&[");
    for (int i = 0; i < (v ? (int)k : count); i++) m2c_buf_printf(&b, "%s%lld", i ? ", " : "", (long long)(v ? v[i] : dflt));
    m2c_buf_puts(&b, "]");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

/* A 1-D integer input as a Rust &[i64]: a literal when known, else read back at run time. */
static const char *ints_input(CgFn *f, const IrNode *n, uint32_t i, int *count)
{
    IrDim d[IR_MAX_RANK];
    uint32_t k = 0;
    if (ir_value_dims(f->g, n->in[i], d, IR_MAX_RANK, &k)) {
        M2cBuf b = {0};
        m2c_buf_puts(&b, "&[");
        for (uint32_t j = 0; j < k; j++) {
            int64_t c;
            if (ir_dim_const_value(f->g, d[j], &c)) m2c_buf_printf(&b, "%s%lld", j ? ", " : "", (long long)c);
            else m2c_buf_printf(&b, "%s%s as i64", j ? ", " : "", cg_dim(f, d[j]));
        }
        m2c_buf_puts(&b, "]");
        const char *s = m2c_strdup(f->a, b.s);
        m2c_buf_free(&b);
        *count = (int)k;
        return s;
    }
    const IrValue *v = ir_val(f->g, n->in[i]);
    int64_t len;
    *count = v->rank == 1 && ir_dim_const_value(f->g, v->dims[0], &len) ? (int)len : -1;
    const char *name = cg_fresh(f, ir_val(f->g, n->in[i])->name);
    cg_stmt(f, "let %s = %s(%s)?;", name, cg_helper(f, CG_HELPER_INTS), cg_in_ref(f, n, i));
    return m2c_sprintf(f->a, "&%s", name);
}

static bool col2im(CgFn *f, const IrNode *n)
{
    int ni, nb;
    const char *image = ints_input(f, n, 1, &ni);
    const char *block = ints_input(f, n, 2, &nb);
    int ns = ni > 0 ? ni : nb;
    if (ns <= 0) return cg_unsupported(f, n, "the number of spatial axes is not known at compile time");
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_COL2IM), cg_in_ref(f, n, 0),
            image, block, ints_attr(f, n, "dilations", ns, 1), ints_attr(f, n, "pads", 2 * ns, 0),
            ints_attr(f, n, "strides", ns, 1));
    return true;
}

bool cg_lower_misc(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_DFT: return dft(f, n);
    case IR_OP_STFT: return stft(f, n);
    case IR_OP_COL2IM: return col2im(f, n);
    default: return cg_unsupported(f, n, "not a signal op");
    }
}
