/* backends/candle/kernels_cuda.c — the CUDA target of `--kernels` (kernels.c): each kernel as CUDA C
 * (backends/cuda), compiled by NVRTC to PTX for sm_80 and sm_90 at conversion time.  The crate gets
 *
 *   src/kernels/<kernel>.sm_80.ptx, .sm_90.ptx   what the crate loads (include_str!, `cuda` feature only)
 *   src/kernels/<kernel>.cu, m2c_prelude.cuh     the CUDA C they come from, for the reader
 *   src/fused.rs                                 `Kernel`: entry point, sizes, output, launch rule; one
 *                                                candle_core::CustomOp1 that loads the PTX through candle's
 *                                                CudaDevice and launches any of them on candle's stream
 */
#include "kernels.h"
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const char *const cg_helper_source[];

static const int archs[2] = {80, 90};

/* --- compiling ------------------------------------------------------------------------------------------ */

bool cg_cuda_kernels_init(CgKernels *K)
{
    if (!nvrtc_load()) {
        m2c_io_error("--kernels cuda compiles the kernels with NVRTC: %s", rt_error());
        return false;
    }
    K->state = nvrtc_cache_new();
    return true;
}

void cg_cuda_kernels_done(CgKernels *K)
{
    if (K->state) nvrtc_cache_free(K->state);
    K->state = NULL;
}

bool cg_cuda_kernel_source(IrGraph *g, const KirGroup *k, CgKernel *kn)
{
    M2cBuf src = {0};
    if (!cuda_emit(g, k, &src, &kn->launch)) {
        m2c_buf_free(&src);
        return false;
    }
    kn->src = strdup(src.s);
    m2c_buf_free(&src);
    return true;
}

bool cg_cuda_kernel_compile(CgKernels *K, CgKernel *kn)
{
    for (int t = 0; t < 2; t++) {
        M2cBuf log = {0};
        bool ok = nvrtc_compile(K->state, kn->name, kn->src, archs[t], &kn->bin[t], &log);
        if (!ok) m2c_error(NULL, "kernel %s (sm_%d): %s\n%s", kn->name, archs[t], rt_error(), log.s ? log.s : "");
        m2c_buf_free(&log);
        if (!ok) return false;
    }
    return true;
}

/* --- src/fused.rs and src/kernels/ ----------------------------------------------------------------------- */

/* A dim of the kernel's space as Rust over the sizes `s` (i64); prec: 0 top, 1 a sum's term, 2 a factor */
static void rs_dim(IrGraph *g, const KirGroup *k, IrDim d, int prec, M2cBuf *b)
{
    const IrDimExpr *e = ir_dim_expr(g, d);
    switch (e->kind) {
    case DIM_CONST:
        m2c_buf_printf(b, "%lld", (long long)e->c);
        return;
    case DIM_SYM: {
        uint32_t i = 0;
        while (i < k->syms.n && strcmp(k->syms.v[i].name, e->name) != 0) i++;
        m2c_buf_printf(b, "s[%u]", i);
        return;
    }
    case DIM_ADD:
        if (prec > 0) m2c_buf_puts(b, "(");
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i) m2c_buf_puts(b, " + ");
            rs_dim(g, k, e->ops[i], 1, b);
        }
        if (e->c) m2c_buf_printf(b, " %c %lld", e->c < 0 ? '-' : '+', (long long)(e->c < 0 ? -e->c : e->c));
        if (prec > 0) m2c_buf_puts(b, ")");
        return;
    case DIM_MUL:
        if (prec > 1) m2c_buf_puts(b, "(");
        if (e->c != 1) m2c_buf_printf(b, "%lld * ", (long long)e->c);
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i) m2c_buf_puts(b, " * ");
            rs_dim(g, k, e->ops[i], 2, b);
        }
        if (prec > 1) m2c_buf_puts(b, ")");
        return;
    case DIM_DIV:
    case DIM_MOD:
        rs_dim(g, k, e->ops[0], 2, b);
        m2c_buf_puts(b, e->kind == DIM_DIV ? ".div_euclid(" : ".rem_euclid(");
        rs_dim(g, k, e->ops[1], 0, b);
        m2c_buf_puts(b, ")");
        return;
    case DIM_MAX:
    case DIM_MIN: {
        /* a symbol first: a literal has no type to call .max on */
        uint32_t first = 0;
        for (uint32_t i = 0; i < e->nops; i++)
            if (!ir_dim_is_const(g, e->ops[i])) {
                first = i;
                break;
            }
        rs_dim(g, k, e->ops[first], 2, b);
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i == first) continue;
            m2c_buf_puts(b, e->kind == DIM_MAX ? ".max(" : ".min(");
            rs_dim(g, k, e->ops[i], 0, b);
            m2c_buf_puts(b, ")");
        }
        return;
    }
    }
}

