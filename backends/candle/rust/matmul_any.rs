/// Matrix product for the dtypes candle's GEMMs lack: integers go through f64 (exact below 2^53), bf16
/// through f32 on the CPU (its GEMM has no bf16).  Operands must be contiguous, as for `matmul`.
pub fn matmul_any(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dtype = a.dtype();
    let wide = match dtype {
        DType::F32 | DType::F64 | DType::F16 => return a.matmul(b),
        DType::BF16 if !a.device().is_cpu() => return a.matmul(b),
        DType::BF16 => DType::F32,
        _ => DType::F64,
    };
    a.to_dtype(wide)?.matmul(&b.to_dtype(wide)?)?.to_dtype(dtype)
}
