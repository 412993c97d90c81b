/* ir/dim.c — symbolic dims: interned expressions in canonical form.
 *
 * Every dim is a polynomial with integer coefficients over atoms (symbols and the opaque floor-div, mod,
 * max and min nodes).  Constructors rebuild the polynomial, merge like terms and intern the result, so two
 * dims that are equal as polynomials get the same id.  Division and modulo by constants split off the exact
 * part ((2*seq + 1) // 2 = seq); max/min use interval bounds with every symbol in [1, 2^40], which is what
 * makes min(INT64_MAX, seq) = seq when clamping Slice ends.  Overflow gives IR_DIM_INVALID, never UB.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct IrDimTable {
    M2C_VEC(IrDimExpr) exprs;
    uint32_t *slots;            /* open-addressed hash of expr ids, IR_NONE = empty */
    uint32_t nslots;
    M2cMap sym_by_name;
} IrDimTable;

enum { MAX_TERMS = 64, MAX_FACTORS = 16 };
#define SYM_HI ((int64_t)1 << 40)
#define SAT ((int64_t)1 << 62)

static IrDimTable *table(IrGraph *g)
{
    if (!g->dimtab) g->dimtab = m2c_alloc(g->arena, sizeof(IrDimTable));
    return g->dimtab;
}

const IrDimExpr *ir_dim_expr(const IrGraph *g, IrDim d)
{
    M2C_ASSERT(g->dimtab && d < g->dimtab->exprs.n);
    return &g->dimtab->exprs.v[d];
}

uint32_t ir_dim_count(const IrGraph *g)
{
    return g->dimtab ? g->dimtab->exprs.n : 0;
}

static uint64_t expr_hash(const IrDimExpr *e)
{
    uint64_t h = m2c_hash_bytes(&e->kind, sizeof e->kind, 0);
    h = m2c_hash_bytes(&e->c, sizeof e->c, h);
    if (e->name) h = m2c_hash_bytes(e->name, strlen(e->name), h);
    return m2c_hash_bytes(e->ops, e->nops * sizeof *e->ops, h);
}

static bool expr_eq(const IrDimExpr *a, const IrDimExpr *b)
{
    if (a->kind != b->kind || a->c != b->c || a->nops != b->nops) return false;
    if ((a->name == NULL) != (b->name == NULL)) return false;
    if (a->name && strcmp(a->name, b->name) != 0) return false;
    return a->nops == 0 || memcmp(a->ops, b->ops, a->nops * sizeof *a->ops) == 0;
}

static void rehash(IrGraph *g, IrDimTable *t, uint32_t nslots)
{
    t->slots = m2c_alloc_array(g->arena, nslots, sizeof *t->slots);
    memset(t->slots, 0xff, nslots * sizeof *t->slots);
    t->nslots = nslots;
    for (uint32_t id = 0; id < t->exprs.n; id++) {
        uint32_t j = (uint32_t)expr_hash(&t->exprs.v[id]) & (nslots - 1);
        while (t->slots[j] != IR_NONE) j = (j + 1) & (nslots - 1);
        t->slots[j] = id;
    }
}

static IrDim intern(IrGraph *g, IrDimKind kind, int64_t c, const char *name, const IrDim *ops, uint32_t nops)
{
    IrDimTable *t = table(g);
    IrDimExpr key = {kind, nops, c, name, ops};
    if ((t->exprs.n + 1) * 2 > t->nslots) rehash(g, t, t->nslots ? t->nslots * 2 : 256);
    uint32_t j = (uint32_t)expr_hash(&key) & (t->nslots - 1);
    while (t->slots[j] != IR_NONE) {
        if (expr_eq(&t->exprs.v[t->slots[j]], &key)) return t->slots[j];
        j = (j + 1) & (t->nslots - 1);
    }
    if (name) key.name = m2c_strdup(g->arena, name);
    if (nops) key.ops = m2c_memdup(g->arena, ops, nops * sizeof *ops);
    uint32_t id = t->exprs.n;
    m2c_vec_push(g->arena, &t->exprs, key);
    t->slots[j] = id;
    return id;
}

