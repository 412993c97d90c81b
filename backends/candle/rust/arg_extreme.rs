/// ONNX ArgMax (`max`) or ArgMin along `dim` as i64: the first extreme position, or the last with
/// `select_last`. candle's CPU kernel scans in order and keeps the first, so on the CPU it is used
/// as is (on the flipped axis for the last). Its CUDA kernel breaks ties by thread rather than by
/// position, so elsewhere the position is found exactly: the smallest (or largest) index whose value
/// equals the extreme.
pub fn arg_extreme(
    xs: &Tensor,
    dim: usize,
    max: bool,
    select_last: bool,
    keepdim: bool,
) -> Result<Tensor> {
    let n = xs.dim(dim)?;
    let idx = if xs.device().is_cpu() {
        let src = if select_last {
            xs.contiguous()?.flip(&[dim])?
        } else {
            xs.clone()
        };
        let i = if max {
            src.argmax_keepdim(dim)?
        } else {
            src.argmin_keepdim(dim)?
        };
        let i = i.to_dtype(DType::I64)?;
        if select_last {
            i.affine(-1.0, n as f64 - 1.0)?
        } else {
            i
        }
    } else {
        let ext = if max {
            xs.max_keepdim(dim)?
        } else {
            xs.min_keepdim(dim)?
        };
        let hit = xs.broadcast_eq(&ext)?;
        let mut shape = vec![1; xs.rank()];
        shape[dim] = n;
        let pos = Tensor::arange(0i64, n as i64, xs.device())?
            .reshape(shape)?
            .broadcast_as(xs.shape())?;
        let miss = Tensor::new(if select_last { -1i64 } else { n as i64 }, xs.device())?
            .broadcast_as(xs.shape())?;
        let cand = hit.where_cond(&pos, &miss)?;
        if select_last {
            cand.max_keepdim(dim)?
        } else {
            cand.min_keepdim(dim)?
        }
    };
    if keepdim {
        Ok(idx)
    } else {
        idx.squeeze(dim)
    }
}
