/// ONNX Pad on one axis: `left` and `right` elements before and after (negative ones remove elements).
/// Output position i reads input position j = i - left; "constant" fills the positions outside the input
/// with `value`, "edge" clamps j, "reflect" mirrors it without repeating the border and "wrap" takes it
/// modulo the size — numpy's rules, so pads longer than the axis repeat the pattern.  Pads within the
/// axis (the usual case) copy its ends; others gather every output position.
pub fn pad_axis(xs: &Tensor, dim: usize, left: i64, right: i64, mode: &str, value: f64) -> Result<Tensor> {
    let n = xs.dim(dim)? as i64;
    let len = n + left + right;
    if len < 0 {
        candle_core::bail!("Pad: pads ({left}, {right}) remove more than the {n} elements of axis {dim}");
    }
    if left == 0 && right == 0 {
        return Ok(xs.clone());
    }
    if mode == "constant" {
        // the run of input positions in [0, n), and the filled runs on either side of it
        let before = left.clamp(0, len);
        let first = (-left).max(0);
        let kept = ((len - left).min(n) - first).max(0);
        let after = len - before - kept;
        let fill = |count: i64| -> Result<Tensor> {
            let mut dims = xs.dims().to_vec();
            dims[dim] = count as usize;
            if value == 0.0 {
                Tensor::zeros(dims, xs.dtype(), xs.device())
            } else {
                Tensor::new(value, xs.device())?.to_dtype(xs.dtype())?.broadcast_as(dims)?.contiguous()
            }
        };
        let mut parts = Vec::with_capacity(3);
        if before > 0 {
            parts.push(fill(before)?);
        }
        if kept > 0 || (before == 0 && after == 0) {
            parts.push(xs.narrow(dim, first.min(n) as usize, kept as usize)?);
        }
        if after > 0 {
            parts.push(fill(after)?);
        }
        return Tensor::cat(&parts, dim);
    }
    if n == 0 {
        candle_core::bail!("Pad: mode {mode} cannot pad the empty axis {dim}");
    }
    // the common case, pads within the axis: copies of its ends, so only the pad widths are gathered
    if left >= 0 && right >= 0 && (mode == "edge" || (mode == "reflect" && left < n && right < n) || (mode == "wrap" && left <= n && right <= n)) {
        if mode == "edge" {
            return xs.pad_with_same(dim, left as usize, right as usize);
        }
        let (l, r, n) = (left as usize, right as usize, n as usize);
        let mirrored = |start: usize, len: usize| -> Result<Tensor> {
            let ids: Vec<i64> = (0..len as i64).rev().collect();
            let ids = Tensor::from_vec(ids, len, xs.device())?;
            xs.narrow(dim, start, len)?.contiguous()?.index_select(&ids, dim)
        };
        let mut parts = Vec::with_capacity(3);
        if l > 0 {
            parts.push(if mode == "reflect" { mirrored(1, l)? } else { xs.narrow(dim, n - l, l)? });
        }
        parts.push(xs.clone());
        if r > 0 {
            parts.push(if mode == "reflect" { mirrored(n - 1 - r, r)? } else { xs.narrow(dim, 0, r)? });
        }
        return Tensor::cat(&parts, dim);
    }
    let period = 2 * (n - 1);
    let source = |i: i64| -> i64 {
        let j = i - left;
        match mode {
            "edge" => j.clamp(0, n - 1),
            "wrap" => j.rem_euclid(n),
            _ if period == 0 => 0,
            _ => {
                let k = j.rem_euclid(period);
                if k < n {
                    k
                } else {
                    period - k
                }
            }
        }
    };
    if !matches!(mode, "edge" | "wrap" | "reflect") {
        candle_core::bail!("Pad: unknown mode {mode}");
    }
    let ids: Vec<i64> = (0..len).map(source).collect();
    let ids = Tensor::from_vec(ids, len as usize, xs.device())?;
    xs.contiguous()?.index_select(&ids, dim)
}
