/* runtime/cudadrv.c — the CUDA driver API through dlopen(libcuda.so.1): device 0 and its primary context
 * (the one candle and the runtime API share), PTX modules, launches, copies and event timing.
 *
 * Only the driver's stable entry points are used (the _v2 names the toolkit headers map to), declared here
 * with the driver's plain C types, so no CUDA header is needed. */
#define _GNU_SOURCE
#include "runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>


typedef int CUresult;
typedef int (*FnInt)(unsigned);
typedef int (*FnIntp)(int *);
typedef int (*FnDevGet)(int *, int);
typedef int (*FnDevName)(char *, int, int);
typedef int (*FnDevAttr)(int *, int, int);
typedef int (*FnCtxRetain)(void **, int);
typedef int (*FnPtr)(void *);
typedef int (*FnModLoad)(void **, const void *, unsigned, int *, void **);
typedef int (*FnModFn)(void **, void *, const char *);
typedef int (*FnLaunch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **,
                        void **);
typedef int (*FnAlloc)(RtDevPtr *, size_t);
typedef int (*FnFree)(RtDevPtr);
typedef int (*FnHtoD)(RtDevPtr, const void *, size_t);
typedef int (*FnDtoH)(void *, RtDevPtr, size_t);
typedef int (*FnSync)(void);
typedef int (*FnEvCreate)(void **, unsigned);
typedef int (*FnEvRecord)(void *, void *);
typedef int (*FnEvElapsed)(float *, void *, void *);
typedef int (*FnErrStr)(int, const char **);
typedef int (*FnFuncAttr)(void *, int, int);

static struct {
    void *lib;
    bool ready;
    int dev, arch, drv;
    char name[256];
    void *ctx;
    FnInt init;
    FnIntp driver_version, device_count;
    FnDevGet device_get;
    FnDevName device_name;
    FnDevAttr device_attr;
    FnCtxRetain ctx_retain;
    FnPtr ctx_set, mod_unload, ev_sync, ev_destroy;
    FnModLoad mod_load;
    FnModFn mod_fn;
    FnLaunch launch;
    FnAlloc alloc;
    FnFree free;
    FnHtoD htod;
    FnDtoH dtoh;
    FnSync sync;
    FnEvCreate ev_create;
    FnEvRecord ev_record;
    FnEvElapsed ev_elapsed;
    FnErrStr err_name;
    FnFuncAttr func_attr;      /* optional: only kernels above 48 KiB of dynamic shared memory need it */
} cu;

enum {
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
};

static const char *err_name(int r)
{
    const char *s = NULL;
    if (cu.err_name && cu.err_name(r, &s) == 0 && s) return s;
    static char buf[32];
    snprintf(buf, sizeof buf, "CUDA error %d", r);
    return buf;
}

static bool check(int r, const char *what)
{
    if (r == 0) return true;
    rt_set_error("%s: %s", what, err_name(r));
    return false;
}

bool cudrv_load(void)
{
    if (cu.ready) return true;
    if (!cu.lib) {
        cu.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!cu.lib) {
            rt_set_error("no CUDA driver: libcuda.so.1 was not found by the loader (LD_LIBRARY_PATH, ldconfig); "
                         "a GPU with the NVIDIA driver is needed (%s)", dlerror());
            return false;
        }
    }
#define SYM(field, name) (*(void **)&cu.field = dlsym(cu.lib, name)) != NULL
    bool ok = SYM(init, "cuInit") && SYM(driver_version, "cuDriverGetVersion") &&
              SYM(device_count, "cuDeviceGetCount") && SYM(device_get, "cuDeviceGet") &&
              SYM(device_name, "cuDeviceGetName") && SYM(device_attr, "cuDeviceGetAttribute") &&
              SYM(ctx_retain, "cuDevicePrimaryCtxRetain") && SYM(ctx_set, "cuCtxSetCurrent") &&
              SYM(mod_load, "cuModuleLoadDataEx") && SYM(mod_unload, "cuModuleUnload") &&
              SYM(mod_fn, "cuModuleGetFunction") && SYM(launch, "cuLaunchKernel") && SYM(alloc, "cuMemAlloc_v2") &&
              SYM(free, "cuMemFree_v2") && SYM(htod, "cuMemcpyHtoD_v2") && SYM(dtoh, "cuMemcpyDtoH_v2") &&
              SYM(sync, "cuCtxSynchronize") && SYM(ev_create, "cuEventCreate") && SYM(ev_record, "cuEventRecord") &&
              SYM(ev_sync, "cuEventSynchronize") && SYM(ev_destroy, "cuEventDestroy_v2") &&
              SYM(err_name, "cuGetErrorName");
    /* CUDA 12.8 added the _v2 elapsed time; the first one stays for older drivers */
    ok = ok && (SYM(ev_elapsed, "cuEventElapsedTime_v2") || SYM(ev_elapsed, "cuEventElapsedTime"));
    *(void **)&cu.func_attr = dlsym(cu.lib, "cuFuncSetAttribute");
