//! bench_bert_compare CRATES_DIR INPUTS.safetensors REPEAT [--engines a,b,..] [--onnx DIR] [--save OUT.safetensors]
//!     [--ref REF.safetensors] [--raw TIMES.jsonl]
//!
//! CPU latency of BERT-base through several engines, interleaved in one process so that every engine sees
//! the same machine load: each round runs every engine once (the order rotates from round to round), the
//! first round is the warm-up and is not counted. Prints one line per engine with the median, the
//! interquartile range, the median process CPU time (all threads, spin-waiting included: with one
//! thread it is the work itself, little disturbed by other processes) and the largest difference of the
//! outputs from the first engine's (or from REF's, --ref: outputs an earlier run saved); --raw appends every
//! time to a JSON-lines file (bench/latency_table.py makes the table), --save writes the first engine's
//! outputs.
//!
//! The engines are loaded in the order given, and where an engine sits in that order can move its times by
//! a few percent on a shared machine (seen on the 2-core VM of bench/RESULTS.md with identical code under
//! two names); bench/bench_bert_cpu.sh therefore runs the list forward and reversed and pools the times.
//!
//! Engines:
//!   ts, dynamo                 the generated crates (fused), from the TorchScript and the dynamo export
//!   ts_nofuse, dynamo_nofuse   the same converted with --no-fuse
//!   ts_kcpu, dynamo_kcpu       the same converted with --kernels cpu (fused groups as the LLVM backend's
//!                              static library, called through CustomOp1 on the CPU)
//!   hand                       candle-transformers 0.11's BertModel (+ the pooler, one Linear and tanh),
//!                              loading the fused ts crate's model.safetensors
//!   onnx_ts, onnx_dynamo       candle-onnx 0.11's simple_eval on DIR/bert_base_{ts,dynamo}_for_candle_onnx.onnx
//!                              (LayerNormalization and a rank-4 Gather rewritten: bench/onnx_for_candle_onnx.py)
use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_transformers::models::bert;

type Error = Box<dyn std::error::Error>;
type Outputs = (Tensor, Tensor);

struct Inputs {
    input_ids: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor,
    all: HashMap<String, Tensor>,
}

/// One way of running the model: a name and a forward over the inputs.
struct Engine {
    name: &'static str,
    run: Box<dyn Fn(&Inputs) -> candle_core::Result<Outputs>>,
}

/// The hand-written model: candle-transformers' BertModel has no pooler, so it is added here as HF has it.
struct HandBert {
    bert: bert::BertModel,
    pooler: candle_nn::Linear,
}

impl HandBert {
    fn load(path: &std::path::Path, device: &Device) -> candle_core::Result<Self> {
        // BertConfig of bench/make_bert_base.py, written out by hand.
        let config = bert::Config {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: bert::HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: bert::PositionEmbeddingType::Absolute,
            use_cache: false,
            classifier_dropout: None,
            model_type: Some("bert".to_string()),
        };
        // SAFETY: the file is mapped read-only and is not changed while the model is alive.
        let vb =
            unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[path], DType::F32, device)? };
        Ok(Self {
            bert: bert::BertModel::load(vb.clone(), &config)?,
            pooler: candle_nn::linear(768, 768, vb.pp("pooler.dense"))?,
        })
    }

    fn forward(&self, x: &Inputs) -> candle_core::Result<Outputs> {
        let hidden = self
            .bert
            .forward(&x.input_ids, &x.token_type_ids, Some(&x.attention_mask))?;
        let pooled = self.pooler.forward(&hidden.i((.., 0))?)?.tanh()?;
        Ok((hidden, pooled))
    }
}

fn engine(
    name: &'static str,
    dir: &std::path::Path,
    onnx_dir: &std::path::Path,
) -> Result<Engine, Error> {
    let dev = Device::Cpu;
    let weights = |c: &str| dir.join(c).join("model.safetensors");
    macro_rules! generated {
        ($krate:ident) => {{
            let m = $krate::Model::load(weights(stringify!($krate)), &dev)?;
            Box::new(move |x: &Inputs| {
                m.forward(&x.input_ids, &x.attention_mask, &x.token_type_ids)
            })
        }};
    }
    let run: Box<dyn Fn(&Inputs) -> candle_core::Result<Outputs>> = match name {
        "ts" => generated!(bench_bert_ts),
        "dynamo" => generated!(bench_bert_dynamo),
        "ts_nofuse" => generated!(bench_bert_ts_nofuse),
        "dynamo_nofuse" => generated!(bench_bert_dynamo_nofuse),
        "ts_kcpu" => generated!(bench_bert_ts_kcpu),
        "dynamo_kcpu" => generated!(bench_bert_dynamo_kcpu),
        "hand" => {
            let m = HandBert::load(&weights("bench_bert_ts"), &dev)?;
            Box::new(move |x: &Inputs| m.forward(x))
        }
        "onnx_ts" | "onnx_dynamo" => {
            let file = if name == "onnx_ts" {
                "bert_base_ts_for_candle_onnx.onnx"
            } else {
                "bert_base_dynamo_for_candle_onnx.onnx"
            };
            let model = candle_onnx::read_file(onnx_dir.join(file))?;
            Box::new(move |x: &Inputs| {
                let mut out = candle_onnx::simple_eval(&model, x.all.clone())?;
                let get = |out: &mut HashMap<String, Tensor>, n: &str| {
                    out.remove(n)
                        .ok_or_else(|| candle_core::Error::Msg(format!("no output {n}")))
                };
                Ok((
                    get(&mut out, "last_hidden_state")?,
                    get(&mut out, "pooler_output")?,
                ))
            })
        }
        _ => return Err(format!("unknown engine {name}").into()),
    };
    Ok(Engine { name, run })
}