static void buf_reset(M2cBuf *b)
{
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

/* `pub const LAYERNORM_1: Kernel = Kernel { .. };` with its doc comment */
void cg_kernel_const(CgKernels *K, IrGraph *g, const CgKernel *kn, CgOut *o)
{
    const KirGroup *k = &K->plan.groups.v[kn->group];
    const KirArg *out = &k->args.v[k->args.n - 1];
    uint32_t ngroups = 0;
    for (uint32_t i = 0; i < K->plan.groups.n; i++)
        ngroups += K->replaced[i] && K->kernel_of[i] == (uint32_t)(kn - K->kernels.v);
    M2cBuf b = {0};
    for (int i = 0; i < out->rank; i++) {
        if (i) m2c_buf_puts(&b, ", ");
        ir_dim_print(g, out->dims[i], &b);
    }
    cg_blank(o);
    cg_line(o, "/// `%s`: %s over (%s), from %s (%u group%s of the graph).", kn->name, kir_kind_name(k), b.s ? b.s : "",
            cg_kernel_group_ops(g, k), ngroups, ngroups == 1 ? "" : "s");
    cg_open(o, "pub const %s: Kernel = Kernel {", kn->cname);
    cg_line(o, "name: \"%s\",", kn->name);
    buf_reset(&b);
    for (uint32_t i = 0; i < k->syms.n; i++) {
        const KirSym *s = &k->syms.v[i];
        if (s->arg >= 0 && (uint32_t)s->arg + 1 < k->args.n)
            m2c_buf_printf(&b, "%sSome((%d, %d))", i ? ", " : "", s->arg, s->axis);
        else
            m2c_buf_printf(&b, "%sNone", i ? ", " : "");
    }
    cg_line(o, "scalars: &[%s],", b.s ? b.s : "");
    cg_line(o, "dtype: %s,", cg_candle_dtype(out->dtype));
    buf_reset(&b);
    for (int i = 0; i < out->rank; i++) {
        if (i) m2c_buf_puts(&b, ", ");
        int64_t c;
        if (ir_dim_const_value(g, out->dims[i], &c)) {
            m2c_buf_printf(&b, "%lld", (long long)c);
        } else {
            rs_dim(g, k, out->dims[i], 2, &b);
            m2c_buf_puts(&b, " as usize");
        }
    }
    cg_line(o, "shape: |%s| vec![%s],", b.s && strstr(b.s, "s[") ? "s" : "_", b.s ? b.s : "");
    buf_reset(&b);
    const CudaLaunch *l = &kn->launch;
    for (int i = 0; i < 3; i++) {
        if (i) m2c_buf_puts(&b, ", ");
        int64_t c;
        if (ir_dim_const_value(g, l->work[i], &c)) {
            int64_t n = (c + l->per[i] - 1) / l->per[i];
            m2c_buf_printf(&b, "%lld", (long long)(n < 1 ? 1 : n));
        } else {
            m2c_buf_puts(&b, "blocks(");
            rs_dim(g, k, l->work[i], 0, &b);
            m2c_buf_printf(&b, ", %u)", l->per[i]);
        }
    }
    cg_line(o, "grid: |%s| [%s],", strstr(b.s, "s[") ? "s" : "_", b.s);
    cg_line(o, "block: [%u, %u, %u],", l->block[0], l->block[1], l->block[2]);
    cg_line(o, "shared: %u,", l->dsmem);
    cg_close(o, "};");
    m2c_buf_free(&b);
}

/* text without the item that starts with sig: its doc comment, the item up to its closing line "}", and the
 * blank line after it */
const char *cg_drop_item(M2cArena *a, const char *text, const char *sig)
{
    const char *at = strstr(text, sig);
    if (!at) return text;
    const char *b = at;
    while (b > text) {
        const char *prev = b - 1;
        while (prev > text && prev[-1] != '\n') prev--;
        if (strncmp(prev, "///", 3) != 0) break;
        b = prev;
    }
    const char *e = strstr(at, "\n}\n");
    if (!e) return text;
    e += 3;
    if (*e == '\n') e++;
    return m2c_sprintf(a, "%.*s%s", (int)(b - text), text, e);
}

const char *cg_cuda_kernels_rust(CgKernels *K, IrGraph *g)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < K->kernels.n; i++) used += K->kernels.v[i].used;
    if (!used) return NULL;
    CgOut o = {{0}, 0};
    cg_line(&o, "//! The model's fused groups as CUDA kernels (`ml2candle --kernels cuda`), compiled to PTX for sm_80");
    cg_line(&o, "//! and sm_90 by NVRTC when the crate was generated (`src/kernels/`: the PTX and the CUDA C it comes");
    cg_line(&o, "//! from).  Built with the `cuda` feature, the model launches them on candle's CUDA stream for tensors");
    cg_line(&o, "//! on a CUDA device, in place of the candle code of each group; on the CPU, or without the feature,");
    cg_line(&o, "//! it runs the candle code.");
    cg_line(&o, "#![cfg_attr(not(feature = \"cuda\"), allow(dead_code))]");
    cg_blank(&o);
    /* the launcher; of its helpers, those the call sites use */
    const char *launcher = cg_helper_source[CG_HELPER_FUSED_KERNELS];
    if (!K->linear_product) launcher = cg_drop_item(g->arena, launcher, "pub fn linear_product(");
    if (!K->bias) launcher = cg_drop_item(g->arena, launcher, "pub fn bias(");
    m2c_buf_puts(&o.buf, launcher);
    for (uint32_t i = 0; i < K->kernels.n; i++)
        if (K->kernels.v[i].used) cg_kernel_const(K, g, &K->kernels.v[i], &o);
    cg_blank(&o);
    cg_line(&o, "/// The PTX of a kernel: for sm_80, or for sm_90 on devices of compute capability 9 and above.");
    cg_line(&o, "#[cfg(feature = \"cuda\")]");
    cg_open(&o, "fn ptx(name: &str, major: i32) -> Result<&'static str> {");
    cg_open(&o, "let [sm80, sm90] = match name {");
    for (uint32_t i = 0; i < K->kernels.n; i++) {
        const CgKernel *kn = &K->kernels.v[i];
        if (!kn->used) continue;
        cg_open(&o, "\"%s\" => [", kn->name);
        cg_line(&o, "include_str!(\"kernels/%s.sm_80.ptx\"),", kn->name);
        cg_line(&o, "include_str!(\"kernels/%s.sm_90.ptx\"),", kn->name);
        cg_close(&o, "],");
    }
    cg_line(&o, "_ => candle_core::bail!(\"no PTX for kernel {name}\"),");
    cg_close(&o, "};");
    cg_line(&o, "Ok(if major >= 9 { sm90 } else { sm80 })");
    cg_close(&o, "}");
    const char *s = m2c_strdup(g->arena, o.buf.s);
    m2c_buf_free(&o.buf);
    return s;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);
    bool ok = f && fwrite(text, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) m2c_io_error("cannot write '%s': %s", path, strerror(errno));
    return ok;
}