#undef SYM
    if (!ok) {
        rt_set_error("libcuda.so.1 lacks a driver function ml2candle needs (driver too old?)");
        return false;
    }
    int r = cu.init(0);
    if (r == CUDA_ERROR_NO_DEVICE) {
        rt_set_error("no CUDA GPU: the driver is installed but cuInit found no device (CUDA_ERROR_NO_DEVICE)");
        return false;
    }
    if (!check(r, "cuInit")) return false;
    int n = 0;
    if (!check(cu.device_count(&n), "cuDeviceGetCount")) return false;
    if (n < 1) {
        rt_set_error("no CUDA GPU: the driver reports no device");
        return false;
    }
    int major = 0, minor = 0;
    if (!check(cu.device_get(&cu.dev, 0), "cuDeviceGet") ||
        !check(cu.device_name(cu.name, sizeof cu.name, cu.dev), "cuDeviceGetName") ||
        !check(cu.device_attr(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, cu.dev), "cuDeviceGetAttribute") ||
        !check(cu.device_attr(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, cu.dev), "cuDeviceGetAttribute") ||
        !check(cu.ctx_retain(&cu.ctx, cu.dev), "cuDevicePrimaryCtxRetain") || !check(cu.ctx_set(cu.ctx), "cuCtxSetCurrent"))
        return false;
    cu.arch = major * 10 + minor;
    cu.driver_version(&cu.drv);
    cu.ready = true;
    return true;
}

const char *cudrv_device_name(void) { return cu.ready ? cu.name : NULL; }
int cudrv_arch(void) { return cu.arch; }

void cudrv_driver_version(int *major, int *minor)
{
    *major = cu.drv / 1000;
    *minor = cu.drv % 1000 / 10;
}

bool cudrv_module_load(const char *ptx, void **module, M2cBuf *log)
{
    char errlog[8192] = {0};
    int opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *vals[2] = {errlog, (void *)(size_t)sizeof errlog};
    int r = cu.mod_load(module, ptx, 2, opts, vals);
    if (r == 0) return true;
    if (log && errlog[0]) m2c_buf_puts(log, errlog);
    if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
        int maj, min;
        cudrv_driver_version(&maj, &min);
        rt_set_error("the driver (CUDA %d.%d) cannot load PTX from this NVRTC, which is newer: point ML2CANDLE_NVRTC at "
                     "an NVRTC no newer than the driver",
                     maj, min);
        return false;
    }
    return check(r, "cuModuleLoadDataEx");
}

bool cudrv_module_unload(void *module) { return check(cu.mod_unload(module), "cuModuleUnload"); }

bool cudrv_function(void *module, const char *name, void **fn)
{
    return check(cu.mod_fn(fn, module, name), "cuModuleGetFunction");
}

bool cudrv_alloc(RtDevPtr *p, size_t bytes) { return check(cu.alloc(p, bytes ? bytes : 1), "cuMemAlloc"); }
bool cudrv_free(RtDevPtr p) { return check(cu.free(p), "cuMemFree"); }
bool cudrv_htod(RtDevPtr dst, const void *src, size_t bytes) { return check(cu.htod(dst, src, bytes), "cuMemcpyHtoD"); }
bool cudrv_dtoh(void *dst, RtDevPtr src, size_t bytes) { return check(cu.dtoh(dst, src, bytes), "cuMemcpyDtoH"); }

/* A kernel above 48 KiB of dynamic shared memory must say so before its launch. */
static bool set_dsmem(void *fn, unsigned smem)
{
    if (smem <= 48 * 1024) return true;
    if (!cu.func_attr) {
        rt_set_error("libcuda.so.1 lacks cuFuncSetAttribute, needed for %u bytes of dynamic shared memory", smem);
        return false;
    }
    return check(cu.func_attr(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem), "cuFuncSetAttribute");
}

bool cudrv_launch(void *fn, const unsigned grid[3], const unsigned block[3], unsigned smem, void **args, float *ms)
{
    if (!set_dsmem(fn, smem)) return false;
    void *ev[2] = {NULL, NULL};
    bool timed = ms && cu.ev_create(&ev[0], 0) == 0 && cu.ev_create(&ev[1], 0) == 0;
    if (timed) cu.ev_record(ev[0], NULL);
    int r = cu.launch(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, NULL, args, NULL);
    if (timed && r == 0) cu.ev_record(ev[1], NULL);
    bool ok = check(r, "cuLaunchKernel") && check(cu.sync(), "kernel execution (cuCtxSynchronize)");
    if (ok && timed && cu.ev_sync(ev[1]) == 0) cu.ev_elapsed(ms, ev[0], ev[1]);
    for (int i = 0; i < 2; i++)
        if (ev[i]) cu.ev_destroy(ev[i]);
    return ok;
}

bool cudrv_time(void *fn, const unsigned grid[3], const unsigned block[3], unsigned smem, void **args, int reps, float *ms)
{
    if (!set_dsmem(fn, smem)) return false;
    void *ev[2] = {NULL, NULL};
    if (!check(cu.ev_create(&ev[0], 0), "cuEventCreate") || !check(cu.ev_create(&ev[1], 0), "cuEventCreate")) return false;
    bool ok = check(cu.ev_record(ev[0], NULL), "cuEventRecord");
    for (int i = 0; ok && i < reps; i++)
        ok = check(cu.launch(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, NULL, args, NULL),
                   "cuLaunchKernel");
    ok = ok && check(cu.ev_record(ev[1], NULL), "cuEventRecord") && check(cu.ev_sync(ev[1]), "kernel execution") &&
         check(cu.ev_elapsed(ms, ev[0], ev[1]), "cuEventElapsedTime");
    if (ok) *ms /= (float)reps;
    cu.ev_destroy(ev[0]), cu.ev_destroy(ev[1]);
    return ok;
}
