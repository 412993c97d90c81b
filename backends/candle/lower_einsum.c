/* backends/candle/lower_einsum.c — Einsum: any equation (ellipsis, implicit output, repeated labels),
 * lowered to candle's permute / reshape / matmul / sum.
 *
 * Each operand first loses its repeated labels (the diagonal: a product with an identity matrix summed
 * over the second axis) and the labels no one else reads (summed).  Operands are then contracted left to
 * right: labels in both and still needed are batch axes, labels in both and no longer needed are the inner
 * axis of one batched matmul, the rest are its rows and columns.  A final permute puts the output's order.
 * "bij,bjk->bik" and "bhqd,bhkd->bhqk" come out as one matmul each.
 */
#include "lower_nn.h"

#include <string.h>

#define ELL_BASE 1000   /* label of ellipsis dim k (right-aligned among all terms): ELL_BASE + k */

typedef struct {
    int n;
    int label[IR_MAX_RANK];
    IrDim dim[IR_MAX_RANK];
    const char *v;     /* receiver */
    const char *r;     /* as a &Tensor argument */
    bool view;         /* a permuted view, not contiguous */
} Operand;

/* Letters and an optional ellipsis of one term; ellipsis dims are numbered against `nell` (right-aligned). */
static bool parse_term(const char *s, size_t len, int *labels, int *nl, int ne, int nell)
{
    *nl = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ') {
            i++;
        } else if (s[i] == '.' && i + 2 < len + 0 && s[i + 1] == '.' && s[i + 2] == '.') {
            for (int k = 0; k < ne; k++) {
                if (*nl >= IR_MAX_RANK) return false;
                labels[(*nl)++] = ELL_BASE + nell - ne + k;
            }
            i += 3;
        } else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
            if (*nl >= IR_MAX_RANK) return false;
            labels[(*nl)++] = (unsigned char)s[i++];
        } else {
            return false;
        }
    }
    return true;
}

static int count_letters(const char *s, size_t len, bool *ell)
{
    int c = 0;
    *ell = false;
    for (size_t i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) c++;
        if (s[i] == '.') *ell = true;
    }
    return c;
}

static int find(const int *l, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (l[i] == x) return i;
    return -1;
}

