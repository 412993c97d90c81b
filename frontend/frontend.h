/* frontend/frontend.h — table of contents of the ONNX frontend.
 *
 * onnx_import() reads a .onnx file into an IrGraph: protobuf-c decodes the model's structure, while the
 * weights stay in the memory-mapped file (wire.c cuts raw_data out before decoding, so nothing is copied)
 * and external data files are mapped too.  Every problem is reported (file, node, op, opset) before the
 * import gives up; a failed import returns NULL and leaves nothing behind.  The graph comes out in the IR's
 * canonical form: newest-opset signatures (upgrade.c), Constant nodes turned into constants, each node
 * with its PyTorch module scope (scope_names.c).
 */
#ifndef FRONTEND_H
#define FRONTEND_H

#include "ir.h"

/* onnx_import.c */
IrGraph *onnx_import(const char *path);
/* From memory (the fuzzer, tests): `data` must outlive the graph; base_dir resolves external data
 * (NULL: external data is refused). */
IrGraph *onnx_import_memory(const void *data, size_t len, const char *name, const char *base_dir);

/* wire.c — the skeleton: the model's bytes with every large TensorProto.raw_data replaced by a reference
 * (field WIRE_RAW_REF_FIELD, the span's index), validating the wire format of the messages on the way. */
#define WIRE_RAW_REF_FIELD 1000000   /* outside ONNX's field numbers; stripped from input models */
typedef struct {
    uint64_t offset, len;            /* within the original buffer */
} WireSpan;
typedef struct {
    uint8_t *data;                   /* malloc'd skeleton */
    size_t len;
    WireSpan *spans;                 /* malloc'd */
    uint32_t nspans;
} WireSkeleton;
bool onnx_wire_skeleton(const uint8_t *buf, size_t len, WireSkeleton *out, char *err, size_t errlen);
void onnx_wire_free(WireSkeleton *s);

/* scope_names.c — the module path of a node */
const char *onnx_scope_from_torchscript_name(M2cArena *a, const char *node_name);    /* NULL if none */
bool onnx_parse_py_list(M2cArena *a, const char *repr, const char ***items, uint32_t *n);
void onnx_scope_from_dynamo(M2cArena *a, const char *const *scopes, uint32_t nscopes, const char *const *classes,
                            uint32_t nclasses, const char **path, const char ***prefix_paths,
                            const char ***prefix_classes, uint32_t *nprefix);

#endif
