//! candle_onnx_runner MODEL.onnx INPUTS.safetensors REPEAT — the median time of candle-onnx's simple_eval
//! on the given inputs (named like the ONNX inputs), as the baseline of bench/bench_bert_cpu.sh.
use std::collections::HashMap;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: candle_onnx_runner MODEL.onnx INPUTS.safetensors REPEAT".into());
    }
    let device = candle_core::Device::Cpu;
    let model = candle_onnx::read_file(&args[1])?;
    let inputs: HashMap<String, candle_core::Tensor> = candle_core::safetensors::load(&args[2], &device)?;
    let repeat: usize = args[3].parse()?;
    let mut times = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        let out = candle_onnx::simple_eval(&model, inputs.clone())?;
        times.push(start.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    println!("candle-onnx: {:.3} ms median of {repeat} (first {:.3} ms)", times[times.len() / 2] * 1e3, first * 1e3);
    Ok(())
}
