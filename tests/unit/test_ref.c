/* tests/unit/test_ref.c — the reference evaluator against hand-computed values: every op family, the dtypes
 * that round (f16, bf16), wrap (int8) or are bytes (bool), broadcasting, negative axes, empty tensors, NaN,
 * and the failures that must be clean (unsupported ops, invalid indices, absurd sizes). */
#include "check.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>

static IrGraph *g;
static RefStatus st;
static IrTensor *out[8];

#define SH(...) ((const int64_t[]){__VA_ARGS__})
#define V(...) ((const double[]){__VA_ARGS__})
#define I(...) ((const int64_t[]){__VA_ARGS__})
#define INS(...) ((const IrTensor *[]){__VA_ARGS__}), (uint32_t)(sizeof((const IrTensor *[]){__VA_ARGS__}) / sizeof(IrTensor *))

/* A tensor from doubles (floats, small integers, bool); v NULL: zeros. */
static IrTensor *ten(IrDType t, int rank, const int64_t *shape, const double *v)
{
    IrTensor *x = ir_tensor_new(g, t, rank, shape);
    for (uint64_t i = 0; v && i < x->numel; i++) {
        if (ir_dtype_is_float(t)) ir_tensor_set_f64(x, i, v[i]);
        else ir_tensor_set_i64(x, i, (int64_t)v[i]);
    }
    return x;
}

/* A tensor from exact 64-bit integers. */
static IrTensor *teni(IrDType t, int rank, const int64_t *shape, const int64_t *v)
{
    IrTensor *x = ir_tensor_new(g, t, rank, shape);
    for (uint64_t i = 0; i < x->numel; i++) ir_tensor_set_i64(x, i, v[i]);
    return x;
}

static IrTensor *scalar_i64(int64_t v)
{
    return teni(DT_I64, 0, NULL, &v);
}

static IrNode *node(IrOp op, uint32_t nout)
{
    IrNode *n = m2c_alloc(g->arena, sizeof *n);
    n->op = op;
    n->op_type = ir_op_name(op);
    n->domain = "";
    n->opset = 18;
    n->nout = nout;
    n->out = m2c_alloc_array(g->arena, nout ? nout : 1, sizeof *n->out);   /* ids 0: every output wanted */
    return n;
}

static bool run(IrNode *n, const IrTensor **in, uint32_t nin)
{
    n->nin = nin;
    n->in = m2c_alloc_array(g->arena, nin ? nin : 1, sizeof *n->in);
    st.max_bytes = 0;
    return ref_eval(g, n, in, out, &st);
}

/* One node, default attributes: out[0]. */
static IrTensor *op1(IrOp op, const IrTensor **in, uint32_t nin)
{
    IrNode *n = node(op, 1);
    if (!run(n, in, nin)) {
        fprintf(stderr, "  %s failed: %s\n", ir_op_name(op), st.why);
        return NULL;
    }
    return out[0];
}

static void check_t(int line, const IrTensor *t, IrDType dt, int rank, const int64_t *shape, const double *want,
                    double tol)
{
    if (!t) {
        fprintf(stderr, "%s:%d: no result\n", __FILE__, line);
        check_failures++;
        return;
    }
    bool ok = t->dtype == dt && t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        fprintf(stderr, "%s:%d: got %s rank %d, want %s rank %d\n", __FILE__, line, ir_dtype_name(t->dtype), t->rank,
                ir_dtype_name(dt), rank);
        check_failures++;
        return;
    }
    for (uint64_t i = 0; i < t->numel; i++) {
        double a = ir_tensor_get_f64(t, i), b = want[i];
        bool same = isnan(b) ? isnan(a) : isinf(b) ? a == b : fabs(a - b) <= tol * (1 + fabs(b));
        if (!same) {
            fprintf(stderr, "%s:%d: element %llu: got %.10g, want %.10g\n", __FILE__, line, (unsigned long long)i, a, b);
            check_failures++;
            return;
        }
    }
}

static void check_ti(int line, const IrTensor *t, IrDType dt, int rank, const int64_t *shape, const int64_t *want)
{
    if (!t || t->dtype != dt || t->rank != rank) {
        fprintf(stderr, "%s:%d: wrong result type\n", __FILE__, line);
        check_failures++;
        return;
    }
    for (int i = 0; i < rank; i++)
        if (t->shape[i] != shape[i]) {
            fprintf(stderr, "%s:%d: dim %d is %lld, want %lld\n", __FILE__, line, i, (long long)t->shape[i],
                    (long long)shape[i]);
            check_failures++;
            return;
        }
    for (uint64_t i = 0; i < t->numel; i++)
        if (ir_tensor_get_i64(t, i) != want[i]) {
            fprintf(stderr, "%s:%d: element %llu: got %lld, want %lld\n", __FILE__, line, (unsigned long long)i,
                    (long long)ir_tensor_get_i64(t, i), (long long)want[i]);
            check_failures++;
            return;
        }
}

#define EXPECT(t, dt, rank, shape, want) check_t(__LINE__, t, dt, rank, shape, want, 1e-7)
#define EXPECT_TOL(t, dt, rank, shape, want, tol) check_t(__LINE__, t, dt, rank, shape, want, tol)
#define EXPECT_I(t, dt, rank, shape, want) check_ti(__LINE__, t, dt, rank, shape, want)

