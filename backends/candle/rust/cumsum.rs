/// ONNX CumSum along `axis` (negative counts from the end), optionally exclusive and/or reversed. A
/// Hillis–Steele scan: log2(n) shifted adds on the device, O(n) memory per step, for every dtype
/// (candle's cumsum multiplies by an n×n triangle, which is O(n²) and has no integer matmul).
pub fn cumsum(xs: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let rank = xs.rank() as i64;
    if axis < -rank || axis >= rank {
        candle_core::bail!("cumsum: axis {axis} is out of range for rank {rank}");
    }
    let dim = if axis < 0 { axis + rank } else { axis } as usize;
    let n = xs.dim(dim)?;
    if n == 0 {
        return Ok(xs.clone());
    }
    let mut acc = if reverse {
        xs.contiguous()?.flip(&[dim])?
    } else {
        xs.clone()
    };
    if exclusive {
        acc = acc.narrow(dim, 0, n - 1)?.pad_with_zeros(dim, 1, 0)?;
    }
    let mut step = 1;
    while step < n {
        let shifted = acc.narrow(dim, 0, n - step)?.pad_with_zeros(dim, step, 0)?;
        acc = (acc + shifted)?;
        step *= 2;
    }
    if reverse {
        acc.contiguous()?.flip(&[dim])
    } else {
        Ok(acc)
    }
}
