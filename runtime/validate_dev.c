/* runtime/validate_dev.c — the validator over a device table (RtDevice): every fused group run by a kernel
 * backend against the reference evaluator (DESIGN §6: relative L2 error under 1e-5 for f32 outputs, 1e-2 for
 * f16/bf16; NaN only where the reference has NaN; bool outputs exactly).  `validate --device cpu` runs the LLVM
 * JIT through it (runtime/cpu.c).  The steps both validators take are in validate_common.c; validate.c keeps
 * the CUDA path (NVRTC cache, launch rules), which predates the table.
 *
 * Per group: concrete sizes for its symbols; fresh random inputs (weights too; constants the export computed
 * keep their values; attention masks keep key 0 visible so no row is empty; RoPE positions stay inside the
 * caches); the group's nodes evaluated one by one by runtime/ref on those inputs; the kernel run with its output
 * poisoned with NaN, compared.  A GEMM epilogue gets x·W from the reference evaluator, as it gets it from
 * candle's matmul in the generated crate.  With an f16/bf16 dtype every float argument is stored so, and the
 * reference sees the same rounded inputs. */
#include "validate_impl.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Runs group k on the device; returns -1 if the device failed (rt_error), else 0 with *err and the reason
 * for a failure in why. */
static int run_group(Vcx *v, RtDevice *dev, double *err, float *ms, char *why, size_t nwhy)
{
    IrGraph *g = v->g;
    KirGroup *k = &v->k;
    *err = INFINITY, *ms = 0, why[0] = 0;
    /* sizes */
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        for (uint32_t j = 0; j < n->nin; j++)
            for (int d = 0; n->in[j] != IR_NONE && d < ir_val(g, n->in[j])->rank; d++) rtv_bind_dim(v, ir_val(g, n->in[j])->dims[d]);
    }
    for (uint32_t i = 0; i < k->args.n; i++)
        for (int d = 0; d < k->args.v[i].rank; d++) rtv_bind_dim(v, k->args.v[i].dims[d]);
    /* inputs: the rope's caches first, its positions depend on their length */
    if (k->kind == KIR_ROPE && !rtv_ref_input(v, k->args.v[k->rope.cos].value, why, nwhy)) return 0;
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        for (uint32_t j = 0; j < n->nin; j++) {
            uint32_t in = n->in[j], p = in == IR_NONE ? IR_NONE : ir_val(g, in)->producer;
            bool inner = false;
            for (uint32_t m = 0; p != IR_NONE && m < k->nodes.n; m++) inner |= k->nodes.v[m] == p;
            if (in != IR_NONE && !inner && !rtv_ref_input(v, in, why, nwhy)) return 0;
        }
    }
    /* the reference, node by node */
    IrTensor *outs[8];
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        if (!rtv_eval_node(v, n, outs, why, nwhy)) return 0;
        for (uint32_t o = 0; o < n->nout; o++)
            if (n->out[o] != IR_NONE && outs[o] && v->nrefs < 128) {
                /* arena tensors: recorded without ownership (data stays with the graph) */
                IrTensor *c = rt_tensor_new(outs[o]->dtype, outs[o]->rank, outs[o]->shape);
                memcpy((void *)c->data, outs[o]->data, c->nbytes);
                v->refs[v->nrefs++] = (RefVal){n->out[o], c};
            }
    }
    const KirArg *oa = &k->args.v[k->args.n - 1];
    IrTensor *want = rtv_ref_of(v, oa->value);
    /* host buffers in the kernel's dtypes */
    int64_t syms[64];
    void *host[64] = {0};
    uint64_t numel[64];
    int rc = 0;
    bool ok = k->args.n <= 64 && k->syms.n <= 64 && want;
    for (uint32_t a = 0; ok && a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int64_t shape[IR_MAX_RANK];
        ok = rtv_shape_of(v, arg->rank, arg->dims, shape);
        numel[a] = 1;
        for (int d = 0; ok && d < arg->rank; d++) numel[a] *= (uint64_t)shape[d];
        if (!ok) break;
        if (arg->use == KIR_ARG_OUTPUT) {
            host[a] = calloc(numel[a] ? numel[a] : 1, ir_dtype_size(arg->dtype));
            rtv_poison(host[a], arg->dtype, numel[a]);
        } else if (arg->src == KIR_SRC_GEMM_ACC) {
            /* x·W without the bias: the GEMM the crate leaves to candle */
            IrNode lin = *ir_node(g, arg->node);
            lin.nin = 2;
            IrTensor *o1[8];
            if (!rtv_eval_node(v, &lin, o1, why, nwhy)) {
                ok = false;
                break;
            }
            host[a] = rtv_convert(o1[0], arg->dtype);
        } else {
            host[a] = rtv_convert(rtv_ref_of(v, arg->value), arg->dtype);
        }
    }
    if (!ok) {
        if (!why[0]) snprintf(why, nwhy, "no concrete sizes for its arguments");
        goto done;
    }
    for (uint32_t s = 0; s < k->syms.n; s++) {
        syms[s] = 0;
        for (uint32_t i = 0; i < v->bind.n; i++)
            if (strcmp(v->names[i], k->syms.v[s].name) == 0) syms[s] = v->vals[i];
    }
    rc = dev->run(dev, g, k, host, numel, syms, ms, why, nwhy);
    if (rc > 0) {
        const KirArg *out = &k->args.v[k->args.n - 1];
        uint64_t bad;
        *err = rtv_compare(want, host[k->args.n - 1], out->dtype, &bad);
        if (bad) snprintf(why, nwhy, "%llu elements unwritten or wrong (NaN/Inf/bool)", (unsigned long long)bad);
    }
    rc = rc < 0 ? -1 : 0;
done:
    for (uint32_t a = 0; a < k->args.n && a < 64; a++) free(host[a]);
    return rc;
}

bool rt_validate(IrGraph *g, const KirPlan *plan, const RtValidateOptions *opt, RtDevice *dev, RtValidateReport *rep)
{
    memset(rep, 0, sizeof *rep);
    FILE *f = opt->out ? opt->out : stdout;
    Vcx *v = calloc(1, sizeof *v);
    v->g = g, v->opt = opt, v->rng = opt->seed ? opt->seed : 0x9E3779B97F4A7C15ULL;
    bool dev_ok = true;
    for (uint32_t i = 0; i < plan->groups.n && dev_ok; i++) {
        const KirGroup *k0 = &plan->groups.v[i];
        if (opt->only && !strstr(k0->name, opt->only)) continue;
        v->k = *k0;
        if (opt->dtype != DT_UNDEF) kir_retype(&v->k, opt->dtype);
        v->bind = (KirBind){0, v->names, v->vals};
        v->nrefs = 0;
        double err;
        float ms;
        char why[4096];
        int rc = run_group(v, dev, &err, &ms, why, sizeof why);
        for (uint32_t r = 0; r < v->nrefs; r++) rt_tensor_free(v->refs[r].t);
        if (rc < 0) {
            dev_ok = false;
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
    free(v);
    return dev_ok;
}
