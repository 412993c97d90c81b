/* backends/candle/example.c — the crate's examples/run.rs: runs the model on inputs from a safetensors file
 * (named like the ONNX inputs) or random ones, writes the outputs, times forward.  A causal decoder with a KV
 * cache also gets --generate N: greedy decoding through the caches, the way candle-transformers' examples
 * generate, which the parity suite compares with PyTorch's greedy tokens. */
#include "cg.h"

#include <string.h>

/* d with the decoder's offset at 0: what a whole-input run sees */
static IrDim at_start(IrGraph *g, const PassKvInfo *kv, IrDim d)
{
    return kv ? ir_dim_subst(g, d, ir_dim_sym(g, kv->offset), ir_dim_const(g, 0)) : d;
}

/* --generate needs one output, the logits (batch, seq, vocab), and the incremental forward */
static bool can_generate(IrGraph *g, const PassKvInfo *kv)
{
    if (!kv || g->outputs.n != 1) return false;
    const IrValue *y = ir_val(g, g->outputs.v[0]), *t = ir_val(g, kv->tokens);
    return y->rank == 3 && ir_dtype_is_float(y->dtype) && t->rank == 2 && y->dims[1] == t->dims[1];
}

/* Greedy decoding: the prompt from position 0, then each argmax fed back at the next position */
static void generate_mode(CgOut *o, IrGraph *g, const PassKvInfo *kv, const char *tokens)
{
    const char *tdt = cg_candle_dtype(ir_val(g, kv->tokens)->dtype);
    cg_open(o, "if let Some(steps) = generate {");
    cg_line(o, "model.clear_kv_cache();");
    cg_line(o, "let start = Instant::now();");
    cg_line(o, "let mut logits = model.forward(&%s, 0)?;", tokens);
    cg_line(o, "let prompt = %s.dim(1)?;", tokens);
    cg_line(o, "let mut all_logits = vec![logits.clone()];");
    cg_line(o, "let mut generated = Vec::with_capacity(steps);");
    cg_open(o, "for offset in prompt..prompt + steps {");
    cg_line(o, "let last = logits.narrow(1, logits.dim(1)? - 1, 1)?;");
    cg_line(o, "let next = last.argmax_keepdim(D::Minus1)?.squeeze(2)?.to_dtype(%s)?;", tdt);
    cg_line(o, "logits = model.forward(&next, offset)?;");
    cg_line(o, "all_logits.push(logits.clone());");
    cg_line(o, "generated.push(next);");
    cg_close(o, "}");
    cg_line(o, "device.synchronize()?;");
    cg_line(o, "let secs = start.elapsed().as_secs_f64();");
    cg_line(o, "let tokens = Tensor::cat(&generated, 1)?;");
    cg_line(o, "println!(\"generated: {:?}\", tokens.to_dtype(DType::I64)?.to_vec2::<i64>()?);");
    cg_line(o, "println!(\"{steps} steps: {:.3} ms per token\", secs * 1e3 / steps.max(1) as f64);");
    cg_open(o, "if let Some(path) = files.get(1) {");
    cg_line(o, "let mut map = HashMap::new();");
    cg_line(o, "map.insert(\"tokens\".to_string(), tokens);");
    cg_line(o, "map.insert(\"logits\".to_string(), Tensor::cat(&all_logits, 1)?);");
    cg_line(o, "candle_core::safetensors::save(&map, path)?;");
    cg_close(o, "}");
    cg_line(o, "return Ok(());");
    cg_close(o, "}");
}

static int64_t index_range(IrGraph *g, uint32_t v)
{
    uint32_t n;
    const uint32_t *uses = ir_uses(g, v, &n);
    for (uint32_t i = 0; i < n; i++) {
        const IrNode *u = ir_node(g, uses[i]);
        if (u->op != IR_OP_GATHER || u->nin < 2 || u->in[1] != v) continue;
        const IrValue *data = ir_val(g, u->in[0]);
        int64_t axis = ir_attr_int(u, "axis", 0), rows;
        if (axis < 0) axis += data->rank;
        if (axis >= 0 && axis < data->rank && ir_dim_const_value(g, data->dims[axis], &rows)) return rows;
    }
    return 0;
}

