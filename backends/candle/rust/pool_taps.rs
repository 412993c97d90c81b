/// Max or sum over the pooling windows of an already padded input (N, C, spatial...): one strided view
/// per kernel tap, for the dilations and spatial ranks candle's pools lack.  `out` is the window count
/// per spatial axis.
pub fn pool_taps(
    xs: &Tensor,
    kernel: &[usize],
    stride: &[usize],
    dilation: &[usize],
    out: &[usize],
    max: bool,
) -> Result<Tensor> {
    let ns = kernel.len();
    let rank = xs.rank();
    let taps: usize = kernel.iter().product();
    let mut acc: Option<Tensor> = None;
    for tap in 0..taps {
        let mut rest = tap;
        let mut win = xs.clone();
        for i in (0..ns).rev() {
            let at = (rest % kernel[i]) * dilation[i];
            rest /= kernel[i];
            let d = rank - ns + i;
            win = if stride[i] == 1 {
                win.narrow(d, at, out[i])?
            } else {
                win.narrow(d, at, (out[i] - 1) * stride[i] + 1)?
                    .unfold(d, 1, stride[i])?
                    .squeeze(rank)?
            };
        }
        acc = Some(match acc {
            None => win.contiguous()?,
            Some(a) if max => a.maximum(&win)?,
            Some(a) => (a + win)?,
        });
    }
    match acc {
        Some(a) => Ok(a),
        None => xs.zeros_like(),
    }
}
