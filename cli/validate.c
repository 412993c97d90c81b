/* cli/validate.c — `ml2candle validate MODEL --device cuda|cpu`: every fused kernel of the model run on the GPU
 * (NVRTC) or on this CPU (the LLVM backend's JIT) on fresh random inputs against the reference evaluator, one
 * line per kernel with its relative L2 error.
 *
 * Exit codes: 0 every kernel within DESIGN §6's bounds; 4 a mismatch; 3 no NVRTC, no CUDA driver or no GPU, or
 * no LLVM backend built in (the machine lacks something — not a problem of the model, so not 1); 1 the model
 * itself is invalid or unsupported; 2 usage. */
#include "cli.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The sizes of the graph inputs in a safetensors file's header: {"name":{"dtype":..,"shape":[..],..},..}.
 * Each graph input dim that is a plain symbol gets the file's size for it. */
static bool dims_from_inputs(IrGraph *g, const char *path, KirBind *b, const char **names, int64_t *vals)
{
    FILE *f = fopen(path, "rb");
    unsigned char len8[8];
    if (!f || fread(len8, 1, 8, f) != 8) {
        if (f) fclose(f);
        m2c_io_error("cannot read '%s'", path);
        return false;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
    char *hdr = n < (1u << 26) ? malloc(n + 1) : NULL;
    bool ok = hdr && fread(hdr, 1, n, f) == n;
    fclose(f);
    if (!ok) {
        free(hdr);
        m2c_io_error("'%s' is not a safetensors file", path);
        return false;
    }
    hdr[n] = 0;
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        const IrValue *v = ir_val(g, g->inputs.v[i]);
        char key[512];
        snprintf(key, sizeof key, "\"%s\"", v->name);
        const char *p = strstr(hdr, key), *s = p ? strstr(p, "\"shape\"") : NULL;
        if (!s || !(s = strchr(s, '['))) continue;
        s++;
        for (int d = 0; d < v->rank; d++) {
            char *end;
            long long x = strtoll(s, &end, 10);
            if (end == s) break;
            const IrDimExpr *e = ir_dim_expr(g, v->dims[d]);
            bool known = false;
            for (uint32_t j = 0; j < b->n; j++) known |= e->kind == DIM_SYM && strcmp(names[j], e->name) == 0;
            if (e->kind == DIM_SYM && !known && b->n < 64) names[b->n] = e->name, vals[b->n++] = x;
            s = end;
            while (*s == ',' || *s == ' ') s++;
        }
    }
    free(hdr);
    return true;
}

