//! bench_cpu_kernels_compare FAMILY CRATES_DIR INPUTS.safetensors REPEAT [--raw TIMES.jsonl] [--save OUT.safetensors]
//!     [--only plain|kernels]
//!
//! CPU latency of one model family's generated crates, plain (`m6_<family>`) and with `--kernels cpu`
//! (`m6_<family>_k`), interleaved in one process so that both see the same machine load: each round runs both
//! once (the order alternates), the first round is the warm-up and is not counted.  Prints per engine the
//! median wall time, the interquartile range, the median process CPU time (all threads) and the largest
//! difference of its first output from the plain crate's; --raw appends every time to a JSON-lines file,
//! --save writes the plain crate's first output (to compare with ONNX Runtime); --only runs one of them (to
//! profile it).
//!
//! Families and their forward: bert (input_ids, attention_mask, token_type_ids -> hidden, pooled), llama
//! (input_ids, attention_mask -> logits; KV caches cleared before each run, positions from 0), conformer
//! (input, lengths -> output, lengths), hifigan (mel -> audio).
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Tensor};

type Error = Box<dyn std::error::Error>;
type Run = Box<dyn Fn(&HashMap<String, Tensor>) -> candle_core::Result<Tensor>>;

fn t<'a>(x: &'a HashMap<String, Tensor>, name: &str) -> candle_core::Result<&'a Tensor> {
    x.get(name).ok_or_else(|| candle_core::Error::Msg(format!("no input '{name}'")))
}

macro_rules! engines {
    ($family:expr, $dir:expr, $plain:ident, $kern:ident, |$m:ident, $x:ident| $body:expr) => {{
        let load = |name: &str| $dir.join(name).join("model.safetensors");
        let a = RefCell::new($plain::Model::load(load(concat!("m6_", stringify!($family))), &Device::Cpu)?);
        let b = RefCell::new($kern::Model::load(load(concat!("m6_", stringify!($family), "_k")), &Device::Cpu)?);
        let ra: Run = Box::new(move |$x| {
            #[allow(unused_mut)]
            let mut $m = a.borrow_mut();
            $body
        });
        let rb: Run = Box::new(move |$x| {
            #[allow(unused_mut)]
            let mut $m = b.borrow_mut();
            $body
        });
        vec![("plain", ra), ("kernels", rb)]
    }};
}

fn family(name: &str, dir: &std::path::Path) -> Result<Vec<(&'static str, Run)>, Error> {
    Ok(match name {
        "bert" => engines!(bert, dir, m6_bert, m6_bert_k, |m, x| {
            let (hidden, _pooled) = m.forward(t(x, "input_ids")?, t(x, "attention_mask")?, t(x, "token_type_ids")?)?;
            Ok(hidden)
        }),
        "llama" => engines!(llama, dir, m6_llama, m6_llama_k, |m, x| {
            m.clear_kv_cache();
            m.forward_with_mask(t(x, "input_ids")?, t(x, "attention_mask")?, 0)
        }),
        "conformer" => engines!(conformer, dir, m6_conformer, m6_conformer_k, |m, x| {
            let (out, _lengths) = m.forward(t(x, "input")?, t(x, "lengths")?)?;
            Ok(out)
        }),
        "hifigan" => engines!(hifigan, dir, m6_hifigan, m6_hifigan_k, |m, x| m.forward(t(x, "mel")?)),
        _ => return Err(format!("unknown family '{name}' (bert, llama, conformer, hifigan)").into()),
    })
}

fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err("usage: bench_cpu_kernels_compare FAMILY CRATES_DIR INPUTS.safetensors REPEAT [--raw F] [--save F]".into());
    }
    let (fam, dir, inputs, repeat) = (&args[1], std::path::Path::new(&args[2]), &args[3], args[4].parse::<usize>()?);
    let mut raw = None;
    let mut save = None;
    let mut only = None;
    let mut i = 5;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--raw" => raw = Some(args[i + 1].clone()),
            "--save" => save = Some(args[i + 1].clone()),
            "--only" => only = Some(args[i + 1].clone()),
            a => return Err(format!("unknown option {a}").into()),
        }
        i += 2;
    }
    let x = candle_core::safetensors::load(inputs, &Device::Cpu)?;
    let mut engines = family(fam, dir)?;
    if let Some(only) = &only {
        engines.retain(|(name, _)| name == only);
        if engines.is_empty() {
            return Err(format!("--only {only}: plain or kernels").into());
        }
    }
    // the largest input's shape names the run (as bench/ort_cpu_time.py does)
    let shape: Vec<usize> = x.values().max_by_key(|t| t.elem_count()).map(|t| t.dims().to_vec()).unwrap_or_default();
    let n = engines.len();
    let mut wall = vec![Vec::new(); n];
    let mut cpu = vec![Vec::new(); n];
    let mut loads = Vec::new();
    let mut outs: Vec<Option<Tensor>> = vec![None; n];
    for round in 0..=repeat {
        for k in 0..n {
            let e = if round % 2 == 0 { k } else { n - 1 - k };
            let (c0, t0) = (cpu_seconds(), Instant::now());
            let y = (engines[e].1)(&x)?;
            let (ms, cms) = (t0.elapsed().as_secs_f64() * 1e3, (cpu_seconds() - c0) * 1e3);
            if round == 0 {
                outs[e] = Some(y);
            } else {
                wall[e].push(ms);
                cpu[e].push(cms);
            }
        }
        if round > 0 {
            loads.push(load1());
        }
    }
    let reference = outs[0].clone().ok_or("no output")?;
    for k in 0..n {
        let mut w = wall[k].clone();
        let mut c = cpu[k].clone();
        w.sort_by(f64::total_cmp);
        c.sort_by(f64::total_cmp);
        let out = outs[k].as_ref().ok_or("no output")?;
        let diff = (out - &reference)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        println!(
            "{:<10} {:<8} {:?} median {:9.2} ms  p25 {:9.2}  p75 {:9.2}  min {:9.2}  cpu {:9.2}  n {}  max|diff| vs plain {:.2e}",
            fam,
            engines[k].0,
            shape,
            quantile(&w, 0.5),
            quantile(&w, 0.25),
            quantile(&w, 0.75),
            w[0],
            quantile(&c, 0.5),
            w.len(),
            diff
        );
        if let Some(path) = &raw {
            use std::io::Write;
            let f = |v: &[f64]| v.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", ");
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            writeln!(
                file,
                "{{\"family\": \"{fam}\", \"engine\": \"{}\", \"shape\": {:?}, \"ms\": [{}], \"cpu_ms\": [{}], \"max_abs_diff\": {:e}, \"load1\": [{}]}}",
                engines[k].0,
                shape,
                f(&wall[k]),
                f(&cpu[k]),
                diff,
                f(&loads)
            )?;
        }
    }
    if let Some(path) = save {
        candle_core::safetensors::save(&HashMap::from([("output".to_string(), reference)]), path)?;
    }
    Ok(())
}