static const char *perm_text(CgFn *f, const int *p, int n)
{
    M2cBuf b = {0};
    m2c_buf_puts(&b, "(");
    for (int i = 0; i < n; i++) m2c_buf_printf(&b, "%s%d", i ? ", " : "", p[i]);
    m2c_buf_puts(&b, ")");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

static void set_local(CgFn *f, Operand *o, const char *name)
{
    o->view = false;
    o->v = name;
    o->r = m2c_sprintf(f->a, "&%s", name);
}

/* Reorders o's axes to `want` (a permutation of its labels); a no-op when already in order. */
static void permute(CgFn *f, Operand *o, const int *want, bool contiguous)
{
    int p[IR_MAX_RANK];
    bool id = true;
    for (int i = 0; i < o->n; i++) {
        p[i] = find(o->label, o->n, want[i]);
        id = id && p[i] == i;
    }
    if (id) return;
    const char *t = cg_fresh(f, "permuted");
    cg_stmt(f, "let %s = %s.permute(%s)?%s;", t, o->v, perm_text(f, p, o->n), contiguous ? ".contiguous()?" : "");
    IrDim d[IR_MAX_RANK];
    for (int i = 0; i < o->n; i++) d[i] = o->dim[p[i]];
    memcpy(o->dim, d, sizeof d);
    memcpy(o->label, want, (size_t)o->n * sizeof *want);
    set_local(f, o, t);
    o->view = !contiguous;
}

/* Removes repeated labels (diagonals) and sums the labels `needed` does not contain. */
static void reduce_operand(CgFn *f, Operand *o, const bool *needed, IrDType t)
{
    for (int p = 0; p < o->n; p++) {
        for (int q = p + 1; q < o->n; q++) {
            if (o->label[q] != o->label[p]) continue;
            /* x * I (over axes p and q), then summed over q: the diagonal */
            IrDim s[IR_MAX_RANK];
            for (int i = 0; i < o->n; i++) s[i] = i == p || i == q ? o->dim[p] : ir_dim_const(f->g, 1);
            const char *d = cg_fresh(f, "diagonal");
            cg_stmt(f, "let %s = %s.broadcast_mul(&Tensor::eye(%s, %s, %s.device())?.reshape(%s)?)?.sum(%d)?;", d, o->v,
                    cg_dim(f, o->dim[p]), cg_candle_dtype(t), o->v, cg_shape(f, o->n, s), q);
            memmove(o->label + q, o->label + q + 1, (size_t)(o->n - q - 1) * sizeof *o->label);
            memmove(o->dim + q, o->dim + q + 1, (size_t)(o->n - q - 1) * sizeof *o->dim);
            o->n--;
            set_local(f, o, d);
            q--;
        }
    }
    int drop[IR_MAX_RANK], nd = 0;
    for (int i = 0; i < o->n; i++)
        if (!needed[o->label[i] < ELL_BASE ? o->label[i] : 128 + o->label[i] - ELL_BASE]) drop[nd++] = i;
    if (!nd) return;
    const char *s = cg_fresh(f, "summed");
    cg_stmt(f, "let %s = %s.sum(%s)?;", s, o->v, nd == 1 ? m2c_sprintf(f->a, "%d", drop[0]) : perm_text(f, drop, nd));
    for (int k = nd - 1; k >= 0; k--) {
        int i = drop[k];
        memmove(o->label + i, o->label + i + 1, (size_t)(o->n - i - 1) * sizeof *o->label);
        memmove(o->dim + i, o->dim + i + 1, (size_t)(o->n - i - 1) * sizeof *o->dim);
        o->n--;
    }
    set_local(f, o, s);
}

static int slot(int label)
{
    return label < ELL_BASE ? label : 128 + label - ELL_BASE;
}

/* Size of label l in o (IR_DIM_INVALID if absent). */
static IrDim label_dim(const Operand *o, int l)
{
    int i = find(o->label, o->n, l);
    return i < 0 ? IR_DIM_INVALID : o->dim[i];
}

/* o as the (batch..., rows, cols) operand of a batched matmul: its axes ordered as `want` (nb batch labels,
 * then nr row labels, then nc column labels), shared axes broadcast to `full`, rows and columns merged.
 * A plain swap of the last two axes stays a transposed view, which candle's GEMMs take as it is. */
static const char *as_matrix(CgFn *f, Operand *o, const int *want, int nb, int nr, int nc, const IrDim *full,
                             const IrDim *shape)
{
    int p[IR_MAX_RANK];
    bool id = true, swap = o->n >= 2 && nr == 1 && nc == 1, bcast = false;
    for (int i = 0; i < o->n; i++) {
        p[i] = find(o->label, o->n, want[i]);
        id = id && p[i] == i;
        if (i < o->n - 2) swap = swap && p[i] == i;
        bcast = bcast || o->dim[p[i]] != full[i];
    }
    swap = swap && p[o->n - 2] == o->n - 1 && p[o->n - 1] == o->n - 2;
    const char *m = cg_fresh(f, "operand");
    if (!bcast && swap) {
        cg_stmt(f, "let %s = %s.contiguous()?.t()?;", m, o->v);
        return m;
    }
    M2cBuf b = {0};
    m2c_buf_puts(&b, o->v);
    if (!id) m2c_buf_printf(&b, ".permute(%s)?", perm_text(f, p, o->n));
    if (bcast) m2c_buf_printf(&b, ".broadcast_as(%s)?", cg_shape(f, o->n, full));
    if (!id || bcast) m2c_buf_puts(&b, ".contiguous()?");
    bool same = o->n == nb + 2;
    for (int i = 0; same && i < o->n; i++) same = full[i] == shape[i];
    if (!same) m2c_buf_printf(&b, ".reshape(%s)?", cg_shape(f, nb + 2, shape));
    else if (id && !bcast) m2c_buf_puts(&b, ".contiguous()?");
    cg_stmt(f, "let %s = %s;", m, b.s);
    m2c_buf_free(&b);
    return m;
}

/* a * b over their shared labels; the result keeps the labels in `keep`. */
static Operand contract(CgFn *f, Operand *a, Operand *b, const bool *keep, IrDType t)
{
    int batch[IR_MAX_RANK], nb = 0, inner[IR_MAX_RANK], nk = 0, left[IR_MAX_RANK], nl = 0, right[IR_MAX_RANK], nr = 0;
    for (int i = 0; i < a->n; i++) {
        int l = a->label[i];
        if (find(b->label, b->n, l) >= 0) {
            if (keep[slot(l)]) batch[nb++] = l;
            else inner[nk++] = l;
        } else {
            left[nl++] = l;
        }
    }
    for (int i = 0; i < b->n; i++)
        if (find(a->label, a->n, b->label[i]) < 0) right[nr++] = b->label[i];
    /* shared axes may broadcast (size 1 against n): the larger size wins */
    IrDim bd[IR_MAX_RANK], kdims[IR_MAX_RANK];
    for (int i = 0; i < nb + nk; i++) {
        int l = i < nb ? batch[i] : inner[i - nb];
        IrDim da = label_dim(a, l), db = label_dim(b, l);
        int64_t c;
        IrDim m = da == db ? da : ir_dim_const_value(f->g, da, &c) && c == 1 ? db : da;
        if (i < nb) bd[i] = m;
        else kdims[i - nb] = m;
    }
    int wa[IR_MAX_RANK], wb[IR_MAX_RANK], k = 0;
    IrDim fa[IR_MAX_RANK], fb[IR_MAX_RANK];
    IrDim kd = ir_dim_const(f->g, 1), ld = ir_dim_const(f->g, 1), rd = ir_dim_const(f->g, 1);
    for (int i = 0; i < nb; i++) wa[k] = batch[i], fa[k++] = bd[i];
    for (int i = 0; i < nl; i++) wa[k] = left[i], fa[k++] = label_dim(a, left[i]), ld = ir_dim_mul(f->g, ld, label_dim(a, left[i]));
    for (int i = 0; i < nk; i++) wa[k] = inner[i], fa[k++] = kdims[i], kd = ir_dim_mul(f->g, kd, kdims[i]);
    k = 0;
    for (int i = 0; i < nb; i++) wb[k] = batch[i], fb[k++] = bd[i];
    for (int i = 0; i < nk; i++) wb[k] = inner[i], fb[k++] = kdims[i];
    for (int i = 0; i < nr; i++) wb[k] = right[i], fb[k++] = label_dim(b, right[i]), rd = ir_dim_mul(f->g, rd, label_dim(b, right[i]));
    IrDim sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    memcpy(sa, bd, (size_t)nb * sizeof *bd);
    memcpy(sb, bd, (size_t)nb * sizeof *bd);
    sa[nb] = ld;
    sa[nb + 1] = kd;
    sb[nb] = kd;
    sb[nb + 1] = rd;
    const char *ma = as_matrix(f, a, wa, nb, nl, nk, fa, sa), *mb = as_matrix(f, b, wb, nb, nk, nr, fb, sb);
    const char *prod = cg_fresh(f, "product");
    cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, ma, mb, t));
    Operand o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < nb; i++) o.label[o.n] = batch[i], o.dim[o.n++] = bd[i];
    for (int i = 0; i < nl; i++) o.label[o.n] = left[i], o.dim[o.n++] = label_dim(a, left[i]);
    for (int i = 0; i < nr; i++) o.label[o.n] = right[i], o.dim[o.n++] = label_dim(b, right[i]);
    bool same = o.n == nb + 2 && nl == 1 && nr == 1;
    if (same) {
        set_local(f, &o, prod);
        return o;
    }
    const char *res = cg_fresh(f, "contracted");
    cg_stmt(f, "let %s = %s.reshape(%s)?;", res, prod, cg_shape(f, o.n, o.dim));
    set_local(f, &o, res);
    return o;
}

