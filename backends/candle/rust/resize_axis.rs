/// ONNX Resize along one axis.  Each output position maps back to a coordinate of the input (the
/// coordinate transformation), whose neighbours get weights (nearest: one of them; linear: 2; cubic: 4;
/// antialiased: a wider, normalized footprint); neighbours past the ends repeat the edge element.  The
/// result is a sum over taps of `index_select` times per-position weights.  tf_crop_and_resize positions
/// outside the input take `extrapolation`.  Integer tensors are interpolated in f32 and truncated back.
#[allow(clippy::too_many_arguments)]
pub fn resize_axis(
    xs: &Tensor,
    dim: usize,
    out: usize,
    scale: f64,
    mode: &str,
    transform: &str,
    nearest: &str,
    cubic_a: f64,
    exclude_outside: bool,
    antialias: bool,
    roi: (f64, f64),
    extrapolation: f64,
) -> Result<Tensor> {
    let dtype = xs.dtype();
    let work = match dtype {
        DType::F16 | DType::BF16 | DType::F32 | DType::F64 => dtype,
        _ => DType::F32,
    };
    let xs = xs.to_dtype(work)?;
    let len = xs.dim(dim)?;
    let (lenf, out_w) = (len as f64, scale * len as f64);
    let s = scale.min(1.0);
    // taps start at `start` relative to the left neighbour: an even footprint centred on the coordinate
    let start: i64 = match (mode, antialias) {
        ("nearest", _) | ("linear", false) => 0,
        ("linear", true) => (-1.0 / s).floor() as i64 + 1,
        (_, true) => (-2.0 / s).floor() as i64 + 1,
        _ => -1,
    };
    let taps = if mode == "nearest" { 1 } else { (2 - 2 * start) as usize };
    let mut idx = vec![Vec::with_capacity(out); taps];
    let mut wts = vec![Vec::with_capacity(out); taps];
    let mut outside = Vec::with_capacity(out);
    let cubic = |x: f64| -> f64 {
        let x = x.abs();
        if x <= 1.0 {
            ((cubic_a + 2.0) * x - (cubic_a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((cubic_a * x - 5.0 * cubic_a) * x + 8.0 * cubic_a) * x - 4.0 * cubic_a
        } else {
            0.0
        }
    };
    for o in 0..out {
        let x = o as f64;
        let xo = match transform {
            "align_corners" if out_w == 1.0 => 0.0,
            "align_corners" => x * (lenf - 1.0) / (out_w - 1.0),
            "asymmetric" => x / scale,
            "tf_crop_and_resize" if out_w == 1.0 => {
                (roi.1 - roi.0) * (lenf - 1.0) / 2.0 + roi.0 * (lenf - 1.0)
            }
            "tf_crop_and_resize" => {
                x * (roi.1 - roi.0) * (lenf - 1.0) / (out_w - 1.0) + roi.0 * (lenf - 1.0)
            }
            "pytorch_half_pixel" if out_w == 1.0 => -0.5,
            "half_pixel_symmetric" => {
                let adjustment = out as f64 / out_w;
                lenf / 2.0 * (1.0 - adjustment) + (x + 0.5) / scale - 0.5
            }
            _ => (x + 0.5) / scale - 0.5,
        };
        let off = transform == "tf_crop_and_resize" && (xo < 0.0 || xo > lenf - 1.0);
        outside.push(u8::from(off));
        // the left neighbour and the distance to it, in (0, 1]
        let fl = xo.floor();
        let (base, ratio) = if xo == fl { (fl as i64 - 1, 1.0) } else { (fl as i64, xo - fl) };
        let clamp = |i: i64| i.clamp(0, len as i64 - 1) as u32;
        if mode == "nearest" {
            let right = match nearest {
                "round_prefer_ceil" => ratio >= 0.5,
                "floor" => ratio == 1.0,
                "ceil" => true,
                "simple" if scale < 1.0 => true,
                "simple" => ratio == 1.0,
                _ => ratio > 0.5,
            };
            idx[0].push(clamp(base + i64::from(right)));
            wts[0].push(1.0);
            continue;
        }
        let mut c: Vec<f64> = (0..taps as i64)
            .map(|t| {
                let d = (start + t) as f64 - ratio;
                match (mode, antialias) {
                    ("linear", false) => 1.0 - d.abs(),
                    ("linear", true) => (1.0 - (d * s).abs()).clamp(0.0, 1.0),
                    (_, false) => cubic(d),
                    _ => cubic(d * s),
                }
            })
            .collect();
        if antialias {
            let sum: f64 = c.iter().sum();
            c.iter_mut().for_each(|v| *v /= sum);
        }
        if exclude_outside {
            for (t, v) in c.iter_mut().enumerate() {
                let i = base + start + t as i64;
                if i < 0 || i >= len as i64 {
                    *v = 0.0;
                }
            }
            let sum: f64 = c.iter().sum();
            c.iter_mut().for_each(|v| *v /= sum);
        }
        for (t, v) in c.iter().enumerate() {
            idx[t].push(clamp(base + start + t as i64));
            wts[t].push(if off { 0.0 } else { *v });
        }
    }
    let dev = xs.device();
    let mut wshape = vec![1; xs.rank()];
    wshape[dim] = out;
    let mut acc: Option<Tensor> = None;
    for (ids, w) in idx.into_iter().zip(wts) {
        let picked = xs.index_select(&Tensor::from_vec(ids, out, dev)?, dim)?;
        let term = if mode == "nearest" {
            picked
        } else {
            let w = Tensor::from_vec(w, out, dev)?.to_dtype(work)?.reshape(wshape.as_slice())?;
            picked.broadcast_mul(&w)?
        };
        acc = Some(match acc {
            None => term,
            Some(a) => (a + term)?,
        });
    }
    let mut ys = match acc {
        Some(a) => a,
        None => xs.clone(),
    };
    if outside.iter().any(|&o| o != 0) {
        let mask = Tensor::from_vec(outside, out, dev)?
            .reshape(wshape.as_slice())?
            .broadcast_as(ys.shape())?;
        let fill = Tensor::full(extrapolation as f32, ys.shape(), dev)?.to_dtype(work)?;
        ys = mask.where_cond(&fill, &ys)?;
    }
    ys.to_dtype(dtype)
}
