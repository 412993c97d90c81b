/* runtime/validate.c — `validate --device cuda`: every fused group run on the GPU against the reference
 * evaluator (DESIGN §6: relative L2 error under 1e-5 for f32 outputs, 1e-2 for f16/bf16; NaN only where the
 * reference has NaN; bool outputs exactly).
 *
 * Per group: concrete sizes for its symbols; fresh random inputs (weights too; constants the export computed
 * keep their values; attention masks keep key 0 visible so no row is empty; RoPE positions stay inside the
 * caches); the group's nodes evaluated one by one by runtime/ref on those inputs; the kernel compiled by NVRTC
 * for the device, its output poisoned with NaN, launched with its launch rule, compared.  A GEMM epilogue
 * gets x·W from the reference evaluator, as it gets it from cuBLAS in the generated crate.  With an f16/bf16
 * dtype every float argument is stored so, and the reference sees the same rounded inputs. */
#include "runtime.h"
#include "cuda.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t value;
    IrTensor *t;               /* in the value's graph dtype; data malloc'd */
} RefVal;

typedef struct {
    IrGraph *g;
    const RtValidateOptions *opt;
    KirGroup k;
    uint64_t rng;
    KirBind bind;
    const char *names[64];
    int64_t vals[64];
    bool user[64];
    RefVal refs[128];
    uint32_t nrefs;
    NvrtcCache *cache;
} Vcx;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static IrTensor *tensor_new(IrDType t, int rank, const int64_t *shape)
{
    IrTensor *x = calloc(1, sizeof *x);
    int64_t *sh = calloc((size_t)(rank ? rank : 1), sizeof *sh);
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) sh[i] = shape[i], n *= (uint64_t)shape[i];
    x->dtype = t, x->rank = rank, x->shape = sh, x->numel = n, x->nbytes = n * ir_dtype_size(t);
    x->data = calloc(x->nbytes ? x->nbytes : 1, 1);
    return x;
}

static void tensor_free(IrTensor *t)
{
    if (!t) return;
    free((void *)t->shape), free((void *)t->data), free(t);
}

/* Sizes: --dim values, else 2 for a batch and 13 for the rest; symbols that meet in a max()/min() (dims the
 * shape rules only know to broadcast) take one value, so the random tensors broadcast. */
static void bind_sym(Vcx *v, const char *name)
{
    for (uint32_t i = 0; i < v->bind.n; i++)
        if (strcmp(v->names[i], name) == 0) return;
    if (v->bind.n >= 64) return;
    uint32_t i = v->bind.n++;
    v->names[i] = name;
    v->user[i] = false;
    v->vals[i] = strstr(name, "batch") ? 2 : 13;
    for (uint32_t j = 0; j < v->opt->dims.n; j++)
        if (strcmp(v->opt->dims.names[j], name) == 0) v->vals[i] = v->opt->dims.vals[j], v->user[i] = true;
}

static void bind_dim(Vcx *v, IrDim d)
{
    const IrDimExpr *e = ir_dim_expr(v->g, d);
    if (e->kind == DIM_SYM) bind_sym(v, e->name);
    for (uint32_t i = 0; e->kind != DIM_SYM && i < e->nops; i++) bind_dim(v, e->ops[i]);
    if ((e->kind == DIM_MAX || e->kind == DIM_MIN) && e->nops > 1) {
        int first = -1;
        for (uint32_t i = 0; i < e->nops; i++) {
            const IrDimExpr *o = ir_dim_expr(v->g, e->ops[i]);
            for (uint32_t j = 0; o->kind == DIM_SYM && j < v->bind.n; j++) {
                if (strcmp(v->names[j], o->name) != 0) continue;
                if (first < 0) first = (int)j;
                else if (!v->user[j]) v->vals[j] = v->vals[first];
            }
        }
    }
}

static bool shape_of(Vcx *v, int rank, const IrDim *dims, int64_t *out)
{
    for (int i = 0; i < rank; i++)
        if (!kir_dim_eval(v->g, dims[i], &v->bind, &out[i]) || out[i] < 0) return false;
    return true;
}

