/// ONNX Reshape's target shape read from a tensor at run time: 0 copies the input's dim at that position
/// (unless `allowzero`), one -1 takes whatever size is left.
pub fn reshape_target(dims: &[usize], shape: &Tensor, allowzero: bool) -> Result<Vec<usize>> {
    let target: Vec<i64> = shape.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;
    let mut out = Vec::with_capacity(target.len());
    let mut hole = None;
    for (i, &t) in target.iter().enumerate() {
        if t == -1 && hole.is_none() {
            hole = Some(i);
            out.push(1);
        } else if t == 0 && !allowzero {
            match dims.get(i) {
                Some(&d) => out.push(d),
                None => candle_core::bail!("Reshape: target {target:?} copies dim {i} of {dims:?}"),
            }
        } else if t >= 0 {
            out.push(t as usize);
        } else {
            candle_core::bail!("Reshape: invalid target shape {target:?}");
        }
    }
    if let Some(i) = hole {
        let total: usize = dims.iter().product();
        let known: usize = out.iter().product();
        if known == 0 {
            out[i] = 0;
        } else if total / known * known == total {
            out[i] = total / known;
        } else {
            candle_core::bail!("Reshape: cannot reshape {dims:?} into {target:?}");
        }
    }
    Ok(out)
}
