/// ONNX DFT along `axis` (negative counts from the end; the last dim holds re, or re and im) with
/// `n_fft` points, by default the axis length (2·(len − 1) for a one-sided inverse). The signal is
/// cut or zero-padded to n_fft — padding by leaving those rows out of the basis. `onesided` forward
/// keeps bins 0..=n_fft/2 of a real signal; `onesided` inverse takes such bins and returns the real
/// signal. Up to 2^22 basis entries it is one matmul with the cos/sin basis of `dft_basis`; longer
/// transforms split n_fft = n1·n2 (Cooley–Tukey: n1-point transforms, twiddles, n2-point
/// transforms), so work and memory stay near n·(n1 + n2) instead of n².
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
    let cols = if real_out { n_out } else { 2 * n_out };
    let y = if n_in * channels * cols <= 1 << 22 {
        let basis = dft_basis(xs, n_in, channels, n_out, n_fft, inverse, real_out)?;
        x.reshape((rows, n_in * channels))?.matmul(&basis)?
    } else {
        // the full complex n_fft-point spectrum: zero-padded (or Hermitian-extended for a one-sided
        // inverse), then a forward transform, conjugated around it for the inverse
        let z = x.reshape((rows, n_in, channels))?;
        let z = if channels == 1 {
            Tensor::cat(&[&z, &z.zeros_like()?], 2)?
        } else {
            z
        };
        let half = n_fft / 2 + 1;
        let z = if real_out {
            let z = z.pad_with_zeros(1, 0, half - n_in)?;
            let mirror = z.narrow(1, 1, n_fft - half)?.contiguous()?.flip(&[1])?;
            let conj = Tensor::new(&[1f32, -1f32], z.device())?.to_dtype(z.dtype())?;
            Tensor::cat(&[&z, &mirror.broadcast_mul(&conj)?], 1)?
        } else {
            z.pad_with_zeros(1, 0, n_fft - n_in)?
        };
        let conj = Tensor::new(&[1f32, -1f32], z.device())?.to_dtype(z.dtype())?;
        let z = if inverse { z.broadcast_mul(&conj)? } else { z };
        let mut y = fft_split(&z, n_fft)?;
        if inverse {
            y = (y.broadcast_mul(&conj)? / n_fft as f64)?;
        }
        if real_out {
            y = y.narrow(2, 0, 1)?;
        } else if onesided {
            y = y.narrow(1, 0, n_out)?;
        }
        y.contiguous()?.reshape((rows, cols))?
    };
    dims[sig] = n_out;
    dims[rank - 1] = if real_out { 1 } else { 2 };
    let y = y.reshape(dims)?;
    if axis == sig {
        Ok(y)
    } else {
        y.transpose(axis, sig)
    }
}

/// The forward, unscaled DFT of z: (rows, n, 2) re/im along its middle dim. With n = n1·n2 and
/// n1 the largest factor up to √n, the n1-point transforms over the slow index, the twiddles
/// e^{-2πi·j·k1/n}, then the n2-point transforms over the fast index give bin k1 + n1·k2. Sizes up
/// to 512, and primes, are one matmul with the basis.
fn fft_split(z: &Tensor, n: usize) -> Result<Tensor> {
    let rows = z.dim(0)?;
    let n1 = (1..=(n as f64).sqrt() as usize)
        .rev()
        .find(|d| n.is_multiple_of(*d))
        .unwrap_or(1);
    if n <= 512 || n1 == 1 {
        let basis = dft_basis(z, n, 2, n, n, false, false)?;
        return z
            .contiguous()?
            .reshape((rows, 2 * n))?
            .matmul(&basis)?
            .reshape((rows, n, 2));
    }
    let n2 = n / n1;
    // (rows, n1, n2): index i·n2 + j; transform over i for each j
    let a = z
        .reshape((rows, n1, n2, 2))?
        .transpose(1, 2)?
        .contiguous()?;
    let a = fft_split(&a.reshape((rows * n2, n1, 2))?, n1)?.reshape((rows, n2, n1, 2))?;
    let (mut tc, mut ts) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for j in 0..n2 {
        for k1 in 0..n1 {
            let t = std::f64::consts::TAU * ((j * k1) % n) as f64 / n as f64;
            tc.push(t.cos());
            ts.push(t.sin());
        }
    }
    let tc = Tensor::from_vec(tc, (n2, n1, 1), z.device())?.to_dtype(z.dtype())?;
    let ts = Tensor::from_vec(ts, (n2, n1, 1), z.device())?.to_dtype(z.dtype())?;
    let (re, im) = (a.narrow(3, 0, 1)?, a.narrow(3, 1, 1)?);
    // (re + i·im)(cos − i·sin)
    let b_re = (re.broadcast_mul(&tc)? + im.broadcast_mul(&ts)?)?;
    let b_im = (im.broadcast_mul(&tc)? - re.broadcast_mul(&ts)?)?;
    let b = Tensor::cat(&[&b_re, &b_im], 3)?
        .transpose(1, 2)?
        .contiguous()?;
    let b = fft_split(&b.reshape((rows * n1, n2, 2))?, n2)?.reshape((rows, n1, n2, 2))?;
    b.transpose(1, 2)?.contiguous()?.reshape((rows, n, 2))
}