/* The node must fail with a reason containing `what`. */
#define EXPECT_FAIL(n, what, ...)                                                                                  \
    do {                                                                                                         \
        bool ok_ = run(n, INS(__VA_ARGS__));                                                                     \
        CHECK(!ok_);                                                                                             \
        if (!ok_ && !strstr(st.why, what)) {                                                                     \
            fprintf(stderr, "%s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, st.why, what);            \
            check_failures++;                                                                                    \
        }                                                                                                        \
    } while (0)

static void test_unary(void)
{
    IrTensor *x = ten(DT_F32, 1, SH(5), V(-2, -0.5, 0, 1, NAN));
    EXPECT(op1(IR_OP_RELU, INS(x)), DT_F32, 1, SH(5), V(0, 0, 0, 1, NAN));
    EXPECT(op1(IR_OP_SIGMOID, INS(x)), DT_F32, 1, SH(5), V(0.1192029220, 0.3775406688, 0.5, 0.7310585786, NAN));
    EXPECT(op1(IR_OP_ERF, INS(x)), DT_F32, 1, SH(5), V(-0.9953222650, -0.5204998778, 0, 0.8427007929, NAN));
    EXPECT(op1(IR_OP_SIGN, INS(x)), DT_F32, 1, SH(5), V(-1, -1, 0, 1, NAN));
    EXPECT(op1(IR_OP_SOFTPLUS, INS(x)), DT_F32, 1, SH(5), V(0.1269280110, 0.4740769842, 0.6931471806, 1.3132616875, NAN));
    EXPECT(op1(IR_OP_HARD_SWISH, INS(x)), DT_F32, 1, SH(5), V(-0.3333333333, -0.2083333333, 0, 0.6666666667, NAN));
    EXPECT(op1(IR_OP_MISH, INS(x)), DT_F32, 1, SH(5), V(-0.2525014827, -0.2207437747, 0, 0.8650983883, NAN));
    EXPECT(op1(IR_OP_IS_NAN, INS(x)), DT_BOOL, 1, SH(5), V(0, 0, 0, 0, 1));
    /* Gelu, both forms */
    IrTensor *one = ten(DT_F32, 0, NULL, V(1));
    EXPECT(op1(IR_OP_GELU, INS(one)), DT_F32, 0, NULL, V(0.8413447461));
    IrNode *n = node(IR_OP_GELU, 1);
    ir_attr_set_str(g, n, "approximate", "tanh");
    CHECK(run(n, INS(one)));
    EXPECT(out[0], DT_F32, 0, NULL, V(0.8411919906));
    /* Round: half to even */
    IrTensor *h = ten(DT_F32, 1, SH(6), V(0.5, 1.5, 2.5, -0.5, -1.5, 2.4));
    EXPECT(op1(IR_OP_ROUND, INS(h)), DT_F32, 1, SH(6), V(0, 2, 2, 0, -2, 2));
    CHECK(signbit(ir_tensor_get_f64(out[0], 3)));
    /* attributes: Celu alpha, LeakyRelu default, IsInf detect_negative=0, Shrink on integers */
    n = node(IR_OP_CELU, 1);
    ir_attr_set_float(g, n, "alpha", 2.0);
    CHECK(run(n, INS(ten(DT_F32, 1, SH(2), V(-1, 3)))));
    EXPECT(out[0], DT_F32, 1, SH(2), V(-0.7869386805, 3));
    EXPECT(op1(IR_OP_LEAKY_RELU, INS(ten(DT_F32, 1, SH(2), V(-1, 3)))), DT_F32, 1, SH(2), V(-0.00999999978, 3));
    n = node(IR_OP_IS_INF, 1);
    ir_attr_set_int(g, n, "detect_negative", 0);
    CHECK(run(n, INS(ten(DT_F32, 1, SH(3), V(INFINITY, -INFINITY, 1)))));
    EXPECT(out[0], DT_BOOL, 1, SH(3), V(1, 0, 0));
    n = node(IR_OP_SHRINK, 1);
    ir_attr_set_float(g, n, "lambd", 1.5);
    ir_attr_set_float(g, n, "bias", 1.0);
    CHECK(run(n, INS(ten(DT_I8, 1, SH(4), V(-3, -1, 1, 3)))));
    EXPECT(out[0], DT_I8, 1, SH(4), V(-2, 0, 0, 2));
    /* integers: Abs and Neg wrap at the width, BitwiseNot, Not on bool */
    IrTensor *i8 = ten(DT_I8, 1, SH(3), V(-128, -5, 7));
    EXPECT(op1(IR_OP_ABS, INS(i8)), DT_I8, 1, SH(3), V(-128, 5, 7));
    EXPECT(op1(IR_OP_NEG, INS(i8)), DT_I8, 1, SH(3), V(-128, 5, -7));
    EXPECT(op1(IR_OP_BITWISE_NOT, INS(ten(DT_U8, 1, SH(2), V(0, 15)))), DT_U8, 1, SH(2), V(255, 240));
    EXPECT(op1(IR_OP_NOT, INS(ten(DT_BOOL, 1, SH(2), V(0, 1)))), DT_BOOL, 1, SH(2), V(1, 0));
    /* float-only ops refuse integers; empty tensors are fine */
    EXPECT_FAIL(node(IR_OP_SQRT, 1), "not defined", i8);
    EXPECT(op1(IR_OP_EXP, INS(ten(DT_F32, 2, SH(0, 3), NULL))), DT_F32, 2, SH(0, 3), NULL);
}

static void test_rounding(void)
{
    /* f16: 1 + 2^-11 is a tie (to even: 1); 1 + 3*2^-12 rounds up to 1 + 2^-10 */
    IrTensor *a = ten(DT_F16, 1, SH(2), V(1, 1)), *b = ten(DT_F16, 1, SH(2), V(0.00048828125, 0.000732421875));
    EXPECT_TOL(op1(IR_OP_ADD, INS(a, b)), DT_F16, 1, SH(2), V(1, 1.0009765625), 0);
    /* f64 -> f16 directly, not through a float that would lose the 2^-40 that breaks the tie */
    IrNode *n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_F16);
    CHECK(run(n, INS(ten(DT_F64, 1, SH(2), V(1 + 0x1p-11 + 0x1p-40, 70000)))));
    EXPECT_TOL(out[0], DT_F16, 1, SH(2), V(1.0009765625, INFINITY), 0);
    /* bf16: 1 + 2^-8 ties to 1, 1 + 2^-8 + 2^-30 rounds up */
    n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_BF16);
    CHECK(run(n, INS(ten(DT_F64, 1, SH(3), V(1 + 0x1p-8, 1 + 0x1p-8 + 0x1p-30, NAN)))));
    EXPECT_TOL(out[0], DT_BF16, 1, SH(3), V(1, 1.0078125, NAN), 0);
    /* f16 math happens in double: Mul of halves, then one rounding */
    IrTensor *x = ten(DT_F16, 1, SH(1), V(0.1));
    EXPECT_TOL(op1(IR_OP_MUL, INS(x, x)), DT_F16, 1, SH(1), V(0.0099945068359375), 0);
}

static void test_binary(void)
{
    /* broadcasting [2,1] with [3] */
    IrTensor *a = ten(DT_F32, 2, SH(2, 1), V(1, 2)), *b = ten(DT_F32, 1, SH(3), V(10, 20, 30));
    EXPECT(op1(IR_OP_ADD, INS(a, b)), DT_F32, 2, SH(2, 3), V(11, 21, 31, 12, 22, 32));
    EXPECT(op1(IR_OP_SUB, INS(b, a)), DT_F32, 2, SH(2, 3), V(9, 19, 29, 8, 18, 28));
    EXPECT(op1(IR_OP_LESS, INS(a, b)), DT_BOOL, 2, SH(2, 3), V(1, 1, 1, 1, 1, 1));
    EXPECT_FAIL(node(IR_OP_ADD, 1), "broadcast", ten(DT_F32, 1, SH(2), V(1, 2)), b);
    EXPECT_FAIL(node(IR_OP_ADD, 1), "mixed dtypes", a, ten(DT_F64, 0, NULL, V(1)));
    /* integer Div truncates toward zero; Mod follows the divisor (fmod=0) or the dividend (fmod=1) */
    IrTensor *p = ten(DT_I32, 1, SH(4), V(7, -7, 7, -7)), *q = ten(DT_I32, 1, SH(4), V(2, 2, -2, -2));
    EXPECT(op1(IR_OP_DIV, INS(p, q)), DT_I32, 1, SH(4), V(3, -3, -3, 3));
    EXPECT(op1(IR_OP_MOD, INS(p, q)), DT_I32, 1, SH(4), V(1, 1, -1, -1));
    IrNode *n = node(IR_OP_MOD, 1);
    ir_attr_set_int(g, n, "fmod", 1);
    CHECK(run(n, INS(p, q)));
    EXPECT(out[0], DT_I32, 1, SH(4), V(1, -1, 1, -1));
    IrTensor *pf = ten(DT_F32, 1, SH(4), V(7, -7, 7, -7)), *qf = ten(DT_F32, 1, SH(4), V(2, 2, -2, INFINITY));
    EXPECT(op1(IR_OP_MOD, INS(pf, qf)), DT_F32, 1, SH(4), V(1, 1, -1, INFINITY));
    EXPECT_FAIL(node(IR_OP_DIV, 1), "division by zero", p, ten(DT_I32, 0, NULL, V(0)));
    /* int8 wraps; Pow on integers; u64 compares unsigned */
    EXPECT(op1(IR_OP_ADD, INS(ten(DT_I8, 1, SH(1), V(127)), ten(DT_I8, 1, SH(1), V(1)))), DT_I8, 1, SH(1), V(-128));
    EXPECT(op1(IR_OP_POW, INS(ten(DT_I64, 1, SH(3), V(3, 2, 2)), ten(DT_I64, 1, SH(3), V(4, 10, -1)))), DT_I64, 1,
           SH(3), V(81, 1024, 0));
    EXPECT(op1(IR_OP_POW, INS(ten(DT_F32, 1, SH(2), V(4, -8)), ten(DT_I64, 1, SH(2), V(-1, 2)))), DT_F32, 1, SH(2),
           V(0.25, 64));
    IrTensor *big = teni(DT_U64, 1, SH(1), I(INT64_MIN));   /* 2^63 */
    EXPECT(op1(IR_OP_GREATER, INS(big, ten(DT_U64, 1, SH(1), V(1)))), DT_BOOL, 1, SH(1), V(1));
    /* logic, bitwise, PRelu with a per-channel slope */
    IrTensor *t = ten(DT_BOOL, 1, SH(2), V(1, 0)), *f = ten(DT_BOOL, 1, SH(2), V(1, 1));
    EXPECT(op1(IR_OP_XOR, INS(t, f)), DT_BOOL, 1, SH(2), V(0, 1));
    EXPECT(op1(IR_OP_AND, INS(t, f)), DT_BOOL, 1, SH(2), V(1, 0));
    EXPECT(op1(IR_OP_BITWISE_AND, INS(ten(DT_U8, 1, SH(1), V(12)), ten(DT_U8, 1, SH(1), V(10)))), DT_U8, 1, SH(1), V(8));
    IrTensor *x = ten(DT_F32, 3, SH(1, 2, 2), V(-1, 2, -3, 4)), *slope = ten(DT_F32, 3, SH(2, 1, 1), V(0.5, 0.25));
    EXPECT(op1(IR_OP_PRELU, INS(x, slope)), DT_F32, 3, SH(2, 2, 2), V(-0.5, 2, -1.5, 4, -0.25, 2, -0.75, 4));
    /* Equal on NaN is false */
    IrTensor *nan = ten(DT_F32, 1, SH(2), V(NAN, 1));
    EXPECT(op1(IR_OP_EQUAL, INS(nan, nan)), DT_BOOL, 1, SH(2), V(0, 1));
}

static void test_variadic_where_cast_clip(void)
{
    IrTensor *a = ten(DT_F32, 1, SH(3), V(1, 5, NAN)), *b = ten(DT_F32, 0, NULL, V(3)), *c = ten(DT_F32, 1, SH(3), V(4, 0, 0));
    EXPECT(op1(IR_OP_MAX, INS(a, b, c)), DT_F32, 1, SH(3), V(4, 5, NAN));
    EXPECT(op1(IR_OP_MIN, INS(a, b, c)), DT_F32, 1, SH(3), V(1, 0, NAN));
    EXPECT(op1(IR_OP_SUM, INS(a, b, c)), DT_F32, 1, SH(3), V(8, 8, NAN));
    EXPECT(op1(IR_OP_MEAN, INS(b, c)), DT_F32, 1, SH(3), V(3.5, 1.5, 1.5));
    EXPECT(op1(IR_OP_MAX, INS(ten(DT_I32, 1, SH(2), V(-4, 9)), ten(DT_I32, 1, SH(1), V(2)))), DT_I32, 1, SH(2), V(2, 9));
    /* Where broadcasts its three operands */
    IrTensor *cond = ten(DT_BOOL, 2, SH(2, 1), V(1, 0));
    EXPECT(op1(IR_OP_WHERE, INS(cond, ten(DT_I64, 1, SH(2), V(1, 2)), ten(DT_I64, 0, NULL, V(-1)))), DT_I64, 2,
           SH(2, 2), V(1, 2, -1, -1));
    /* Cast: float -> int truncates and saturates, NaN -> 0; float -> bool is "not zero", NaN included */
    IrNode *n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_I8);
    IrTensor *fx = ten(DT_F32, 1, SH(6), V(2.9, -2.9, 300, -300, NAN, -0.5));
    CHECK(run(n, INS(fx)));
    EXPECT(out[0], DT_I8, 1, SH(6), V(2, -2, 127, -128, 0, 0));
    n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_BOOL);
    CHECK(run(n, INS(fx)));
    EXPECT(out[0], DT_BOOL, 1, SH(6), V(1, 1, 1, 1, 1, 1));
    n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_I32);
    CHECK(run(n, INS(teni(DT_I64, 1, SH(2), I(4294967297LL, -1)))));   /* integers wrap */
    EXPECT_I(out[0], DT_I32, 1, SH(2), I(1, -1));
    n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_F32);
    CHECK(run(n, INS(teni(DT_I64, 1, SH(1), I(16777217)))));   /* 2^24 + 1: nearest f32 is 2^24 */
    EXPECT_TOL(out[0], DT_F32, 1, SH(1), V(16777216), 0);
    EXPECT(op1(IR_OP_CAST_LIKE, INS(ten(DT_BOOL, 1, SH(2), V(1, 0)), ten(DT_F16, 0, NULL, V(0)))), DT_F16, 1, SH(2),
           V(1, 0));
    n = node(IR_OP_CAST, 1);
    ir_attr_set_int(g, n, "to", DT_STRING);
    EXPECT_FAIL(n, "not supported", fx);
    /* Clip: one bound, integer bounds, min > max gives max */
    IrTensor *x = ten(DT_F32, 1, SH(4), V(-2, 0.5, 3, NAN));
    EXPECT(op1(IR_OP_CLIP, INS(x, ten(DT_F32, 0, NULL, V(0)))), DT_F32, 1, SH(4), V(0, 0.5, 3, NAN));
    EXPECT(op1(IR_OP_CLIP, INS(x, NULL, ten(DT_F32, 0, NULL, V(1)))), DT_F32, 1, SH(4), V(-2, 0.5, 1, NAN));
    EXPECT(op1(IR_OP_CLIP, INS(x, ten(DT_F32, 0, NULL, V(2)), ten(DT_F32, 0, NULL, V(1)))), DT_F32, 1, SH(4), V(1, 1, 1, NAN));
    EXPECT(op1(IR_OP_CLIP, INS(ten(DT_I64, 1, SH(3), V(-9, 4, 9)), ten(DT_I64, 0, NULL, V(-1)), ten(DT_I64, 0, NULL, V(5)))),
           DT_I64, 1, SH(3), V(-1, 4, 5));
}

