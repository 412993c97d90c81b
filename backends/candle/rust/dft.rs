/// ONNX DFT along `axis` (negative counts from the end; the last dim holds re, or re and im) with
/// `n_fft` points, by default the axis length (2·(len − 1) for a one-sided inverse). The signal is
/// cut or zero-padded to n_fft — padding by leaving those rows out of the basis. `onesided` forward
/// keeps bins 0..=n_fft/2 of a real signal; `onesided` inverse takes such bins and returns the real
/// signal. One matmul with the cos/sin basis of `dft_basis`.
pub fn dft(
    xs: &Tensor,
    axis: i64,
    n_fft: Option<usize>,
    inverse: bool,
    onesided: bool,
) -> Result<Tensor> {
    let rank = xs.rank();
    if rank < 2 {
        candle_core::bail!("dft: the input needs a signal dim and a re/im dim");
    }
    let sig = rank - 2;
    let axis = if axis < 0 { axis + rank as i64 } else { axis };
    if axis < 0 || axis as usize > sig {
        candle_core::bail!("dft: axis {axis} is out of range for rank {rank}");
    }
    let axis = axis as usize;
    let channels = xs.dim(rank - 1)?;
    let x = if axis == sig {
        xs.clone()
    } else {
        xs.transpose(axis, sig)?
    };
    let len = x.dim(sig)?;
    let real_out = inverse && onesided;
    let n_fft = n_fft.unwrap_or(if real_out {
        2 * len.saturating_sub(1)
    } else {
        len
    });
    let n_in = len.min(if real_out { n_fft / 2 + 1 } else { n_fft });
    let n_out = if onesided && !inverse {
        n_fft / 2 + 1
    } else {
        n_fft
    };
    let x = x.narrow(sig, 0, n_in)?.contiguous()?;
    let mut dims = x.dims().to_vec();
    let rows: usize = dims[..sig].iter().product();
    let basis = dft_basis(xs, n_in, channels, n_out, n_fft, inverse, real_out)?;
    let y = x.reshape((rows, n_in * channels))?.matmul(&basis)?;
    dims[sig] = n_out;
    dims[rank - 1] = if real_out { 1 } else { 2 };
    let y = y.reshape(dims)?;
    if axis == sig {
        Ok(y)
    } else {
        y.transpose(axis, sig)
    }
}
