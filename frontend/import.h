/* frontend/import.h — the importer's state, shared by onnx_import.c, tensor_import.c and upgrade.c. */
#ifndef IMPORT_H
#define IMPORT_H

#include "frontend.h"
#include "onnx.pb-c.h"

typedef struct {
    const char *location;   /* as written in the model */
    const uint8_t *data;    /* mapped; NULL when it could not be (already reported) */
    uint64_t size;
} ExtFile;

typedef struct {
    IrGraph *g;
    const char *path;       /* model path, for messages */
    const char *base_dir;   /* external data is resolved (and confined) here; NULL refuses it */
    const uint8_t *buf;     /* the model's bytes (mapped or caller's) */
    size_t len;
    WireSkeleton skel;
    M2C_VEC(ExtFile) ext;
    M2cMap functions;       /* model-local functions, "domain\x1fname" (built when first needed) */
    M2cMap symbols;         /* symbol name -> index in g->symbols */
    uint64_t dense_bytes;   /* sparse tensors densified so far */
    bool dense_refused;     /* the budget ran out (reported) */
} Importer;

/* tensor_import.c */
IrTensor *onnx_tensor(Importer *imp, const Onnx__TensorProto *t, const char *what);
IrTensor *onnx_sparse_tensor(Importer *imp, const Onnx__SparseTensorProto *t, const char *what);
bool onnx_map_file(IrGraph *g, const char *path, const uint8_t **data, uint64_t *size);

/* upgrade.c */
void onnx_upgrade_node(Importer *imp, IrNode *n);

#endif
