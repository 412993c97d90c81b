/* backends/candle/kernels_cpu.c — the CPU target of `--kernels` (kernels.c): the kernels compiled ahead of
 * time by the LLVM backend (backends/llvm) into a static library that ships in the crate.  The crate gets
 *
 *   kernels/lib<crate>_kernels.a   one object per CPU variant, x86-64-v2 and x86-64-v3; every symbol carries
 *                                  the crate's name (<crate>_m2c_layernorm_1__x86_64_v3), so that several
 *                                  generated crates link into one program
 *   kernels/m2c_kernels.h          the C ABI and each kernel's arguments and prototypes, for the reader
 *   build.rs                       links the library for x86-64 Linux targets and sets cfg(m2c_cpu_kernels);
 *                                  for any other target the crate builds without it and runs candle's ops
 *   src/fused.rs                   `Kernel` as for CUDA (kernels_cuda.c); the CustomOp1's cpu_fwd calls the
 *                                  library, the shares of a call on rayon's pool (candle's CPU threads)
 *
 * Built at conversion time and shipped, not built by build.rs calling ml2candle: the crate then builds with
 * cargo and crates.io alone (no ml2candle and no LLVM where it is built, nothing that can fail or drift at
 * cargo time), and its kernels are the very code `ml2candle kernels --target cpu` writes and `validate
 * --device cpu` checks (same emitter, same O3 pipeline).  The price is a binary in the crate, for one
 * architecture: build.rs checks the target and otherwise leaves it out.
 *
 * The variants are the portable pair of backends/llvm/aot.c: x86-64-v2 (SSE4.2: every x86-64 CPU since 2009)
 * and x86-64-v3 (AVX2, FMA, F16C: Haswell, Zen and later), the crate picking one once at run time with
 * is_x86_feature_detected.  Not `native`: a crate is built and run on other machines than the one that
 * converted the model.  Not x86-64-v4 by default: LLVM keeps 256-bit vectors on most AVX-512 CPUs anyway, Zen 4
 * runs 512-bit operations as two halves, and it would be a third compile of every kernel.
 *
 * A kernel's identity (which groups share it) is its CUDA C text, as for the CUDA target: the same kernel IR
 * gives the same LLVM IR, and the Rust constants (sizes, output shape) come from the same code. */
#include "kernels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef M2C_HAVE_LLVM
#include "llvm.h"
#endif

extern const char *const cg_helper_source[];

static const char *const cpus[2] = {"x86-64-v2", "x86-64-v3"};

bool cg_cpu_kernels_init(CgKernels *K)
{
    (void)K;
#ifdef M2C_HAVE_LLVM
    /* the objects are x86-64 ELF, made with the host's LLVM target */
    char *triple = LLVMGetDefaultTargetTriple();
    bool x86 = strncmp(triple, "x86_64", 6) == 0;
    if (!x86) m2c_usage_error("--kernels cpu makes x86-64 objects and this ml2candle runs on %s", triple);
    LLVMDisposeMessage(triple);
    if (!x86) return false;
    if (llvm_init()) return true;
    m2c_io_error("--kernels cpu: LLVM: %s", llvm_error());
#else
    m2c_io_error("--kernels cpu compiles the kernels with the LLVM backend: it is not built in (configure with "
                 "-DML2CANDLE_LLVM=ON and llvm-14-dev)");
#endif
    return false;
}

/* the library's symbol prefix and name: the crate's */
static const char *prefix(CgKernels *K, IrGraph *g) { return m2c_sprintf(g->arena, "%s_", K->crate); }

static const char *suffix(IrGraph *g, const char *cpu)
{
    char *s = m2c_strdup(g->arena, cpu);
    for (char *p = s; *p; p++)
        if (*p == '-') *p = '_';
    return s;
}

/* --- src/fused.rs ---------------------------------------------------------------------------------------- */

