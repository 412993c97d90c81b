/// ONNX Slice on one axis with bounds known only at run time.  Negative `start`/`end` count from the end;
/// then they clamp to [0, n] going forward, to [0, n-1] and [-1, n-1] going backward.  Step 1 is a
/// narrowing view; other steps gather the chosen indices.
pub fn slice_axis(xs: &Tensor, dim: usize, start: i64, end: i64, step: i64) -> Result<Tensor> {
    if step == 0 {
        candle_core::bail!("Slice: step 0 on axis {dim}");
    }
    let n = xs.dim(dim)? as i64;
    let from_end = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (first, count) = if step > 0 {
        let s = from_end(start).clamp(0, n);
        let e = from_end(end).clamp(0, n);
        (s, if e > s { (e - s + step - 1) / step } else { 0 })
    } else if n == 0 {
        (0, 0)
    } else {
        let s = from_end(start).clamp(0, n - 1);
        let e = from_end(end).clamp(-1, n - 1);
        (s, if s > e { (s - e - step - 1) / -step } else { 0 })
    };
    if step == 1 || count == 0 {
        return xs.narrow(dim, if count == 0 { 0 } else { first as usize }, count as usize);
    }
    let ids: Vec<i64> = (0..count).map(|k| first + k * step).collect();
    let ids = Tensor::from_vec(ids, count as usize, xs.device())?;
    xs.contiguous()?.index_select(&ids, dim)
}