static void test_shape_ops(void)
{
    IrTensor *x = ten(DT_F32, 3, SH(2, 3, 4), NULL);
    for (int i = 0; i < 24; i++) ir_tensor_set_f64(x, (uint64_t)i, i);
    EXPECT_I(op1(IR_OP_SHAPE, INS(x)), DT_I64, 1, SH(3), I(2, 3, 4));
    IrNode *n = node(IR_OP_SHAPE, 1);
    ir_attr_set_int(g, n, "start", -2);
    ir_attr_set_int(g, n, "end", 100);
    CHECK(run(n, INS(x)));
    EXPECT_I(out[0], DT_I64, 1, SH(2), I(3, 4));
    EXPECT_I(op1(IR_OP_SIZE, INS(x)), DT_I64, 0, NULL, I(24));
    /* Reshape: 0 copies, -1 infers; allowzero keeps a real 0 */
    IrTensor *r = op1(IR_OP_RESHAPE, INS(x, teni(DT_I64, 1, SH(3), I(0, -1, 2))));
    CHECK(r && r->rank == 3 && r->shape[0] == 2 && r->shape[1] == 6 && r->shape[2] == 2 && r->data == x->data);
    n = node(IR_OP_RESHAPE, 1);
    ir_attr_set_int(g, n, "allowzero", 1);
    CHECK(run(n, INS(ten(DT_F32, 2, SH(0, 3), NULL), teni(DT_I64, 1, SH(2), I(3, 0)))));
    CHECK(out[0] && out[0]->shape[0] == 3 && out[0]->shape[1] == 0);
    EXPECT_FAIL(node(IR_OP_RESHAPE, 1), "-1", x, teni(DT_I64, 1, SH(2), I(-1, -1)));
    EXPECT_FAIL(node(IR_OP_RESHAPE, 1), "infer", x, teni(DT_I64, 1, SH(2), I(5, -1)));
    /* Flatten with a negative axis; Squeeze without axes; Unsqueeze with negative axes */
    n = node(IR_OP_FLATTEN, 1);
    ir_attr_set_int(g, n, "axis", -1);
    CHECK(run(n, INS(x)));
    CHECK(out[0] && out[0]->rank == 2 && out[0]->shape[0] == 6 && out[0]->shape[1] == 4);
    IrTensor *s = op1(IR_OP_SQUEEZE, INS(ten(DT_F32, 4, SH(1, 3, 1, 2), NULL)));
    CHECK(s && s->rank == 2 && s->shape[0] == 3 && s->shape[1] == 2);
    EXPECT_FAIL(node(IR_OP_SQUEEZE, 1), "not 1", x, teni(DT_I64, 1, SH(1), I(0)));
    IrTensor *u = op1(IR_OP_UNSQUEEZE, INS(ten(DT_F32, 1, SH(3), V(1, 2, 3)), teni(DT_I64, 1, SH(2), I(-1, 0))));
    CHECK(u && u->rank == 3 && u->shape[0] == 1 && u->shape[1] == 3 && u->shape[2] == 1);
    /* Transpose: default reverses; explicit perm */
    IrTensor *m = ten(DT_I64, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6));
    EXPECT(op1(IR_OP_TRANSPOSE, INS(m)), DT_I64, 2, SH(3, 2), V(1, 4, 2, 5, 3, 6));
    n = node(IR_OP_TRANSPOSE, 1);
    ir_attr_set_ints(g, n, "perm", I(1, 2, 0), 3);
    CHECK(run(n, INS(x)));
    CHECK(out[0] && out[0]->shape[0] == 3 && out[0]->shape[2] == 2 && ir_tensor_get_f64(out[0], 1) == 12);
    /* Concat on a negative axis, with an empty piece */
    n = node(IR_OP_CONCAT, 1);
    ir_attr_set_int(g, n, "axis", -1);
    CHECK(run(n, INS(m, ten(DT_I64, 2, SH(2, 0), NULL), ten(DT_I64, 2, SH(2, 1), V(7, 8)))));
    EXPECT(out[0], DT_I64, 2, SH(2, 4), V(1, 2, 3, 7, 4, 5, 6, 8));
    /* Split: explicit sizes; Split-18 num_outputs with a smaller last chunk */
    n = node(IR_OP_SPLIT, 2);
    ir_attr_set_int(g, n, "axis", 1);
    CHECK(run(n, INS(m, teni(DT_I64, 1, SH(2), I(1, 2)))));
    EXPECT(out[0], DT_I64, 2, SH(2, 1), V(1, 4));
    EXPECT(out[1], DT_I64, 2, SH(2, 2), V(2, 3, 5, 6));
    n = node(IR_OP_SPLIT, 3);
    ir_attr_set_int(g, n, "num_outputs", 3);
    CHECK(run(n, INS(ten(DT_F32, 1, SH(5), V(1, 2, 3, 4, 5)))));
    EXPECT(out[2], DT_F32, 1, SH(1), V(5));
    n = node(IR_OP_SPLIT, 2);
    n->opset = 13;
    EXPECT_FAIL(n, "uneven", ten(DT_F32, 1, SH(5), V(1, 2, 3, 4, 5)));
    /* Slice: negative step, clamped ends, negative axes */
    IrTensor *v = ten(DT_I64, 1, SH(5), V(0, 1, 2, 3, 4));
    EXPECT(op1(IR_OP_SLICE, INS(v, teni(DT_I64, 1, SH(1), I(-1)), teni(DT_I64, 1, SH(1), I(INT64_MIN)),
                                teni(DT_I64, 1, SH(1), I(-1)), teni(DT_I64, 1, SH(1), I(-2)))),
           DT_I64, 1, SH(3), V(4, 2, 0));
    EXPECT(op1(IR_OP_SLICE, INS(v, teni(DT_I64, 1, SH(1), I(1)), teni(DT_I64, 1, SH(1), I(INT64_MAX)))), DT_I64, 1,
           SH(4), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_SLICE, INS(v, teni(DT_I64, 1, SH(1), I(3)), teni(DT_I64, 1, SH(1), I(1)))), DT_I64, 1, SH(0), NULL);
    EXPECT_FAIL(node(IR_OP_SLICE, 1), "step 0", v, teni(DT_I64, 1, SH(1), I(0)), teni(DT_I64, 1, SH(1), I(2)), NULL,
                teni(DT_I64, 1, SH(1), I(0)));
    /* Expand both ways, Tile */
    EXPECT(op1(IR_OP_EXPAND, INS(ten(DT_F32, 2, SH(2, 1), V(1, 2)), teni(DT_I64, 1, SH(3), I(2, 1, 3)))), DT_F32, 3,
           SH(2, 2, 3), V(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2));
    EXPECT(op1(IR_OP_TILE, INS(ten(DT_F32, 2, SH(1, 2), V(1, 2)), teni(DT_I64, 1, SH(2), I(2, 2)))), DT_F32, 2, SH(2, 4),
           V(1, 2, 1, 2, 1, 2, 1, 2));
}

