/* runtime/nvrtc.c — NVRTC through dlopen: CUDA C to PTX without a CUDA toolkit at build time.
 *
 * Where it looks, in order: $ML2CANDLE_NVRTC (the library, or a folder holding it); libnvrtc.so.13 and .12 by
 * the loader's rules (LD_LIBRARY_PATH, ldconfig); the CUDA toolkit's lib folders; the `nvidia-cuda-nvrtc`
 * wheel (nvidia/cu13/lib, nvidia/cuda_nvrtc/lib) under common Python prefixes.  NVRTC loads its builtins
 * library (libnvrtc-builtins.so.MAJOR.MINOR) by name, which fails for a wheel's folder that is not on the
 * loader's path, so the builtins beside the library are loaded first, globally. */
#define _GNU_SOURCE
#include "runtime.h"
#include "cuda.h"

#include <dlfcn.h>
#include <glob.h>
#include <link.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char rt_err[1024];

const char *rt_error(void) { return rt_err; }

void rt_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt_err, sizeof rt_err, fmt, ap);
    va_end(ap);
}

typedef int (*FnCreate)(void **, const char *, const char *, int, const char *const *, const char *const *);
typedef int (*FnCompile)(void *, int, const char *const *);
typedef int (*FnSize)(void *, size_t *);
typedef int (*FnGet)(void *, char *);
typedef int (*FnDestroy)(void **);
typedef int (*FnVersion)(int *, int *);
typedef const char *(*FnErr)(int);

static struct {
    void *lib;
    char path[4096];
    FnCreate create;
    FnCompile compile;
    FnSize log_size, ptx_size;
    FnGet log, ptx;
    FnDestroy destroy;
    FnVersion version;
    FnErr errstr;
} nv;

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The builtins beside the loaded library, loaded globally so NVRTC's own dlopen by name finds them. */
static void preload_builtins(void *lib)
{
    char dir[4096];
    if (dlinfo(lib, RTLD_DI_ORIGIN, dir) != 0) return;
    char pat[4200];
    snprintf(pat, sizeof pat, "%s/libnvrtc-builtins.so.*", dir);
    glob_t gl;
    if (glob(pat, 0, NULL, &gl) != 0) return;
    for (size_t i = 0; i < gl.gl_pathc; i++)
        if (!strstr(gl.gl_pathv[i], ".alt.")) dlopen(gl.gl_pathv[i], RTLD_NOW | RTLD_GLOBAL);
    globfree(&gl);
}

static bool try_open(const char *p, M2cBuf *tried)
{
    void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        m2c_buf_printf(tried, "%s%s", tried->len ? ", " : "", p);
        return false;
    }
    nv.lib = h;
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        snprintf(nv.path, sizeof nv.path, "%s", lm->l_name);
    else
        snprintf(nv.path, sizeof nv.path, "%s", p);
    return true;
}

static bool try_dir(const char *dir, M2cBuf *tried)
{
    static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (file_exists(p) && try_open(p, tried)) return true;
    }
    m2c_buf_printf(tried, "%s%s/", tried->len ? ", " : "", dir);
    return false;
}

static bool try_glob(const char *pattern, M2cBuf *tried)
{
    glob_t gl;
    bool ok = false;
    if (glob(pattern, GLOB_ONLYDIR, NULL, &gl) == 0) {
        for (size_t i = 0; i < gl.gl_pathc && !ok; i++) ok = try_dir(gl.gl_pathv[i], tried);
        globfree(&gl);
    }
    if (!ok) m2c_buf_printf(tried, "%s%s", tried->len ? ", " : "", pattern);
    return ok;
}

static bool find_library(M2cBuf *tried)
{
    const char *env = getenv("ML2CANDLE_NVRTC");
    if (env && env[0]) {
        struct stat st;
        if (stat(env, &st) == 0 && S_ISDIR(st.st_mode)) return try_dir(env, tried);
        return try_open(env, tried);
    }
    if (try_open("libnvrtc.so.13", tried) || try_open("libnvrtc.so.12", tried)) return true;
    const char *homes[] = {getenv("CUDA_HOME"), getenv("CUDA_PATH"), "/usr/local/cuda"};
    for (size_t i = 0; i < 3; i++) {
        if (!homes[i] || !homes[i][0]) continue;
        char d[4200];
        snprintf(d, sizeof d, "%s/lib64", homes[i]);
        if (try_dir(d, tried)) return true;
        snprintf(d, sizeof d, "%s/targets/x86_64-linux/lib", homes[i]);
        if (try_dir(d, tried)) return true;
    }
    /* the pip wheel: nvidia/cu13/lib (CUDA 13) or nvidia/cuda_nvrtc/lib (CUDA 12) under site-packages */
    const char *venv = getenv("VIRTUAL_ENV"), *home = getenv("HOME");
    const char *prefixes[] = {venv, home ? home : NULL, "/usr/local", "/usr", "/opt/*/.venv", "/opt/conda"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        if (!prefixes[i]) continue;
        const char *mid = i == 1 ? "/.local" : "";
        for (int w = 0; w < 2; w++) {
            char pat[4200];
            snprintf(pat, sizeof pat, "%s%s/lib/python3*/*-packages/nvidia/%s/lib", prefixes[i], mid,
                     w == 0 ? "cu13" : "cuda_nvrtc");
            if (try_glob(pat, tried)) return true;
        }
    }
    return false;
}

