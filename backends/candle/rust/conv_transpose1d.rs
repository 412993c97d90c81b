/// Transposed 1d convolution without padding: (N, C, L) and a kernel (C, M / groups, K) give
/// (N, M, (L - 1) * stride + (K - 1) * dilation + 1).  One batched GEMM (x^T times the kernel: every
/// input position's contribution to every tap), then the taps folded onto the output in
/// ceil(span / stride) shifted blocks of `stride` interleaved taps.  candle 0.11's CPU
/// conv_transpose1d fast path gives wrong results for batches larger than one, so it is not used.
pub fn conv_transpose1d(
    xs: &Tensor,
    w: &Tensor,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    let (n, c, l) = xs.dims3()?;
    let (_, mg, k) = w.dims3()?;
    let cg = c / groups;
    let span = (k - 1) * dilation + 1;
    let blocks = span.div_ceil(stride);
    let taps = blocks * stride;
    // the dilated kernel, zero-extended to a whole number of blocks: (C, M/g, taps)
    let w = if dilation > 1 {
        w.unsqueeze(3)?
            .pad_with_zeros(3, 0, dilation - 1)?
            .reshape((c, mg, k * dilation))?
            .narrow(2, 0, span)?
    } else {
        w.clone()
    };
    let w = w.pad_with_zeros(2, 0, taps - span)?.reshape((groups, cg, mg * taps))?;
    // (g, N*L, C/g) x (g, C/g, M/g * taps) -> (g, N, L, M/g, blocks, stride)
    let xt = xs
        .reshape((n, groups, cg, l))?
        .permute((1, 0, 3, 2))?
        .contiguous()?
        .reshape((groups, n * l, cg))?;
    let cols = xt
        .matmul(&w.contiguous()?)?
        .reshape(vec![groups, n, l, mg, blocks, stride])?;
    let out = l * stride;
    let mut acc: Option<Tensor> = None;
    for q in 0..blocks {
        // block q puts tap q*stride + r of input position t at output t*stride + q*stride + r
        let part = cols
            .narrow(4, q, 1)?
            .squeeze(4)?
            .permute((1, 0, 3, 2, 4))?
            .contiguous()?
            .reshape((n, groups * mg, out))?
            .pad_with_zeros(2, q * stride, (blocks - 1 - q) * stride)?;
        acc = Some(match acc {
            None => part,
            Some(a) => (a + part)?,
        });
    }
    match acc {
        Some(a) => a.narrow(2, 0, (l - 1) * stride + span),
        None => candle_core::bail!("conv_transpose1d with an empty kernel"),
    }
}
