/// ONNX Expand's output dims for a target shape read from a tensor at run time: numpy broadcasting both
/// ways, so a target dim of 1 keeps the input's.
pub fn expand_shape(dims: &[usize], shape: &Tensor) -> Result<Vec<usize>> {
    let target: Vec<i64> = shape.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;
    let rank = dims.len().max(target.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let a = if i + dims.len() >= rank { dims[i + dims.len() - rank] } else { 1 };
        let b = if i + target.len() >= rank { target[i + target.len() - rank] } else { 1 };
        if b < 0 {
            candle_core::bail!("Expand: invalid target shape {target:?}");
        }
        let b = b as usize;
        out.push(if a == b || b == 1 {
            a
        } else if a == 1 {
            b
        } else {
            candle_core::bail!("Expand: cannot broadcast {dims:?} to {target:?}")
        });
    }
    Ok(out)
}
