/// ONNX CumProd along `axis` (negative counts from the end), optionally exclusive and/or reversed: a
/// Hillis–Steele scan of log2(n) shifted multiplies on the device, for every dtype.
pub fn cumprod(xs: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let rank = xs.rank() as i64;
    if axis < -rank || axis >= rank {
        candle_core::bail!("cumprod: axis {axis} is out of range for rank {rank}");
    }
    let dim = if axis < 0 { axis + rank } else { axis } as usize;
    let n = xs.dim(dim)?;
    if n == 0 {
        return Ok(xs.clone());
    }
    // t shifted k places along dim, ones filling in
    let shifted = |t: &Tensor, k: usize| -> Result<Tensor> {
        let mut dims = t.dims().to_vec();
        dims[dim] = k;
        let ones = Tensor::ones(dims, t.dtype(), t.device())?;
        Tensor::cat(&[&ones, &t.narrow(dim, 0, n - k)?], dim)
    };
    let mut acc = if reverse {
        xs.contiguous()?.flip(&[dim])?
    } else {
        xs.clone()
    };
    if exclusive {
        acc = shifted(&acc, 1)?;
    }
    let mut step = 1;
    while step < n {
        acc = (&acc * shifted(&acc, step)?)?;
        step *= 2;
    }
    if reverse {
        acc.contiguous()?.flip(&[dim])
    } else {
        Ok(acc)
    }
}
