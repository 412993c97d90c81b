/// The real matrix that computes a one-dimensional DFT as one matmul: (m, n_in·channels) · basis =
/// (m, cols). Rows are input positions i times `channels` (1: real; 2: re, im), as a [.., n_in,
/// channels] tensor flattens. Columns are outputs j, re and im interleaved (2·n_out), or only the
/// real part for `real_out`: the inverse of a one-sided spectrum, where bins 0 < i < n_fft/2 stand
/// for a conjugate pair and count twice. The angles 2πij/n_fft come from n_fft-entry cos/sin tables
/// indexed by (i·j) mod n_fft, exact in f64; the inverse is scaled by 1/n_fft. `like` gives dtype
/// and device. A basis is built once per size, dtype and device, then reused from a small cache.
pub fn dft_basis(
    like: &Tensor,
    n_in: usize,
    channels: usize,
    n_out: usize,
    n_fft: usize,
    inverse: bool,
    real_out: bool,
) -> Result<Tensor> {
    if n_fft == 0 {
        candle_core::bail!("dft: the transform length is 0");
    }
    type Entry = ([usize; 4], [bool; 2], Tensor);
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Vec<Entry>>> = std::sync::OnceLock::new();
    let (key, flags) = ([n_in, channels, n_out, n_fft], [inverse, real_out]);
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(entries) = cache.lock() {
        let hit = entries.iter().find(|e| {
            e.0 == key
                && e.1 == flags
                && e.2.dtype() == like.dtype()
                && e.2.device().same_device(like.device())
        });
        if let Some(e) = hit {
            return Ok(e.2.clone());
        }
    }
    let (cos, sin): (Vec<f64>, Vec<f64>) = (0..n_fft)
        .map(|m| {
            let t = std::f64::consts::TAU * m as f64 / n_fft as f64;
            (t.cos(), t.sin())
        })
        .unzip();
    let cols = if real_out { n_out } else { 2 * n_out };
    let scale = if inverse { 1.0 / n_fft as f64 } else { 1.0 };
    let mut w = vec![0f64; n_in * channels * cols];
    for i in 0..n_in {
        let weight = if real_out && i > 0 && 2 * i < n_fft {
            2.0 * scale
        } else {
            scale
        };
        let re_row = i * channels * cols;
        let im_row = re_row + cols;
        for j in 0..n_out {
            let m = (i * j) % n_fft;
            let c = cos[m] * weight;
            // forward multiplies by e^{-iθ}, inverse by e^{+iθ}: (xr + i·xi)(c + i·s)
            let s = if inverse { sin[m] } else { -sin[m] } * weight;
            if real_out {
                w[re_row + j] = c;
                if channels == 2 {
                    w[im_row + j] = -s;
                }
            } else {
                w[re_row + 2 * j] = c;
                w[re_row + 2 * j + 1] = s;
                if channels == 2 {
                    w[im_row + 2 * j] = -s;
                    w[im_row + 2 * j + 1] = c;
                }
            }
        }
    }
    let basis =
        Tensor::from_vec(w, (n_in * channels, cols), like.device())?.to_dtype(like.dtype())?;
    if let Ok(mut entries) = cache.lock() {
        if entries.len() >= 16 {
            entries.remove(0);
        }
        entries.push((key, flags, basis.clone()));
    }
    Ok(basis)
}