bool cg_cuda_kernels_write(CgKernels *K, IrGraph *g, const char *dir)
{
    M2cArena *a = g->arena;
    const char *kd = m2c_sprintf(a, "%s/src/kernels", dir);
    if (mkdir(kd, 0777) != 0) {
        m2c_io_error("cannot create '%s': %s", kd, strerror(errno));
        return false;
    }
    bool ok = write_file(m2c_sprintf(a, "%s/%s", kd, cuda_prelude_name), cuda_prelude_text);
    for (uint32_t i = 0; i < K->kernels.n && ok; i++) {
        const CgKernel *kn = &K->kernels.v[i];
        if (!kn->used) continue;
        ok = write_file(m2c_sprintf(a, "%s/%s.cu", kd, kn->name), kn->src);
        for (int t = 0; t < 2 && ok; t++)
            ok = write_file(m2c_sprintf(a, "%s/%s.sm_%d.ptx", kd, kn->name, archs[t]), kn->bin[t]);
    }
    return ok;
}

/* The README's section: what the kernels are, where, how they are used, one line per kernel. */
const char *cg_cuda_kernels_summary(CgKernels *K, IrGraph *g)
{
    uint32_t kernels = 0, sites = 0;
    for (uint32_t i = 0; i < K->kernels.n; i++) kernels += K->kernels.v[i].used;
    for (uint32_t i = 0; i < K->plan.groups.n; i++) sites += K->replaced[i];
    M2cBuf b = {0};
    m2c_buf_printf(&b,
                   "%u CUDA kernels replace %u of the model's %u fused groups (ml2candle's kernel IR: each group's "
                   "ops in one launch).  `src/kernels/` holds their PTX for sm_80 and sm_90, compiled by NVRTC when "
                   "the crate was generated, and the CUDA C it comes from.  Built with `--features cuda`, the model "
                   "launches them through `candle_core::CustomOp1` (`src/fused.rs`: the PTX is loaded through "
                   "candle's `CudaDevice`, the launch goes on candle's stream) for tensors on a CUDA device; on the "
                   "CPU, or with `ML2CANDLE_NO_KERNELS` set, it runs candle's own ops.\n\n",
                   kernels, sites, K->plan.groups.n);
    for (uint32_t i = 0; i < K->kernels.n; i++) {
        const CgKernel *kn = &K->kernels.v[i];
        if (!kn->used) continue;
        const KirGroup *k = &K->plan.groups.v[kn->group];
        uint32_t n = 0;
        for (uint32_t j = 0; j < K->plan.groups.n; j++) n += K->replaced[j] && K->kernel_of[j] == i;
        m2c_buf_printf(&b, "- `%s` (%s): %s; %u call site%s\n", kn->name, kir_kind_name(k), cg_kernel_group_ops(g, k),
                       n, n == 1 ? "" : "s");
    }
    const char *s = m2c_strdup(g->arena, b.s);
    m2c_buf_free(&b);
    return s;
}