bool nvrtc_load(void)
{
    if (nv.lib) return true;
    M2cBuf tried = {0};
    bool found = find_library(&tried);
    if (!found) {
        rt_set_error("NVRTC not found (libnvrtc.so.13 or .12); looked in: %s. Install it (pip install "
                     "nvidia-cuda-nvrtc) or set ML2CANDLE_NVRTC to the library or its folder",
                     tried.s ? tried.s : "nowhere");
        m2c_buf_free(&tried);
        return false;
    }
    m2c_buf_free(&tried);
    preload_builtins(nv.lib);
#define SYM(field, name) (*(void **)&nv.field = dlsym(nv.lib, name)) != NULL
    bool ok = SYM(create, "nvrtcCreateProgram") && SYM(compile, "nvrtcCompileProgram") &&
              SYM(log_size, "nvrtcGetProgramLogSize") && SYM(log, "nvrtcGetProgramLog") &&
              SYM(ptx_size, "nvrtcGetPTXSize") && SYM(ptx, "nvrtcGetPTX") && SYM(destroy, "nvrtcDestroyProgram") &&
              SYM(version, "nvrtcVersion") && SYM(errstr, "nvrtcGetErrorString");
#undef SYM
    if (!ok) {
        rt_set_error("%s is not a usable NVRTC (a function is missing)", nv.path);
        dlclose(nv.lib);
        nv.lib = NULL;
        return false;
    }
    return true;
}

const char *nvrtc_path(void) { return nv.lib ? nv.path : NULL; }

void nvrtc_version(int *major, int *minor)
{
    *major = *minor = 0;
    if (nv.lib) nv.version(major, minor);
}

/* every occurrence of `from` in s replaced by `to`, malloc'd */
static char *replace_all(const char *s, const char *from, const char *to)
{
    M2cBuf b = {0};
    size_t nf = strlen(from);
    for (const char *p; (p = strstr(s, from)); s = p + nf) {
        m2c_buf_printf(&b, "%.*s", (int)(p - s), s);
        m2c_buf_puts(&b, to);
    }
    m2c_buf_puts(&b, s);
    return b.s;
}

#define PLACEHOLDER "m2c_KERNEL_NAME"

struct NvrtcCache {
    struct NvrtcEntry {
        int arch;
        char *src, *ptx;          /* with the placeholder for the name */
        struct NvrtcEntry *next;
    } *head;
};

NvrtcCache *nvrtc_cache_new(void) { return calloc(1, sizeof(NvrtcCache)); }

void nvrtc_cache_free(NvrtcCache *c)
{
    if (!c) return;
    for (struct NvrtcEntry *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e->src), free(e->ptx), free(e);
    }
    free(c);
}

static bool compile_now(const char *name, const char *src, int arch, char **ptx, M2cBuf *log);

bool nvrtc_compile(NvrtcCache *cache, const char *name, const char *src, int arch, char **ptx, M2cBuf *log)
{
    *ptx = NULL;
    if (!cache) return compile_now(name, src, arch, ptx, log);
    char *norm = replace_all(src, name, PLACEHOLDER);
    for (struct NvrtcEntry *e = cache->head; e; e = e->next)
        if (e->arch == arch && strcmp(e->src, norm) == 0) {
            free(norm);
            *ptx = replace_all(e->ptx, PLACEHOLDER, name);
            return true;
        }
    char *nptx = NULL;
    if (!compile_now(name, norm, arch, &nptx, log)) {
        free(norm);
        return false;
    }
    struct NvrtcEntry *e = malloc(sizeof *e);
    *e = (struct NvrtcEntry){arch, norm, nptx, cache->head};
    cache->head = e;
    *ptx = replace_all(nptx, PLACEHOLDER, name);
    return true;
}

static bool compile_now(const char *name, const char *src, int arch, char **ptx, M2cBuf *log)
{
    if (!nvrtc_load()) return false;
    void *prog = NULL;
    const char *hdr_src[1] = {cuda_prelude_text}, *hdr_name[1] = {cuda_prelude_name};
    char file[300];
    snprintf(file, sizeof file, "%s.cu", name);
    int r = nv.create(&prog, src, file, 1, hdr_src, hdr_name);
    if (r != 0) {
        rt_set_error("nvrtcCreateProgram: %s", nv.errstr(r));
        return false;
    }
    char archopt[64];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=compute_%d", arch);
    /* no fast math: the kernels are validated against the reference to 1e-5 */
    const char *opts[] = {archopt, "-std=c++17"};
    r = nv.compile(prog, 2, opts);
    size_t n = 0;
    if (nv.log_size(prog, &n) == 0 && n > 1 && log) {
        char *s = malloc(n + 1);
        if (s && nv.log(prog, s) == 0) {
            s[n] = 0;
            m2c_buf_puts(log, s);
        }
        free(s);
    }
    if (r != 0) {
        rt_set_error("NVRTC could not compile %s for compute_%d: %s", name, arch, nv.errstr(r));
        nv.destroy(&prog);
        return false;
    }
    if (nv.ptx_size(prog, &n) != 0 || !(*ptx = malloc(n + 1)) || nv.ptx(prog, *ptx) != 0) {
        free(*ptx);
        *ptx = NULL;
        rt_set_error("NVRTC returned no PTX for %s", name);
        nv.destroy(&prog);
        return false;
    }
    (*ptx)[n] = 0;
    nv.destroy(&prog);
    return true;
}