static int arg_of(const KirGroup *k, uint32_t value)
{
    for (uint32_t i = 0; i + 1 < k->args.n; i++)
        if (k->args.v[i].src == KIR_SRC_VALUE && k->args.v[i].value == value) return (int)i;
    return -1;
}

static IrTensor *ref_of(Vcx *v, uint32_t value)
{
    for (uint32_t i = 0; i < v->nrefs; i++)
        if (v->refs[i].value == value) return v->refs[i].t;
    return NULL;
}

/* Fresh values for one input of the group, with the roles that constrain them. */
static void fill_random(Vcx *v, IrTensor *t, int arg)
{
    const KirGroup *k = &v->k;
    bool mask = k->kind == KIR_ATTENTION && arg >= 0 && arg == k->attn.mask;
    int64_t last = t->rank ? t->shape[t->rank - 1] : 1;
    for (uint64_t i = 0; i < t->numel; i++) {
        double u = rng_unit(&v->rng);
        if (t->dtype == DT_BOOL)
            ir_tensor_set_i64(t, i, mask ? (i % (uint64_t)(last ? last : 1) == 0 || u < 0.75) : u < 0.5);
        else if (k->kind == KIR_ROPE && arg == k->rope.pos)   /* a row of the caches, made before */
            ir_tensor_set_i64(t, i, (int64_t)(u * (double)ref_of(v, k->args.v[k->rope.cos].value)->shape[0]));
        else if (!ir_dtype_is_float(t->dtype))
            ir_tensor_set_i64(t, i, (int64_t)(u * 4));
        else if (mask)
            ir_tensor_set_f64(t, i, -2.0 * u);
        else
            ir_tensor_set_f64(t, i, 4.0 * u - 2.0);
    }
}

/* The reference input for value `value`, created on first use. */
static IrTensor *ref_input(Vcx *v, uint32_t value, char *why, size_t nwhy)
{
    IrTensor *t = ref_of(v, value);
    if (t) return t;
    const IrValue *val = ir_val(v->g, value);
    int64_t shape[IR_MAX_RANK];
    if (v->nrefs >= 128 || val->rank < 0 || !shape_of(v, val->rank, val->dims, shape)) {
        snprintf(why, nwhy, "no concrete shape for %%%s (give its symbols with --dim)", val->name);
        return NULL;
    }
    t = tensor_new(val->dtype, val->rank, shape);
    int arg = arg_of(&v->k, value);
    if (val->konst && !(val->flags & V_PARAM) && val->konst->data && val->konst->numel == t->numel)
        memcpy((void *)t->data, val->konst->data, t->nbytes);
    else
        fill_random(v, t, arg);
    /* the kernel stores this argument in a narrower float: the reference sees the same rounded values */
    if (arg >= 0 && ir_dtype_is_float(val->dtype) && v->k.args.v[arg].dtype != val->dtype) {
        IrTensor tmp = {v->k.args.v[arg].dtype, 0, NULL, 1, 2, NULL, NULL, 0};
        uint16_t h;
        tmp.data = &h;
        for (uint64_t i = 0; i < t->numel; i++) {
            ir_tensor_set_f64(&tmp, 0, ir_tensor_get_f64(t, i));
            ir_tensor_set_f64(t, i, ir_tensor_get_f64(&tmp, 0));
        }
    }
    v->refs[v->nrefs++] = (RefVal){value, t};
    return t;
}

/* Host bytes of a tensor stored as dtype `to`. */
static void *convert(const IrTensor *t, IrDType to)
{
    IrTensor out = {to, 0, NULL, t->numel, t->numel * ir_dtype_size(to), NULL, NULL, 0};
    out.data = calloc(out.nbytes ? out.nbytes : 1, 1);
    for (uint64_t i = 0; i < t->numel; i++) {
        if (ir_dtype_is_float(to) || ir_dtype_is_float(t->dtype)) ir_tensor_set_f64(&out, i, ir_tensor_get_f64(t, i));
        else ir_tensor_set_i64(&out, i, ir_tensor_get_i64(t, i));
    }
    return (void *)out.data;
}

