/// ONNX ReduceLogSumExp over `dims`, kept with size 1: log(sum(exp(x - m))) + m with m the maximum,
/// so large inputs do not overflow. A non-finite maximum (all -inf, or +inf present) shifts by 0
/// instead, giving log(0) = -inf and +inf as the plain formula does, not NaN.
pub fn log_sum_exp(xs: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let mut max = xs.clone();
    for &d in dims {
        max = max.max_keepdim(d)?;
    }
    let finite = max.abs()?.lt(f64::INFINITY)?;
    let max = finite.where_cond(&max, &max.zeros_like()?)?;
    let sum = xs.broadcast_sub(&max)?.exp()?.sum_keepdim(dims)?;
    sum.log()? + max
}
