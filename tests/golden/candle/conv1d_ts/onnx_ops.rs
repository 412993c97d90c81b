//! Operations ONNX has and candle 0.11 does not, used by the generated model.
use candle_core::{DType, Result, Tensor};

// ml2candle helper: constant.rs
/// A constant of the model that is not one of its weights (a folded buffer, a mask table), read from
/// constants.safetensors, which is compiled into the binary, so any checkpoint with the PyTorch names loads.
/// Named like a weight: the module's VarBuilder path, then the field.
pub fn constant(vb: &candle_nn::VarBuilder, name: &str) -> Result<Tensor> {
    static CONSTANTS: &[u8] = include_bytes!("../constants.safetensors");
    let prefix = vb.prefix();
    let key = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    };
    let mut all = candle_core::safetensors::load_buffer(CONSTANTS, vb.device())?;
    all.remove(&key)
        .ok_or_else(|| candle_core::Error::Msg(format!("no constant {key}")))
}

// ml2candle helper: conv_taps.rs
/// Convolution of an already padded input (N, C, spatial...) with a kernel (M, C / groups, k...) as a sum
/// over the kernel taps: each tap is a strided view of the input times that tap's weights.  Any spatial rank,
/// a stride and a dilation per axis (candle's conv1d/conv2d take one of each, for one or two axes).  With one
/// input channel per group (depthwise) a tap is an elementwise multiply-add, a few launches for the whole
/// layer where candle's grouped convolution makes one per channel.  Depthwise fast paths: on the CPU a 1d
/// one is a batched GEMV (each channel's windows are an (out, k) matrix with overlapping rows, a strided
/// view never copied, times its k weights); on a GPU all windows are one strided view multiplied by the
/// kernel and summed over the taps (two launches) while that product fits in 2^28 elements.
pub fn conv_taps(
    xs: &Tensor,
    w: &Tensor,
    stride: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<Tensor> {
    let dims = xs.dims().to_vec();
    let wd = w.dims().to_vec();
    let ns = dims.len() - 2;
    let (n, c, m) = (dims[0], dims[1], wd[0]);
    let (cg, mg) = (c / groups, m / groups);
    let ks = &wd[2..];
    let out: Vec<usize> = (0..ns)
        .map(|i| (dims[2 + i] - dilation[i] * (ks[i] - 1) - 1) / stride[i] + 1)
        .collect();
    let positions: usize = out.iter().product();
    let taps: usize = ks.iter().product();
    let mut out_dims = vec![n, m];
    out_dims.extend_from_slice(&out);
    // a channel multiplier repeats each input channel mg times, in order, so channel o reads input o / mg
    let depthwise = cg == 1;
    let xs = if depthwise && mg > 1 {
        let mut e = dims.clone();
        e.insert(2, mg);
        let mut r = dims.clone();
        r[1] = m;
        xs.unsqueeze(2)?.broadcast_as(e)?.reshape(r)?
    } else {
        xs.clone()
    };
    if depthwise
        && ns == 1
        && xs.device().is_cpu()
        && matches!(xs.dtype(), DType::F32 | DType::F64 | DType::F16)
    {
        let span = dilation[0] * (ks[0] - 1) + 1;
        let mut win = xs.contiguous()?.unfold(2, span, stride[0])?;
        if dilation[0] > 1 {
            win = win.unfold(3, 1, dilation[0])?.squeeze(4)?;
        }
        let wm = w
            .reshape((1, m, ks[0], 1))?
            .broadcast_as((n, m, ks[0], 1))?
            .contiguous()?;
        return win.matmul(&wm)?.reshape((n, m, out[0]));
    }
    if depthwise && !xs.device().is_cpu() && n * m * positions * taps <= 1 << 28 {
        let mut win = xs.clone();
        for i in 0..ns {
            let span = dilation[i] * (ks[i] - 1) + 1;
            win = win.unfold(2 + i, span, stride[i])?;
            if dilation[i] > 1 {
                let r = win.rank();
                win = win.unfold(r - 1, 1, dilation[i])?.squeeze(r)?;
            }
        }
        // (N, M, out..., k...) times the kernel (1, M, 1..., k...), summed over the taps
        let mut kshape = vec![1, m];
        kshape.extend(std::iter::repeat_n(1, ns));
        kshape.extend_from_slice(ks);
        let tap_dims: Vec<usize> = (2 + ns..2 + 2 * ns).collect();
        return win.broadcast_mul(&w.reshape(kshape)?)?.sum(tap_dims);
    }
    let w = w.reshape((m, cg, taps))?;
    let mut wshape = vec![1, m];
    wshape.extend(std::iter::repeat_n(1, ns));
    let mut acc: Option<Tensor> = None;
    for tap in 0..taps {
        let mut rest = tap;
        let mut win = xs.clone();
        for i in (0..ns).rev() {
            let at = (rest % ks[i]) * dilation[i];
            rest /= ks[i];
            win = if stride[i] == 1 {
                win.narrow(2 + i, at, out[i])?
            } else {
                win.narrow(2 + i, at, (out[i] - 1) * stride[i] + 1)?
                    .unfold(2 + i, 1, stride[i])?
                    .squeeze(ns + 2)?
            };
        }
        let wt = w.narrow(2, tap, 1)?;
        let term = if depthwise {
            win.broadcast_mul(&wt.reshape(wshape.as_slice())?)?
        } else {
            let win = win.reshape((n, c, positions))?;
            let parts = (0..groups)
                .map(|g| {
                    let wg = wt.narrow(0, g * mg, mg)?.reshape((mg, cg))?;
                    wg.broadcast_matmul(&win.narrow(1, g * cg, cg)?.contiguous()?)
                })
                .collect::<Result<Vec<_>>>()?;
            Tensor::cat(&parts, 1)?.reshape(out_dims.as_slice())?
        };
        acc = Some(match acc {
            None => term,
            Some(a) => (a + term)?,
        });
    }
    match acc {
        Some(a) => Ok(a),
        None => Tensor::zeros(out_dims, xs.dtype(), xs.device()),
    }
}
