/* runtime/runtime.h — running generated kernels: NVRTC (CUDA C → PTX) and the CUDA driver, both loaded with
 * dlopen when first needed, so ml2candle builds and runs without CUDA and says what is missing when asked to
 * use it; and the validator that runs each fused group on the GPU against the reference evaluator.
 *
 * Errors are returned, never fatal: a false return leaves a one-line reason in rt_error() (what is missing
 * and where it was looked for, or the failing call and its CUDA error name). */
#ifndef RUNTIME_H
#define RUNTIME_H

#include "kir.h"

const char *rt_error(void);
void rt_set_error(const char *fmt, ...) M2C_PRINTF(1, 2);

/*
 * nvrtc.c — libnvrtc.so.13, then .12: $ML2CANDLE_NVRTC (a file or a folder) first, then the loader's paths,
 * the CUDA toolkit's folders and the nvidia-cuda-nvrtc wheel's folders of common Python installs.
 */
bool nvrtc_load(void);
const char *nvrtc_path(void);                 /* the library loaded */
void nvrtc_version(int *major, int *minor);
/* CUDA C (including our prelude by name) → PTX for compute_<arch> (80, 90, ...).  On a compile error returns
 * false with NVRTC's log in *log (the caller names the kernel).  *ptx is malloc'd, NUL-terminated.
 * With a cache, a source equal to an earlier one but for the kernel's name (the same block in another
 * layer) is not compiled again: its PTX is reused with the name substituted. */
typedef struct NvrtcCache NvrtcCache;
NvrtcCache *nvrtc_cache_new(void);
void nvrtc_cache_free(NvrtcCache *c);
bool nvrtc_compile(NvrtcCache *cache, const char *name, const char *src, int arch, char **ptx, M2cBuf *log);

/*
 * cudadrv.c — libcuda.so.1: the first GPU, its primary context, PTX modules, launches, copies, event timing.
 */
typedef unsigned long long RtDevPtr;
bool cudrv_load(void);                        /* driver, device 0, context; false: no driver or no GPU */
const char *cudrv_device_name(void);
int cudrv_arch(void);                         /* compute capability as 10·major + minor: 90 on an H100 */
void cudrv_driver_version(int *major, int *minor);
bool cudrv_module_load(const char *ptx, void **module, M2cBuf *log);
bool cudrv_module_unload(void *module);
bool cudrv_function(void *module, const char *name, void **fn);
bool cudrv_alloc(RtDevPtr *p, size_t bytes);
bool cudrv_free(RtDevPtr p);
bool cudrv_htod(RtDevPtr dst, const void *src, size_t bytes);
bool cudrv_dtoh(void *dst, RtDevPtr src, size_t bytes);
/* Launches and waits; *ms (may be NULL) gets the kernel's time from events around it.  smem: the dynamic
 * shared memory (CudaLaunch.dsmem); above 48 KiB the function's limit is raised first. */
bool cudrv_launch(void *fn, const unsigned grid[3], const unsigned block[3], unsigned smem, void **args, float *ms);
/* reps launches back to back between two events; *ms gets the mean time of one (benchmarks). */
bool cudrv_time(void *fn, const unsigned grid[3], const unsigned block[3], unsigned smem, void **args, int reps, float *ms);

/*
 * validate.c — every group of a plan on the GPU vs the reference evaluator (DESIGN §6)
 */
typedef struct {
    IrDType dtype;             /* DT_UNDEF: the model's dtypes; DT_F16/DT_BF16: every float argument stored so */
    KirBind dims;              /* sizes given with --dim; the others get small defaults */
    uint64_t seed;
    const char *only;          /* validate only the kernels whose name contains this (NULL: all) */
    FILE *out;
} RtValidateOptions;

typedef struct {
    uint32_t kernels, passed, failed;
    double worst;              /* largest relative L2 error seen */
} RtValidateReport;

/* false: the GPU side could not run at all (rt_error says why); mismatches are counted in *rep. */
bool rt_validate_cuda(IrGraph *g, const KirPlan *plan, const RtValidateOptions *opt, RtValidateReport *rep);

/*
 * validate_dev.c — the validator over a kernel backend's table (ggml's backends as tables of functions): what
 * `validate --device cpu` runs, validate.c's procedure with the device behind the table
 */
typedef struct RtDevice RtDevice;
struct RtDevice {
    const char *name;          /* "cpu" */
    void *ctx;
    /* Runs group k on host buffers: args[i] in the group's dtypes (the output last, written), numel[i] their
     * element counts, syms in k->syms order; *ms its time.  1: ran; 0: this group cannot run here (why says
     * so); -1: the device failed (rt_error). */
    int (*run)(RtDevice *d, IrGraph *g, const KirGroup *k, void *const *args, const uint64_t *numel,
               const int64_t *syms, float *ms, char *why, size_t nwhy);
};
/* false: the device could not run at all (rt_error says why); mismatches are counted in *rep. */
bool rt_validate(IrGraph *g, const KirPlan *plan, const RtValidateOptions *opt, RtDevice *dev, RtValidateReport *rep);

/*
 * cpu.c — the LLVM backend's JIT as a device.  Built without the LLVM backend (-DML2CANDLE_LLVM=OFF),
 * rt_cpu_new fails saying so.
 */
/* cpu: "native" or an LLVM CPU name; threads: parts run at once (1: the parts one after the other); parts: how
 * many shares each kernel's work is cut into (validation uses 3 on one thread, so sharing bugs show). */
RtDevice *rt_cpu_new(const char *cpu, int threads, int parts);
const char *rt_cpu_describe(RtDevice *d);   /* "LLVM 14.0.6 JIT, CPU znver3, 3 parts on 1 thread" */
void rt_cpu_free(RtDevice *d);

/*
 * run.c — a whole model on concrete inputs (`ml2candle run`): every node by the reference evaluator or, given a
 * device, every fused group by its kernel and the other nodes by the reference evaluator
 */
typedef struct {
    const char *name;
    IrTensor *t;               /* malloc'd data and shape */
} RtNamed;
/* in: the graph inputs by name; *out: g->outputs.n tensors in order (free with rt_tensor_free). */
bool rt_run_model(IrGraph *g, const KirPlan *plan, RtDevice *dev, const RtNamed *in, uint32_t nin, IrTensor ***out);
IrTensor *rt_tensor_new(IrDType t, int rank, const int64_t *shape);   /* zeroed */
void rt_tensor_free(IrTensor *t);

/*
 * safetensors.c — tensor files (`run`'s inputs and outputs): read with the header parsed and the data copied
 * out, written with the tensors' own dtypes
 */
typedef struct {
    RtNamed *v;
    uint32_t n;
} RtTensorFile;
bool rt_st_read(const char *path, RtTensorFile *f);   /* false: rt_error() says why */
void rt_st_free(RtTensorFile *f);
bool rt_st_write(const char *path, const RtNamed *ts, uint32_t n);   /* the exact dtypes (bool as BOOL) */

#endif
