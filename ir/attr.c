/* ir/attr.c — typed access to node attributes. */
#include "ir.h"

#include <string.h>

const IrAttr *ir_attr(const IrNode *n, const char *name)
{
    for (uint32_t i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const IrNode *n, const char *name, int64_t dflt)
{
    const IrAttr *a = ir_attr(n, name);
    if (!a) return dflt;
    if (a->kind == ATTR_INT) return a->u.i;
    if (a->kind == ATTR_FLOAT) {
        /* a float where an int is expected: saturate, since converting one outside int64's range is undefined
         * (the callers range-check the result like any int attribute) */
        double f = a->u.f;
        if (f != f) return dflt;
        if (f >= 9223372036854775807.0) return INT64_MAX;
        if (f <= -9223372036854775808.0) return INT64_MIN;
        return (int64_t)f;
    }
    return dflt;
}

double ir_attr_float(const IrNode *n, const char *name, double dflt)
{
    const IrAttr *a = ir_attr(n, name);
    if (!a) return dflt;
    if (a->kind == ATTR_FLOAT) return a->u.f;
    if (a->kind == ATTR_INT) return (double)a->u.i;
    return dflt;
}

const char *ir_attr_str(const IrNode *n, const char *name, const char *dflt)
{
    const IrAttr *a = ir_attr(n, name);
    return a && a->kind == ATTR_STRING ? a->u.s : dflt;
}

const int64_t *ir_attr_ints(const IrNode *n, const char *name, uint32_t *count)
{
    const IrAttr *a = ir_attr(n, name);
    if (!a || a->kind != ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->u.is;
}

IrAttr *ir_attr_add(IrGraph *g, IrNode *n, const char *name, IrAttrKind kind)
{
    for (uint32_t i = 0; i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].name, name) == 0) {
            memset(&n->attrs[i].u, 0, sizeof n->attrs[i].u);
            n->attrs[i].kind = kind;
            n->attrs[i].n = 0;
            return &n->attrs[i];
        }
    }
    /* capacity doubles (the count is a power of two or below): adding k attributes costs O(k), not O(k^2) */
    uint32_t cap = 1;
    while (cap < n->nattrs) cap *= 2;
    if (n->nattrs == 0 || n->nattrs == cap) {
        IrAttr *attrs = m2c_alloc_array(g->arena, n->nattrs ? 2 * cap : 4, sizeof *attrs);
        if (n->nattrs) memcpy(attrs, n->attrs, n->nattrs * sizeof *attrs);
        n->attrs = attrs;
    }
    IrAttr *a = &n->attrs[n->nattrs++];
    a->name = m2c_strdup(g->arena, name);
    a->kind = kind;
    return a;
}

void ir_attr_set_int(IrGraph *g, IrNode *n, const char *name, int64_t v)
{
    ir_attr_add(g, n, name, ATTR_INT)->u.i = v;
}

void ir_attr_set_float(IrGraph *g, IrNode *n, const char *name, double v)
{
    ir_attr_add(g, n, name, ATTR_FLOAT)->u.f = v;
}

void ir_attr_set_str(IrGraph *g, IrNode *n, const char *name, const char *v)
{
    IrAttr *a = ir_attr_add(g, n, name, ATTR_STRING);
    a->u.s = m2c_strdup(g->arena, v);
    a->n = (uint32_t)strlen(v);
}

void ir_attr_set_ints(IrGraph *g, IrNode *n, const char *name, const int64_t *v, uint32_t count)
{
    IrAttr *a = ir_attr_add(g, n, name, ATTR_INTS);
    a->u.is = m2c_memdup(g->arena, v, count * sizeof *v);
    a->n = count;
}

void ir_attr_remove(IrNode *n, const char *name)
{
    for (uint32_t i = 0; i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].name, name) == 0) {
            memmove(&n->attrs[i], &n->attrs[i + 1], (n->nattrs - i - 1) * sizeof *n->attrs);
            n->nattrs--;
            return;
        }
    }
}