const char *cg_cpu_kernels_rust(CgKernels *K, IrGraph *g)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < K->kernels.n; i++) used += K->kernels.v[i].used;
    if (!used) return NULL;
    M2cArena *a = g->arena;
    CgOut o = {{0}, 0};
    cg_line(&o, "//! The model's fused groups as CPU kernels (`ml2candle --kernels cpu`), compiled ahead of time by the");
    cg_line(&o, "//! LLVM backend when the crate was generated: `kernels/lib%s_kernels.a`, objects for x86-64-v2 and", K->crate);
    cg_line(&o, "//! x86-64-v3 (the second where the CPU has AVX2 and FMA; `kernels/m2c_kernels.h`: their C ABI).  build.rs");
    cg_line(&o, "//! links it for x86-64 Linux targets; there the model runs them for tensors on the CPU, in place of the");
    cg_line(&o, "//! candle code of each group, their shares on rayon's pool.  For other targets, on a CUDA device, or");
    cg_line(&o, "//! with `ML2CANDLE_NO_KERNELS` set, it runs the candle code.");
    cg_line(&o, "#![cfg_attr(not(feature = \"cuda\"), allow(dead_code))]");
    cg_blank(&o);
    /* the launcher, its `enabled` and `launch_cpu` the CPU's; of its helpers, those the call sites use */
    const char *launcher = cg_helper_source[CG_HELPER_FUSED_KERNELS];
    if (!K->linear_product) launcher = cg_drop_item(a, launcher, "pub fn linear_product(");
    if (!K->bias) launcher = cg_drop_item(a, launcher, "pub fn bias(");
    launcher = cg_drop_item(a, launcher, "pub fn enabled(");
    launcher = cg_drop_item(a, launcher, "fn launch_cpu(");
    m2c_buf_puts(&o.buf, launcher);
    cg_blank(&o);
    m2c_buf_puts(&o.buf, cg_helper_source[CG_HELPER_FUSED_CPU]);
    for (uint32_t i = 0; i < K->kernels.n; i++)
        if (K->kernels.v[i].used) cg_kernel_const(K, g, &K->kernels.v[i], &o);
    cg_blank(&o);
    cg_line(&o, "// The kernels' entry points in `kernels/lib%s_kernels.a`, one per CPU variant.", K->crate);
    cg_line(&o, "#[cfg(m2c_cpu_kernels)]");
    cg_open(&o, "extern \"C\" {");
    for (uint32_t i = 0; i < K->kernels.n; i++) {
        const CgKernel *kn = &K->kernels.v[i];
        for (int v = 0; kn->used && v < 2; v++)
            cg_line(&o, "fn %s%s__%s(args: *const *mut u8, sizes: *const i64, part: i64, nparts: i64);", prefix(K, g),
                    kn->name, suffix(g, cpus[v]));
    }
    cg_close(&o, "}");
    cg_blank(&o);
    cg_line(&o, "/// A kernel's entry point: its x86-64-v3 object where the CPU has what that needs, else its x86-64-v2 one.");
    cg_line(&o, "#[cfg(m2c_cpu_kernels)]");
    cg_open(&o, "fn cpu_kernel(name: &str, v3: bool) -> Result<CpuKernelFn> {");
    cg_open(&o, "let f: CpuKernelFn = match (name, v3) {");
    for (uint32_t i = 0; i < K->kernels.n; i++) {
        const CgKernel *kn = &K->kernels.v[i];
        for (int v = 0; kn->used && v < 2; v++)
            cg_line(&o, "(\"%s\", %s) => %s%s__%s,", kn->name, v ? "true" : "false", prefix(K, g), kn->name,
                    suffix(g, cpus[v]));
    }
    cg_line(&o, "_ => candle_core::bail!(\"no CPU kernel {name}\"),");
    cg_close(&o, "};");
    cg_line(&o, "Ok(f)");
    cg_close(&o, "}");
    cg_blank(&o);
    cg_line(&o, "/// The kernels are CPU kernels: none has PTX (`enabled` is false on a CUDA device).");
    cg_line(&o, "#[cfg(feature = \"cuda\")]");
    cg_open(&o, "fn ptx(name: &str, _: i32) -> Result<&'static str> {");
    cg_line(&o, "candle_core::bail!(\"{name} is a CPU kernel (--kernels cpu): no PTX\")");
    cg_close(&o, "}");
    const char *s = m2c_strdup(a, o.buf.s);
    m2c_buf_free(&o.buf);
    return s;
}

/* --- kernels/, build.rs ---------------------------------------------------------------------------------- */

#ifdef M2C_HAVE_LLVM
static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);
    bool ok = f && fwrite(text, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) m2c_io_error("cannot write '%s': %s", path, strerror(errno));
    return ok;
}

