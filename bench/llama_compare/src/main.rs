//! bench_llama_compare CRATES_DIR WEIGHTS.safetensors BATCH SEQ REPEAT [--engines a,b,..] [--decode N] [--raw TIMES.jsonl]
//!
//! CPU latency of a LLaMA-shaped decoder through several engines, interleaved in one process (each round
//! runs every engine once, the order rotating; round 0 is the warm-up and is not counted):
//!
//! * prefill: BATCH x SEQ tokens (mask of ones) from an empty state, REPEAT rounds;
//! * with --decode N (engines with a KV cache): a prefill of the same prompt, then N greedy steps of one
//!   token each, the engines taking their steps in turn; each step is one sample.
//!
//! Engines: ts, dynamo (the generated crates, fused; prefill through forward_with_mask, decoding through
//! forward(ids, seqlen_offset)), ts_nofuse, dynamo_nofuse (converted with --no-fuse: no KV cache, prefill
//! only), ts_kcpu, dynamo_kcpu (fused and converted with --kernels cpu: the fused groups as the LLVM
//! backend's static library) and hand (candle-transformers 0.11's llama::Llama on WEIGHTS.safetensors, which
//! has HF names: the PyTorch state_dict or a generated crate's model.safetensors; the config written by hand
//! from bench/make_llama.py; it returns the last position's logits only).
//!
//! Prints the median, the interquartile range and the process CPU time per engine, the largest difference
//! of the last position's logits from the first engine's, and the spread of the 1-minute load average
//! sampled every round; --raw appends every time to a JSON-lines file.
use std::time::Instant;

use candle_core::{DType, Device, IndexOp, Tensor, D};
use candle_transformers::models::llama;

type Error = Box<dyn std::error::Error>;
type R<T> = candle_core::Result<T>;

trait Engine {
    /// Logits of the last position, (batch, vocab), from an empty state.
    fn prefill(&mut self, ids: &Tensor, mask: &Tensor) -> R<Tensor>;
    /// One more token per row at position `offset`; logits (batch, vocab).
    fn step(&mut self, _ids: &Tensor, _offset: usize) -> R<Tensor> {
        candle_core::bail!("no KV cache")
    }
    /// From now on, keep the KV cache for `step`.
    fn use_cache(&mut self) -> R<()> {
        Ok(())
    }
}

fn last(logits: Tensor) -> R<Tensor> {
    match logits.rank() {
        3 => logits.i((.., logits.dim(1)? - 1)),
        _ => Ok(logits),
    }
}

macro_rules! fused {
    ($name:ident, $krate:ident) => {
        struct $name($krate::Model);
        impl Engine for $name {
            fn prefill(&mut self, ids: &Tensor, mask: &Tensor) -> R<Tensor> {
                self.0.clear_kv_cache();
                last(self.0.forward_with_mask(ids, mask, 0)?)
            }
            fn step(&mut self, ids: &Tensor, offset: usize) -> R<Tensor> {
                last(self.0.forward(ids, offset)?)
            }
        }
    };
}
macro_rules! unfused {
    ($name:ident, $krate:ident) => {
        struct $name($krate::Model);
        impl Engine for $name {
            fn prefill(&mut self, ids: &Tensor, mask: &Tensor) -> R<Tensor> {
                last(self.0.forward(ids, mask)?)
            }
        }
    };
}
fused!(Ts, bench_llama_ts);
fused!(Dynamo, bench_llama_dynamo);
fused!(TsKcpu, bench_llama_ts_kcpu);
fused!(DynamoKcpu, bench_llama_dynamo_kcpu);
unfused!(TsNofuse, bench_llama_ts_nofuse);
unfused!(DynamoNofuse, bench_llama_dynamo_nofuse);

/// candle-transformers' llama with the config of bench/make_llama.py.
struct Hand {
    model: llama::Llama,
    config: llama::Config,
    cache: llama::Cache,
}

impl Hand {
    fn load(path: &std::path::Path) -> R<Self> {
        let config = llama::Config {
            hidden_size: 512,
            intermediate_size: 1408,
            vocab_size: 32000,
            num_hidden_layers: 4,
            num_attention_heads: 8,
            num_key_value_heads: 2,
            use_flash_attn: false,
            rms_norm_eps: 1e-6,
            rope_theta: 10000.0,
            bos_token_id: Some(1),
            eos_token_id: None,
            rope_scaling: None,
            max_position_embeddings: 2048,
            tie_word_embeddings: false,
        };
        // SAFETY: the file is mapped read-only and is not changed while the model is alive.
        let vb = unsafe {
            candle_nn::VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu)?
        };
        let model = llama::Llama::load(vb, &config)?;
        let cache = llama::Cache::new(false, DType::F32, &config, &Device::Cpu)?;
        Ok(Self {
            model,
            config,
            cache,
        })
    }
}