static void test_pad_space(void)
{
    IrTensor *x = ten(DT_F32, 1, SH(3), V(1, 2, 3));
    IrTensor *pads = teni(DT_I64, 1, SH(2), I(2, 3));
    const char *modes[] = {"constant", "reflect", "edge", "wrap"};
    const double want[4][8] = {{9, 9, 1, 2, 3, 9, 9, 9}, {3, 2, 1, 2, 3, 2, 1, 2}, {1, 1, 1, 2, 3, 3, 3, 3},
                               {2, 3, 1, 2, 3, 1, 2, 3}};
    for (int m = 0; m < 4; m++) {
        IrNode *n = node(IR_OP_PAD, 1);
        ir_attr_set_str(g, n, "mode", modes[m]);
        CHECK(run(n, INS(x, pads, ten(DT_F32, 0, NULL, V(9)))));
        EXPECT(out[0], DT_F32, 1, SH(8), want[m]);
    }
    /* negative pads crop; axes pick the padded axes */
    EXPECT(op1(IR_OP_PAD, INS(x, teni(DT_I64, 1, SH(2), I(-1, 1)))), DT_F32, 1, SH(3), V(2, 3, 0));
    EXPECT(op1(IR_OP_PAD, INS(ten(DT_I32, 2, SH(1, 2), V(1, 2)), teni(DT_I64, 1, SH(2), I(1, 0)), NULL,
                              teni(DT_I64, 1, SH(1), I(-1)))),
           DT_I32, 2, SH(1, 3), V(0, 1, 2));
    /* DepthToSpace DCR and CRD, SpaceToDepth inverts DCR */
    IrTensor *d = ten(DT_F32, 4, SH(1, 4, 1, 1), V(0, 1, 2, 3));
    IrNode *n = node(IR_OP_DEPTH_TO_SPACE, 1);
    ir_attr_set_int(g, n, "blocksize", 2);
    CHECK(run(n, INS(ten(DT_F32, 4, SH(1, 8, 1, 1), V(0, 1, 2, 3, 4, 5, 6, 7)))));
    EXPECT(out[0], DT_F32, 4, SH(1, 2, 2, 2), V(0, 2, 4, 6, 1, 3, 5, 7));
    n = node(IR_OP_DEPTH_TO_SPACE, 1);
    ir_attr_set_int(g, n, "blocksize", 2);
    ir_attr_set_str(g, n, "mode", "CRD");
    CHECK(run(n, INS(ten(DT_F32, 4, SH(1, 8, 1, 1), V(0, 1, 2, 3, 4, 5, 6, 7)))));
    EXPECT(out[0], DT_F32, 4, SH(1, 2, 2, 2), V(0, 1, 2, 3, 4, 5, 6, 7));
    n = node(IR_OP_DEPTH_TO_SPACE, 1);
    ir_attr_set_int(g, n, "blocksize", 2);
    CHECK(run(n, INS(d)));
    IrTensor *sp = out[0];
    n = node(IR_OP_SPACE_TO_DEPTH, 1);
    ir_attr_set_int(g, n, "blocksize", 2);
    CHECK(run(n, INS(sp)));
    EXPECT(out[0], DT_F32, 4, SH(1, 4, 1, 1), V(0, 1, 2, 3));
}

static void test_index_ops(void)
{
    IrTensor *m = ten(DT_I64, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6));
    /* Gather: negative indices, axis 1, indices of rank 2 */
    EXPECT(op1(IR_OP_GATHER, INS(m, teni(DT_I64, 1, SH(2), I(-1, 0)))), DT_I64, 2, SH(2, 3), V(4, 5, 6, 1, 2, 3));
    IrNode *n = node(IR_OP_GATHER, 1);
    ir_attr_set_int(g, n, "axis", 1);
    CHECK(run(n, INS(m, teni(DT_I32, 2, SH(1, 2), I(2, -3)))));
    EXPECT(out[0], DT_I64, 3, SH(2, 1, 2), V(3, 1, 6, 4));
    EXPECT(op1(IR_OP_GATHER, INS(teni(DT_I64, 1, SH(3), I(7, 8, 9)), scalar_i64(1))), DT_I64, 0, NULL, V(8));
    EXPECT_FAIL(node(IR_OP_GATHER, 1), "out of range", m, teni(DT_I64, 1, SH(1), I(2)));
    /* GatherElements, GatherND with batch_dims */
    n = node(IR_OP_GATHER_ELEMENTS, 1);
    ir_attr_set_int(g, n, "axis", 1);
    CHECK(run(n, INS(m, teni(DT_I64, 2, SH(2, 2), I(2, 0, -1, 1)))));
    EXPECT(out[0], DT_I64, 2, SH(2, 2), V(3, 1, 6, 5));
    EXPECT(op1(IR_OP_GATHER_ND, INS(m, teni(DT_I64, 2, SH(2, 2), I(1, 2, 0, 1)))), DT_I64, 1, SH(2), V(6, 2));
    n = node(IR_OP_GATHER_ND, 1);
    ir_attr_set_int(g, n, "batch_dims", 1);
    CHECK(run(n, INS(m, teni(DT_I64, 2, SH(2, 1), I(2, 0)))));
    EXPECT(out[0], DT_I64, 1, SH(2), V(3, 4));
    /* Scatter: elements with add, ND replacing a row */
    n = node(IR_OP_SCATTER_ELEMENTS, 1);
    ir_attr_set_int(g, n, "axis", 1);
    ir_attr_set_str(g, n, "reduction", "add");
    CHECK(run(n, INS(m, teni(DT_I64, 2, SH(1, 2), I(0, 0)), teni(DT_I64, 2, SH(1, 2), I(10, 20)))));
    EXPECT(out[0], DT_I64, 2, SH(2, 3), V(31, 2, 3, 4, 5, 6));
    EXPECT(op1(IR_OP_SCATTER_ND, INS(m, teni(DT_I64, 2, SH(1, 1), I(1)), teni(DT_I64, 2, SH(1, 3), I(0, 0, 0)))),
           DT_I64, 2, SH(2, 3), V(1, 2, 3, 0, 0, 0));
    /* ConstantOfShape: default f32 zero, a value's dtype, an empty shape is a scalar */
    EXPECT(op1(IR_OP_CONSTANT_OF_SHAPE, INS(teni(DT_I64, 1, SH(2), I(1, 2)))), DT_F32, 2, SH(1, 2), V(0, 0));
    n = node(IR_OP_CONSTANT_OF_SHAPE, 1);
    ir_attr_add(g, n, "value", ATTR_TENSOR)->u.t = teni(DT_I64, 1, SH(1), I(7));
    CHECK(run(n, INS(teni(DT_I64, 1, SH(0), NULL))));
    EXPECT_I(out[0], DT_I64, 0, NULL, I(7));
    /* Range: integers exactly, a negative delta, floats as start + i*delta */
    EXPECT_I(op1(IR_OP_RANGE, INS(scalar_i64(10), scalar_i64(3), scalar_i64(-3))), DT_I64, 1, SH(3), I(10, 7, 4));
    EXPECT_I(op1(IR_OP_RANGE, INS(scalar_i64(3), scalar_i64(3), scalar_i64(1))), DT_I64, 1, SH(0), NULL);
    EXPECT(op1(IR_OP_RANGE, INS(ten(DT_F32, 0, NULL, V(0)), ten(DT_F32, 0, NULL, V(1)), ten(DT_F32, 0, NULL, V(0.25)))),
           DT_F32, 1, SH(4), V(0, 0.25, 0.5, 0.75));
    EXPECT_FAIL(node(IR_OP_RANGE, 1), "zero", scalar_i64(0), scalar_i64(5), scalar_i64(0));
    /* Trilu with k, EyeLike with k and a dtype, OneHot with a negative index and axis 0, NonZero */
    IrTensor *sq = ten(DT_F32, 2, SH(3, 3), V(1, 2, 3, 4, 5, 6, 7, 8, 9));
    EXPECT(op1(IR_OP_TRILU, INS(sq, scalar_i64(1))), DT_F32, 2, SH(3, 3), V(0, 2, 3, 0, 0, 6, 0, 0, 0));
    n = node(IR_OP_TRILU, 1);
    ir_attr_set_int(g, n, "upper", 0);
    CHECK(run(n, INS(sq)));
    EXPECT(out[0], DT_F32, 2, SH(3, 3), V(1, 0, 0, 4, 5, 0, 7, 8, 9));
    n = node(IR_OP_EYE_LIKE, 1);
    ir_attr_set_int(g, n, "k", -1);
    ir_attr_set_int(g, n, "dtype", DT_I32);
    CHECK(run(n, INS(ten(DT_F32, 2, SH(2, 3), NULL))));
    EXPECT(out[0], DT_I32, 2, SH(2, 3), V(0, 0, 0, 1, 0, 0));
    n = node(IR_OP_ONE_HOT, 1);
    ir_attr_set_int(g, n, "axis", 0);
    CHECK(run(n, INS(teni(DT_I64, 1, SH(3), I(0, -1, 5)), scalar_i64(3), ten(DT_F32, 1, SH(2), V(-1, 1)))));
    EXPECT(out[0], DT_F32, 2, SH(3, 3), V(1, -1, -1, -1, -1, -1, -1, 1, -1));
    EXPECT_I(op1(IR_OP_NON_ZERO, INS(ten(DT_F32, 2, SH(2, 2), V(0, 1, NAN, 0)))), DT_I64, 2, SH(2, 2), I(0, 1, 1, 0));
}

