/// The values of a small integer tensor (axes, K, an axis, a frame step) read back to the host as
/// i64, for ONNX inputs that are known only at run time.
pub fn ints(xs: &Tensor) -> Result<Vec<i64>> {
    xs.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()
}
