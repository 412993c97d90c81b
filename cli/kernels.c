/* cli/kernels.c — `ml2candle kernels MODEL -o DIR [--target cuda] [--arch sm_80|sm_90[,...]]`: the model's
 * fused groups as CUDA kernels.
 *
 * DIR gets, per kernel, <name>.cu (includes m2c_prelude.cuh, also written), <name>.kir (the group in the
 * kernel IR's text form) and <name>.<arch>.ptx (NVRTC), plus manifest.json: kernel names, argument layout
 * (dtypes, symbolic shapes, where each comes from), the scalars and where to read them, the launch rule and
 * the IR nodes each kernel replaces.  Written atomically like the crate: into a temporary sibling folder,
 * renamed into place only when everything compiled.  Without NVRTC: exit 3 (or --no-ptx). */
#include "cli.h"
#include "cuda.h"
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *model, *out;
    int archs[4], narch;
    IrDType dtype;
    bool force, no_ptx, kir;
} KernelsArgs;

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

static bool write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(text, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) m2c_io_error("cannot write '%s': %s", path, strerror(errno));
    return ok;
}

static void json_dims(Json *j, IrGraph *g, int rank, const IrDim *d)
{
    json_begin_array(j);
    for (int i = 0; i < rank; i++) {
        int64_t c;
        if (ir_dim_const_value(g, d[i], &c)) json_int(j, c);
        else json_string(j, ir_dim_str(g, d[i]));
    }
    json_end_array(j);
}

static const char *node_name(IrGraph *g, uint32_t n)
{
    const IrNode *node = ir_node(g, n);
    return node->loc.node && node->loc.node[0] ? node->loc.node : ir_val(g, node->out[0])->name;
}

static void manifest_kernel(Json *j, IrGraph *g, const KirGroup *k, const CudaLaunch *l, const KernelsArgs *a)
{
    json_begin_object(j);
    json_key(j, "name");
    json_string(j, k->name);
    json_key(j, "kind");
    json_string(j, kir_kind_name(k));
    json_key(j, "source");
    json_string(j, m2c_sprintf(g->arena, "%s.cu", k->name));
    json_key(j, "ptx");
    json_begin_object(j);
    for (int i = 0; i < a->narch && !a->no_ptx; i++) {
        json_key(j, m2c_sprintf(g->arena, "sm_%d", a->archs[i]));
        json_string(j, m2c_sprintf(g->arena, "%s.sm_%d.ptx", k->name, a->archs[i]));
    }
    json_end_object(j);
    json_key(j, "replaces");
    json_begin_array(j);
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        json_begin_object(j);
        json_key(j, "node");
        json_string(j, node_name(g, k->nodes.v[i]));
        json_key(j, "op");
        json_string(j, n->op_type ? n->op_type : ir_op_name(n->op));
        json_key(j, "output");
        json_string(j, ir_val(g, n->out[0])->name);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "args");
    json_begin_array(j);
    for (uint32_t i = 0; i < k->args.n; i++) {
        const KirArg *arg = &k->args.v[i];
        json_begin_object(j);
        json_key(j, "name");
        json_string(j, arg->name);
        json_key(j, "role");
        json_string(j, arg->use == KIR_ARG_OUTPUT ? "output" : "input");
        json_key(j, "dtype");
        json_string(j, ir_dtype_name(arg->dtype));
        json_key(j, "shape");
        json_dims(j, g, arg->rank, arg->dims);
        json_key(j, "value");
        json_string(j, ir_val(g, arg->value)->name);
        if (arg->src == KIR_SRC_GEMM_ACC) {
            /* the caller computes x·W (candle's matmul, cuBLAS) and passes it here; the bias is applied inside */
            json_key(j, "from_matmul_of");
            json_string(j, node_name(g, arg->node));
        }
        if (arg->use == KIR_ARG_POINTWISE) {
            json_key(j, "strides_over_space");
            json_dims(j, g, k->rank, arg->at);
        }
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "space");
    json_dims(j, g, k->rank, k->space);
    json_key(j, "scalars");
    json_begin_array(j);
    for (uint32_t i = 0; i < k->syms.n; i++) {
        const KirSym *s = &k->syms.v[i];
        json_begin_object(j);
        json_key(j, "name");
        json_string(j, s->name);
        json_key(j, "type");
        json_string(j, "i64");
        if (s->arg >= 0) {
            json_key(j, "arg");
            json_string(j, k->args.v[s->arg].name);
            json_key(j, "axis");
            json_int(j, s->axis);
        }
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "launch");
    json_begin_object(j);
    json_key(j, "grid");
    json_begin_array(j);
    for (int i = 0; i < 3; i++) {
        int64_t c;
        if (l->per[i] == 1 && ir_dim_const_value(g, l->work[i], &c)) json_int(j, c);
        else json_string(j, cuda_launch_rule(g, l, i));
    }
    json_end_array(j);
    json_key(j, "block");
    json_begin_array(j);
    for (int i = 0; i < 3; i++) json_int(j, l->block[i]);
    json_end_array(j);
    json_key(j, "shared_bytes");
    json_int(j, l->smem);
    /* passed at launch; above 48 KiB raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES to it first */
    json_key(j, "dynamic_shared_bytes");
    json_int(j, l->dsmem);
    json_end_object(j);
    json_end_object(j);
}

