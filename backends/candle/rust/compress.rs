/// ONNX Compress (numpy.compress): the slices along `axis` (of the flattened input without one) whose
/// condition is true, by an index_select.  A shorter condition leaves the rest out; a longer one may
/// only be false beyond the extent.
pub fn compress(xs: &Tensor, cond: &Tensor, axis: Option<usize>) -> Result<Tensor> {
    let (src, dim) = match axis {
        Some(a) => (xs.contiguous()?, a),
        None => (xs.flatten_all()?, 0),
    };
    let extent = src.dim(dim)?;
    let flags: Vec<u8> = cond.to_dtype(DType::U8)?.flatten_all()?.to_vec1()?;
    let mut keep: Vec<u32> = Vec::new();
    for (i, &c) in flags.iter().enumerate() {
        if c != 0 {
            if i >= extent {
                candle_core::bail!(
                    "compress: condition selects index {i} beyond the extent {extent}"
                );
            }
            keep.push(i as u32);
        }
    }
    let count = keep.len();
    let ids = Tensor::from_vec(keep, count, xs.device())?;
    src.index_select(&ids, dim)
}
