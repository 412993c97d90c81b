/// ONNX Squeeze and Unsqueeze with axes read from a tensor at run time: the output dims.  Negative axes
/// count from the end (of the output for Unsqueeze); Squeeze with no axes removes every dim of size 1.
pub fn squeeze_axes(dims: &[usize], axes: &Tensor, unsqueeze: bool) -> Result<Vec<usize>> {
    let axes: Vec<i64> = axes.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;
    if !unsqueeze && axes.is_empty() {
        return Ok(dims.iter().copied().filter(|&d| d != 1).collect());
    }
    let rank = if unsqueeze { dims.len() + axes.len() } else { dims.len() };
    let mut marked = vec![false; rank];
    for &a in axes.iter() {
        let i = if a < 0 { a + rank as i64 } else { a };
        if i < 0 || i >= rank as i64 || marked[i as usize] {
            candle_core::bail!("axes {axes:?} are out of range or repeated for rank {rank}");
        }
        marked[i as usize] = true;
    }
    if unsqueeze {
        let mut rest = dims.iter();
        return Ok(marked.iter().map(|&m| if m { 1 } else { rest.next().copied().unwrap_or(1) }).collect());
    }
    let mut out = Vec::with_capacity(rank);
    for (i, &d) in dims.iter().enumerate() {
        if !marked[i] {
            out.push(d);
        } else if d != 1 {
            candle_core::bail!("Squeeze: axis {i} of {dims:?} is not 1");
        }
    }
    Ok(out)
}