static void test_reduce(void)
{
    IrTensor *x = ten(DT_F32, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6));
    IrNode *n = node(IR_OP_REDUCE_SUM, 1);
    ir_attr_set_int(g, n, "keepdims", 0);
    CHECK(run(n, INS(x, teni(DT_I64, 1, SH(1), I(-1)))));
    EXPECT(out[0], DT_F32, 1, SH(2), V(6, 15));
    EXPECT(op1(IR_OP_REDUCE_MEAN, INS(x)), DT_F32, 2, SH(1, 1), V(3.5));
    EXPECT(op1(IR_OP_REDUCE_L2, INS(x, teni(DT_I64, 1, SH(1), I(0)))), DT_F32, 2, SH(1, 3),
           V(4.1231056256, 5.3851648071, 6.7082039325));
    EXPECT(op1(IR_OP_REDUCE_LOG_SUM_EXP, INS(x, teni(DT_I64, 1, SH(1), I(1)))), DT_F32, 2, SH(2, 1),
           V(3.4076059644, 6.4076059644));
    EXPECT(op1(IR_OP_REDUCE_PROD, INS(x)), DT_F32, 2, SH(1, 1), V(720));
    /* noop_with_empty_axes: no reduction, ReduceSumSquare squares */
    n = node(IR_OP_REDUCE_SUM_SQUARE, 1);
    ir_attr_set_int(g, n, "noop_with_empty_axes", 1);
    CHECK(run(n, INS(x)));
    EXPECT(out[0], DT_F32, 2, SH(2, 3), V(1, 4, 9, 16, 25, 36));
    /* empty sets: identities of the reductions */
    IrTensor *e = ten(DT_F32, 2, SH(2, 0), NULL);
    IrTensor *ax1 = teni(DT_I64, 1, SH(1), I(1));
    EXPECT(op1(IR_OP_REDUCE_MAX, INS(e, ax1)), DT_F32, 2, SH(2, 1), V(-INFINITY, -INFINITY));
    EXPECT(op1(IR_OP_REDUCE_SUM, INS(e, ax1)), DT_F32, 2, SH(2, 1), V(0, 0));
    EXPECT(op1(IR_OP_REDUCE_PROD, INS(e, ax1)), DT_F32, 2, SH(2, 1), V(1, 1));
    EXPECT(op1(IR_OP_REDUCE_LOG_SUM_EXP, INS(e, ax1)), DT_F32, 2, SH(2, 1), V(-INFINITY, -INFINITY));
    EXPECT_I(op1(IR_OP_REDUCE_MIN, INS(ten(DT_I32, 2, SH(1, 0), NULL), ax1)), DT_I32, 2, SH(1, 1), I(INT32_MAX));
    /* integers: exact sums, truncating mean; NaN wins Max */
    EXPECT_I(op1(IR_OP_REDUCE_SUM, INS(teni(DT_I64, 1, SH(2), I(INT64_MAX, 1)))), DT_I64, 1, SH(1), I(INT64_MIN));
    EXPECT_I(op1(IR_OP_REDUCE_MEAN, INS(teni(DT_I32, 1, SH(2), I(-3, 0)))), DT_I32, 1, SH(1), I(-1));
    EXPECT(op1(IR_OP_REDUCE_MAX, INS(ten(DT_F32, 1, SH(3), V(1, NAN, 3)))), DT_F32, 1, SH(1), V(NAN));
    /* ArgMax: ties to the first, or the last with select_last_index; ArgMin on a negative axis */
    IrTensor *t = ten(DT_F32, 2, SH(2, 3), V(5, 1, 5, 0, 0, -1));
    EXPECT_I(op1(IR_OP_ARGMAX, INS(t)), DT_I64, 2, SH(1, 3), I(0, 0, 0));
    n = node(IR_OP_ARGMAX, 1);
    ir_attr_set_int(g, n, "axis", 1);
    ir_attr_set_int(g, n, "select_last_index", 1);
    ir_attr_set_int(g, n, "keepdims", 0);
    CHECK(run(n, INS(t)));
    EXPECT_I(out[0], DT_I64, 1, SH(2), I(2, 1));
    n = node(IR_OP_ARGMIN, 1);
    ir_attr_set_int(g, n, "axis", -1);
    CHECK(run(n, INS(t)));
    EXPECT_I(out[0], DT_I64, 2, SH(2, 1), I(1, 2));
    /* CumSum: plain, exclusive + reverse */
    IrTensor *c = ten(DT_I32, 1, SH(4), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_CUMSUM, INS(c, scalar_i64(0))), DT_I32, 1, SH(4), V(1, 3, 6, 10));
    n = node(IR_OP_CUMSUM, 1);
    ir_attr_set_int(g, n, "exclusive", 1);
    ir_attr_set_int(g, n, "reverse", 1);
    CHECK(run(n, INS(c, scalar_i64(-1))));
    EXPECT(out[0], DT_I32, 1, SH(4), V(9, 7, 4, 0));
    /* TopK: largest with ties by index, smallest */
    n = node(IR_OP_TOPK, 2);
    CHECK(run(n, INS(ten(DT_F32, 1, SH(5), V(3, 1, 3, 2, 5)), teni(DT_I64, 1, SH(1), I(3)))));
    EXPECT(out[0], DT_F32, 1, SH(3), V(5, 3, 3));
    EXPECT_I(out[1], DT_I64, 1, SH(3), I(4, 0, 2));
    n = node(IR_OP_TOPK, 2);
    ir_attr_set_int(g, n, "largest", 0);
    CHECK(run(n, INS(ten(DT_F32, 2, SH(2, 2), V(3, 1, 0, 2)), teni(DT_I64, 1, SH(1), I(1)))));
    EXPECT_I(out[1], DT_I64, 2, SH(2, 1), I(1, 0));
    EXPECT_FAIL(node(IR_OP_TOPK, 2), "k=", t, teni(DT_I64, 1, SH(1), I(4)));
}

static void test_softmax(void)
{
    IrTensor *x = ten(DT_F32, 2, SH(2, 2), V(0, 1, 2, 3));
    /* from opset 13: per row; before: over the flattened [axis:] (axis 1 of a 2-D tensor is the same) */
    EXPECT(op1(IR_OP_SOFTMAX, INS(x)), DT_F32, 2, SH(2, 2), V(0.2689414214, 0.7310585786, 0.2689414214, 0.7310585786));
    IrNode *n = node(IR_OP_SOFTMAX, 1);
    n->opset = 11;
    ir_attr_set_int(g, n, "axis", 0);
    CHECK(run(n, INS(x)));
    EXPECT(out[0], DT_F32, 2, SH(2, 2), V(0.0320586033, 0.0871443187, 0.2368828181, 0.6439142599));
    n = node(IR_OP_SOFTMAX, 1);
    ir_attr_set_int(g, n, "axis", 0);
    CHECK(run(n, INS(x)));
    EXPECT(out[0], DT_F32, 2, SH(2, 2), V(0.1192029220, 0.1192029220, 0.8807970780, 0.8807970780));
    EXPECT(op1(IR_OP_LOG_SOFTMAX, INS(x)), DT_F32, 2, SH(2, 2), V(-1.3132616875, -0.3132616875, -1.3132616875, -0.3132616875));
    EXPECT(op1(IR_OP_HARDMAX, INS(ten(DT_F32, 2, SH(2, 3), V(1, 3, 3, -1, -2, -3)))), DT_F32, 2, SH(2, 3),
           V(0, 1, 0, 1, 0, 0));
    /* huge logits do not overflow; all -inf is NaN */
    EXPECT(op1(IR_OP_SOFTMAX, INS(ten(DT_F32, 1, SH(2), V(1000, 1000)))), DT_F32, 1, SH(2), V(0.5, 0.5));
    EXPECT(op1(IR_OP_SOFTMAX, INS(ten(DT_F32, 1, SH(2), V(-INFINITY, -INFINITY)))), DT_F32, 1, SH(2), V(NAN, NAN));
}

