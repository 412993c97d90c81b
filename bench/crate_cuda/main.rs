//! bench/crate_cuda — crates generated with `ml2candle --kernels cuda`, built with candle's `cuda` feature, run
//! on the CPU and on the GPU with the same inputs: every output compared (DESIGN §6, f32: |gpu − cpu| ≤ 1e-4 +
//! 1e-4·|cpu|, and the relative L2 error), then the median time of a forward on the GPU.
//!
//!     crate_cuda DIR [REPEAT]
//!
//! DIR holds one folder per model (bert_ts, llama_dynamo) with its model.safetensors and *.in.safetensors.
//! The fused kernels run unless ML2CANDLE_NO_KERNELS is set (then the GPU runs candle's own ops): run it both
//! ways to compare.  llama_dynamo also decodes 16 greedy tokens through its KV caches on both devices.
//! Exits 1 if an output is out of tolerance or the greedy tokens differ.
use candle_core::{DType, Device, Tensor, D};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How far the GPU's output is from the CPU's.
struct Diff {
    max_abs: f64,
    rel_l2: f64,
    /// max over elements of |gpu − cpu| / (1e-4 + 1e-4·|cpu|): at most 1 within DESIGN §6
    tol: f64,
    /// FNV-1a of the GPU output's bits: tells the fused and the plain runs apart
    hash: u64,
}

fn diff(gpu: &Tensor, cpu: &Tensor) -> Res<Diff> {
    let g = gpu.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    let c = cpu.flatten_all()?.to_vec1::<f32>()?;
    let (mut max_abs, mut tol, mut num, mut den) = (0f64, 0f64, 0f64, 0f64);
    let mut hash = 0xcbf29ce484222325u64;
    for (&a, &b) in g.iter().zip(c.iter()) {
        let (a64, b64) = (a as f64, b as f64);
        let d = (a64 - b64).abs();
        let d = if d.is_nan() { f64::INFINITY } else { d };
        max_abs = max_abs.max(d);
        tol = tol.max(d / (1e-4 + 1e-4 * b64.abs()));
        num += d * d;
        den += b64 * b64;
        for byte in a.to_bits().to_le_bytes() {
            hash = (hash ^ byte as u64).wrapping_mul(0x100000001b3);
        }
    }
    Ok(Diff {
        max_abs,
        rel_l2: (num / den.max(f64::MIN_POSITIVE)).sqrt(),
        tol,
        hash,
    })
}

/// Median wall time of `f` in ms, the GPU synchronized after each call, after 3 warm-up calls.
fn median_ms(dev: &Device, repeat: usize, mut f: impl FnMut() -> candle_core::Result<()>) -> Res<f64> {
    for _ in 0..3 {
        f()?;
    }
    dev.synchronize()?;
    let mut t = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let start = Instant::now();
        f()?;
        dev.synchronize()?;
        t.push(start.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn report(model: &str, case: &str, names: &[&str], gpu: &[Tensor], cpu: &[Tensor], ok: &mut bool) -> Res<()> {
    for ((name, g), c) in names.iter().zip(gpu).zip(cpu) {
        let d = diff(g, c)?;
        let pass = d.tol <= 1.0;
        *ok &= pass;
        println!(
            "{model} {case} {name} {:?}: max_abs {:.3e} rel_l2 {:.3e} tol_ratio {:.3} hash {:016x} {}",
            c.dims(),
            d.max_abs,
            d.rel_l2,
            d.tol,
            d.hash,
            if pass { "ok" } else { "MISMATCH" }
        );
    }
    Ok(())
}

fn cases(dir: &Path) -> Res<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".in.safetensors"))
        .collect();
    v.sort();
    Ok(v)
}

fn case_name(p: &Path) -> String {
    let f = p.file_name().unwrap_or_default().to_string_lossy();
    f.trim_end_matches(".in.safetensors").to_string()
}

fn input(map: &std::collections::HashMap<String, Tensor>, name: &str, dev: &Device) -> Res<Tensor> {
    let t = map.get(name).ok_or_else(|| format!("no input {name}"))?;
    Ok(t.to_dtype(DType::I64)?.to_device(dev)?)
}

