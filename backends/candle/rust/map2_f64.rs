/// A binary function candle has no kernel for, computed in f64 on the host, with numpy broadcasting.
pub fn map2_f64(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Result<Tensor> {
    let shape = a.shape().broadcast_shape_binary_op(b.shape(), "map2_f64")?;
    let (dtype, device) = (a.dtype(), a.device().clone());
    let xs: Vec<f64> = a.broadcast_as(&shape)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let ys: Vec<f64> = b.broadcast_as(&shape)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let out: Vec<f64> = xs.into_iter().zip(ys).map(|(x, y)| f(x, y)).collect();
    Tensor::from_vec(out, shape, &device)?.to_dtype(dtype)
}
