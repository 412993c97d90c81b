/// ONNX HannWindow (kind 0), HammingWindow (1) and BlackmanWindow (2) of `size` values in `dtype`:
/// N = size (periodic) or size - 1, computed in f64 as the ONNX reference writes them, then converted
/// (integer types truncate).
pub fn window(
    size: i64,
    kind: u8,
    periodic: bool,
    dtype: DType,
    dev: &candle_core::Device,
) -> Result<Tensor> {
    let len = usize::try_from(size)
        .map_err(|_| candle_core::Error::Msg(format!("window: size {size} is negative")))?;
    let big_n = if periodic { size } else { size - 1 } as f64;
    let pi = std::f64::consts::PI;
    let values: Vec<f64> = (0..len)
        .map(|i| {
            let n = i as f64;
            match kind {
                0 => (n * pi / big_n).sin().powi(2),
                1 => 25.0 / 46.0 - (n * pi * 2.0 / big_n).cos() * (1.0 - 25.0 / 46.0),
                _ => {
                    (n * (pi * 2.0) / big_n).cos() * -0.5
                        + (n * (pi * 4.0) / big_n).cos() * 0.08
                        + 0.42
                }
            }
        })
        .collect();
    Tensor::from_vec(values, len, dev)?.to_dtype(dtype)
}
