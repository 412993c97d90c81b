/* tests/unit/test_dim.c — the dims algebra: canonical forms, simplification, bounds, printing, parsing. */
#include "check.h"
#include "ir.h"

static IrGraph *g;

/* parse, then print: the canonical text of an expression */
static const char *canon(const char *text)
{
    const char *p = text;
    IrDim d = ir_dim_parse(g, &p);
    if (d == IR_DIM_INVALID) return "<invalid>";
    if (*p) return "<trailing>";
    return ir_dim_str(g, d);
}

static IrDim D(const char *text)
{
    const char *p = text;
    return ir_dim_parse(g, &p);
}

int main(void)
{
    g = ir_graph_new("dims");
    /* constants and symbols */
    CHECK_EQ_STR(canon("42"), "42");
    CHECK_EQ_STR(canon("batch"), "batch");
    CHECK_EQ_STR(canon("2 + 3*4"), "14");
    /* like terms merge, order does not matter */
    CHECK(D("batch + seq") == D("seq + batch"));
    CHECK(D("batch*seq") == D("seq*batch"));
    CHECK_EQ_STR(canon("seq + seq"), "2*seq");
    CHECK_EQ_STR(canon("seq - seq"), "0");
    CHECK_EQ_STR(canon("seq + 1 - 1"), "seq");
    CHECK_EQ_STR(canon("(seq + 1)*2 - 2"), "2*seq");
    CHECK_EQ_STR(canon("-seq + 3"), "-seq + 3");
    CHECK(D("(a + b)*(a + b)") == D("a*a + 2*a*b + b*b"));
    /* floor division and modulo */
    CHECK_EQ_STR(canon("7 // 2"), "3");
    CHECK_EQ_STR(canon("-7 // 2"), "-4");
    CHECK_EQ_STR(canon("-7 % 3"), "2");
    CHECK_EQ_STR(canon("(2*seq) // 2"), "seq");
    CHECK_EQ_STR(canon("(2*seq + 1) // 2"), "seq");
    CHECK_EQ_STR(canon("(seq + 1) // 2"), "(seq + 1) // 2");
    CHECK_EQ_STR(canon("(4*seq + 6) // 4"), "seq + 1");
    CHECK_EQ_STR(canon("(batch*seq) // seq"), "batch");
    CHECK_EQ_STR(canon("(batch*seq*32) // (seq*4)"), "8*batch");
    CHECK_EQ_STR(canon("(seq // 2) // 4"), "seq // 8");
    CHECK_EQ_STR(canon("(s0*s1*s2) // (3*s0*s1)"), "s2 // 3");
    CHECK_EQ_STR(canon("(2*seq + 3) % 2"), "1");
    CHECK_EQ_STR(canon("(batch*seq) % seq"), "0");
    CHECK_EQ_STR(canon("seq % 4"), "seq % 4");
    CHECK(D("seq // 0") == IR_DIM_INVALID);
    /* max and min use bounds (symbols >= 1) */
    CHECK_EQ_STR(canon("max(seq, 1)"), "seq");
    CHECK_EQ_STR(canon("max(seq, seq)"), "seq");
    CHECK_EQ_STR(canon("min(9223372036854775807, seq)"), "seq");
    CHECK_EQ_STR(canon("min(seq, 0)"), "0");
    CHECK_EQ_STR(canon("max(3, 5)"), "5");
    CHECK(D("max(a, b)") == D("max(b, a)"));
    CHECK(D("max(a, max(b, c))") == D("max(max(a, b), c)"));
    CHECK_EQ_STR(canon("max(a, 4, 7)"), "max(a, 7)");
    CHECK_EQ_STR(canon("max(seq, min(64, seq))"), "seq");
    CHECK_EQ_STR(canon("min(seq, max(seq, batch))"), "seq");
    /* printing precedence round-trips */
    const char *forms[] = {"2*(seq // 2)", "(seq - 1) // 2 + 1", "batch*seq + 3", "max(a, b) + 1", "seq % 4 + 1",
                           "-2*seq + 5"};
    for (unsigned i = 0; i < sizeof forms / sizeof *forms; i++) {
        const char *s = canon(forms[i]);
        CHECK(D(s) == D(forms[i]));
    }
    /* bounds */
    int64_t lo, hi;
    ir_dim_bounds(g, D("seq - 1"), &lo, &hi);
    CHECK_EQ_INT(lo, 0);
    ir_dim_bounds(g, D("seq % 8"), &lo, &hi);
    CHECK_EQ_INT(lo, 0);
    CHECK_EQ_INT(hi, 7);
    /* overflow never wraps */
    CHECK(ir_dim_mul(g, ir_dim_const(g, INT64_MAX), ir_dim_const(g, 2)) == IR_DIM_INVALID);
    CHECK(ir_dim_add(g, ir_dim_const(g, INT64_MAX), D("seq + 1")) == IR_DIM_INVALID);
    CHECK(ir_dim_div(g, ir_dim_const(g, INT64_MIN), ir_dim_const(g, -1)) == IR_DIM_INVALID);
    /* fresh symbols never collide */
    IrDim f1 = ir_dim_fresh(g, "seq");
    CHECK(f1 != D("seq"));
    CHECK(ir_dim_fresh(g, "seq") != f1);
    ir_graph_free(g);
    CHECK_DONE();
}