static void test_linalg(void)
{
    IrTensor *a = ten(DT_F32, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6)), *b = ten(DT_F32, 2, SH(3, 2), V(1, 0, 0, 1, 1, 1));
    EXPECT(op1(IR_OP_MATMUL, INS(a, b)), DT_F32, 2, SH(2, 2), V(4, 5, 10, 11));
    /* 1-D operands lose their unit dim; batch dims broadcast */
    EXPECT(op1(IR_OP_MATMUL, INS(ten(DT_F32, 1, SH(3), V(1, 1, 1)), b)), DT_F32, 1, SH(2), V(2, 2));
    EXPECT(op1(IR_OP_MATMUL, INS(a, ten(DT_F32, 1, SH(3), V(1, 0, -1)))), DT_F32, 1, SH(2), V(-2, -2));
    IrTensor *ab = ten(DT_F32, 3, SH(2, 1, 2), V(1, 0, 0, 1)), *bb = ten(DT_F32, 2, SH(2, 2), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_MATMUL, INS(ab, bb)), DT_F32, 3, SH(2, 1, 2), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_MATMUL, INS(ten(DT_I32, 2, SH(1, 2), V(2, 3)), ten(DT_I32, 2, SH(2, 1), V(4, 5)))), DT_I32, 2,
           SH(1, 1), V(23));
    EXPECT_FAIL(node(IR_OP_MATMUL, 1), "inner dims", a, a);
    /* Gemm: transB, alpha, beta, C broadcast from a row */
    IrNode *n = node(IR_OP_GEMM, 1);
    ir_attr_set_int(g, n, "transB", 1);
    ir_attr_set_float(g, n, "alpha", 2.0);
    ir_attr_set_float(g, n, "beta", 0.5);
    CHECK(run(n, INS(a, ten(DT_F32, 2, SH(1, 3), V(1, 1, 1)), ten(DT_F32, 1, SH(1), V(2)))));
    EXPECT(out[0], DT_F32, 2, SH(2, 1), V(13, 31));
    /* Einsum: matmul, diagonal, ellipsis transpose, implicit output */
    IrNode *e = node(IR_OP_EINSUM, 1);
    ir_attr_set_str(g, e, "equation", "ij,jk->ik");
    CHECK(run(e, INS(a, b)));
    EXPECT(out[0], DT_F32, 2, SH(2, 2), V(4, 5, 10, 11));
    e = node(IR_OP_EINSUM, 1);
    ir_attr_set_str(g, e, "equation", "ii->i");
    CHECK(run(e, INS(ten(DT_F32, 2, SH(2, 2), V(1, 2, 3, 4)))));
    EXPECT(out[0], DT_F32, 1, SH(2), V(1, 4));
    e = node(IR_OP_EINSUM, 1);
    ir_attr_set_str(g, e, "equation", "...ij->...ji");
    CHECK(run(e, INS(ten(DT_F32, 3, SH(1, 2, 2), V(1, 2, 3, 4)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 2, 2), V(1, 3, 2, 4));
    e = node(IR_OP_EINSUM, 1);
    ir_attr_set_str(g, e, "equation", "ij,ij");   /* implicit: the labels used once; none, so a full sum */
    CHECK(run(e, INS(a, a)));
    EXPECT(out[0], DT_F32, 0, NULL, V(91));
    e = node(IR_OP_EINSUM, 1);
    ir_attr_set_str(g, e, "equation", "ij,jk->iq");
    EXPECT_FAIL(e, "output label", a, b);
}

static void test_norms(void)
{
    IrTensor *x = ten(DT_F32, 2, SH(2, 2), V(1, 3, 0, 4));
    IrTensor *scale = ten(DT_F32, 1, SH(2), V(1, 2)), *bias = ten(DT_F32, 1, SH(2), V(0, 1));
    IrNode *n = node(IR_OP_LAYER_NORM, 3);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(x, scale, bias)));
    EXPECT(out[0], DT_F32, 2, SH(2, 2), V(-1, 3, -1, 3));
    EXPECT(out[1], DT_F32, 2, SH(2, 1), V(2, 2));
    EXPECT(out[2], DT_F32, 2, SH(2, 1), V(1, 0.5));
    n = node(IR_OP_RMS_NORM, 1);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(ten(DT_F32, 1, SH(2), V(3, 4)), scale)));
    EXPECT(out[0], DT_F32, 1, SH(2), V(0.8485281374, 2.2627416998));
    /* BatchNormalization (inference), InstanceNormalization, GroupNormalization in both scale forms */
    IrTensor *img = ten(DT_F32, 3, SH(1, 2, 2), V(1, 3, 10, 20));
    n = node(IR_OP_BATCH_NORM, 1);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(img, scale, bias, ten(DT_F32, 1, SH(2), V(1, 10)), ten(DT_F32, 1, SH(2), V(4, 25)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 2, 2), V(0, 1, 1, 5));
    n = node(IR_OP_INSTANCE_NORM, 1);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(img, scale, bias)));
    EXPECT(out[0], DT_F32, 3, SH(1, 2, 2), V(-1, 1, -1, 3));
    n = node(IR_OP_GROUP_NORM, 1);
    ir_attr_set_int(g, n, "num_groups", 1);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(ten(DT_F32, 3, SH(1, 2, 1), V(1, 3)), scale, bias)));
    EXPECT(out[0], DT_F32, 3, SH(1, 2, 1), V(-1, 3));
    n = node(IR_OP_GROUP_NORM, 1);
    ir_attr_set_int(g, n, "num_groups", 1);
    ir_attr_set_float(g, n, "epsilon", 0);
    CHECK(run(n, INS(ten(DT_F32, 3, SH(1, 2, 1), V(1, 3)), ten(DT_F32, 1, SH(1), V(2)), ten(DT_F32, 1, SH(1), V(1)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 2, 1), V(-1, 3));
    EXPECT_FAIL(node(IR_OP_BATCH_NORM, 3), "training", img, scale, bias, scale, scale);
}

static void test_attention(void)
{
    /* one head, head size 1 (scale 1): scores are q*k */
    IrTensor *q = ten(DT_F32, 4, SH(1, 1, 2, 1), V(1, 2)), *k = ten(DT_F32, 4, SH(1, 1, 2, 1), V(1, 0));
    IrTensor *v = ten(DT_F32, 4, SH(1, 1, 2, 1), V(10, 20));
    EXPECT(op1(IR_OP_ATTENTION, INS(q, k, v)), DT_F32, 4, SH(1, 1, 2, 1), V(12.6894142137, 11.1920292202));
    IrNode *n = node(IR_OP_ATTENTION, 1);
    ir_attr_set_int(g, n, "is_causal", 1);
    CHECK(run(n, INS(q, k, v)));
    EXPECT(out[0], DT_F32, 4, SH(1, 1, 2, 1), V(10, 11.1920292202));
    /* a fully masked row gives zeros, not NaN */
    IrTensor *mask = ten(DT_BOOL, 2, SH(2, 2), V(1, 1, 0, 0));
    EXPECT(op1(IR_OP_ATTENTION, INS(q, k, v, mask)), DT_F32, 4, SH(1, 1, 2, 1), V(12.6894142137, 0));
    /* GQA with 3-D operands: two query heads share the one KV head */
    n = node(IR_OP_ATTENTION, 1);
    ir_attr_set_int(g, n, "q_num_heads", 2);
    ir_attr_set_int(g, n, "kv_num_heads", 1);
    CHECK(run(n, INS(ten(DT_F32, 3, SH(1, 1, 2), V(1, 2)), ten(DT_F32, 3, SH(1, 2, 1), V(1, 0)),
                     ten(DT_F32, 3, SH(1, 2, 1), V(10, 20)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 2), V(12.6894142137, 11.1920292202));
    /* past cache: present = past ++ new, causal offset by the past length */
    n = node(IR_OP_ATTENTION, 3);
    ir_attr_set_int(g, n, "is_causal", 1);
    CHECK(run(n, INS(ten(DT_F32, 4, SH(1, 1, 1, 1), V(1)), ten(DT_F32, 4, SH(1, 1, 1, 1), V(0)),
                     ten(DT_F32, 4, SH(1, 1, 1, 1), V(10)), NULL, ten(DT_F32, 4, SH(1, 1, 1, 1), V(5)),
                     ten(DT_F32, 4, SH(1, 1, 1, 1), V(100)))));
    EXPECT(out[0], DT_F32, 4, SH(1, 1, 1, 1), V(99.3976434168));
    EXPECT(out[1], DT_F32, 4, SH(1, 1, 2, 1), V(5, 0));
    EXPECT(out[2], DT_F32, 4, SH(1, 1, 2, 1), V(100, 10));
    EXPECT_FAIL(node(IR_OP_ATTENTION, 1), "go together", q, k, v, NULL, k);
    /* RotaryEmbedding at position 1 (cos 0, sin 1): halves, then interleaved pairs */
    IrTensor *x = ten(DT_F32, 4, SH(1, 1, 1, 4), V(1, 2, 3, 4));
    IrTensor *cosc = ten(DT_F32, 2, SH(2, 2), V(1, 1, 0, 0)), *sinc = ten(DT_F32, 2, SH(2, 2), V(0, 0, 1, 1));
    IrTensor *pos = teni(DT_I64, 2, SH(1, 1), I(1));
    EXPECT(op1(IR_OP_ROTARY_EMBEDDING, INS(x, cosc, sinc, pos)), DT_F32, 4, SH(1, 1, 1, 4), V(-3, -4, 1, 2));
    n = node(IR_OP_ROTARY_EMBEDDING, 1);
    ir_attr_set_int(g, n, "interleaved", 1);
    CHECK(run(n, INS(x, cosc, sinc, pos)));
    EXPECT(out[0], DT_F32, 4, SH(1, 1, 1, 4), V(-2, 1, -4, 3));
    EXPECT_FAIL(node(IR_OP_ROTARY_EMBEDDING, 1), "out of range", x, cosc, sinc, teni(DT_I64, 2, SH(1, 1), I(2)));
}

static void test_conv_pool(void)
{
    /* 1-D: pads, dilation 2, stride 1; weights [1, 1, 2] */
    IrTensor *x = ten(DT_F32, 3, SH(1, 1, 4), V(1, 2, 3, 4)), *w = ten(DT_F32, 3, SH(1, 1, 2), V(1, -1));
    IrNode *n = node(IR_OP_CONV, 1);
    ir_attr_set_ints(g, n, "dilations", I(2), 1);
    ir_attr_set_ints(g, n, "pads", I(1, 1), 2);
    CHECK(run(n, INS(x, w, ten(DT_F32, 1, SH(1), V(10)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 4), V(8, 8, 8, 13));
    /* depthwise 2-D (groups = channels), SAME_UPPER with stride 2 */
    IrTensor *x2 = ten(DT_F32, 4, SH(1, 2, 2, 2), V(1, 2, 3, 4, 5, 6, 7, 8));
    n = node(IR_OP_CONV, 1);
    ir_attr_set_int(g, n, "group", 2);
    ir_attr_set_str(g, n, "auto_pad", "SAME_UPPER");
    ir_attr_set_ints(g, n, "strides", I(2, 2), 2);
    CHECK(run(n, INS(x2, ten(DT_F32, 4, SH(2, 1, 2, 2), V(1, 1, 1, 1, 1, 0, 0, 1)))));
    EXPECT(out[0], DT_F32, 4, SH(1, 2, 1, 1), V(10, 13));
    /* ConvTranspose, stride 2: each input spreads its kernel */
    n = node(IR_OP_CONV_TRANSPOSE, 1);
    ir_attr_set_ints(g, n, "strides", I(2), 1);
    CHECK(run(n, INS(ten(DT_F32, 3, SH(1, 1, 2), V(1, 2)), ten(DT_F32, 3, SH(1, 1, 3), V(1, 1, 1)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 5), V(1, 1, 3, 2, 2));
    /* MaxPool with indices and ceil_mode; AveragePool with and without the padding counted */
    IrTensor *p = ten(DT_F32, 3, SH(1, 1, 5), V(1, 5, 2, 4, 3));
    n = node(IR_OP_MAX_POOL, 2);
    ir_attr_set_ints(g, n, "kernel_shape", I(2), 1);
    ir_attr_set_ints(g, n, "strides", I(2), 1);
    ir_attr_set_int(g, n, "ceil_mode", 1);
    CHECK(run(n, INS(p)));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 3), V(5, 4, 3));
    EXPECT_I(out[1], DT_I64, 3, SH(1, 1, 3), I(1, 3, 4));
    n = node(IR_OP_AVERAGE_POOL, 1);
    ir_attr_set_ints(g, n, "kernel_shape", I(3), 1);
    ir_attr_set_ints(g, n, "pads", I(1, 1), 2);
    CHECK(run(n, INS(p)));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 5), V(3, 2.6666666667, 3.6666666667, 3, 3.5));
    n = node(IR_OP_AVERAGE_POOL, 1);
    ir_attr_set_ints(g, n, "kernel_shape", I(3), 1);
    ir_attr_set_ints(g, n, "pads", I(1, 1), 2);
    ir_attr_set_int(g, n, "count_include_pad", 1);
    CHECK(run(n, INS(p)));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 5), V(2, 2.6666666667, 3.6666666667, 3, 2.3333333333));
    /* Col2Im sums overlapping blocks: image (1, 3) from 1x2 blocks at two positions */
    EXPECT(op1(IR_OP_COL2IM, INS(ten(DT_F32, 3, SH(1, 2, 2), V(1, 2, 10, 20)), teni(DT_I64, 1, SH(2), I(1, 3)),
                                 teni(DT_I64, 1, SH(2), I(1, 2)))),
           DT_F32, 4, SH(1, 1, 1, 3), V(1, 12, 20));
    EXPECT(op1(IR_OP_GLOBAL_AVERAGE_POOL, INS(x2)), DT_F32, 4, SH(1, 2, 1, 1), V(2.5, 6.5));
    EXPECT(op1(IR_OP_GLOBAL_MAX_POOL, INS(x2)), DT_F32, 4, SH(1, 2, 1, 1), V(4, 8));
}

static void test_resize(void)
{
    IrTensor *x = ten(DT_F32, 2, SH(1, 2), V(1, 3));
    IrTensor *scales = ten(DT_F32, 1, SH(2), V(1, 2));
    IrNode *n = node(IR_OP_RESIZE, 1);
    ir_attr_set_str(g, n, "mode", "linear");
    CHECK(run(n, INS(x, NULL, scales)));
    EXPECT(out[0], DT_F32, 2, SH(1, 4), V(1, 1.5, 2.5, 3));
    n = node(IR_OP_RESIZE, 1);
    ir_attr_set_str(g, n, "mode", "linear");
    ir_attr_set_str(g, n, "coordinate_transformation_mode", "align_corners");
    CHECK(run(n, INS(x, NULL, NULL, teni(DT_I64, 1, SH(2), I(1, 3)))));
    EXPECT(out[0], DT_F32, 2, SH(1, 3), V(1, 2, 3));
    n = node(IR_OP_RESIZE, 1);
    ir_attr_set_str(g, n, "coordinate_transformation_mode", "asymmetric");
    ir_attr_set_str(g, n, "nearest_mode", "floor");
    CHECK(run(n, INS(x, NULL, scales)));
    EXPECT(out[0], DT_F32, 2, SH(1, 4), V(1, 1, 3, 3));
    /* cubic (a = -0.75) with edge clamping, and with the outside taps excluded and the weights renormalized */
    IrTensor *ramp = ten(DT_F32, 2, SH(1, 4), V(0, 1, 2, 3));
    n = node(IR_OP_RESIZE, 1);
    ir_attr_set_str(g, n, "mode", "cubic");
    ir_attr_set_str(g, n, "coordinate_transformation_mode", "asymmetric");
    CHECK(run(n, INS(ramp, NULL, scales)));
    EXPECT(out[0], DT_F32, 2, SH(1, 8), V(0, 0.40625, 1, 1.5, 2, 2.59375, 3, 3.09375));
    ir_attr_set_int(g, n, "exclude_outside", 1);
    CHECK(run(n, INS(ramp, NULL, scales)));
    CHECK(out[0] && fabs(ir_tensor_get_f64(out[0], 1) - 0.3714285714) < 1e-6);
    n = node(IR_OP_RESIZE, 1);
    ir_attr_set_int(g, n, "antialias", 1);
    EXPECT_FAIL(n, "antialias", x, NULL, scales);
}

static void test_spectral(void)
{
    /* DFT of a real signal along axis 0 (opset 20's default -2 of a (4, 1) tensor) */
    IrTensor *x = ten(DT_F32, 2, SH(4, 1), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_DFT, INS(x)), DT_F32, 2, SH(4, 2), V(10, 0, -2, 2, -2, 0, -2, -2));
    IrTensor *full = out[0];
    IrNode *n = node(IR_OP_DFT, 1);
    ir_attr_set_int(g, n, "onesided", 1);
    CHECK(run(n, INS(x)));
    EXPECT(out[0], DT_F32, 2, SH(3, 2), V(10, 0, -2, 2, -2, 0));
    IrTensor *half = out[0];
    n = node(IR_OP_DFT, 1);
    ir_attr_set_int(g, n, "inverse", 1);
    CHECK(run(n, INS(full)));
    EXPECT(out[0], DT_F32, 2, SH(4, 2), V(1, 0, 2, 0, 3, 0, 4, 0));
    /* the real inverse of a one-sided spectrum: length 2 * (3 - 1), a real signal again */
    n = node(IR_OP_DFT, 1);
    ir_attr_set_int(g, n, "inverse", 1);
    ir_attr_set_int(g, n, "onesided", 1);
    CHECK(run(n, INS(half)));
    EXPECT(out[0], DT_F32, 2, SH(4, 1), V(1, 2, 3, 4));
    /* dft_length pads with zeros: the spectrum of [1, 2, 3, 4, 0, 0, 0, 0] */
    EXPECT(op1(IR_OP_DFT, INS(x, scalar_i64(8), scalar_i64(0))), DT_F32, 2, SH(8, 2),
           V(10, 0, -0.4142135624, -7.2426406871, -2, 2, 2.4142135624, -1.2426406871, -2, 0, 2.4142135624, 1.2426406871,
             -2, -2, -0.4142135624, 7.2426406871));
    /* STFT: frames [1, 2] and [3, 4], one-sided transforms of length 2 */
    IrTensor *sig = ten(DT_F32, 3, SH(1, 4, 1), V(1, 2, 3, 4));
    EXPECT(op1(IR_OP_STFT, INS(sig, scalar_i64(2), NULL, scalar_i64(2))), DT_F32, 4, SH(1, 2, 2, 2),
           V(3, 0, -1, 0, 7, 0, -1, 0));
    EXPECT_FAIL(node(IR_OP_STFT, 1), "frame length", sig, scalar_i64(2), NULL, scalar_i64(9));
}

