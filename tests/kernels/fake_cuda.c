/* tests/kernels/fake_cuda.c — a stand-in libcuda.so.1 for testing the validator without a GPU: one device,
 * host memory for device memory, modules that load anything, and launches that do nothing.  A kernel that
 * writes nothing is what the validator must catch (its output stays poisoned): with this driver every kernel
 * has to FAIL and `validate` has to exit 4 (tests/kernels/validate_poison.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define API __attribute__((visibility("default")))
typedef unsigned long long Ptr;

API int cuInit(unsigned f) { return 0; }
API int cuDriverGetVersion(int *v) { return *v = 13000, 0; }
API int cuDeviceGetCount(int *n) { return *n = 1, 0; }
API int cuDeviceGet(int *d, int i) { return *d = 0, 0; }
API int cuDeviceGetName(char *s, int n, int d) { strncpy(s, "fake GPU (tests/kernels/fake_cuda.c)", (size_t)n); return 0; }
API int cuDeviceGetAttribute(int *v, int a, int d) { return *v = a == 75 ? 9 : 0, 0; }
API int cuDevicePrimaryCtxRetain(void **c, int d) { static int ctx; return *c = &ctx, 0; }
API int cuCtxSetCurrent(void *c) { return 0; }
API int cuModuleLoadDataEx(void **m, const void *ptx, unsigned n, int *o, void **v) { static int mod; return *m = &mod, 0; }
API int cuModuleUnload(void *m) { return 0; }
API int cuModuleGetFunction(void **f, void *m, const char *name) { static int fn; return *f = &fn, 0; }
API int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                       unsigned smem, void *stream, void **args, void **extra) { return 0; }
API int cuMemAlloc_v2(Ptr *p, size_t n) { void *m = malloc(n); return *p = (Ptr)(uintptr_t)m, m ? 0 : 2; }
API int cuMemFree_v2(Ptr p) { free((void *)(uintptr_t)p); return 0; }
API int cuMemcpyHtoD_v2(Ptr d, const void *s, size_t n) { memcpy((void *)(uintptr_t)d, s, n); return 0; }
API int cuMemcpyDtoH_v2(void *d, Ptr s, size_t n) { memcpy(d, (const void *)(uintptr_t)s, n); return 0; }
API int cuCtxSynchronize(void) { return 0; }
API int cuEventCreate(void **e, unsigned f) { *e = malloc(1); return 0; }
API int cuEventRecord(void *e, void *s) { return 0; }
API int cuEventSynchronize(void *e) { return 0; }
API int cuEventDestroy_v2(void *e) { free(e); return 0; }
API int cuEventElapsedTime(float *ms, void *a, void *b) { return *ms = 0, 0; }
API int cuFuncSetAttribute(void *f, int a, int v) { return 0; }
API int cuGetErrorName(int r, const char **s) { return *s = "CUDA_ERROR_FAKE", 0; }
/* NVRTC looks the driver up too (to ask it things through an export table): say there is none */
API int cuGetExportTable(const void **table, const void *id) { return *table = NULL, 500; }