IrDim ir_dim_const(IrGraph *g, int64_t c)
{
    return intern(g, DIM_CONST, c, NULL, NULL, 0);
}

IrDim ir_dim_sym(IrGraph *g, const char *name)
{
    IrDim d = intern(g, DIM_SYM, 0, name, NULL, 0);
    IrDimTable *t = table(g);
    if (!m2c_map_get(&t->sym_by_name, name, NULL)) m2c_map_put(g->arena, &t->sym_by_name, ir_dim_expr(g, d)->name, d);
    return d;
}

bool ir_dim_is_const(const IrGraph *g, IrDim d)
{
    return d != IR_DIM_INVALID && ir_dim_expr(g, d)->kind == DIM_CONST;
}

bool ir_dim_const_value(const IrGraph *g, IrDim d, int64_t *out)
{
    if (!ir_dim_is_const(g, d)) return false;
    *out = ir_dim_expr(g, d)->c;
    return true;
}

int64_t ir_dim_value(const IrGraph *g, IrDim d)
{
    M2C_ASSERT(ir_dim_is_const(g, d));
    return ir_dim_expr(g, d)->c;
}

bool ir_dim_is_sym(const IrGraph *g, IrDim d)
{
    return d != IR_DIM_INVALID && ir_dim_expr(g, d)->kind == DIM_SYM;
}

IrDim ir_dim_fresh(IrGraph *g, const char *hint)
{
    IrDimTable *t = table(g);
    const char *name = hint;
    for (int k = 1; m2c_map_get(&t->sym_by_name, name, NULL); k++) name = m2c_sprintf(g->arena, "%s_%d", hint, k);
    return ir_dim_sym(g, name);
}

/* --- polynomials --------------------------------------------------------------------------------- */

typedef struct {
    int64_t coef;
    uint32_t nf;
    IrDim f[MAX_FACTORS];   /* atoms, sorted */
} Term;

typedef struct {
    int64_t c;
    uint32_t n;
    bool bad;               /* overflow or too many terms */
    Term t[MAX_TERMS];
} Poly;

static bool is_atom(IrDimKind k)
{
    return k == DIM_SYM || k == DIM_DIV || k == DIM_MOD || k == DIM_MAX || k == DIM_MIN;
}

static void poly_add_term(Poly *p, const Term *t)
{
    if (t->coef == 0) return;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->t[i].nf == t->nf && memcmp(p->t[i].f, t->f, t->nf * sizeof *t->f) == 0) {
            if (__builtin_add_overflow(p->t[i].coef, t->coef, &p->t[i].coef)) p->bad = true;
            return;
        }
    }
    if (p->n == MAX_TERMS) {
        p->bad = true;
        return;
    }
    p->t[p->n++] = *t;
}

static void to_poly(const IrGraph *g, IrDim d, Poly *p)
{
    memset(p, 0, offsetof(Poly, t));
    const IrDimExpr *e = ir_dim_expr(g, d);
    if (e->kind == DIM_CONST) {
        p->c = e->c;
    } else if (is_atom(e->kind)) {
        Term t = {1, 1, {d}};
        poly_add_term(p, &t);
    } else if (e->kind == DIM_MUL) {
        Term t = {e->c, e->nops, {0}};
        memcpy(t.f, e->ops, e->nops * sizeof *e->ops);
        poly_add_term(p, &t);
    } else {   /* DIM_ADD */
        p->c = e->c;
        for (uint32_t i = 0; i < e->nops; i++) {
            Poly q;
            to_poly(g, e->ops[i], &q);
            for (uint32_t j = 0; j < q.n; j++) poly_add_term(p, &q.t[j]);
        }
    }
}

static int cmp_dim(const void *a, const void *b)
{
    IrDim x = *(const IrDim *)a, y = *(const IrDim *)b;
    return x < y ? -1 : x > y;
}

static int cmp_term(const void *a, const void *b)
{
    const Term *x = a, *y = b;
    for (uint32_t i = 0; i < x->nf && i < y->nf; i++)
        if (x->f[i] != y->f[i]) return x->f[i] < y->f[i] ? -1 : 1;
    return (int)x->nf - (int)y->nf;
}

