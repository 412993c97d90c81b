/// ONNX NonZero: the coordinates of the non-zero elements, one row per axis (rank, count) in row-major
/// order, as i64.  The count depends on the data, so it is computed on the host.
pub fn nonzero(xs: &Tensor) -> Result<Tensor> {
    let dims = xs.dims().to_vec();
    let flags: Vec<u8> = xs.ne(0.0)?.flatten_all()?.to_vec1()?;
    let hits: Vec<usize> = flags.iter().enumerate().filter(|(_, &f)| f != 0).map(|(i, _)| i).collect();
    let rank = dims.len();
    let mut out = vec![0i64; rank * hits.len()];
    for (k, &flat) in hits.iter().enumerate() {
        let mut rem = flat;
        for d in (0..rank).rev() {
            out[d * hits.len() + k] = (rem % dims[d]) as i64;
            rem /= dims[d];
        }
    }
    Tensor::from_vec(out, (rank, hits.len()), xs.device())
}
