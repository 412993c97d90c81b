/// ONNX AffineGrid: theta (N, 2, 3) or (N, 3, 4) applied to the normalized positions of an image of
/// size (N, C, H, W) or (N, C, depth, H, W): (N, H, W, 2) or (N, depth, H, W, 3).  The homogeneous base
/// grid (x along W first) is built on the host; the product is one batched matmul (in f32, f64 for f64
/// theta).
pub fn affine_grid(theta: &Tensor, size: &[i64], align_corners: bool) -> Result<Tensor> {
    let r = size.len().saturating_sub(2);
    if r != 2 && r != 3 {
        candle_core::bail!(
            "affine_grid: size must have 4 or 5 entries, has {}",
            size.len()
        );
    }
    let mut spatial = Vec::with_capacity(r);
    for &s in &size[2..] {
        spatial.push(
            usize::try_from(s)
                .map_err(|_| candle_core::Error::Msg(format!("affine_grid: negative size {s}")))?,
        );
    }
    let coord = |i: usize, n: usize| -> f64 {
        if align_corners {
            if n == 1 {
                -1.0
            } else {
                -1.0 + i as f64 * (2.0 / (n - 1) as f64)
            }
        } else {
            let step = 2.0 / n as f64;
            -1.0 + step / 2.0 + i as f64 * step
        }
    };
    let points: usize = spatial.iter().product();
    let mut base = Vec::with_capacity(points * (r + 1));
    let mut idx = vec![0usize; r];
    for p in 0..points {
        let mut rest = p;
        for i in (0..r).rev() {
            idx[i] = rest % spatial[i];
            rest /= spatial[i];
        }
        for j in 0..r {
            base.push(coord(idx[r - 1 - j], spatial[r - 1 - j]));
        }
        base.push(1.0);
    }
    let work = if theta.dtype() == DType::F64 {
        DType::F64
    } else {
        DType::F32
    };
    let n = theta.dim(0)?;
    let base = Tensor::from_vec(base, (points, r + 1), theta.device())?.to_dtype(work)?;
    let grid = base
        .broadcast_left(n)?
        .contiguous()?
        .matmul(&theta.to_dtype(work)?.transpose(1, 2)?.contiguous()?)?;
    let mut shape = vec![n];
    shape.extend_from_slice(&spatial);
    shape.push(r);
    grid.reshape(shape)?.to_dtype(theta.dtype())
}