static const char *build_rs(M2cArena *a, const char *crate)
{
    return m2c_sprintf(
        a,
        "//! Links the model's fused CPU kernels, `kernels/lib%s_kernels.a` (ml2candle --kernels cpu: objects\n"
        "//! for x86-64-v2 and x86-64-v3, one picked at run time), for x86-64 Linux targets, and tells the code so\n"
        "//! (`cfg(m2c_cpu_kernels)`).  For any other target, or with `ML2CANDLE_NO_CPU_KERNELS` set when\n"
        "//! building, the crate builds without them and runs candle's ops.\n"
        "fn main() {\n"
        "    println!(\"cargo::rustc-check-cfg=cfg(m2c_cpu_kernels)\");\n"
        "    println!(\"cargo::rerun-if-changed=kernels/lib%s_kernels.a\");\n"
        "    println!(\"cargo::rerun-if-env-changed=ML2CANDLE_NO_CPU_KERNELS\");\n"
        "    let target = |key: &str| std::env::var(key).unwrap_or_default();\n"
        "    if target(\"CARGO_CFG_TARGET_ARCH\") != \"x86_64\"\n"
        "        || target(\"CARGO_CFG_TARGET_OS\") != \"linux\"\n"
        "        || std::env::var_os(\"ML2CANDLE_NO_CPU_KERNELS\").is_some()\n"
        "    {\n"
        "        return;\n"
        "    }\n"
        "    let dir = std::path::Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"kernels\");\n"
        "    println!(\"cargo::rustc-link-search=native={}\", dir.display());\n"
        "    println!(\"cargo::rustc-link-lib=static=%s_kernels\");\n"
        "    println!(\"cargo::rustc-cfg=m2c_cpu_kernels\");\n"
        "}\n",
        crate, crate, crate);
}

bool cg_cpu_kernels_write(CgKernels *K, IrGraph *g, const char *dir)
{
    M2cArena *a = g->arena;
    const char *kd = m2c_sprintf(a, "%s/kernels", dir);
    if (mkdir(kd, 0777) != 0) {
        m2c_io_error("cannot create '%s': %s", kd, strerror(errno));
        return false;
    }
    /* the used kernels, each as its first group */
    KirGroup *ks = m2c_alloc_array(a, K->kernels.n ? K->kernels.n : 1, sizeof *ks);
    uint32_t n = 0;
    for (uint32_t i = 0; i < K->kernels.n; i++)
        if (K->kernels.v[i].used) ks[n++] = K->plan.groups.v[K->kernels.v[i].group];
    LlvmAotOptions o = {cpus, 2, prefix(K, g), 3, NULL};
    if (!llvm_aot_library(g, ks, n, &o, m2c_sprintf(a, "%s/lib%s_kernels.a", kd, K->crate))) {
        m2c_error(NULL, "--kernels cpu: LLVM: %s", llvm_error());
        return false;
    }
    M2cBuf h = {0};
    llvm_aot_header(g, ks, n, &o,
                    m2c_sprintf(a, "m2c_kernels.h — generated by ml2candle %s: the CPU kernels of lib%s_kernels.a "
                                   "(src/fused.rs calls them).", M2C_VERSION, K->crate),
                    &h);
    bool ok = write_file(m2c_sprintf(a, "%s/m2c_kernels.h", kd), h.s);
    m2c_buf_free(&h);
    return ok && write_file(m2c_sprintf(a, "%s/build.rs", dir), build_rs(a, K->crate));
}
#else
bool cg_cpu_kernels_write(CgKernels *K, IrGraph *g, const char *dir)
{
    (void)K, (void)g, (void)dir;
    return false;   /* cg_cpu_kernels_init said why */
}
#endif

/* The README's section: what the kernels are, where, how they are used, one line per kernel. */
const char *cg_cpu_kernels_summary(CgKernels *K, IrGraph *g)
{
    uint32_t kernels = 0, sites = 0;
    for (uint32_t i = 0; i < K->kernels.n; i++) kernels += K->kernels.v[i].used;
    for (uint32_t i = 0; i < K->plan.groups.n; i++) sites += K->replaced[i];
    M2cBuf b = {0};
    m2c_buf_printf(&b,
                   "%u CPU kernels replace %u of the model's %u fused groups (ml2candle's kernel IR: each group's "
                   "ops in one pass).  `kernels/lib%s_kernels.a` holds them, compiled by ml2candle's LLVM backend "
                   "when the crate was generated for x86-64-v2 and x86-64-v3 (AVX2, FMA), the better one picked at "
                   "run time; `kernels/m2c_kernels.h` is their C ABI.  `build.rs` links the library for x86-64 "
                   "Linux targets, where the model calls the kernels through `candle_core::CustomOp1` "
                   "(`src/fused.rs`) for tensors on the CPU, their work split over rayon's threads; GEMMs stay "
                   "candle's.  For other targets, on a CUDA device, or with `ML2CANDLE_NO_KERNELS` set, it runs "
                   "candle's own ops (`ML2CANDLE_NO_CPU_KERNELS` at build time leaves the library out).\n\n",
                   kernels, sites, K->plan.groups.n, K->crate);
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