static void test_failures(void)
{
    /* outside the op table */
    IrNode *n = node(IR_OP_ABS, 1);
    n->op = IR_OP_UNKNOWN;
    n->op_type = "Frobnicate";
    EXPECT_FAIL(n, "Frobnicate", ten(DT_F32, 1, SH(1), V(1)));
    /* absurd sizes fail before anything is allocated */
    size_t before = m2c_arena_bytes(g->arena);
    EXPECT_FAIL(node(IR_OP_CONSTANT_OF_SHAPE, 1), "limit", teni(DT_I64, 1, SH(2), I(1 << 20, 1 << 20)));
    EXPECT_FAIL(node(IR_OP_RANGE, 1), "limit", scalar_i64(0), scalar_i64((int64_t)1 << 40), scalar_i64(1));
    EXPECT_FAIL(node(IR_OP_EXPAND, 1), "limit", ten(DT_F32, 0, NULL, V(1)), teni(DT_I64, 1, SH(3), I(1 << 20, 1 << 20, 1 << 20)));
    EXPECT_FAIL(node(IR_OP_CONSTANT_OF_SHAPE, 1), "overflow", teni(DT_I64, 1, SH(3), I(INT64_MAX, INT64_MAX, 4)));
    CHECK(m2c_arena_bytes(g->arena) - before < 4096);
    /* a caller's budget: 4 elements fit in 16 bytes, 5 do not */
    n = node(IR_OP_EXPAND, 1);
    n->nin = 2;
    n->in = m2c_alloc_array(g->arena, 2, sizeof *n->in);
    RefStatus small = {.max_bytes = 16};
    const IrTensor *in[2] = {ten(DT_F32, 0, NULL, V(1)), teni(DT_I64, 1, SH(1), I(4))};
    CHECK(ref_eval(g, n, in, out, &small));
    in[1] = teni(DT_I64, 1, SH(1), I(5));
    CHECK(!ref_eval(g, n, in, out, &small) && strstr(small.why, "16-byte"));
    CHECK(ref_eval(g, n, in, out, NULL));    /* no status: the default limit */
    /* a caller's work limit: a 64x64 by 64x64 MatMul is 262144 multiply-adds */
    n = node(IR_OP_MATMUL, 1);
    n->nin = 2;
    n->in = m2c_alloc_array(g->arena, 2, sizeof *n->in);
    RefStatus lazy = {.max_work = 1e5};
    in[0] = in[1] = ten(DT_F32, 2, SH(64, 64), NULL);
    CHECK(!ref_eval(g, n, in, out, &lazy) && strstr(lazy.why, "work"));
    lazy.max_work = 1e6;
    CHECK(ref_eval(g, n, in, out, &lazy));
    /* missing required input, wrong arity, string tensors */
    EXPECT_FAIL(node(IR_OP_WHERE, 1), "missing", ten(DT_BOOL, 0, NULL, V(1)), NULL, ten(DT_F32, 0, NULL, V(1)));
    EXPECT_FAIL(node(IR_OP_ADD, 1), "inputs", ten(DT_F32, 0, NULL, V(1)));
    IrTensor *str = ten(DT_F32, 0, NULL, V(1));
    str->dtype = DT_STRING;
    EXPECT_FAIL(node(IR_OP_IDENTITY, 1), "string", str);
    /* unaligned data (mmapped weights): read through memcpy */
    unsigned char *buf = m2c_alloc(g->arena, 64);
    IrTensor *un = ten(DT_F64, 1, SH(2), V(1.5, -2));
    memcpy(buf + 3, un->data, 16);
    un->data = buf + 3;
    EXPECT(op1(IR_OP_ABS, INS(un)), DT_F64, 1, SH(2), V(1.5, 2));
}

