/// ONNX BitShift of `bits`-wide integers (signed or not, held in candle's wider dtypes), with numpy
/// broadcasting, on the host in 64 bits.  A shift by a negative amount or by the width or more leaves
/// only the sign fill: -1 for a right shift of a negative signed value, 0 otherwise.
pub fn bit_shift(a: &Tensor, b: &Tensor, left: bool, bits: u32, signed: bool) -> Result<Tensor> {
    let shape = a
        .shape()
        .broadcast_shape_binary_op(b.shape(), "bit_shift")?;
    let xs: Vec<i64> = a
        .broadcast_as(&shape)?
        .to_dtype(DType::I64)?
        .flatten_all()?
        .to_vec1()?;
    let ys: Vec<i64> = b
        .broadcast_as(&shape)?
        .to_dtype(DType::I64)?
        .flatten_all()?
        .to_vec1()?;
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let out: Vec<i64> = xs
        .into_iter()
        .zip(ys)
        .map(|(x, y)| {
            let ux = x as u64 & mask;
            let amount = if signed {
                u32::try_from(y).ok().filter(|&s| s < bits)
            } else {
                u32::try_from(y as u64 & mask).ok().filter(|&s| s < bits)
            };
            let r = match amount {
                None if !left && signed && x < 0 => u64::MAX,
                None => 0,
                Some(s) if left => ux << s,
                Some(s) if signed => (x >> s) as u64,
                Some(s) => ux >> s,
            } & mask;
            if signed && bits < 64 && ((r >> (bits - 1)) & 1) == 1 {
                (r | !mask) as i64
            } else {
                r as i64
            }
        })
        .collect();
    Tensor::from_vec(out, shape, a.device())?.to_dtype(a.dtype())
}