static bool eval_node(Vcx *v, const IrNode *n, IrTensor **outs, char *why, size_t nwhy)
{
    const IrTensor *in[16] = {0};
    for (uint32_t i = 0; i < n->nin && i < 16; i++)
        if (n->in[i] != IR_NONE && !(in[i] = ref_input(v, n->in[i], why, nwhy))) return false;
    RefStatus st = {0};
    if (n->nout > 8 || !ref_eval(v->g, n, in, outs, &st)) {
        snprintf(why, nwhy, "reference evaluator: %s", st.why);
        return false;
    }
    return true;
}

/* Relative L2 error; NaN where the reference has none (or the other way round) makes it infinite.  The kernel
 * computes in f32 and stores as `dt`, so the reference is rounded to `dt` first: a value beyond f16's range is
 * an infinity in both (bert's -FLT_MAX mask stored as f16). */
static double compare(const IrTensor *ref, const void *gpu, IrDType dt, uint64_t *bad)
{
    IrTensor got = {dt, 0, NULL, ref->numel, 0, gpu, NULL, 0};
    IrTensor round = {dt, 0, NULL, 1, 8, NULL, NULL, 0};
    uint64_t slot = 0;
    round.data = &slot;
    double num = 0, den = 0;
    *bad = 0;
    for (uint64_t i = 0; i < ref->numel; i++) {
        if (dt == DT_BOOL) {
            uint8_t b = ((const uint8_t *)gpu)[i];
            if (b != (uint8_t)(ir_tensor_get_i64(ref, i) != 0)) (*bad)++;
            continue;
        }
        double r = ir_tensor_get_f64(ref, i), o = ir_tensor_get_f64(&got, i);
        if (dt != ref->dtype && ir_dtype_is_float(dt)) {
            ir_tensor_set_f64(&round, 0, r);
            r = ir_tensor_get_f64(&round, 0);
        }
        if (isnan(r) || isnan(o)) {
            if (isnan(r) != isnan(o)) (*bad)++;
            continue;
        }
        if (isinf(r) || isinf(o)) {
            if (r != o) (*bad)++;
            continue;
        }
        num += (o - r) * (o - r), den += r * r;
    }
    if (dt == DT_BOOL) return *bad ? 1.0 : 0.0;
    if (*bad) return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void poison(void *p, IrDType dt, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        switch (dt) {
        case DT_F32: ((uint32_t *)p)[i] = 0x7fc00000u; break;
        case DT_F16: ((uint16_t *)p)[i] = 0x7e00u; break;
        case DT_BF16: ((uint16_t *)p)[i] = 0x7fc0u; break;
        default: ((uint8_t *)p)[i * ir_dtype_size(dt)] = 0xAA; break;
        }
    }
}