char *cg_example(IrGraph *g, const char *name, const PassKvInfo *kv)
{
    CgOut o = {{0}, 0};
    bool gen = can_generate(g, kv);
    const char *tokens_var = NULL;
    cg_line(&o, "//! Runs the generated model once and prints what it returned.");
    cg_line(&o, "//!");
    cg_line(&o, "//!     cargo run --release --example run -- [IN.safetensors [OUT.safetensors]] [--dim NAME=SIZE]...");
    cg_line(&o, "//!         [--weights FILE.safetensors] [--repeat N] [--cuda]");
    cg_line(&o, "//!");
    cg_line(&o, "//! Without an input file the inputs are random, with the symbolic dims given by --dim (default 2).");
    cg_line(&o, "//! --weights loads another checkpoint with the same names, e.g. one saved from the PyTorch model.");
    cg_line(&o, "//! --repeat runs forward N times and reports the median time.");
    if (gen) {
        cg_line(&o, "//! --generate N: greedy decoding with the KV caches, N tokens after the input's `%s` (the",
                ir_val(g, kv->tokens)->name);
        cg_line(&o, "//! prompt); prints them and writes `tokens` and the `logits` of every position to OUT.");
    }
    cg_line(&o, gen ? "use candle_core::{DType, Device, Tensor, D};" : "use candle_core::{DType, Device, Tensor};");
    cg_line(&o, "use std::collections::HashMap;");
    cg_line(&o, "use std::time::Instant;");
    cg_line(&o, "use %s::Model;", name);
    cg_blank(&o);
    cg_line(&o, "type Error = Box<dyn std::error::Error>;");
    cg_blank(&o);
    cg_open(&o, "fn read_input(inputs: &HashMap<String, Tensor>, name: &str, dtype: DType) -> Result<Tensor, Error> {");
    cg_line(&o, "let t = inputs.get(name).ok_or_else(|| format!(\"input file has no tensor '{name}'\"))?;");
    cg_line(&o, "Ok(t.to_dtype(dtype)?)");
    cg_close(&o, "}");
    cg_blank(&o);
    cg_open(&o, "fn random_inputs(dims: &HashMap<String, usize>, device: &Device) -> Result<HashMap<String, Tensor>, Error> {");
    cg_line(&o, "let dim = |name: &str| dims.get(name).copied().unwrap_or(2);");
    cg_line(&o, "let mut inputs = HashMap::new();");
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        uint32_t v = g->inputs.v[i];
        const IrValue *val = ir_val(g, v);
        M2cBuf shape = {0};
        m2c_buf_puts(&shape, "(");
        for (int k = 0; k < val->rank; k++) {
            int64_t c;
            IrDim d = at_start(g, kv, val->dims[k]);
            if (ir_dim_const_value(g, d, &c))
                m2c_buf_printf(&shape, "%s%lld", k ? ", " : "", (long long)c);
            else
                m2c_buf_printf(&shape, "%sdim(\"%s\")", k ? ", " : "", ir_dim_str(g, d));
        }
        m2c_buf_puts(&shape, val->rank == 1 ? ",)" : ")");
        const char *t;
        if (ir_dtype_is_float(val->dtype)) {
            t = m2c_sprintf(g->arena, "Tensor::randn(0f32, 1f32, %s, device)?.to_dtype(%s)?", shape.s,
                            cg_candle_dtype(val->dtype));
        } else {
            int64_t hi = index_range(g, v);
            t = hi > 0 ? m2c_sprintf(g->arena, "Tensor::rand(0f32, %lld.0, %s, device)?.floor()?.to_dtype(%s)?",
                                     (long long)hi, shape.s, cg_candle_dtype(val->dtype))
                       : m2c_sprintf(g->arena, "Tensor::ones(%s, %s, device)?", shape.s, cg_candle_dtype(val->dtype));
        }
        cg_line(&o, "inputs.insert(\"%s\".to_string(), %s);", val->name, t);
        m2c_buf_free(&shape);
    }
    cg_line(&o, "Ok(inputs)");
    cg_close(&o, "}");
    cg_blank(&o);
    cg_open(&o, "fn main() -> Result<(), Error> {");
    cg_line(&o, "let mut files = Vec::new();");
    cg_line(&o, "let mut dims = HashMap::new();");
    cg_line(&o, "let mut cuda = false;");
    cg_line(&o, "let mut repeat = 1usize;");
    if (gen) cg_line(&o, "let mut generate = None;");
    cg_line(&o, "let mut weights = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/model.safetensors\").to_string();");
    cg_line(&o, "let mut args = std::env::args().skip(1);");
    cg_open(&o, "while let Some(arg) = args.next() {");
    cg_open(&o, "if arg == \"--dim\" {");
    cg_line(&o, "let kv = args.next().ok_or(\"--dim needs NAME=SIZE\")?;");
    cg_line(&o, "let (k, v) = kv.split_once('=').ok_or(\"--dim needs NAME=SIZE\")?;");
    cg_line(&o, "dims.insert(k.to_string(), v.parse::<usize>()?);");
    cg_close(&o, "} else if arg == \"--weights\" {");
    o.indent++;
    cg_line(&o, "weights = args.next().ok_or(\"--weights needs a file\")?;");
    cg_close(&o, "} else if arg == \"--repeat\" {");
    o.indent++;
    cg_line(&o, "repeat = args.next().ok_or(\"--repeat needs a count\")?.parse::<usize>()?.max(1);");
    if (gen) {
        cg_close(&o, "} else if arg == \"--generate\" {");
        o.indent++;
        cg_line(&o, "generate = Some(args.next().ok_or(\"--generate needs a count\")?.parse::<usize>()?);");
    }
    cg_close(&o, "} else if arg == \"--cuda\" {");
    o.indent++;
    cg_line(&o, "cuda = true;");
    cg_close(&o, "} else {");
    o.indent++;
    cg_line(&o, "files.push(arg);");
    cg_close(&o, "}");
    cg_close(&o, "}");
    cg_line(&o, "let device = if cuda { Device::new_cuda(0)? } else { Device::Cpu };");
    cg_line(&o, "let %smodel = Model::load(&weights, &device)?;", kv ? "mut " : "");
    cg_open(&o, "let inputs = match files.first() {");
    cg_line(&o, "Some(path) => candle_core::safetensors::load(path, &device)?,");
    cg_line(&o, "None => random_inputs(&dims, &device)?,");
    cg_close(&o, "};");
    M2cBuf args = {0};
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        const IrValue *val = ir_val(g, g->inputs.v[i]);
        /* the input's own name, unless main() already uses it */
        static const char *const taken[] = {"files", "dims", "cuda", "weights", "args", "arg", "device", "model",
                                            "inputs", "start", "outputs", "times", "names", "read_input", "repeat", "first", "median",
                                            "random_inputs", "main", "map", "path", NULL};
        const char *var = cg_snake(g->arena, val->name);
        for (const char *const *t = taken; *t; t++)
            if (strcmp(*t, var) == 0) var = m2c_sprintf(g->arena, "%s_in", var);
        cg_line(&o, "let %s = read_input(&inputs, \"%s\", %s)?;", var, val->name, cg_candle_dtype(val->dtype));
        if (kv && g->inputs.v[i] == kv->tokens) tokens_var = var;
        m2c_buf_printf(&args, "%s&%s", i ? ", " : "", var);
    }
    if (gen) generate_mode(&o, g, kv, tokens_var);
    /* a decoder runs the whole input from position 0, its caches emptied first */
    const char *call = kv ? m2c_sprintf(g->arena, "%s(%s, 0)", kv->nmasks ? "forward_with_mask" : "forward", args.s)
                          : m2c_sprintf(g->arena, "forward(%s)", args.s ? args.s : "");
    const char *clear = kv ? "model.clear_kv_cache();" : NULL;
    if (clear) cg_line(&o, "%s", clear);
    cg_line(&o, "let start = Instant::now();");
    if (g->outputs.n == 1) {
        cg_line(&o, "let outputs = [model.%s?];", call);
    } else {
        M2cBuf outs = {0};
        for (uint32_t i = 0; i < g->outputs.n; i++) m2c_buf_printf(&outs, "%so%u", i ? ", " : "", i);
        cg_line(&o, "let (%s) = model.%s?;", outs.s, call);
        cg_line(&o, "let outputs = [%s];", outs.s);
        m2c_buf_free(&outs);
    }
    cg_line(&o, "device.synchronize()?;");
    cg_line(&o, "let mut times = vec![start.elapsed().as_secs_f64()];");
    cg_open(&o, "for _ in 1..repeat {");
    if (clear) cg_line(&o, "%s", clear);
    cg_line(&o, "let start = Instant::now();");
    cg_line(&o, "model.%s?;", call);
    cg_line(&o, "device.synchronize()?;");
    cg_line(&o, "times.push(start.elapsed().as_secs_f64());");
    cg_close(&o, "}");
    M2cBuf names_list = {0};
    for (uint32_t i = 0; i < g->outputs.n; i++)
        m2c_buf_printf(&names_list, "%s\"%s\"", i ? ", " : "", ir_val(g, g->outputs.v[i])->name);
    cg_line(&o, "let names = [%s];", names_list.s);
    cg_open(&o, "for (name, t) in names.iter().zip(outputs.iter()) {");
    cg_line(&o, "println!(\"{name}: {:?} {:?}\", t.dtype(), t.dims());");
    cg_close(&o, "}");
    cg_open(&o, "if repeat == 1 {");
    cg_line(&o, "println!(\"forward: {:.3} ms\", times[0] * 1e3);");
    cg_close(&o, "} else {");
    o.indent++;
    cg_line(&o, "let first = times[0];");
    cg_line(&o, "times.sort_by(f64::total_cmp);");
    cg_line(&o, "let median = times[times.len() / 2];");
    cg_line(&o, "println!(\"forward: {:.3} ms median of {repeat} (first {:.3} ms)\", median * 1e3, first * 1e3);");
    cg_close(&o, "}");
    cg_open(&o, "if let Some(path) = files.get(1) {");
    cg_line(&o, "let map: HashMap<String, Tensor> =");
    o.indent++;
    cg_line(&o, "names.iter().map(|n| n.to_string()).zip(outputs.iter().cloned()).collect();");
    o.indent--;
    cg_line(&o, "candle_core::safetensors::save(&map, path)?;");
    cg_close(&o, "}");
    cg_line(&o, "Ok(())");
    cg_close(&o, "}");
    m2c_buf_free(&args);
    m2c_buf_free(&names_list);
    return o.buf.s;
}

