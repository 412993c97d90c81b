//! Depthwise conv1d (groups = channels): candle 0.11's grouped `conv1d`, which launches one convolution per
//! channel, against the `conv_taps` helper that ml2candle copies into generated crates (included from the
//! backend's source, so this measures what is shipped).
//!
//!     cargo run --release [--features cuda] -- [--cuda]
use candle_core::{DType, Device, Result, Tensor};
use std::time::Instant;

include!("../../../backends/candle/rust/conv_taps.rs");

fn time<F: FnMut() -> Result<Tensor>>(name: &str, dev: &Device, mut f: F) -> Result<Tensor> {
    let mut out = f()?;
    dev.synchronize()?;
    let iters = 50;
    let start = Instant::now();
    for _ in 0..iters {
        out = f()?;
    }
    dev.synchronize()?;
    println!("  {name}: {:.3} ms", start.elapsed().as_secs_f64() * 1e3 / iters as f64);
    Ok(out)
}

fn main() -> Result<()> {
    let dev = if std::env::args().any(|a| a == "--cuda") { Device::new_cuda(0)? } else { Device::Cpu };
    for &(c, l, k) in &[(256usize, 4096usize, 7usize), (512, 16000, 7), (64, 1024, 3), (1024, 4096, 31)] {
        let p = k / 2;
        println!("== input (1, {c}, {l}), kernel {k}, padding {p}, {dev:?}");
        let x = Tensor::randn(0f32, 1f32, (1, c, l), &dev)?;
        let w = Tensor::randn(0f32, 1f32, (c, 1, k), &dev)?;
        let a = time("candle conv1d(groups = C)", &dev, || x.conv1d(&w, p, 1, 1, c))?;
        let b = time("conv_taps (generated code)", &dev, || {
            conv_taps(&x.pad_with_zeros(2, p, p)?, &w, &[1], &[1], c)
        })?;
        let diff = (a - b)?.abs()?.flatten_all()?.max(0)?.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        println!("  max |difference|: {diff:.2e}");
    }
    Ok(())
}
