/// `count` elements of `xs` along `dim` from `start`, every `step`-th: a strided view (ONNX strides and
/// dilations where candle's kernels take one value for every axis).
pub fn take_every(xs: &Tensor, dim: usize, start: usize, count: usize, step: usize) -> Result<Tensor> {
    if step == 1 || count <= 1 {
        return xs.narrow(dim, start, count);
    }
    let rank = xs.rank();
    xs.narrow(dim, start, (count - 1) * step + 1)?
        .unfold(dim, 1, step)?
        .squeeze(rank)
}