/* The less common ops (ref_extra.c, ref_extra_index.c). */
static void test_extra(void)
{
    /* NLL on log-probabilities: none, weighted mean, ignore_index; SCE through log_softmax, both outputs */
    IrTensor *lp = ten(DT_F32, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6)), *tg = teni(DT_I64, 1, SH(2), I(2, 0));
    IrNode *n = node(IR_OP_NLL_LOSS, 1);
    ir_attr_set_str(g, n, "reduction", "none");
    CHECK(run(n, INS(lp, tg)));
    EXPECT(out[0], DT_F32, 1, SH(2), V(-3, -4));
    EXPECT(op1(IR_OP_NLL_LOSS, INS(lp, tg, ten(DT_F32, 1, SH(3), V(0.5, 1, 2)))), DT_F32, 0, NULL, V(-3.2));
    n = node(IR_OP_NLL_LOSS, 1);
    ir_attr_set_int(g, n, "ignore_index", 0);
    CHECK(run(n, INS(lp, tg)));
    EXPECT(out[0], DT_F32, 0, NULL, V(-3));
    n = node(IR_OP_SCE_LOSS, 2);
    CHECK(run(n, INS(ten(DT_F32, 2, SH(1, 2), V(0, 0)), teni(DT_I64, 1, SH(1), I(1)))));
    EXPECT(out[0], DT_F32, 0, NULL, V(0.6931471806));
    EXPECT(out[1], DT_F32, 2, SH(1, 2), V(-0.6931471806, -0.6931471806));
    EXPECT_FAIL(node(IR_OP_NLL_LOSS, 1), "not a class", lp, teni(DT_I64, 1, SH(2), I(3, 0)));
    /* BitShift: u8 wraps; i8 shifts arithmetically, a shift of the width or more leaves the sign */
    n = node(IR_OP_BIT_SHIFT, 1);
    ir_attr_set_str(g, n, "direction", "LEFT");
    CHECK(run(n, INS(teni(DT_U8, 1, SH(2), I(1, 255)), teni(DT_U8, 1, SH(2), I(1, 1)))));
    EXPECT_I(out[0], DT_U8, 1, SH(2), I(2, 254));
    CHECK(run(n, INS(teni(DT_I8, 1, SH(1), I(64)), teni(DT_I8, 1, SH(1), I(1)))));
    EXPECT_I(out[0], DT_I8, 1, SH(1), I(-128));
    n = node(IR_OP_BIT_SHIFT, 1);
    ir_attr_set_str(g, n, "direction", "RIGHT");
    CHECK(run(n, INS(teni(DT_I8, 1, SH(3), I(-8, 8, -8)), teni(DT_I8, 1, SH(3), I(1, 1, 9)))));
    EXPECT_I(out[0], DT_I8, 1, SH(3), I(-4, 4, -1));
    /* CumProd exclusive, reversed */
    IrTensor *v = ten(DT_F32, 1, SH(3), V(1, 2, 3));
    n = node(IR_OP_CUMPROD, 1);
    ir_attr_set_int(g, n, "exclusive", 1);
    CHECK(run(n, INS(v, scalar_i64(0))));
    EXPECT(out[0], DT_F32, 1, SH(3), V(1, 1, 2));
    n = node(IR_OP_CUMPROD, 1);
    ir_attr_set_int(g, n, "reverse", 1);
    CHECK(run(n, INS(v, scalar_i64(-1))));
    EXPECT(out[0], DT_F32, 1, SH(3), V(6, 6, 3));
    /* LpNormalization (a zero row stays zero), MVN over N, H, W, LRN over 2 channels, LpPool p=2 */
    EXPECT(op1(IR_OP_LP_NORM, INS(ten(DT_F32, 2, SH(2, 2), V(3, 4, 0, 0)))), DT_F32, 2, SH(2, 2), V(0.6, 0.8, 0, 0));
    EXPECT(op1(IR_OP_MVN, INS(ten(DT_F32, 4, SH(1, 2, 1, 2), V(1, 3, 5, 5)))), DT_F32, 4, SH(1, 2, 1, 2), V(-1, 1, 0, 0));
    n = node(IR_OP_LRN, 1);
    ir_attr_set_int(g, n, "size", 2);
    ir_attr_set_float(g, n, "alpha", 1);
    ir_attr_set_float(g, n, "beta", 1);
    CHECK(run(n, INS(ten(DT_F32, 4, SH(1, 2, 1, 1), V(1, 2)))));
    EXPECT(out[0], DT_F32, 4, SH(1, 2, 1, 1), V(0.2857142857, 0.6666666667));
    n = node(IR_OP_LP_POOL, 1);
    ir_attr_set_ints(g, n, "kernel_shape", I(2), 1);
    CHECK(run(n, INS(ten(DT_F32, 3, SH(1, 1, 3), V(3, 4, 0)))));
    EXPECT(out[0], DT_F32, 3, SH(1, 1, 2), V(5, 4));
    /* a periodic Hann window of 4 */
    EXPECT(op1(IR_OP_HANN_WINDOW, INS(scalar_i64(4))), DT_F32, 1, SH(4), V(0, 0.5, 1, 0.5));
    /* ReverseSequence along axis 1 per row; Compress along an axis and flattened; CenterCropPad */
    IrTensor *m = ten(DT_F32, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6));
    n = node(IR_OP_REVERSE_SEQUENCE, 1);
    ir_attr_set_int(g, n, "batch_axis", 0);
    ir_attr_set_int(g, n, "time_axis", 1);
    CHECK(run(n, INS(m, teni(DT_I64, 1, SH(2), I(2, 3)))));
    EXPECT(out[0], DT_F32, 2, SH(2, 3), V(2, 1, 3, 6, 5, 4));
    n = node(IR_OP_COMPRESS, 1);
    ir_attr_set_int(g, n, "axis", 1);
    CHECK(run(n, INS(m, ten(DT_BOOL, 1, SH(2), V(0, 1)))));
    EXPECT(out[0], DT_F32, 2, SH(2, 1), V(2, 5));
    EXPECT(op1(IR_OP_COMPRESS, INS(m, ten(DT_BOOL, 1, SH(4), V(1, 0, 0, 1)))), DT_F32, 1, SH(2), V(1, 4));
    EXPECT(op1(IR_OP_CENTER_CROP_PAD, INS(v, teni(DT_I64, 1, SH(1), I(1)))), DT_F32, 1, SH(1), V(2));
    EXPECT(op1(IR_OP_CENTER_CROP_PAD, INS(v, teni(DT_I64, 1, SH(1), I(5)))), DT_F32, 1, SH(5), V(0, 1, 2, 3, 0));
    /* Det of a batch: a 2x2 and a swapped diagonal */
    EXPECT(op1(IR_OP_DET, INS(ten(DT_F64, 3, SH(2, 2, 2), V(1, 2, 3, 4, 0, 2, 3, 0)))), DT_F64, 1, SH(2), V(-2, -6));
    /* AffineGrid's identity over a 1x2 image; GridSample between two pixels (linear) and at a tie (nearest) */
    IrTensor *th = ten(DT_F32, 3, SH(1, 2, 3), V(1, 0, 0, 0, 1, 0));
    EXPECT(op1(IR_OP_AFFINE_GRID, INS(th, teni(DT_I64, 1, SH(4), I(1, 1, 1, 2)))), DT_F32, 4, SH(1, 1, 2, 2),
           V(-0.5, 0, 0.5, 0));
    IrTensor *img = ten(DT_F32, 4, SH(1, 1, 1, 2), V(10, 20)), *at = ten(DT_F32, 4, SH(1, 1, 1, 2), V(0, 0));
    EXPECT(op1(IR_OP_GRID_SAMPLE, INS(img, at)), DT_F32, 4, SH(1, 1, 1, 1), V(15));
    n = node(IR_OP_GRID_SAMPLE, 1);
    ir_attr_set_str(g, n, "mode", "nearest");
    ir_attr_set_int(g, n, "align_corners", 1);
    CHECK(run(n, INS(img, at)));
    EXPECT(out[0], DT_F32, 4, SH(1, 1, 1, 1), V(10));
}

int main(void)
{
    g = ir_graph_new("ref");
    test_unary();
    test_rounding();
    test_binary();
    test_variadic_where_cast_clip();
    test_shape_ops();
    test_pad_space();
    test_index_ops();
    test_reduce();
    test_softmax();
    test_linalg();
    test_norms();
    test_attention();
    test_spectral();
    test_conv_pool();
    test_resize();
    test_extra();
    test_failures();
    ir_graph_free(g);
    CHECK_DONE();
}
