/// ONNX GridSample (PyTorch's grid_sample) of X (N, C, d1..dr) at grid (N, D1..Dr, r), r <= 3: `taps` 1
/// (nearest, ties to even), 2 (linear) or 4 (cubic, a = -0.75); `pad` 0 zeros, 1 border, 2 reflection.
/// On the host in f64, coordinates in f32 as the reference keeps them.
pub fn grid_sample(
    xs: &Tensor,
    grid: &Tensor,
    taps: usize,
    pad: u8,
    align_corners: bool,
) -> Result<Tensor> {
    let xd = xs.dims().to_vec();
    let gd = grid.dims().to_vec();
    let r = xd.len().saturating_sub(2);
    if r == 0 || r > 3 || gd.len() != xd.len() || gd[0] != xd[0] || gd[r + 1] != r {
        candle_core::bail!("grid_sample: X {:?} and grid {:?} do not match", xd, gd);
    }
    let (n_batch, chans) = (xd[0], xd[1]);
    let dims = &xd[2..];
    let points: usize = gd[1..=r].iter().product();
    let plane: usize = dims.iter().product();
    let x: Vec<f64> = xs.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let g: Vec<f64> = grid.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let reflect = |v: f64, lo: f64, hi: f64| -> f64 {
        let rng = hi - lo;
        if rng <= 0.0 {
            lo
        } else if v < lo {
            let dx = lo - v;
            let k = (dx / rng).trunc();
            let rem = dx - k * rng;
            if k % 2.0 == 0.0 {
                lo + rem
            } else {
                hi - rem
            }
        } else if v > hi {
            let dx = v - hi;
            let k = (dx / rng).trunc();
            let rem = dx - k * rng;
            if k % 2.0 == 0.0 {
                hi - rem
            } else {
                lo + rem
            }
        } else {
            v
        }
    };
    let cubic = |t: f64| -> [f64; 4] {
        let a = -0.75;
        let x = t.abs();
        [
            ((a * (x + 1.0) - 5.0 * a) * (x + 1.0) + 8.0 * a) * (x + 1.0) - 4.0 * a,
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0,
            ((a + 2.0) * (1.0 - x) - (a + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0,
            ((a * (2.0 - x) - 5.0 * a) * (2.0 - x) + 8.0 * a) * (2.0 - x) - 4.0 * a,
        ]
    };
    let combos = taps.pow(r as u32);
    let mut out = vec![0f64; n_batch * chans * points];
    for n in 0..n_batch {
        for p in 0..points {
            // per spatial axis of X: tap indices (None: zero padding) and weights
            let mut ti = [[None::<usize>; 4]; 3];
            let mut tw = [[0f64; 4]; 3];
            for i in 0..r {
                // the grid's last axis lists x (the last spatial axis) first
                let gv = g[(n * points + p) * r + (r - 1 - i)] as f32;
                let len = dims[i] as f32;
                let mut xf = if align_corners {
                    (gv + 1.0) / 2.0 * (len - 1.0)
                } else {
                    ((gv + 1.0) * len - 1.0) / 2.0
                };
                if taps == 1 {
                    xf = xf.round_ties_even();
                }
                let (lo, hi) = if align_corners {
                    (0.0f32, len - 1.0)
                } else {
                    (-0.5f32, len - 0.5)
                };
                if xf < lo || xf > hi {
                    if pad == 1 {
                        xf = xf.clamp(0.0, len - 1.0);
                    } else if pad == 2 {
                        xf = reflect(xf as f64, lo as f64, hi as f64) as f32;
                    }
                }
                let floor = xf.floor();
                let base = if taps == 1 {
                    xf.trunc() as i64
                } else {
                    floor as i64 - i64::from(taps == 4)
                };
                let t = xf as f64 - floor as f64;
                match taps {
                    1 => tw[i][0] = 1.0,
                    2 => {
                        tw[i][0] = 1.0 - t;
                        tw[i][1] = t;
                    }
                    _ => tw[i] = cubic(t),
                }
                for (k, slot) in ti[i].iter_mut().enumerate().take(taps) {
                    let mut j = base + k as i64;
                    if pad == 1 {
                        j = j.clamp(0, dims[i] as i64 - 1);
                    } else if pad == 2 {
                        j = reflect(j as f64, lo as f64, hi as f64) as i64;
                    }
                    *slot = if j >= 0 && (j as usize) < dims[i] {
                        Some(j as usize)
                    } else {
                        None
                    };
                }
            }
            for c in 0..chans {
                let src = (n * chans + c) * plane;
                let mut acc = 0.0;
                for cb in 0..combos {
                    let (mut rest, mut off, mut wt) = (cb, 0usize, 1.0);
                    let mut inside = true;
                    for i in 0..r {
                        let k = rest % taps;
                        rest /= taps;
                        match ti[i][k] {
                            Some(j) => off = off * dims[i] + j,
                            None => inside = false,
                        }
                        wt *= tw[i][k];
                    }
                    if inside {
                        acc += wt * x[src + off];
                    }
                }
                out[(n * chans + c) * points + p] = acc;
            }
        }
    }
    let mut shape = vec![n_batch, chans];
    shape.extend_from_slice(&gd[1..=r]);
    Tensor::from_vec(out, shape, xs.device())?.to_dtype(xs.dtype())
}
