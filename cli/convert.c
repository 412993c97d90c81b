/* cli/convert.c — `ml2candle MODEL.onnx -o DIR`: the main job, a Candle crate from an ONNX model.
 *
 * Import, passes, then the Candle backend; every unsupported node is reported at once and nothing is
 * written unless the whole crate could be generated. */
#include "cli.h"
#include "cg.h"

#include <string.h>

int cli_convert(int argc, char **argv)
{
    CgOptions opt = {0};
    opt.float_dtype = DT_F32;
    bool kv_cache = true;
    const char *model = NULL;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool has_arg = i + 1 < argc;
        if (strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0) {
            if (!has_arg) goto missing;
            opt.out_dir = argv[++i];
        } else if (strcmp(s, "--name") == 0) {
            if (!has_arg) goto missing;
            opt.name = argv[++i];
        } else if (strcmp(s, "--dtype") == 0) {
            if (!has_arg) goto missing;
            const char *d = argv[++i];
            if (strcmp(d, "f32") != 0) {
                fprintf(stderr, "ml2candle: --dtype %s: only f32 is supported so far\n", d);
                return M2C_EXIT_USAGE;
            }
        } else if (strcmp(s, "--force") == 0) {
            opt.force = true;
        } else if (strcmp(s, "--no-fuse") == 0) {
            pass_set_fusion(false);
            kv_cache = false;   /* the cache needs the fused attention */
        } else if (strcmp(s, "--no-kv-cache") == 0) {
            kv_cache = false;
        } else if (strcmp(s, "--embed-weights") == 0) {
            opt.embed_weights = true;
        } else if (strcmp(s, "--kernels") == 0) {
            if (!has_arg) goto missing;
            const char *t = argv[++i];
            if (strcmp(t, "cuda") == 0) {
                opt.kernels = CG_KERNELS_CUDA;
            } else if (strcmp(t, "cpu") == 0) {
                opt.kernels = CG_KERNELS_CPU;
            } else {
                fprintf(stderr, "ml2candle: --kernels %s: expected cuda or cpu\n", t);
                return M2C_EXIT_USAGE;
            }
        } else if (strcmp(s, "--candle-path") == 0) {
            if (!has_arg) goto missing;
            opt.candle_path = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ml2candle: unknown option '%s'\n", s);
            cli_usage(stderr);
            return M2C_EXIT_USAGE;
        } else if (model) {
            fprintf(stderr, "ml2candle: one model at a time ('%s' and '%s')\n", model, s);
            return M2C_EXIT_USAGE;
        } else {
            model = s;
        }
        continue;
    missing:
        fprintf(stderr, "ml2candle: %s needs an argument\n", s);
        return M2C_EXIT_USAGE;
    }
    if (!model || !opt.out_dir) {
        fprintf(stderr, "ml2candle: usage: ml2candle MODEL.onnx -o DIR\n");
        return M2C_EXIT_USAGE;
    }
    opt.model_path = model;
    m2c_diag_reset(model);
    if (!cg_out_dir_ok(&opt)) return m2c_exit_code();   /* before a long import, not after */
    /* the model's SHA-256 (for the README) is computed on a thread beside everything else */
    opt.model_hash = m2c_file_hash_start(model);
    IrGraph *g = onnx_import(model);
    if (!g) {
        m2c_file_hash_finish(opt.model_hash, NULL);
        return m2c_exit_code();
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->op == IR_OP_UNKNOWN)
            m2c_error(&node->loc, "unsupported op %s (domain '%s', opset %d)", node->op_type, node->domain, node->opset);
    }
    /* a causal decoder also gets the incremental API (KV caches); any other model is left as it is */
    PassKvInfo kv;
    bool ok = m2c_error_count() == 0 && pass_run_pipeline(g, NULL);
    if (ok && kv_cache && pass_kv_cache(g, &kv, true)) {
        ok = ir_compact(g) && pass_run_list(g, "infer,dce");   /* the caches were appended: order first */
        opt.kv = &kv;
    }
    if (ok)
        cg_emit_crate(g, &opt);   /* finishes opt.model_hash */
    else
        m2c_file_hash_finish(opt.model_hash, g->arena);
    ir_graph_free(g);
    return m2c_exit_code();
}