impl Engine for Hand {
    fn prefill(&mut self, ids: &Tensor, _mask: &Tensor) -> R<Tensor> {
        if self.cache.use_kv_cache {
            // a fresh cache for a new sequence (its rotary tables are built here, outside any step)
            self.cache = llama::Cache::new(true, DType::F32, &self.config, &Device::Cpu)?;
        }
        self.model.forward(ids, 0, &mut self.cache)
    }
    fn step(&mut self, ids: &Tensor, offset: usize) -> R<Tensor> {
        self.model.forward(ids, offset, &mut self.cache)
    }
    fn use_cache(&mut self) -> R<()> {
        self.cache = llama::Cache::new(true, DType::F32, &self.config, &Device::Cpu)?;
        Ok(())
    }
}

fn engine(name: &str, dir: &std::path::Path, hf: &std::path::Path) -> R<Box<dyn Engine>> {
    let w = |c: &str| dir.join(c).join("model.safetensors");
    let dev = Device::Cpu;
    Ok(match name {
        "ts" => Box::new(Ts(bench_llama_ts::Model::load(w("bench_llama_ts"), &dev)?)),
        "dynamo" => Box::new(Dynamo(bench_llama_dynamo::Model::load(
            w("bench_llama_dynamo"),
            &dev,
        )?)),
        "ts_nofuse" => Box::new(TsNofuse(bench_llama_ts_nofuse::Model::load(
            w("bench_llama_ts_nofuse"),
            &dev,
        )?)),
        "dynamo_nofuse" => Box::new(DynamoNofuse(bench_llama_dynamo_nofuse::Model::load(
            w("bench_llama_dynamo_nofuse"),
            &dev,
        )?)),
        "ts_kcpu" => Box::new(TsKcpu(bench_llama_ts_kcpu::Model::load(
            w("bench_llama_ts_kcpu"),
            &dev,
        )?)),
        "dynamo_kcpu" => Box::new(DynamoKcpu(bench_llama_dynamo_kcpu::Model::load(
            w("bench_llama_dynamo_kcpu"),
            &dev,
        )?)),
        "hand" => Box::new(Hand::load(hf)?),
        _ => candle_core::bail!("unknown engine {name}"),
    })
}

/// CPU time of the whole process (every thread, spin-waiting included), seconds.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The 1-minute load average (0 where /proc/loadavg cannot be read).
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}