fn bert(dir: &Path, gpu: &Device, repeat: usize, ok: &mut bool) -> Res<()> {
    let weights = dir.join("model.safetensors");
    let on_cpu = bert_ts::Model::load(&weights, &Device::Cpu)?;
    let on_gpu = bert_ts::Model::load(&weights, gpu)?;
    for case in cases(dir)? {
        let map = candle_core::safetensors::load(&case, &Device::Cpu)?;
        let run = |m: &bert_ts::Model, dev: &Device| -> Res<Vec<Tensor>> {
            let ids = input(&map, "input_ids", dev)?;
            let mask = input(&map, "attention_mask", dev)?;
            let types = input(&map, "token_type_ids", dev)?;
            let (h, p) = m.forward(&ids, &mask, &types)?;
            Ok(vec![h, p])
        };
        let want = run(&on_cpu, &Device::Cpu)?;
        let got = run(&on_gpu, gpu)?;
        report("bert_ts", &case_name(&case), &["last_hidden_state", "pooler_output"], &got, &want, ok)?;
        let (ids, mask, types) = (
            input(&map, "input_ids", gpu)?,
            input(&map, "attention_mask", gpu)?,
            input(&map, "token_type_ids", gpu)?,
        );
        let ms = median_ms(gpu, repeat, || on_gpu.forward(&ids, &mask, &types).map(|_| ()))?;
        println!("bert_ts {} gpu forward {ms:.4} ms (median of {repeat})", case_name(&case));
    }
    Ok(())
}

fn llama(dir: &Path, gpu: &Device, repeat: usize, ok: &mut bool) -> Res<()> {
    let weights = dir.join("model.safetensors");
    let mut on_cpu = llama_dynamo::Model::load(&weights, &Device::Cpu)?;
    let mut on_gpu = llama_dynamo::Model::load(&weights, gpu)?;
    for case in cases(dir)? {
        let map = candle_core::safetensors::load(&case, &Device::Cpu)?;
        let run = |m: &mut llama_dynamo::Model, dev: &Device| -> Res<Vec<Tensor>> {
            m.clear_kv_cache();
            let ids = input(&map, "input_ids", dev)?;
            let mask = input(&map, "attention_mask", dev)?;
            Ok(vec![m.forward_with_mask(&ids, &mask, 0)?])
        };
        let want = run(&mut on_cpu, &Device::Cpu)?;
        let got = run(&mut on_gpu, gpu)?;
        report("llama_dynamo", &case_name(&case), &["logits"], &got, &want, ok)?;
        let (ids, mask) = (input(&map, "input_ids", gpu)?, input(&map, "attention_mask", gpu)?);
        let ms = median_ms(gpu, repeat, || {
            on_gpu.clear_kv_cache();
            on_gpu.forward_with_mask(&ids, &mask, 0).map(|_| ())
        })?;
        println!("llama_dynamo {} gpu forward {ms:.4} ms (median of {repeat})", case_name(&case));
    }
    // greedy decoding through the KV caches: the prompt, then one token a step
    let prompt = Tensor::new(&[[1i64, 17, 42, 7, 99, 3]], &Device::Cpu)?;
    let decode = |m: &mut llama_dynamo::Model, dev: &Device| -> Res<(Vec<u32>, Tensor, f64)> {
        m.clear_kv_cache();
        let start = Instant::now();
        let mut logits = m.forward(&prompt.to_device(dev)?, 0)?;
        let mut tokens = Vec::new();
        for step in 0..16 {
            let next = logits.narrow(1, logits.dim(1)? - 1, 1)?.argmax(D::Minus1)?;
            tokens.push(next.flatten_all()?.to_vec1::<u32>()?[0]);
            let offset = prompt.dim(1)? + step;
            logits = m.forward(&next.to_dtype(DType::I64)?, offset)?;
        }
        dev.synchronize()?;
        Ok((tokens, logits, start.elapsed().as_secs_f64() * 1e3))
    };
    let (want, want_logits, _) = decode(&mut on_cpu, &Device::Cpu)?;
    let (got, got_logits, ms) = decode(&mut on_gpu, gpu)?;
    let same = got == want;
    *ok &= same;
    println!(
        "llama_dynamo greedy 16 tokens: gpu {got:?} {} cpu ({ms:.2} ms on the gpu)",
        if same { "==" } else { "!= (MISMATCH)" }
    );
    report("llama_dynamo", "greedy", &["last logits"], &[got_logits], &[want_logits], ok)
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: crate_cuda DIR [REPEAT]")?);
    let repeat = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let gpu = Device::new_cuda(0)?;
    let kernels = std::env::var_os("ML2CANDLE_NO_KERNELS").is_none();
    println!("fused kernels: {}", if kernels { "on" } else { "off (candle's ops)" });
    let mut ok = true;
    bert(&dir.join("bert_ts"), &gpu, repeat, &mut ok)?;
    llama(&dir.join("llama_dynamo"), &gpu, repeat, &mut ok)?;
    println!("{}", if ok { "all within DESIGN §6" } else { "MISMATCH" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
