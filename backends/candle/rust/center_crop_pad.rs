/// ONNX CenterCropPad: each listed axis cut to `sizes[i]` around its center (the start rounded down) or
/// padded with zeros on both sides (the odd one after).
pub fn center_crop_pad(xs: &Tensor, axes: &[usize], sizes: &[i64]) -> Result<Tensor> {
    if axes.len() != sizes.len() {
        candle_core::bail!(
            "center_crop_pad: {} sizes for {} axes",
            sizes.len(),
            axes.len()
        );
    }
    let mut ys = xs.clone();
    for (&a, &s) in axes.iter().zip(sizes) {
        let s = usize::try_from(s)
            .map_err(|_| candle_core::Error::Msg(format!("center_crop_pad: negative size {s}")))?;
        let d = ys.dim(a)?;
        if s < d {
            ys = ys.narrow(a, (d - s) / 2, s)?;
        } else if s > d {
            let lo = (s - d) / 2;
            ys = ys.pad_with_zeros(a, lo, s - d - lo)?;
        }
    }
    Ok(ys)
}
