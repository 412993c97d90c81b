/// An elementwise function candle has no kernel for, computed in f64 on the host.
pub fn map_f64(xs: &Tensor, f: impl Fn(f64) -> f64) -> Result<Tensor> {
    let dtype = xs.dtype();
    let values: Vec<f64> = xs.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mapped: Vec<f64> = values.into_iter().map(f).collect();
    Tensor::from_vec(mapped, xs.shape(), xs.device())?.to_dtype(dtype)
}