static IrDim from_poly(IrGraph *g, Poly *p)
{
    if (p->bad) return IR_DIM_INVALID;
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->t[i].coef != 0) p->t[n++] = p->t[i];
    p->n = n;
    if (n == 0) return ir_dim_const(g, p->c);
    qsort(p->t, n, sizeof *p->t, cmp_term);
    IrDim ids[MAX_TERMS];
    for (uint32_t i = 0; i < n; i++) {
        Term *t = &p->t[i];
        ids[i] = (t->coef == 1 && t->nf == 1) ? t->f[0] : intern(g, DIM_MUL, t->coef, NULL, t->f, t->nf);
    }
    if (n == 1 && p->c == 0) return ids[0];
    return intern(g, DIM_ADD, p->c, NULL, ids, n);
}

static void poly_scale(Poly *p, int64_t k)
{
    if (__builtin_mul_overflow(p->c, k, &p->c)) p->bad = true;
    for (uint32_t i = 0; i < p->n; i++)
        if (__builtin_mul_overflow(p->t[i].coef, k, &p->t[i].coef)) p->bad = true;
}

IrDim ir_dim_add(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    Poly p, q;
    to_poly(g, a, &p);
    to_poly(g, b, &q);
    if (__builtin_add_overflow(p.c, q.c, &p.c)) p.bad = true;
    for (uint32_t i = 0; i < q.n; i++) poly_add_term(&p, &q.t[i]);
    p.bad |= q.bad;
    return from_poly(g, &p);
}

IrDim ir_dim_neg(IrGraph *g, IrDim a)
{
    if (a == IR_DIM_INVALID) return IR_DIM_INVALID;
    Poly p;
    to_poly(g, a, &p);
    poly_scale(&p, -1);
    return from_poly(g, &p);
}

IrDim ir_dim_sub(IrGraph *g, IrDim a, IrDim b)
{
    return ir_dim_add(g, a, ir_dim_neg(g, b));
}

