/// ONNX ScatterElements: each element of `updates` goes to the element of `data` at the same coordinates,
/// except along `axis`, where `indices` says (negative ones count from the end).  When `indices` spans
/// `data` on the other axes, "none" and "add" are candle's scatter / scatter_add; the other reductions
/// and partial spans go through the host.
pub fn scatter_elements(data: &Tensor, indices: &Tensor, updates: &Tensor, axis: usize, reduction: &str) -> Result<Tensor> {
    let n = data.dim(axis)?;
    let idx = indices.to_dtype(DType::I64)?;
    let idx = idx.add(&(idx.lt(0.0)?.to_dtype(DType::I64)? * n as f64)?)?;
    let spans = (0..data.rank()).all(|d| d == axis || data.dims()[d] == indices.dims()[d]);
    if spans && (reduction == "none" || reduction == "add") {
        let (data, idx, upd) = (data.contiguous()?, idx.contiguous()?, updates.contiguous()?);
        return if reduction == "none" {
            data.scatter(&idx, &upd, axis)
        } else {
            data.scatter_add(&idx, &upd, axis)
        };
    }
    let ids: Vec<i64> = idx.flatten_all()?.to_vec1()?;
    let (dd, id) = (data.dims(), indices.dims());
    let mut strides = vec![1usize; dd.len()];
    for k in (0..dd.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * dd[k + 1];
    }
    let mut coords = vec![0usize; id.len()];
    let mut positions = Vec::with_capacity(ids.len());
    for &i in ids.iter() {
        if i < 0 || i as usize >= n {
            candle_core::bail!("ScatterElements: index {i} is outside axis {axis} of size {n}");
        }
        let pos: usize = (0..dd.len()).map(|d| (if d == axis { i as usize } else { coords[d] }) * strides[d]).sum();
        positions.push(pos);
        // next coordinates of `indices`, row-major
        for d in (0..id.len()).rev() {
            coords[d] += 1;
            if coords[d] < id[d] {
                break;
            }
            coords[d] = 0;
        }
    }
    scatter_reduce(data, &positions, updates, reduction)
}