/// CPU time of the whole process (every thread, spinning included), seconds.
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

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
    (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: bench_bert_compare CRATES_DIR INPUTS.safetensors REPEAT [--engines a,b] [--onnx DIR] [--save OUT] [--ref REF] [--raw TIMES]".into());
    }
    let dir = std::path::PathBuf::from(&args[1]);
    let repeat: usize = args[3].parse()?;
    let mut names =
        "ts,dynamo,ts_nofuse,dynamo_nofuse,ts_kcpu,dynamo_kcpu,hand,onnx_ts".to_string();
    let mut onnx_dir = dir.parent().unwrap_or(&dir).to_path_buf();
    let mut save = None;
    let mut reference = None;
    let mut raw = None;
    let mut rest = args[4..].iter();
    while let Some(a) = rest.next() {
        let mut value = || rest.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--engines" => names = value()?.clone(),
            "--onnx" => onnx_dir = value()?.into(),
            "--save" => save = Some(value()?.clone()),
            "--ref" => reference = Some(value()?.clone()),
            "--raw" => raw = Some(value()?.clone()),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }

    let dev = Device::Cpu;
    let all = candle_core::safetensors::load(&args[2], &dev)?;
    let get = |n: &str| all.get(n).cloned().ok_or(format!("inputs have no {n}"));
    let inputs = Inputs {
        input_ids: get("input_ids")?,
        attention_mask: get("attention_mask")?,
        token_type_ids: get("token_type_ids")?,
        all: all.clone(),
    };
    let engines = names
        .split(',')
        .map(|n| {
            let n: &'static str = Box::leak(n.to_string().into_boxed_str());
            engine(n, &dir, &onnx_dir)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut times = vec![Vec::new(); engines.len()];
    let mut cpu_times = vec![Vec::new(); engines.len()];
    let mut diffs = vec![(0f32, 0f32); engines.len()];
    // the outputs every engine is compared with: REF's, else the first engine's (it runs first in round 0)
    let mut first: Option<Outputs> = match &reference {
        Some(path) => {
            let r = candle_core::safetensors::load(path, &dev)?;
            let get = |n: &str| r.get(n).cloned().ok_or(format!("{path} has no {n}"));
            Some((get("last_hidden_state")?, get("pooler_output")?))
        }
        None => None,
    };
    let vs = match &reference {
        Some(path) => path.clone(),
        None => names.split(',').next().unwrap_or("").to_string(),
    };
    let mut loads = Vec::new();
    for round in 0..=repeat {
        loads.push(load1());
        for k in 0..engines.len() {
            let e = (round + k) % engines.len();
            let start = Instant::now();
            let cpu0 = cpu_seconds();
            let out = (engines[e].run)(&inputs)?;
            let secs = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
            if round == 0 {
                // warm-up: not timed; check the outputs against the reference instead
                match &first {
                    None => first = Some(out),
                    Some(f) => {
                        diffs[e] = (max_abs_diff(&out.0, &f.0)?, max_abs_diff(&out.1, &f.1)?)
                    }
                }
            } else {
                times[e].push(secs * 1e3);
                cpu_times[e].push(cpu * 1e3);
            }
        }
    }
    loads.push(load1());
    for t in times.iter_mut().chain(cpu_times.iter_mut()) {
        t.sort_by(f64::total_cmp);
    }
    let mut sorted_loads = loads.clone();
    sorted_loads.sort_by(f64::total_cmp);
    println!(
        "1-minute load average, sampled before each round and at the end: min {:.2} median {:.2} max {:.2}",
        sorted_loads[0],
        quantile(&sorted_loads, 0.5),
        sorted_loads[sorted_loads.len() - 1]
    );
    let shape = inputs.input_ids.dims().to_vec();
    for (k, e) in engines.iter().enumerate() {
        let t = &times[k];
        println!(
            "{:<14} {:?} median {:9.2} ms  p25 {:9.2}  p75 {:9.2}  min {:9.2}  cpu {:9.2}  n {}  max|diff| vs {}: hidden {:.2e} pooled {:.2e}",
            e.name,
            shape,
            quantile(t, 0.5),
            quantile(t, 0.25),
            quantile(t, 0.75),
            t[0],
            quantile(&cpu_times[k], 0.5),
            t.len(),
            vs,
            diffs[k].0,
            diffs[k].1
        );
    }
    if let Some(path) = raw {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        for (k, e) in engines.iter().enumerate() {
            let ms: Vec<String> = times[k].iter().map(|t| format!("{t:.3}")).collect();
            let cpu: Vec<String> = cpu_times[k].iter().map(|t| format!("{t:.3}")).collect();
            writeln!(
                f,
                "{{\"engine\": \"{}\", \"shape\": {:?}, \"ms\": [{}], \"cpu_ms\": [{}], \"max_abs_diff\": [{:e}, {:e}], \"vs\": \"{}\", \"load1\": [{}]}}",
                e.name,
                shape,
                ms.join(", "),
                cpu.join(", "),
                diffs[k].0,
                diffs[k].1,
                vs,
                loads.iter().map(|l| format!("{l:.2}")).collect::<Vec<_>>().join(", ")
            )?;
        }
    }
    if let (Some(path), Some((h, p))) = (save, first) {
        let out: HashMap<String, Tensor> = [
            ("last_hidden_state".to_string(), h),
            ("pooler_output".to_string(), p),
        ]
        .into();
        candle_core::safetensors::save(&out, path)?;
    }
    Ok(())
}
