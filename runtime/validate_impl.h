/* runtime/validate_impl.h — what the two validators share (validate.c: CUDA through NVRTC and the driver;
 * validate_dev.c: a device table, the LLVM JIT): the per-group context, sizes for the symbols, role-aware random
 * inputs, the reference evaluation of the group's nodes, poisoning and the DESIGN §6 comparison
 * (validate_common.c).  Internal to runtime/. */
#ifndef M2C_VALIDATE_IMPL_H
#define M2C_VALIDATE_IMPL_H
#include "runtime.h"

typedef struct {
    uint32_t value;
    IrTensor *t;               /* in the value's graph dtype; data malloc'd */
} RefVal;

typedef struct {
    IrGraph *g;
    const RtValidateOptions *opt;
    KirGroup k;
    uint64_t rng;
    KirBind bind;
    const char *names[64];
    int64_t vals[64];
    bool user[64];
    RefVal refs[128];
    uint32_t nrefs;
    NvrtcCache *cache;
} Vcx;

uint64_t rtv_rng_next(uint64_t *s);
double rtv_rng_unit(uint64_t *s);
void rtv_bind_sym(Vcx *v, const char *name);
void rtv_bind_dim(Vcx *v, IrDim d);
bool rtv_shape_of(Vcx *v, int rank, const IrDim *dims, int64_t *out);
int rtv_arg_of(const KirGroup *k, uint32_t value);
IrTensor *rtv_ref_of(Vcx *v, uint32_t value);
void rtv_fill_random(Vcx *v, IrTensor *t, int arg);
IrTensor *rtv_ref_input(Vcx *v, uint32_t value, char *why, size_t nwhy);
void *rtv_convert(const IrTensor *t, IrDType to);
bool rtv_eval_node(Vcx *v, const IrNode *n, IrTensor **outs, char *why, size_t nwhy);
double rtv_compare(const IrTensor *ref, const void *gpu, IrDType dt, uint64_t *bad);
void rtv_poison(void *p, IrDType dt, uint64_t n);

#endif