IrDim ir_dim_mul(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    static Poly p, q, r;   /* big; the compiler is single-threaded */
    to_poly(g, a, &p);
    to_poly(g, b, &q);
    memset(&r, 0, offsetof(Poly, t));
    r.bad = p.bad || q.bad;
    if (__builtin_mul_overflow(p.c, q.c, &r.c)) r.bad = true;
    /* (pc + Σ pt)(qc + Σ qt) */
    for (uint32_t i = 0; i < p.n; i++) {
        Term t = p.t[i];
        if (__builtin_mul_overflow(t.coef, q.c, &t.coef)) r.bad = true;
        poly_add_term(&r, &t);
    }
    for (uint32_t j = 0; j < q.n; j++) {
        Term t = q.t[j];
        if (__builtin_mul_overflow(t.coef, p.c, &t.coef)) r.bad = true;
        poly_add_term(&r, &t);
    }
    for (uint32_t i = 0; i < p.n; i++) {
        for (uint32_t j = 0; j < q.n; j++) {
            Term t;
            if (__builtin_mul_overflow(p.t[i].coef, q.t[j].coef, &t.coef)) r.bad = true;
            if (p.t[i].nf + q.t[j].nf > MAX_FACTORS) {
                r.bad = true;
                continue;
            }
            t.nf = p.t[i].nf + q.t[j].nf;
            memcpy(t.f, p.t[i].f, p.t[i].nf * sizeof(IrDim));
            memcpy(t.f + p.t[i].nf, q.t[j].f, q.t[j].nf * sizeof(IrDim));
            qsort(t.f, t.nf, sizeof(IrDim), cmp_dim);
            poly_add_term(&r, &t);
        }
    }
    return from_poly(g, &r);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int64_t floormod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

/* --- bounds ---------------------------------------------------------------------------------------- */

static int64_t sat(__int128 v)
{
    return v > SAT ? SAT : v < -SAT ? -SAT : (int64_t)v;
}

static void interval_mul(int64_t alo, int64_t ahi, int64_t blo, int64_t bhi, int64_t *lo, int64_t *hi)
{
    __int128 c[4] = {(__int128)alo * blo, (__int128)alo * bhi, (__int128)ahi * blo, (__int128)ahi * bhi};
    __int128 mn = c[0], mx = c[0];
    for (int i = 1; i < 4; i++) {
        if (c[i] < mn) mn = c[i];
        if (c[i] > mx) mx = c[i];
    }
    *lo = sat(mn);
    *hi = sat(mx);
}

void ir_dim_bounds(const IrGraph *g, IrDim d, int64_t *lo, int64_t *hi)
{
    if (d == IR_DIM_INVALID) {
        *lo = -SAT;
        *hi = SAT;
        return;
    }
    const IrDimExpr *e = ir_dim_expr(g, d);
    int64_t l, h, l2, h2;
    switch (e->kind) {
    case DIM_CONST:
        *lo = *hi = sat(e->c);
        return;
    case DIM_SYM:
        *lo = 1;
        *hi = SYM_HI;
        return;
    case DIM_ADD:
        l = h = sat(e->c);
        for (uint32_t i = 0; i < e->nops; i++) {
            ir_dim_bounds(g, e->ops[i], &l2, &h2);
            l = sat((__int128)l + l2);
            h = sat((__int128)h + h2);
        }
        *lo = l;
        *hi = h;
        return;
    case DIM_MUL:
        l = h = sat(e->c);
        for (uint32_t i = 0; i < e->nops; i++) {
            ir_dim_bounds(g, e->ops[i], &l2, &h2);
            interval_mul(l, h, l2, h2, &l, &h);
        }
        *lo = l;
        *hi = h;
        return;
    case DIM_DIV:
        ir_dim_bounds(g, e->ops[0], &l, &h);
        ir_dim_bounds(g, e->ops[1], &l2, &h2);
        if (l2 > 0 && l2 == h2) {
            *lo = floordiv(l, l2);
            *hi = floordiv(h, l2);
        } else if (l2 > 0 && l >= 0) {
            *lo = 0;
            *hi = h;
        } else {
            *lo = -SAT;
            *hi = SAT;
        }
        return;
    case DIM_MOD:
        ir_dim_bounds(g, e->ops[1], &l2, &h2);
        if (l2 > 0) {
            *lo = 0;
            *hi = h2 - 1;
        } else {
            *lo = -SAT;
            *hi = SAT;
        }
        return;
    case DIM_MAX:
    case DIM_MIN:
        ir_dim_bounds(g, e->ops[0], &l, &h);
        for (uint32_t i = 1; i < e->nops; i++) {
            ir_dim_bounds(g, e->ops[i], &l2, &h2);
            if (e->kind == DIM_MAX) {
                l = l2 > l ? l2 : l;
                h = h2 > h ? h2 : h;
            } else {
                l = l2 < l ? l2 : l;
                h = h2 < h ? h2 : h;
            }
        }
        *lo = l;
        *hi = h;
        return;
    }
}

/* --- division, modulo ------------------------------------------------------------------------------ */

/* Split p into k*Q + R, coefficients of R in [0, k). */
static void split_by_const(const Poly *p, int64_t k, Poly *quot, Poly *rem)
{
    memset(quot, 0, offsetof(Poly, t));
    memset(rem, 0, offsetof(Poly, t));
    quot->bad = rem->bad = p->bad;
    quot->c = floordiv(p->c, k);
    rem->c = floormod(p->c, k);
    for (uint32_t i = 0; i < p->n; i++) {
        Term q = p->t[i], r = p->t[i];
        q.coef = floordiv(p->t[i].coef, k);
        r.coef = floormod(p->t[i].coef, k);
        poly_add_term(quot, &q);
        poly_add_term(rem, &r);
    }
}

/* Divide every term of p by the monomial m (coef and atoms); false if some term is not divisible. */
static bool divide_by_monomial(const Poly *p, const Term *m, Poly *out)
{
    if (p->c != 0 || m->coef == 0) return false;
    memset(out, 0, offsetof(Poly, t));
    for (uint32_t i = 0; i < p->n; i++) {
        const Term *t = &p->t[i];
        if (t->coef % m->coef != 0) return false;
        Term q = {t->coef / m->coef, 0, {0}};
        /* multiset difference t->f - m->f (both sorted) */
        uint32_t a = 0, b = 0;
        while (a < t->nf) {
            if (b < m->nf && t->f[a] == m->f[b]) {
                a++;
                b++;
            } else if (b < m->nf && m->f[b] < t->f[a]) {
                return false;
            } else {
                q.f[q.nf++] = t->f[a++];
            }
        }
        if (b != m->nf) return false;
        if (q.nf == 0) {
            out->c += q.coef;
        } else {
            poly_add_term(out, &q);
        }
    }
    return true;
}

IrDim ir_dim_div(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    int64_t k, x;
    if (ir_dim_const_value(g, b, &k)) {
        if (k == 0) return IR_DIM_INVALID;
        if (ir_dim_const_value(g, a, &x)) {
            if (x == INT64_MIN && k == -1) return IR_DIM_INVALID;
            return ir_dim_const(g, floordiv(x, k));
        }
        if (k == 1) return a;
        if (k == -1) return ir_dim_neg(g, a);
        if (k > 0) {
            const IrDimExpr *e = ir_dim_expr(g, a);
            /* (x // k1) // k2 = x // (k1*k2) */
            int64_t k1, kk;
            if (e->kind == DIM_DIV && ir_dim_const_value(g, e->ops[1], &k1) && k1 > 0 &&
                !__builtin_mul_overflow(k1, k, &kk))
                return ir_dim_div(g, e->ops[0], ir_dim_const(g, kk));
            static Poly p, quot, rem;
            to_poly(g, a, &p);
            split_by_const(&p, k, &quot, &rem);
            IrDim r = from_poly(g, &rem);
            IrDim q = from_poly(g, &quot);
            if (r == IR_DIM_INVALID || q == IR_DIM_INVALID) return IR_DIM_INVALID;
            int64_t lo, hi;
            ir_dim_bounds(g, r, &lo, &hi);
            if (lo >= 0 && hi < k) return q;
            IrDim ops[2] = {r, b};
            return ir_dim_add(g, q, intern(g, DIM_DIV, 0, NULL, ops, 2));
        }
    }
    if (a == b) return ir_dim_const(g, 1);
    static Poly p, m, out;
    to_poly(g, a, &p);
    to_poly(g, b, &m);
    if (m.c == 0 && m.n == 1 && m.t[0].coef > 0 && divide_by_monomial(&p, &m.t[0], &out))
        return from_poly(g, &out);
    /* Cancel the symbols the divisor shares with every term: (s0*s1*s2) // (3*s0*s1) = s2 // 3, since
     * symbols are positive. */
    if (m.c == 0 && m.n == 1 && m.t[0].coef > 0 && p.c == 0 && p.n > 0) {
        Term d = m.t[0];
        Term common = {1, 0, {0}};
        for (uint32_t i = 0; i < d.nf; i++) {
            bool everywhere = ir_dim_expr(g, d.f[i])->kind == DIM_SYM;
            for (uint32_t t = 0; t < p.n && everywhere; t++) {
                uint32_t have = 0, need = 1;
                for (uint32_t j = 0; j < common.nf; j++) need += common.f[j] == d.f[i];
                for (uint32_t j = 0; j < p.t[t].nf; j++) have += p.t[t].f[j] == d.f[i];
                everywhere = have >= need;
            }
            if (everywhere) common.f[common.nf++] = d.f[i];
        }
        if (common.nf > 0 && divide_by_monomial(&p, &common, &out)) {
            IrDim num = from_poly(g, &out);
            static Poly q, one;
            to_poly(g, b, &one);
            if (divide_by_monomial(&one, &common, &q)) return ir_dim_div(g, num, from_poly(g, &q));
        }
    }
    IrDim ops[2] = {a, b};
    return intern(g, DIM_DIV, 0, NULL, ops, 2);
}

IrDim ir_dim_ceil_div(IrGraph *g, IrDim a, IrDim b)
{
    /* ceil(a/b) = -floor(-a/b) */
    return ir_dim_neg(g, ir_dim_div(g, ir_dim_neg(g, a), b));
}

IrDim ir_dim_mod(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    int64_t k, x;
    if (ir_dim_const_value(g, b, &k)) {
        if (k == 0) return IR_DIM_INVALID;
        if (ir_dim_const_value(g, a, &x)) return ir_dim_const(g, floormod(x, k));
        if (k == 1 || k == -1) return ir_dim_const(g, 0);
        if (k > 0) {
            static Poly p, quot, rem;
            to_poly(g, a, &p);
            split_by_const(&p, k, &quot, &rem);
            IrDim r = from_poly(g, &rem);
            if (r == IR_DIM_INVALID) return r;
            int64_t lo, hi;
            ir_dim_bounds(g, r, &lo, &hi);
            if (lo >= 0 && hi < k) return r;
            IrDim ops[2] = {r, b};
            return intern(g, DIM_MOD, 0, NULL, ops, 2);
        }
    }
    if (a == b) return ir_dim_const(g, 0);
    static Poly p, m, out;
    to_poly(g, a, &p);
    to_poly(g, b, &m);
    if (m.c == 0 && m.n == 1 && m.t[0].coef > 0 && divide_by_monomial(&p, &m.t[0], &out))
        return ir_dim_const(g, 0);
    IrDim ops[2] = {a, b};
    return intern(g, DIM_MOD, 0, NULL, ops, 2);
}

/* --- max, min -------------------------------------------------------------------------------------- */

static IrDim minmax(IrGraph *g, IrDimKind kind, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    if (a == b) return a;
    bool is_max = kind == DIM_MAX;
    int64_t alo, ahi, blo, bhi;
    ir_dim_bounds(g, a, &alo, &ahi);
    ir_dim_bounds(g, b, &blo, &bhi);
    if (is_max ? alo >= bhi : ahi <= blo) return a;
    if (is_max ? blo >= ahi : bhi <= alo) return b;
    /* Absorption: max(a, min(a, b)) = a and min(a, max(a, b)) = a. */
    IrDimKind dual = is_max ? DIM_MIN : DIM_MAX;
    for (int s = 0; s < 2; s++) {
        IrDim x = s ? b : a, y = s ? a : b;
        const IrDimExpr *ey = ir_dim_expr(g, y);
        if (ey->kind != dual) continue;
        for (uint32_t i = 0; i < ey->nops; i++)
            if (ey->ops[i] == x) return x;
    }
    /* Flatten, drop duplicates, keep one constant. */
    IrDim ops[MAX_TERMS];
    uint32_t n = 0;
    bool have_c = false;
    int64_t c = 0;
    IrDim in[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        const IrDimExpr *e = ir_dim_expr(g, in[s]);
        uint32_t m = e->kind == kind ? e->nops : 1;
        for (uint32_t i = 0; i < m; i++) {
            IrDim d = e->kind == kind ? e->ops[i] : in[s];
            int64_t v;
            if (ir_dim_const_value(g, d, &v)) {
                c = !have_c ? v : is_max ? (v > c ? v : c) : (v < c ? v : c);
                have_c = true;
                continue;
            }
            bool dup = false;
            for (uint32_t j = 0; j < n; j++) dup |= ops[j] == d;
            if (!dup && n < MAX_TERMS) ops[n++] = d;
        }
    }
    if (have_c) ops[n++] = ir_dim_const(g, c);
    if (n == 1) return ops[0];
    qsort(ops, n, sizeof *ops, cmp_dim);
    return intern(g, kind, 0, NULL, ops, n);
}

IrDim ir_dim_max(IrGraph *g, IrDim a, IrDim b)
{
    return minmax(g, DIM_MAX, a, b);
}

IrDim ir_dim_min(IrGraph *g, IrDim a, IrDim b)
{
    return minmax(g, DIM_MIN, a, b);
}

/* --- printing and parsing -------------------------------------------------------------------------- */

/* Precedence: 0 sum, 1 product, 2 atom. */
static void print_prec(const IrGraph *g, IrDim d, int prec, M2cBuf *out);

static void print_mul(const IrGraph *g, int64_t coef, const IrDim *f, uint32_t nf, M2cBuf *out)
{
    if (coef == -1)
        m2c_buf_puts(out, "-");
    else if (coef != 1)
        m2c_buf_printf(out, "%lld*", (long long)coef);
    for (uint32_t i = 0; i < nf; i++) {
        if (i) m2c_buf_puts(out, "*");
        /* floor-div and mod inside a product are bracketed: 2*(seq // 2), not 2*seq // 2 */
        print_prec(g, f[i], 2, out);
    }
}

static void print_prec(const IrGraph *g, IrDim d, int prec, M2cBuf *out)
{
    if (d == IR_DIM_INVALID) {
        m2c_buf_puts(out, "<invalid>");
        return;
    }
    const IrDimExpr *e = ir_dim_expr(g, d);
    switch (e->kind) {
    case DIM_CONST:
        if (e->c < 0 && prec > 0)
            m2c_buf_printf(out, "(%lld)", (long long)e->c);
        else
            m2c_buf_printf(out, "%lld", (long long)e->c);
        return;
    case DIM_SYM:
        m2c_buf_puts(out, e->name);
        return;
    case DIM_ADD:
        if (prec > 0) m2c_buf_puts(out, "(");
        for (uint32_t i = 0; i < e->nops; i++) {
            const IrDimExpr *t = ir_dim_expr(g, e->ops[i]);
            int64_t coef = t->kind == DIM_MUL ? t->c : 1;
            if (i > 0) m2c_buf_puts(out, coef < 0 ? " - " : " + ");
            if (t->kind == DIM_MUL)
                print_mul(g, i > 0 && coef < 0 ? -coef : coef, t->ops, t->nops, out);
            else
                print_prec(g, e->ops[i], 1, out);
        }
        if (e->c > 0) m2c_buf_printf(out, " + %lld", (long long)e->c);
        if (e->c < 0) m2c_buf_printf(out, " - %lld", -(long long)e->c);
        if (prec > 0) m2c_buf_puts(out, ")");
        return;
    case DIM_MUL:
        if (prec > 1 || (prec > 0 && e->c < 0)) m2c_buf_puts(out, "(");
        print_mul(g, e->c, e->ops, e->nops, out);
        if (prec > 1 || (prec > 0 && e->c < 0)) m2c_buf_puts(out, ")");
        return;
    case DIM_DIV:
    case DIM_MOD:
        if (prec > 1) m2c_buf_puts(out, "(");
        print_prec(g, e->ops[0], 1, out);
        m2c_buf_puts(out, e->kind == DIM_DIV ? " // " : " % ");
        print_prec(g, e->ops[1], 2, out);
        if (prec > 1) m2c_buf_puts(out, ")");
        return;
    case DIM_MAX:
    case DIM_MIN:
        m2c_buf_puts(out, e->kind == DIM_MAX ? "max(" : "min(");
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i) m2c_buf_puts(out, ", ");
            print_prec(g, e->ops[i], 0, out);
        }
        m2c_buf_puts(out, ")");
        return;
    }
}