int cli_validate(int argc, char **argv)
{
    const char *model = NULL, *device = "cpu", *inputs = NULL, *only = NULL, *cpu = "native";
    static const char *names[64];
    static int64_t vals[64];
    RtValidateOptions opt = {0};
    opt.dims = (KirBind){0, names, vals};
    opt.seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(s, "--device") == 0 && has) {
            device = argv[++i];
        } else if (strcmp(s, "--inputs") == 0 && has) {
            inputs = argv[++i];
        } else if (strcmp(s, "--dtype") == 0 && has) {
            opt.dtype = ir_dtype_parse(argv[++i]);
            if (opt.dtype != DT_F32 && opt.dtype != DT_F16 && opt.dtype != DT_BF16) {
                fprintf(stderr, "ml2candle: --dtype %s: expected f32, f16 or bf16\n", argv[i]);
                return M2C_EXIT_USAGE;
            }
            if (opt.dtype == DT_F32) opt.dtype = DT_UNDEF;
        } else if (strcmp(s, "--dim") == 0 && has) {
            const char *d = argv[++i], *eq = strchr(d, '=');
            char *end = NULL;
            long long x = eq ? strtoll(eq + 1, &end, 10) : 0;
            if (!eq || eq == d || !end || *end || x < 1 || opt.dims.n >= 64) {
                fprintf(stderr, "ml2candle: --dim %s: expected NAME=N with N >= 1\n", d);
                return M2C_EXIT_USAGE;
            }
            names[opt.dims.n] = strndup(d, (size_t)(eq - d));
            vals[opt.dims.n++] = x;
        } else if (strcmp(s, "--seed") == 0 && has) {
            opt.seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(s, "--kernel") == 0 && has) {
            only = argv[++i];
        } else if (strcmp(s, "--cpu") == 0 && has) {
            cpu = argv[++i];
        } else if (strcmp(s, "--no-fuse") == 0) {
            pass_set_fusion(false);
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ml2candle: validate: unknown option '%s' (or missing argument)\n", s);
            return M2C_EXIT_USAGE;
        } else if (model) {
            fprintf(stderr, "ml2candle: one model at a time ('%s' and '%s')\n", model, s);
            return M2C_EXIT_USAGE;
        } else {
            model = s;
        }
    }
    if (!model) {
        fprintf(stderr, "ml2candle: usage: ml2candle validate MODEL.onnx [--device cpu|cuda] [--cpu NAME] "
                        "[--inputs IN.safetensors] [--dtype f32|f16|bf16] [--dim NAME=N]... [--seed N] [--kernel NAME]\n");
        return M2C_EXIT_USAGE;
    }
    bool on_cpu = strcmp(device, "cpu") == 0;
    if (!on_cpu && strcmp(device, "cuda") != 0) {
        fprintf(stderr, "ml2candle: validate --device %s: expected cpu or cuda\n", device);
        return M2C_EXIT_USAGE;
    }
    opt.only = only;
    m2c_diag_reset(model);
    uint32_t nuser = opt.dims.n;   /* names strdup'd from --dim (the --inputs ones live in the graph) */
    /* the machine first: a missing GPU (or LLVM backend) is reported before a long import.  On the CPU each
     * kernel's work is cut into 3 parts run one after the other, so a part that misses or overlaps another's
     * elements shows as a mismatch. */
    RtDevice *dev = NULL;
    if (on_cpu ? !(dev = rt_cpu_new(cpu, 1, 3)) : !nvrtc_load() || !cudrv_load()) {
        m2c_io_error("validate --device %s: %s", device, rt_error());
        for (uint32_t i = 0; i < nuser; i++) free((char *)names[i]);
        return m2c_exit_code();
    }
    IrGraph *g = cli_load(model);
    if (!g) {
        rt_cpu_free(dev);
        for (uint32_t i = 0; i < nuser; i++) free((char *)names[i]);
        return m2c_exit_code();
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->op == IR_OP_UNKNOWN)
            m2c_error(&node->loc, "unsupported op %s (domain '%s', opset %d)", node->op_type, node->domain, node->opset);
    }
    int rc = M2C_EXIT_OK;
    if (m2c_error_count() == 0 && pass_run_pipeline(g, NULL) &&
        (!inputs || dims_from_inputs(g, inputs, &opt.dims, names, vals))) {
        KirPlan plan;
        kir_plan(g, &plan);
        RtValidateReport rep;
        if (on_cpu) printf("device: %s; seed %llu\n", rt_cpu_describe(dev), (unsigned long long)opt.seed);
        if (on_cpu ? !rt_validate(g, &plan, &opt, dev, &rep) : !rt_validate_cuda(g, &plan, &opt, &rep)) {
            m2c_io_error("validate --device %s: %s", device, rt_error());
        } else {
            printf("%s: %u kernels, %u passed, %u failed (worst relative L2 error %.2e)\n", model, rep.kernels,
                   rep.passed, rep.failed, rep.worst);
            if (rep.failed) rc = M2C_EXIT_MISMATCH;
        }
    }
    ir_graph_free(g);
    rt_cpu_free(dev);
    for (uint32_t i = 0; i < nuser; i++) free((char *)names[i]);
    return m2c_exit_code() ? m2c_exit_code() : rc;
}
