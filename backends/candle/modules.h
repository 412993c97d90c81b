/* backends/candle/modules.h — the module tree of modules.c, leaves.c and structs.c. */
#ifndef MODULES_H
#define MODULES_H

#include "cg.h"

typedef enum {
    MOD_STRUCT,        /* a struct of ours: fields, new(), forward() */
    MOD_LINEAR,        /* candle_nn::Linear */
    MOD_EMBEDDING,     /* candle_nn::Embedding */
    MOD_LAYER_NORM,    /* candle_nn::LayerNorm */
    MOD_RMS_NORM,      /* candle_nn::RmsNorm */
} ModKind;

typedef struct Mod Mod;

typedef struct {
    uint32_t node;     /* a node of the module itself, or UINT32_MAX */
    Mod *child;        /* or a call of a child module */
} ModItem;

struct Mod {
    uint32_t id;
    IrScopeId scope;
    const char *path;          /* "encoder.layer.0" */
    Mod *parent;
    const char *field;         /* field name in the parent ("layer", "query"); NULL: numbered child of a Sequential */
    int index;                 /* position in a ModuleList, -1 if none */
    const char *vb_path;       /* VarBuilder path from the parent: "query", "layer.0", "0" */
    ModKind kind;
    M2C_VEC(Mod *) children;
    M2C_VEC(uint32_t) nodes;   /* the module's own nodes, graph order */
    M2C_VEC(uint32_t) in;      /* values it reads from outside, first use first */
    M2C_VEC(uint32_t) out;     /* values it makes that outside reads */
    ModItem *items;            /* own nodes and child calls, in dependency order */
    uint32_t nitems;
    uint32_t first_node;
    /* leaves */
    uint32_t weight, bias;     /* param values */
    bool weight_transposed;    /* the ONNX weight is (in, out): stored transposed, as PyTorch has it */
    double eps;
    int64_t in_features, out_features;
    /* generation */
    const char *type_name;     /* Rust type */
    const char *code;          /* the struct and impl text of this instance (without the type name) */
    Mod *type_rep;             /* the first instance with the same code */
    const char *doc_path;      /* for a type: the path of its first instance in the model */
    const char *ctor_args;     /* constructor arguments before vb ("32, 96, "), when its type has parameters */
    const char *next_ctor_args;

    bool mutating;             /* it or a child keeps a KV cache: forward(&mut self), clear_kv_cache() */
    const char **fwd_params;   /* usize symbols the forward takes after the tensors */
    uint32_t nfwd_params;
    bool failed;
};

typedef struct {
    IrGraph *g;
    Mod *root;
    M2C_VEC(Mod *) mods;       /* parents before children */
    Mod **mod_of_scope;
    Mod **node_mod;            /* the module owning each node */
    bool *forced_inline;       /* scopes that must be inlined (their calls cannot be separated) */
    IrScopeId *node_scope;     /* each node's scope, after moving misplaced nodes into their module */
} ModTree;

/* modules.c */
bool mod_tree_build(ModTree *t, IrGraph *g);
bool mod_inside(const Mod *m, const Mod *x);     /* x is m or one of its descendants */

/* leaves.c — Linear, Embedding, LayerNorm recognized from their nodes */
void mod_classify_leaves(ModTree *t);

/* structs.c — src/model.rs from the tree */
bool cg_emit_module_model(CgCrate *c, CgOut *out, const char *doc);

#endif