void ir_dim_print(const IrGraph *g, IrDim d, M2cBuf *out)
{
    print_prec(g, d, 0, out);
}

const char *ir_dim_str(IrGraph *g, IrDim d)
{
    M2cBuf b = {0};
    ir_dim_print(g, d, &b);
    char *s = m2c_strdup(g->arena, b.s ? b.s : "");
    m2c_buf_free(&b);
    return s;
}

static void skip_ws(const char **s)
{
    while (**s == ' ' || **s == '\t') (*s)++;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static IrDim parse_sum(IrGraph *g, const char **s);

static IrDim parse_atom(IrGraph *g, const char **s)
{
    skip_ws(s);
    const char *p = *s;
    if (*p == '-') {
        *s = p + 1;
        return ir_dim_neg(g, parse_atom(g, s));
    }
    if (*p == '(') {
        *s = p + 1;
        IrDim d = parse_sum(g, s);
        skip_ws(s);
        if (**s != ')') return IR_DIM_INVALID;
        (*s)++;
        return d;
    }
    if (*p >= '0' && *p <= '9') {
        char *end;
        long long v = strtoll(p, &end, 10);
        *s = end;
        return ir_dim_const(g, v);
    }
    if (!is_ident_start(*p)) return IR_DIM_INVALID;
    const char *q = p;
    while (is_ident_char(*q)) q++;
    size_t len = (size_t)(q - p);
    *s = q;
    skip_ws(s);
    if (**s == '(' && len == 3 && (strncmp(p, "max", 3) == 0 || strncmp(p, "min", 3) == 0)) {
        bool is_max = p[1] == 'a';
        (*s)++;
        IrDim d = parse_sum(g, s);
        skip_ws(s);
        while (**s == ',') {
            (*s)++;
            IrDim e = parse_sum(g, s);
            d = is_max ? ir_dim_max(g, d, e) : ir_dim_min(g, d, e);
            skip_ws(s);
        }
        if (**s != ')') return IR_DIM_INVALID;
        (*s)++;
        return d;
    }
    char name[256];
    if (len >= sizeof name) return IR_DIM_INVALID;
    memcpy(name, p, len);
    name[len] = 0;
    return ir_dim_sym(g, name);
}

static IrDim parse_product(IrGraph *g, const char **s)
{
    IrDim d = parse_atom(g, s);
    for (;;) {
        skip_ws(s);
        if (**s == '*') {
            (*s)++;
            d = ir_dim_mul(g, d, parse_atom(g, s));
        } else if ((*s)[0] == '/' && (*s)[1] == '/') {
            *s += 2;
            d = ir_dim_div(g, d, parse_atom(g, s));
        } else if (**s == '%') {
            (*s)++;
            d = ir_dim_mod(g, d, parse_atom(g, s));
        } else {
            return d;
        }
    }
}

static IrDim parse_sum(IrGraph *g, const char **s)
{
    IrDim d = parse_product(g, s);
    for (;;) {
        skip_ws(s);
        if (**s == '+') {
            (*s)++;
            d = ir_dim_add(g, d, parse_product(g, s));
        } else if (**s == '-') {
            (*s)++;
            d = ir_dim_sub(g, d, parse_product(g, s));
        } else {
            return d;
        }
    }
}

IrDim ir_dim_parse(IrGraph *g, const char **s)
{
    const char *start = *s;
    IrDim d = parse_sum(g, s);
    if (d == IR_DIM_INVALID) *s = start;
    return d;
}

IrDim ir_dim_subst(IrGraph *g, IrDim d, IrDim sym, IrDim by)
{
    if (d == sym) return by;
    const IrDimExpr *e = ir_dim_expr(g, d);
    if (e->kind == DIM_CONST || e->kind == DIM_SYM) return d;
    IrDim acc = e->kind == DIM_ADD || e->kind == DIM_MUL ? ir_dim_const(g, e->c) : IR_DIM_INVALID;
    for (uint32_t i = 0; i < e->nops; i++) {
        IrDim x = ir_dim_subst(g, e->ops[i], sym, by);
        if (x == IR_DIM_INVALID) return IR_DIM_INVALID;
        switch (e->kind) {
        case DIM_ADD: acc = ir_dim_add(g, acc, x); break;
        case DIM_MUL: acc = ir_dim_mul(g, acc, x); break;
        case DIM_MAX: acc = i ? ir_dim_max(g, acc, x) : x; break;
        case DIM_MIN: acc = i ? ir_dim_min(g, acc, x) : x; break;
        case DIM_DIV: acc = i ? ir_dim_div(g, acc, x) : x; break;
        case DIM_MOD: acc = i ? ir_dim_mod(g, acc, x) : x; break;
        default: return IR_DIM_INVALID;
        }
        if (acc == IR_DIM_INVALID) return IR_DIM_INVALID;
        e = ir_dim_expr(g, d);   /* the table may have grown */
    }
    return acc;
}
