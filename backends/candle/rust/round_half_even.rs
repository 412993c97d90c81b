/// ONNX Round: halves go to the even neighbour (candle's `round` takes them away from zero).
pub fn round_half_even(xs: &Tensor) -> Result<Tensor> {
    let r = xs.round()?;
    let tie = (xs - xs.floor()?)?.eq(0.5)?;
    let odd = ((&r * 0.5)?.floor()? * 2.0)?.ne(&r)?;
    let fix = (tie.to_dtype(xs.dtype())? * odd.to_dtype(xs.dtype())?)?;
    // a tie rounded away from zero to an odd value steps back toward zero
    r.broadcast_sub(&(fix * xs.sign()?)?)
}