/* Runs group k; returns -1 if the GPU failed (rt_error), else 0 with *err and the reason for a failure. */
static int run_group(Vcx *v, double *err, float *ms, char *why, size_t nwhy)
{
    IrGraph *g = v->g;
    KirGroup *k = &v->k;
    *err = INFINITY, *ms = 0, why[0] = 0;
    /* sizes */
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        for (uint32_t j = 0; j < n->nin; j++)
            for (int d = 0; n->in[j] != IR_NONE && d < ir_val(g, n->in[j])->rank; d++) bind_dim(v, ir_val(g, n->in[j])->dims[d]);
    }
    for (uint32_t i = 0; i < k->args.n; i++)
        for (int d = 0; d < k->args.v[i].rank; d++) bind_dim(v, k->args.v[i].dims[d]);
    /* inputs: the rope's caches first, its positions depend on their length */
    if (k->kind == KIR_ROPE && !ref_input(v, k->args.v[k->rope.cos].value, why, nwhy)) return 0;
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        for (uint32_t j = 0; j < n->nin; j++) {
            uint32_t in = n->in[j], p = in == IR_NONE ? IR_NONE : ir_val(g, in)->producer;
            bool inner = false;
            for (uint32_t m = 0; p != IR_NONE && m < k->nodes.n; m++) inner |= k->nodes.v[m] == p;
            if (in != IR_NONE && !inner && !ref_input(v, in, why, nwhy)) return 0;
        }
    }
    /* the reference, node by node */
    IrTensor *outs[8];
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        if (!eval_node(v, n, outs, why, nwhy)) return 0;
        for (uint32_t o = 0; o < n->nout; o++)
            if (n->out[o] != IR_NONE && outs[o] && v->nrefs < 128) {
                /* arena tensors: recorded without ownership (data stays with the graph) */
                IrTensor *c = tensor_new(outs[o]->dtype, outs[o]->rank, outs[o]->shape);
                memcpy((void *)c->data, outs[o]->data, c->nbytes);
                v->refs[v->nrefs++] = (RefVal){n->out[o], c};
            }
    }
    const KirArg *oa = &k->args.v[k->args.n - 1];
    IrTensor *want = ref_of(v, oa->value);
    /* device buffers */
    void *args[64 + 64];
    RtDevPtr dptr[64] = {0};
    long long syms[64];
    void *host[64] = {0};
    uint64_t numel[64];
    int rc = 0;
    bool ok = k->args.n <= 64 && k->syms.n <= 64 && want;
    for (uint32_t a = 0; ok && a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int64_t shape[IR_MAX_RANK];
        ok = shape_of(v, arg->rank, arg->dims, shape);
        numel[a] = 1;
        for (int d = 0; ok && d < arg->rank; d++) numel[a] *= (uint64_t)shape[d];
        if (!ok) break;
        if (arg->use == KIR_ARG_OUTPUT) {
            host[a] = calloc(numel[a] ? numel[a] : 1, ir_dtype_size(arg->dtype));
            poison(host[a], arg->dtype, numel[a]);
        } else if (arg->src == KIR_SRC_GEMM_ACC) {
            /* x·W without the bias: the GEMM the crate leaves to candle */
            IrNode lin = *ir_node(g, arg->node);
            lin.nin = 2;
            IrTensor *o1[8];
            if (!eval_node(v, &lin, o1, why, nwhy)) {
                ok = false;
                break;
            }
            host[a] = convert(o1[0], arg->dtype);
        } else {
            host[a] = convert(ref_of(v, arg->value), arg->dtype);
        }
    }
    if (!ok) {
        if (!why[0]) snprintf(why, nwhy, "no concrete sizes for its arguments");
        goto done;
    }
    for (uint32_t a = 0; a < k->args.n; a++) {
        size_t bytes = numel[a] * ir_dtype_size(k->args.v[a].dtype);
        if (!cudrv_alloc(&dptr[a], bytes) || !cudrv_htod(dptr[a], host[a], bytes)) {
            rc = -1;
            goto done;
        }
        args[a] = &dptr[a];
    }
    for (uint32_t s = 0; s < k->syms.n; s++) {
        int64_t val = 0;
        for (uint32_t i = 0; i < v->bind.n; i++)
            if (strcmp(v->names[i], k->syms.v[s].name) == 0) val = v->vals[i];
        syms[s] = val;
        args[k->args.n + s] = &syms[s];
    }
    /* compile, load, launch */
    M2cBuf src = {0}, log = {0};
    CudaLaunch l;
    char *ptx = NULL;
    void *mod = NULL, *fn = NULL;
    unsigned grid[3];
    int arch = cudrv_arch() >= 90 ? 90 : cudrv_arch();
    if (!cuda_emit(g, k, &src, &l) || !cuda_launch_eval(g, &l, &v->bind, grid)) {
        snprintf(why, nwhy, "no launch geometry at these sizes");
    } else if (!nvrtc_compile(v->cache, k->name, src.s, arch, &ptx, &log)) {
        snprintf(why, nwhy, "%s\n%s", rt_error(), log.s ? log.s : "");
    } else if (!cudrv_module_load(ptx, &mod, &log) || !cudrv_function(mod, k->name, &fn) ||
               !cudrv_launch(fn, grid, l.block, l.dsmem, args, NULL)) {
        rc = -1;
    } else {
        const KirArg *out = &k->args.v[k->args.n - 1];
        size_t bytes = numel[k->args.n - 1] * ir_dtype_size(out->dtype);
        uint64_t bad;
        if (!cudrv_dtoh(host[k->args.n - 1], dptr[k->args.n - 1], bytes)) rc = -1;
        else *err = compare(want, host[k->args.n - 1], out->dtype, &bad);
        if (rc == 0 && bad) snprintf(why, nwhy, "%llu elements unwritten or wrong (NaN/Inf/bool)", (unsigned long long)bad);
        /* a second launch, timed (the first paid for loading) */
        if (rc == 0 && !cudrv_launch(fn, grid, l.block, l.dsmem, args, ms)) rc = -1;
    }
    if (mod) cudrv_module_unload(mod);
    free(ptx);
    m2c_buf_free(&src), m2c_buf_free(&log);
