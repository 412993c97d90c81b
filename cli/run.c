/* cli/run.c — `ml2candle run MODEL --inputs IN.safetensors -o OUT.safetensors [--engine ref|llvm]`: the whole
 * model on the given inputs (tensors named by the ONNX graph inputs), its outputs written by the graph output
 * names (DESIGN §4).  --engine ref: every node by the reference evaluator; llvm: every fused group by its kernel
 * compiled by the LLVM backend's JIT (on --threads threads), the other nodes by the reference evaluator.
 * --reference REF.safetensors compares the outputs with REF's (ONNX Runtime's, say) within DESIGN §6's parity
 * bounds: |out − ref| ≤ 1e-4 + 1e-4·|ref| for f32 (1e-2 and 1e-2 for f16/bf16), NaN/Inf only where REF has
 * them, integers and bools exactly.
 *
 * Exit codes: 0 ok; 1 the model is invalid or unsupported, or the evaluator cannot run a node; 2 usage; 3 I/O,
 * or no LLVM backend built in; 4 an output differs from the reference. */
#include "cli.h"
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One output against its reference; prints a line; false if it is out of bounds. */
static bool compare(const char *name, const IrTensor *o, const IrTensor *r)
{
    bool same_shape = o->rank == r->rank;
    for (int i = 0; same_shape && i < o->rank; i++) same_shape = o->shape[i] == r->shape[i];
    if (!same_shape || o->dtype != r->dtype) {
        printf("  %-28s FAIL: %s rank %d vs the reference's %s rank %d (or another shape)\n", name,
               ir_dtype_name(o->dtype), o->rank, ir_dtype_name(r->dtype), r->rank);
        return false;
    }
    bool f = ir_dtype_is_float(o->dtype);
    double tol = o->dtype == DT_F16 || o->dtype == DT_BF16 ? 1e-2 : 1e-4, worst = 0;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < o->numel; i++) {
        if (!f) {
            bad += ir_tensor_get_i64(o, i) != ir_tensor_get_i64(r, i);
            continue;
        }
        double a = ir_tensor_get_f64(o, i), b = ir_tensor_get_f64(r, i);
        if (isnan(a) || isnan(b) || isinf(a) || isinf(b)) {
            bad += !(isnan(a) && isnan(b)) && a != b;
            continue;
        }
        double d = fabs(a - b);
        if (d > worst) worst = d;
        bad += d > tol + tol * fabs(b);
    }
    printf("  %-28s %-4s max |diff| %.2e  %s\n", name, ir_dtype_name(o->dtype), worst, bad ? "FAIL" : "ok");
    if (bad) printf("      %llu of %llu elements out of bounds\n", (unsigned long long)bad, (unsigned long long)o->numel);
    return bad == 0;
}
int cli_run(int argc, char **argv)
{
    const char *model = NULL, *inputs = NULL, *out = NULL, *engine = "ref", *cpu = "native", *ref = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(s, "--inputs") == 0 && has) inputs = argv[++i];
        else if ((strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0) && has) out = argv[++i];
        else if (strcmp(s, "--engine") == 0 && has) engine = argv[++i];
        else if (strcmp(s, "--reference") == 0 && has) ref = argv[++i];
        else if (strcmp(s, "--cpu") == 0 && has) cpu = argv[++i];
        else if (strcmp(s, "--threads") == 0 && has) threads = atoi(argv[++i]);
        else if (strcmp(s, "--no-fuse") == 0) pass_set_fusion(false);
        else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ml2candle: run: unknown option '%s' (or missing argument)\n", s);
            return M2C_EXIT_USAGE;
        } else if (model) {
            fprintf(stderr, "ml2candle: one model at a time ('%s' and '%s')\n", model, s);
            return M2C_EXIT_USAGE;
        } else {
            model = s;
        }
    }
    bool llvm = strcmp(engine, "llvm") == 0;
    if (!model || !inputs || (!out && !ref) || (!llvm && strcmp(engine, "ref") != 0) || threads < 0) {
        fprintf(stderr, "ml2candle: usage: ml2candle run MODEL.onnx --inputs IN.safetensors -o OUT.safetensors "
                        "[--engine ref|llvm] [--reference REF.safetensors] [--cpu NAME] [--threads N]\n");
        return M2C_EXIT_USAGE;
    }
    m2c_diag_reset(model);
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    RtDevice *dev = NULL;
    if (llvm && !(dev = rt_cpu_new(cpu, threads, threads))) {
        m2c_io_error("run --engine llvm: %s", rt_error());
        return m2c_exit_code();
    }
    RtTensorFile in, want = {0};
    if (!rt_st_read(inputs, &in) || (ref && !rt_st_read(ref, &want))) {
        m2c_io_error("%s", rt_error());
        rt_st_free(&in);
        rt_cpu_free(dev);
        return m2c_exit_code();
    }
    int rc = M2C_EXIT_OK;
    IrGraph *g = cli_load(model);
    if (g) {
        for (uint32_t n = 0; n < g->nodes.n; n++) {
            const IrNode *node = &g->nodes.v[n];
            if (node->op == IR_OP_UNKNOWN)
                m2c_error(&node->loc, "unsupported op %s (domain '%s', opset %d)", node->op_type, node->domain, node->opset);
        }
    }
    if (g && m2c_error_count() == 0 && pass_run_pipeline(g, NULL)) {
        KirPlan plan;
        kir_plan(g, &plan);
        IrTensor **res;
        if (!rt_run_model(g, &plan, dev, in.v, in.n, &res)) {
            m2c_error(NULL, "run: %s", rt_error());
        } else {
            RtNamed *o = calloc(g->outputs.n ? g->outputs.n : 1, sizeof *o);
            for (uint32_t i = 0; i < g->outputs.n; i++) o[i] = (RtNamed){ir_val(g, g->outputs.v[i])->name, res[i]};
            if (out && !rt_st_write(out, o, g->outputs.n)) m2c_io_error("%s", rt_error());
            for (uint32_t i = 0; ref && i < g->outputs.n; i++) {
                const IrTensor *r = NULL;
                for (uint32_t j = 0; j < want.n && !r; j++)
                    if (strcmp(want.v[j].name, o[i].name) == 0) r = want.v[j].t;
                if (!r) printf("  %-28s not in %s\n", o[i].name, ref);
                else if (!compare(o[i].name, o[i].t, r)) rc = M2C_EXIT_MISMATCH;
            }
            if (ref) printf("%s (%s engine): %s\n", model, engine, rc ? "outputs differ from the reference" : "outputs match the reference");
            for (uint32_t i = 0; i < g->outputs.n; i++) rt_tensor_free(res[i]);
            free(res), free(o);
        }
    }
    if (g) ir_graph_free(g);
    rt_st_free(&in);
    rt_st_free(&want);
    rt_cpu_free(dev);
    return m2c_exit_code() ? m2c_exit_code() : rc;
}