/* An ONNX model, or the IR's text form (a file ending in .ir: kernels of hand-written graphs, the tests'). */
IrGraph *cli_load(const char *path)
{
    size_t n = strlen(path);
    if (n < 3 || strcmp(path + n - 3, ".ir") != 0) return onnx_import(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        m2c_io_error("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    M2cBuf b = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) m2c_buf_printf(&b, "%.*s", (int)k, chunk);
    fclose(f);
    IrGraph *g = ir_parse(b.s ? b.s : "", path);
    m2c_buf_free(&b);
    return g;
}

static bool parse_arch(const char *s, KernelsArgs *a)
{
    char *copy = strdup(s), *save = NULL;
    bool ok = true;
    a->narch = 0;
    for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
        int v = 0;
        ok = sscanf(t, "sm_%d", &v) == 1 && v >= 75 && v < 200 && a->narch < 4;
        if (ok) a->archs[a->narch++] = v;
    }
    free(copy);
    return ok && a->narch > 0;
}

static bool emit_all(IrGraph *g, const KirPlan *plan, const KernelsArgs *a, const char *dir)
{
    NvrtcCache *cache = a->no_ptx ? NULL : nvrtc_cache_new();
    M2cBuf man = {0};
    Json j = {&man, 0, {0}, false};
    json_begin_object(&j);
    json_key(&j, "generator");
    json_string(&j, "ml2candle " M2C_VERSION);
    json_key(&j, "model");
    json_string(&j, a->model);
    json_key(&j, "target");
    json_string(&j, "cuda");
    json_key(&j, "prelude");
    json_string(&j, cuda_prelude_name);
    json_key(&j, "arg_layout");
    json_string(&j, "inputs in order (device pointers, contiguous row-major), then out, then one long long per scalar");
    json_key(&j, "kernels");
    json_begin_array(&j);
    bool ok = write_file(m2c_sprintf(g->arena, "%s/%s", dir, cuda_prelude_name), cuda_prelude_text,
                         strlen(cuda_prelude_text));
    for (uint32_t i = 0; i < plan->groups.n && ok; i++) {
        KirGroup k = plan->groups.v[i];
        if (a->dtype != DT_UNDEF) kir_retype(&k, a->dtype);
        M2cBuf src = {0}, kir = {0};
        CudaLaunch l;
        if (!cuda_emit(g, &k, &src, &l)) {
            m2c_error(NULL, "kernel %s: no CUDA for its dtypes", k.name);
            ok = false;
        }
        kir_print(g, &k, &kir);
        ok = ok && write_file(m2c_sprintf(g->arena, "%s/%s.cu", dir, k.name), src.s, src.len);
        ok = ok && write_file(m2c_sprintf(g->arena, "%s/%s.kir", dir, k.name), kir.s, kir.len);
        for (int t = 0; t < a->narch && ok && !a->no_ptx; t++) {
            char *ptx = NULL;
            M2cBuf log = {0};
            if (!nvrtc_compile(cache, k.name, src.s, a->archs[t], &ptx, &log)) {
                if (!nvrtc_path()) m2c_io_error("%s", rt_error());
                else m2c_error(NULL, "kernel %s (sm_%d): %s\n%s", k.name, a->archs[t], rt_error(), log.s ? log.s : "");
                ok = false;
            } else {
                ok = write_file(m2c_sprintf(g->arena, "%s/%s.sm_%d.ptx", dir, k.name, a->archs[t]), ptx, strlen(ptx));
            }
            free(ptx);
            m2c_buf_free(&log);
        }
        if (ok) manifest_kernel(&j, g, &k, &l, a);
        m2c_buf_free(&src);
        m2c_buf_free(&kir);
    }
    json_end_array(&j);
    json_end_object(&j);
    m2c_buf_putc(&man, '\n');
    ok = ok && write_file(m2c_sprintf(g->arena, "%s/manifest.json", dir), man.s, man.len);
    m2c_buf_free(&man);
    nvrtc_cache_free(cache);
    return ok;
}

/* Into a temporary sibling, then renamed: a failure leaves nothing at DIR. */
static bool write_dir(IrGraph *g, const KirPlan *plan, const KernelsArgs *a)
{
    char *parent = m2c_strdup(g->arena, a->out);
    for (char *p = parent + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(parent, 0777);
        *p = '/';
    }
    const char *tmp = m2c_sprintf(g->arena, "%s.ml2candle-tmp-%d", a->out, (int)getpid());
    remove_tree(tmp);
    if (mkdir(tmp, 0777) != 0) {
        m2c_io_error("cannot create '%s': %s", tmp, strerror(errno));
        return false;
    }
    bool ok = emit_all(g, plan, a, tmp);
    if (ok) {
        const char *old = m2c_sprintf(g->arena, "%s.ml2candle-old-%d", a->out, (int)getpid());
        struct stat st;
        bool had = stat(a->out, &st) == 0;
        if (had && rename(a->out, old) != 0) {
            m2c_io_error("cannot replace '%s': %s", a->out, strerror(errno));
            ok = false;
        } else if (rename(tmp, a->out) != 0) {
            m2c_io_error("cannot create '%s': %s", a->out, strerror(errno));
            if (had) rename(old, a->out);
            ok = false;
        } else if (had) {
            remove_tree(old);
        }
    }
    if (!ok) remove_tree(tmp);
    return ok;
}

static bool dir_ok(const KernelsArgs *a)
{
    struct stat st;
    if (stat(a->out, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) {
        m2c_io_error("'%s' exists and is not a folder", a->out);
        return false;
    }
    DIR *d = opendir(a->out);
    bool empty = true;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    if (d) closedir(d);
    if (!empty && !a->force) {
        m2c_usage_error("output folder '%s' is not empty (use --force to replace it)", a->out);
        return false;
    }
    return true;
}

int cli_kernels(int argc, char **argv)
{
    KernelsArgs a = {0};
    a.archs[0] = 80, a.narch = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has = i + 1 < argc;
        if ((strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0) && has) {
            a.out = argv[++i];
        } else if (strcmp(s, "--target") == 0 && has) {
            const char *t = argv[++i];
            if (strcmp(t, "cpu") == 0) return cli_kernels_cpu(argc, argv);   /* the LLVM backend: kernels_cpu.c */
            if (strcmp(t, "cuda") != 0) {
                fprintf(stderr, "ml2candle: --target %s: expected cuda or cpu\n", t);
                return M2C_EXIT_USAGE;
            }
        } else if (strcmp(s, "--arch") == 0 && has) {
            if (!parse_arch(argv[++i], &a)) {
                fprintf(stderr, "ml2candle: --arch %s: expected sm_80, sm_90 or a comma list of them\n", argv[i]);
                return M2C_EXIT_USAGE;
            }
        } else if (strcmp(s, "--dtype") == 0 && has) {
            a.dtype = ir_dtype_parse(argv[++i]);
            if (a.dtype != DT_F32 && a.dtype != DT_F16 && a.dtype != DT_BF16) {
                fprintf(stderr, "ml2candle: --dtype %s: expected f32, f16 or bf16\n", argv[i]);
                return M2C_EXIT_USAGE;
            }
        } else if (strcmp(s, "--force") == 0) {
            a.force = true;
        } else if (strcmp(s, "--no-ptx") == 0) {
            a.no_ptx = true;
        } else if (strcmp(s, "--kir") == 0) {
            a.kir = true;
        } else if (strcmp(s, "--no-fuse") == 0) {
            pass_set_fusion(false);
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ml2candle: kernels: unknown option '%s' (or missing argument)\n", s);
            return M2C_EXIT_USAGE;
        } else if (a.model) {
            fprintf(stderr, "ml2candle: one model at a time ('%s' and '%s')\n", a.model, s);
            return M2C_EXIT_USAGE;
        } else {
            a.model = s;
        }
    }
    if (!a.model || (!a.out && !a.kir)) {
        fprintf(stderr, "ml2candle: usage: ml2candle kernels MODEL.onnx -o DIR [--target cuda] [--arch sm_80|sm_90] "
                        "[--dtype f32|f16|bf16] [--no-ptx] [--force] | --kir\n");
        return M2C_EXIT_USAGE;
    }
    m2c_diag_reset(a.model);
    if (a.out && !dir_ok(&a)) return m2c_exit_code();
    if (a.out && !a.no_ptx && !nvrtc_load()) {
        m2c_io_error("%s", rt_error());
        return m2c_exit_code();
    }
    IrGraph *g = cli_load(a.model);
    if (!g) return m2c_exit_code();
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->op == IR_OP_UNKNOWN)
            m2c_error(&node->loc, "unsupported op %s (domain '%s', opset %d)", node->op_type, node->domain, node->opset);
    }
    if (m2c_error_count() == 0 && pass_run_pipeline(g, NULL)) {
        KirPlan plan;
        kir_plan(g, &plan);
        if (a.kir) {
            M2cBuf b = {0};
            for (uint32_t i = 0; i < plan.groups.n; i++) {
                KirGroup k = plan.groups.v[i];
                if (a.dtype != DT_UNDEF) kir_retype(&k, a.dtype);
                kir_print(g, &k, &b);
            }
            if (b.s) fputs(b.s, stdout);
            m2c_buf_free(&b);
        }
        if (a.out && write_dir(g, &plan, &a))
            printf("%s: %u kernels%s\n", a.out, plan.groups.n, a.no_ptx ? " (no PTX)" : "");
    }
    ir_graph_free(g);
    return m2c_exit_code();
}