done:
    for (uint32_t a = 0; a < k->args.n && a < 64; a++) {
        if (dptr[a]) cudrv_free(dptr[a]);
        free(host[a]);
    }
    return rc;
}

bool rt_validate_cuda(IrGraph *g, const KirPlan *plan, const RtValidateOptions *opt, RtValidateReport *rep)
{
    memset(rep, 0, sizeof *rep);
    if (!nvrtc_load() || !cudrv_load()) return false;
    FILE *f = opt->out ? opt->out : stdout;
    int nmaj, nmin, dmaj, dmin;
    nvrtc_version(&nmaj, &nmin);
    cudrv_driver_version(&dmaj, &dmin);
    fprintf(f, "device: %s (sm_%d), driver CUDA %d.%d; NVRTC %d.%d (%s); seed %llu\n", cudrv_device_name(), cudrv_arch(),
            dmaj, dmin, nmaj, nmin, nvrtc_path(), (unsigned long long)opt->seed);
    Vcx *v = calloc(1, sizeof *v);
    v->g = g, v->opt = opt, v->rng = opt->seed ? opt->seed : 0x9E3779B97F4A7C15ULL;
    v->cache = nvrtc_cache_new();
    bool gpu_ok = true;
    for (uint32_t i = 0; i < plan->groups.n && gpu_ok; i++) {
        const KirGroup *k0 = &plan->groups.v[i];
        if (opt->only && !strstr(k0->name, opt->only)) continue;
        v->k = *k0;
        if (opt->dtype != DT_UNDEF) kir_retype(&v->k, opt->dtype);
        v->bind = (KirBind){0, v->names, v->vals};
        v->nrefs = 0;
        double err;
        float ms;
        char why[4096];
        int rc = run_group(v, &err, &ms, why, sizeof why);
        for (uint32_t r = 0; r < v->nrefs; r++) tensor_free(v->refs[r].t);
        if (rc < 0) {
            gpu_ok = false;
            break;
        }
        const KirArg *out = &v->k.args.v[v->k.args.n - 1];
        double tol = out->dtype == DT_F32 ? 1e-5 : out->dtype == DT_BOOL ? 0.5 : 1e-2;
        bool pass = !why[0] && err <= tol;
        rep->kernels++;
        if (pass) rep->passed++;
        else rep->failed++;
        if (!why[0] && err > rep->worst) rep->worst = err;
        M2cBuf dims = {0};
        for (uint32_t s = 0; s < v->k.syms.n; s++)
            for (uint32_t b = 0; b < v->bind.n; b++)
                if (strcmp(v->names[b], v->k.syms.v[s].name) == 0)
                    m2c_buf_printf(&dims, "%s%s=%lld", dims.len ? " " : "", v->names[b], (long long)v->vals[b]);
        fprintf(f, "  %-22s %-10s %-4s rel_l2 %-9.2e %s %8.4f ms  %s\n", v->k.name, kir_kind_name(&v->k),
                ir_dtype_name(out->dtype), isfinite(err) ? err : INFINITY, pass ? "ok  " : "FAIL", ms, dims.s ? dims.s : "");
        if (why[0]) fprintf(f, "      %s\n", why);
        m2c_buf_free(&dims);
    }
    nvrtc_cache_free(v->cache);
    free(v);
    return gpu_ok;
}
