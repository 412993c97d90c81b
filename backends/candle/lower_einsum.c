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
    int wa[IR_MAX_RANK], wb[IR_MAX_RANK], k = 0;
    for (int i = 0; i < nb; i++) wa[k++] = batch[i];
    for (int i = 0; i < nl; i++) wa[k++] = left[i];
    for (int i = 0; i < nk; i++) wa[k++] = inner[i];
    k = 0;
    for (int i = 0; i < nb; i++) wb[k++] = batch[i];
    for (int i = 0; i < nk; i++) wb[k++] = inner[i];
    for (int i = 0; i < nr; i++) wb[k++] = right[i];
    permute(f, a, wa, true);
    permute(f, b, wb, true);
    /* shared axes may broadcast (size 1 against n): the larger size wins */
    IrDim bd[IR_MAX_RANK], kd = ir_dim_const(f->g, 1), ld = ir_dim_const(f->g, 1), rd = ir_dim_const(f->g, 1);
    bool bcast_a = false, bcast_b = false;
    for (int i = 0; i < nb + nk; i++) {
        int ia = i < nb ? i : nl + i, ib = i;
        IrDim da = a->dim[ia], db = b->dim[ib];
        int64_t c;
        IrDim m = da == db ? da : ir_dim_const_value(f->g, da, &c) && c == 1 ? db : da;
        bcast_a |= m != da;
        bcast_b |= m != db;
        if (i < nb) bd[i] = m;
        else kd = ir_dim_mul(f->g, kd, m);
        a->dim[ia] = b->dim[ib] = m;
    }
    if (bcast_a) {
        const char *e = cg_fresh(f, "expanded");
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.contiguous()?;", e, a->v, cg_shape(f, a->n, a->dim));
        set_local(f, a, e);
    }
    if (bcast_b) {
        const char *e = cg_fresh(f, "expanded");
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.contiguous()?;", e, b->v, cg_shape(f, b->n, b->dim));
        set_local(f, b, e);
    }
    for (int i = 0; i < nl; i++) ld = ir_dim_mul(f->g, ld, a->dim[nb + i]);
    for (int i = 0; i < nr; i++) rd = ir_dim_mul(f->g, rd, b->dim[nb + nk + i]);
    IrDim sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    memcpy(sa, bd, (size_t)nb * sizeof *bd);
    memcpy(sb, bd, (size_t)nb * sizeof *bd);
    sa[nb] = ld;
    sa[nb + 1] = kd;
    sb[nb] = kd;
    sb[nb + 1] = rd;
    const char *ma = cg_fresh(f, "lhs"), *mb = cg_fresh(f, "rhs"), *prod = cg_fresh(f, "product");
    cg_stmt(f, "let %s = %s.reshape(%s)?;", ma, a->v, cg_shape(f, nb + 2, sa));
    cg_stmt(f, "let %s = %s.reshape(%s)?;", mb, b->v, cg_shape(f, nb + 2, sb));
    cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, ma, mb, t));
    Operand o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < nb; i++) o.label[o.n] = batch[i], o.dim[o.n++] = bd[i];
    for (int i = 0; i < nl; i++) o.label[o.n] = left[i], o.dim[o.n++] = a->dim[nb + i];
    for (int i = 0; i < nr; i++) o.label[o.n] = right[i], o.dim[o.n++] = b->dim[nb + nk + i];
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
