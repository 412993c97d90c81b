/* backends/candle/names.c — Rust identifiers and candle's names for element types. */
#include "cg.h"

#include <ctype.h>
#include <string.h>

static const char *keywords[] = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", NULL,
};

static bool is_keyword(const char *s)
{
    for (const char **k = keywords; *k; k++)
        if (strcmp(*k, s) == 0) return true;
    return false;
}

/* "encoder.layer.0/Attention-Out" -> "encoder_layer_0_attention_out"; runs of separators collapse, camel
 * humps split (BatchNorm -> batch_norm), a leading digit gets a prefix, keywords get a trailing underscore. */
const char *cg_snake(M2cArena *a, const char *s)
{
    M2cBuf b = {0};
    bool sep = false;
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c)) {
            bool hump = isupper(c) && i > 0 && (islower((unsigned char)s[i - 1]) ||
                                                (isupper((unsigned char)s[i - 1]) && islower((unsigned char)s[i + 1])));
            if ((sep || hump) && b.len) m2c_buf_putc(&b, '_');
            sep = false;
            m2c_buf_putc(&b, (char)tolower(c));
        } else {
            sep = true;
        }
    }
    const char *r = b.s ? b.s : "";
    const char *out;
    if (!r[0])
        out = "x";
    else if (isdigit((unsigned char)r[0]))
        out = m2c_sprintf(a, "v%s", r);
    else if (is_keyword(r))
        out = m2c_sprintf(a, "%s_", r);
    else
        out = m2c_strdup(a, r);
    m2c_buf_free(&b);
    return out;
}

const char *cg_camel(M2cArena *a, const char *s)
{
    M2cBuf b = {0};
    bool up = true;
    /* an all-capitals name (GLU, MLP) is an acronym: Glu, Mlp, as Rust style (and clippy) want */
    bool acronym = true;
    for (size_t i = 0; s[i]; i++) acronym &= !islower((unsigned char)s[i]);
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c)) {
            up = true;
            continue;
        }
        m2c_buf_putc(&b, (char)(up ? toupper(c) : acronym ? tolower(c) : c));
        up = false;
    }
    const char *r = b.s ? b.s : "";
    const char *out = !r[0] ? "Module" : isdigit((unsigned char)r[0]) ? m2c_sprintf(a, "M%s", r) : m2c_strdup(a, r);
    if (strcmp(out, "Self") == 0) out = "SelfModule";
    m2c_buf_free(&b);
    return out;
}

IrDType cg_storage_dtype(IrDType t)
{
    switch (t) {
    case DT_BOOL: return DT_U8;
    case DT_I8: return DT_I16;
    case DT_U16: return DT_U32;
    case DT_U64: return DT_I64;
    default: return t;
    }
}

const char *cg_candle_dtype(IrDType t)
{
    switch (cg_storage_dtype(t)) {
    case DT_F32: return "DType::F32";
    case DT_F16: return "DType::F16";
    case DT_BF16: return "DType::BF16";
    case DT_F64: return "DType::F64";
    case DT_I64: return "DType::I64";
    case DT_I32: return "DType::I32";
    case DT_I16: return "DType::I16";
    case DT_U32: return "DType::U32";
    case DT_U8: return "DType::U8";
    default: return NULL;
    }
}

const char *cg_rust_type(IrDType t)
{
    switch (cg_storage_dtype(t)) {
    case DT_F32: return "f32";
    case DT_F16: return "half::f16";
    case DT_BF16: return "half::bf16";
    case DT_F64: return "f64";
    case DT_I64: return "i64";
    case DT_I32: return "i32";
    case DT_I16: return "i16";
    case DT_U32: return "u32";
    case DT_U8: return "u8";
    default: return NULL;
    }
}