bool cg_lower_einsum(CgFn *f, const IrNode *n)
{
    const char *eq = ir_attr_str(n, "equation", "");
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    IrDType t = cg_nn_val(f, n->in[0])->dtype;
    if (n->nin > IR_MAX_RANK) return cg_unsupported(f, n, "too many operands");
    /* term boundaries and the ellipsis rank */
    const char *ts[IR_MAX_RANK];
    size_t tl[IR_MAX_RANK];
    int ne[IR_MAX_RANK], nell = 0;
    const char *p = eq;
    for (uint32_t i = 0; i < n->nin; i++) {
        const char *c = memchr(p, ',', lhs_len - (size_t)(p - eq));
        ts[i] = p;
        tl[i] = c ? (size_t)(c - p) : lhs_len - (size_t)(p - eq);
        bool ell;
        int letters = count_letters(ts[i], tl[i], &ell);
        ne[i] = ell ? cg_nn_val(f, n->in[i])->rank - letters : 0;
        if (ne[i] > nell) nell = ne[i];
        p = c ? c + 1 : p + tl[i];
    }
    Operand ops[IR_MAX_RANK];
    int count[128 + IR_MAX_RANK] = {0};
    for (uint32_t i = 0; i < n->nin; i++) {
        Operand *o = &ops[i];
        if (!parse_term(ts[i], tl[i], o->label, &o->n, ne[i], nell) || o->n != cg_nn_val(f, n->in[i])->rank)
            return cg_unsupported(f, n, "cannot parse the equation");
        memcpy(o->dim, cg_nn_val(f, n->in[i])->dims, (size_t)o->n * sizeof *o->dim);
        o->v = cg_in(f, n, i);
        o->r = cg_in_ref(f, n, i);
        o->view = cg_layout(f, n->in[i]) != LAYOUT_CONTIG;
        for (int k = 0; k < o->n; k++) count[slot(o->label[k])]++;
    }
    int out[IR_MAX_RANK], no = 0;
    if (arrow) {
        if (!parse_term(arrow + 2, strlen(arrow + 2), out, &no, nell, nell))
            return cg_unsupported(f, n, "cannot parse the equation's output");
    } else {
        for (int k = 0; k < nell; k++) out[no++] = ELL_BASE + k;
        for (int c = 0; c < 128; c++)
            if (count[c] == 1) out[no++] = c;
    }
    /* each operand alone: diagonals, and the labels nobody else needs summed away */
    for (uint32_t i = 0; i < n->nin; i++) {
        bool needed[128 + IR_MAX_RANK] = {0};
        for (int k = 0; k < no; k++) needed[slot(out[k])] = true;
        for (uint32_t j = 0; j < n->nin; j++)
            for (int k = 0; j != i && k < ops[j].n; k++) needed[slot(ops[j].label[k])] = true;
        reduce_operand(f, &ops[i], needed, t);
    }
    Operand acc = ops[0];
    for (uint32_t i = 1; i < n->nin; i++) {
        bool keep[128 + IR_MAX_RANK] = {0};
        for (int k = 0; k < no; k++) keep[slot(out[k])] = true;
        for (uint32_t j = i + 1; j < n->nin; j++)
            for (int k = 0; k < ops[j].n; k++) keep[slot(ops[j].label[k])] = true;
        acc = contract(f, &acc, &ops[i], keep, t);
        /* labels of the result that nothing later needs (contracted broadcast axes) */
        reduce_operand(f, &acc, keep, t);
    }
    if (acc.n != no) return cg_unsupported(f, n, "output labels do not match the operands");
    permute(f, &acc, out, false);
    bool input = strcmp(acc.v, cg_in(f, n, 0)) == 0;
    cg_stmt(f, input ? "let %s = %s.clone();" : "let %s = %s;", cg_out(f, n, 0), acc.v);
    cg_set_layout(f, n->out[0], acc.view ? LAYOUT_VIEW : LAYOUT_CONTIG);
    return true;
}
