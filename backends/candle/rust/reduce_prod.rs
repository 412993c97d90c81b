/// ONNX ReduceProd over one dim, kept with size 1: the halves are multiplied pairwise, so a dim of
/// n takes log2(n) multiplications on the device (candle has no product reduction). Empty: ones.
pub fn reduce_prod(xs: &Tensor, dim: usize) -> Result<Tensor> {
    let mut n = xs.dim(dim)?;
    if n == 0 {
        let mut shape = xs.dims().to_vec();
        shape[dim] = 1;
        return Tensor::ones(shape, xs.dtype(), xs.device());
    }
    let mut acc = xs.clone();
    while n > 1 {
        let half = n / 2;
        let mut prod = acc
            .narrow(dim, 0, half)?
            .mul(&acc.narrow(dim, half, half)?)?;
        if n % 2 == 1 {
            prod = Tensor::cat(&[&prod, &acc.narrow(dim, n - 1, 1)?], dim)?;
        }
        acc = prod;
        n = acc.dim(dim)?;
    }
    Ok(acc)
}