/// Prints the spread of the sampled load averages.
fn print_loads(what: &str, loads: &[f64]) {
    let mut l = loads.to_vec();
    l.sort_by(f64::total_cmp);
    println!(
        "{what}: 1-minute load average, sampled each round: min {:.2} median {:.2} max {:.2}",
        l[0],
        quantile(&l, 0.5),
        l[l.len() - 1]
    );
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> R<f32> {
    (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}

struct Stats {
    ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    diff: f32,
}

impl Stats {
    fn new() -> Self {
        Self {
            ms: Vec::new(),
            cpu_ms: Vec::new(),
            diff: 0.0,
        }
    }
}

/// Times `f`, wall and process CPU, in ms.
fn timed<T>(f: impl FnOnce() -> R<T>) -> R<(T, f64, f64)> {
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let out = f()?;
    Ok((
        out,
        start.elapsed().as_secs_f64() * 1e3,
        (cpu_seconds() - cpu0) * 1e3,
    ))
}

fn report(
    what: &str,
    names: &[String],
    stats: &mut [Stats],
    shape: &[usize],
    raw: Option<&str>,
    loads: &[f64],
) -> Result<(), Error> {
    print_loads(what, loads);
    for (name, s) in names.iter().zip(stats.iter_mut()) {
        if s.ms.is_empty() {
            continue;
        }
        let mut t = s.ms.clone();
        t.sort_by(f64::total_cmp);
        let mut c = s.cpu_ms.clone();
        c.sort_by(f64::total_cmp);
        println!(
            "{what:<8} {name:<14} {shape:?} median {:9.2} ms  p25 {:9.2}  p75 {:9.2}  min {:9.2}  cpu {:9.2}  n {}  max|diff| vs {}: {:.2e}",
            quantile(&t, 0.5),
            quantile(&t, 0.25),
            quantile(&t, 0.75),
            t[0],
            quantile(&c, 0.5),
            t.len(),
            names[0],
            s.diff
        );
        if let Some(path) = raw {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let j = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                f,
                "{{\"engine\": \"{name}\", \"phase\": \"{what}\", \"shape\": {shape:?}, \"ms\": [{}], \"cpu_ms\": [{}], \"max_abs_diff\": [{:e}], \"vs\": \"{}\", \"load1\": [{}]}}",
                j(&s.ms),
                j(&s.cpu_ms),
                s.diff,
                names[0],
                j(loads)
            )?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err("usage: bench_llama_compare CRATES_DIR WEIGHTS.safetensors BATCH SEQ REPEAT [--engines a,b] [--decode N] [--raw FILE]".into());
    }
    let dir = std::path::PathBuf::from(&args[1]);
    let hf = std::path::PathBuf::from(&args[2]);
    let (batch, seq, repeat): (usize, usize, usize) =
        (args[3].parse()?, args[4].parse()?, args[5].parse()?);
    let mut names = "ts,dynamo,ts_nofuse,dynamo_nofuse,ts_kcpu,dynamo_kcpu,hand".to_string();
    let (mut decode, mut raw) = (0usize, None);
    let mut rest = args[6..].iter();
    while let Some(a) = rest.next() {
        let mut value = || rest.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--engines" => names = value()?.clone(),
            "--decode" => decode = value()?.parse()?,
            "--raw" => raw = Some(value()?.clone()),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let names: Vec<String> = names.split(',').map(str::to_string).collect();
    let mut engines = names
        .iter()
        .map(|n| engine(n, &dir, &hf))
        .collect::<R<Vec<_>>>()?;

    // token ids in 3 .. 32000 from a fixed LCG, the same for every engine
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let ids: Vec<i64> = (0..batch * seq)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            3 + ((state >> 33) % 31997) as i64
        })
        .collect();
    let dev = Device::Cpu;
    let ids = Tensor::from_vec(ids, (batch, seq), &dev)?;
    let mask = Tensor::ones((batch, seq), DType::I64, &dev)?;

    let n = engines.len();
    let mut stats: Vec<Stats> = (0..n).map(|_| Stats::new()).collect();
    let mut first = None;
    let mut loads = Vec::new();
    for round in 0..=repeat {
        loads.push(load1());
        for k in 0..n {
            let e = (round + k) % n;
            let (logits, ms, cpu) = timed(|| engines[e].prefill(&ids, &mask))?;
            if round == 0 {
                match &first {
                    None => first = Some(logits),
                    Some(f) => stats[e].diff = max_abs_diff(&logits, f)?,
                }
            } else {
                stats[e].ms.push(ms);
                stats[e].cpu_ms.push(cpu);
            }
        }
    }
    loads.push(load1());
    report(
        "prefill",
        &names,
        &mut stats,
        &[batch, seq],
        raw.as_deref(),
        &loads,
    )?;

    if decode > 0 {
        let dec: Vec<usize> = (0..n)
            .filter(|&e| names[e] != "ts_nofuse" && names[e] != "dynamo_nofuse")
            .collect();
        let mut stats: Vec<Stats> = (0..n).map(|_| Stats::new()).collect();
        let mut next = vec![None; n];
        let mut tokens: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &e in &dec {
            engines[e].use_cache()?;
            let logits = engines[e].prefill(&ids, &mask)?;
            next[e] = Some(logits.argmax_keepdim(D::Minus1)?.to_dtype(DType::I64)?);
        }
        // every step's logits per engine, compared with the first decoding engine's once all have run
        let mut logits_of: Vec<Vec<Tensor>> = vec![Vec::new(); n];
        let mut loads = Vec::new();
        for step in 0..decode {
            loads.push(load1());
            for k in 0..dec.len() {
                let e = dec[(step + k) % dec.len()];
                let input = next[e].take().ok_or("no token")?;
                tokens[e].extend(
                    input
                        .flatten_all()?
                        .to_dtype(DType::U32)?
                        .to_vec1::<u32>()?,
                );
                let (logits, ms, cpu) = timed(|| engines[e].step(&input, seq + step))?;
                stats[e].ms.push(ms);
                stats[e].cpu_ms.push(cpu);
                next[e] = Some(logits.argmax_keepdim(D::Minus1)?.to_dtype(DType::I64)?);
                logits_of[e].push(logits);
            }
        }
        for &e in &dec {
            for (a, b) in logits_of[e].iter().zip(&logits_of[dec[0]]) {
                stats[e].diff = stats[e].diff.max(max_abs_diff(a, b)?);
            }
        }
        let dnames: Vec<String> = dec.iter().map(|&e| names[e].clone()).collect();
        let mut dstats: Vec<Stats> = dec
            .iter()
            .map(|&e| std::mem::replace(&mut stats[e], Stats::new()))
            .collect();
        loads.push(load1());
        report(
            "decode",
            &dnames,
            &mut dstats,
            &[batch, 1],
            raw.as_deref(),
            &loads,
        )?;
        for &e in &dec {
            let same = tokens[e] == tokens[dec[0]];
            println!(
                "tokens {:<14} {}",
                names[e],
                if same {
                    "same as the first engine's"
                } else {
                    "DIFFER"
                }
            );
        }
    }
    Ok(())
}
