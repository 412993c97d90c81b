/// MaxPool's Indices output over an already padded input (N, C, spatial...; the padding is -inf): for
/// each window the flat index, in the unpadded input, of its first largest element — row-major over
/// (N, C, spatial...), or with the spatial axes column-major when `col_major` (storage_order 1).
#[allow(clippy::too_many_arguments)]
pub fn max_pool_indices(
    xs: &Tensor,
    kernel: &[usize],
    stride: &[usize],
    dilation: &[usize],
    out: &[usize],
    pad_lo: &[usize],
    spatial: &[usize],
    col_major: bool,
) -> Result<Tensor> {
    let ns = kernel.len();
    let rank = xs.rank();
    let dev = xs.device();
    let positions: usize = out.iter().product();
    let taps: usize = kernel.iter().product();
    let mut best: Option<Tensor> = None;
    let mut arg: Option<Tensor> = None;
    for tap in 0..taps {
        // this tap's offset per axis, and the window it reads (a strided view)
        let mut off = vec![0; ns];
        let mut rest = tap;
        let mut win = xs.clone();
        for i in (0..ns).rev() {
            off[i] = (rest % kernel[i]) * dilation[i];
            rest /= kernel[i];
            let d = rank - ns + i;
            win = win
                .narrow(d, off[i], (out[i] - 1) * stride[i] + 1)?
                .unfold(d, 1, stride[i])?
                .squeeze(rank)?;
        }
        // the flat spatial index each window position reads with this tap (padding: never the maximum)
        let idx: Vec<i64> = (0..positions)
            .map(|p| {
                let (mut rest, mut flat, mut mul) = (p, 0i64, 1i64);
                let mut coord = vec![0i64; ns];
                for i in (0..ns).rev() {
                    coord[i] = ((rest % out[i]) * stride[i] + off[i]) as i64 - pad_lo[i] as i64;
                    rest /= out[i];
                }
                let order: Vec<usize> = if col_major { (0..ns).collect() } else { (0..ns).rev().collect() };
                for i in order {
                    flat += coord[i].clamp(0, spatial[i] as i64 - 1) * mul;
                    mul *= spatial[i] as i64;
                }
                flat
            })
            .collect();
        let idx = Tensor::from_vec(idx, out, dev)?.broadcast_as(win.shape())?;
        (best, arg) = match (best, arg) {
            (Some(b), Some(a)) => {
                let better = win.gt(&b)?;
                (Some(b.maximum(&win)?), Some(better.where_cond(&idx, &a)?))
            }
            _ => (Some(win.contiguous()?), Some(idx.contiguous()?)),
        };
    }
    let arg = match arg {
        Some(a) => a,
        None => candle_core::bail!("MaxPool with an empty kernel"),
    };
    // plus the offset of each (n, c) plane
    let dims = xs.dims();
    let (n, c) = (dims[0], dims[1]);
    let plane: usize = spatial.iter().product();
    let mut bshape = vec![n * c];
    bshape.extend(std::iter::repeat_n(1, ns));
    let base: Vec<i64> = (0..n * c).map(|i| (i * plane) as i64).collect();
    let base = Tensor::from_vec(base, bshape, dev)?;
    let mut flat_shape = vec![n * c];
    flat_shape.extend_from_slice(out);
    let mut out_shape = vec![n, c];
    out_shape.extend_from_slice(out);
    arg.reshape(flat_shape.as_slice())?.broadcast_add(&base)?.reshape(out_shape.as_slice())
}
