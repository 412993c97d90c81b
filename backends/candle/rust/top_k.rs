/// ONNX TopK along `axis`: the `k` largest (or smallest) values and their i64 indices. Rows are
/// ordered on the host, because candle's sort is unstable and ONNX wants the lower index first
/// among equal values; the values are then gathered on the device, so they are exact in every
/// dtype. NaN counts as larger than any number. The output is always sorted, which `sorted = 0`
/// allows.
pub fn top_k(xs: &Tensor, k: usize, axis: usize, largest: bool) -> Result<(Tensor, Tensor)> {
    fn order<T: PartialOrd + Copy>(vs: &[T], n: usize, k: usize, largest: bool) -> Vec<i64> {
        let mut out = Vec::with_capacity(vs.len() / n.max(1) * k);
        let mut idx: Vec<usize> = Vec::with_capacity(n);
        for row in vs.chunks(n.max(1)) {
            idx.clear();
            idx.extend(0..row.len());
            idx.sort_by(|&i, &j| {
                let (a, b) = (row[i], row[j]);
                // NaN is the largest value; equal values keep the lower index first
                #[allow(clippy::eq_op)]
                let (na, nb) = (a != a, b != b);
                let ord = match (na, nb) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                };
                let ord = if largest { ord.reverse() } else { ord };
                ord.then(i.cmp(&j))
            });
            out.extend(idx[..k].iter().map(|&i| i as i64));
        }
        out
    }
    let last = xs.rank() - 1;
    let n = xs.dim(axis)?;
    if k > n {
        candle_core::bail!("top_k: k = {k} exceeds the size {n} of axis {axis}");
    }
    let moved = if axis == last {
        xs.contiguous()?
    } else {
        xs.transpose(axis, last)?.contiguous()?
    };
    let flat = moved.flatten_all()?;
    let picked = if xs.dtype().is_float() {
        order(&flat.to_dtype(DType::F64)?.to_vec1::<f64>()?, n, k, largest)
    } else {
        order(&flat.to_dtype(DType::I64)?.to_vec1::<i64>()?, n, k, largest)
    };
    let mut dims = moved.dims().to_vec();
    dims[last] = k;
    let indices = Tensor::from_vec(picked, dims, xs.device())?;
    let values = moved.gather(&indices, last)?;
    if axis == last {
        Ok((values, indices))
    } else {
        Ok((
            values.transpose(axis, last)?,
            indices.transpose(axis, last)?,
        ))
    }
}
