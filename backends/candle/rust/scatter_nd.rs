/// ONNX ScatterND.  The last axis of `indices` (length m) addresses the first m axes of `data`; the slice
/// of `data` each index tuple names (its remaining axes) gets the matching slice of `updates`.  With
/// `data` seen as a (rows, rest) matrix, "none" and "add" are one scatter / scatter_add on the device;
/// "mul", "max" and "min", which candle has no kernel for, go through the host.
pub fn scatter_nd(data: &Tensor, indices: &Tensor, updates: &Tensor, reduction: &str) -> Result<Tensor> {
    let (dd, id) = (data.dims().to_vec(), indices.dims().to_vec());
    let q = id.len();
    let m = id[q - 1];
    if m > dd.len() {
        candle_core::bail!("ScatterND: indices {id:?} address more axes than data {dd:?} has");
    }
    let dev = data.device();
    let rows_total: usize = dd[..m].iter().product();
    let rest: usize = dd[m..].iter().product();
    let tuples: usize = id[..q - 1].iter().product();
    if tuples == 0 || rest == 0 {
        return Ok(data.clone());
    }
    let mut strides = vec![0i64; m];
    let mut s = 1i64;
    for k in (0..m).rev() {
        strides[k] = s;
        s *= dd[k] as i64;
    }
    let sizes: Vec<i64> = dd[..m].iter().map(|&d| d as i64).collect();
    let idx = indices.to_dtype(DType::I64)?.reshape((tuples, m))?;
    let sizes = Tensor::from_vec(sizes, (1, m), dev)?;
    let idx = idx.add(&idx.lt(0.0)?.to_dtype(DType::I64)?.broadcast_mul(&sizes)?)?;
    let strides = Tensor::from_vec(strides, (1, m), dev)?;
    let rows = idx.broadcast_mul(&strides)?.sum(1)?;
    if reduction == "none" || reduction == "add" {
        let ids = rows.unsqueeze(1)?.broadcast_as((tuples, rest))?.contiguous()?;
        let table = data.reshape((rows_total, rest))?;
        let upd = updates.reshape((tuples, rest))?.contiguous()?;
        let out = if reduction == "none" {
            table.scatter(&ids, &upd, 0)?
        } else {
            table.scatter_add(&ids, &upd, 0)?
        };
        return out.reshape(dd);
    }
    let rows: Vec<i64> = rows.to_vec1()?;
    let mut positions = Vec::with_capacity(tuples * rest);
    for &r in rows.iter() {
        if r < 0 || r as usize >= rows_total {
            candle_core::bail!("ScatterND: an index is outside data {dd:?}");
        }
        positions.extend((0..rest).map(|t| r as usize * rest + t));
    }
    scatter_reduce(data, &positions, updates, reduction)
}
