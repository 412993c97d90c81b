/// An ONNX Reduce* whose axes arrive as a tensor at run time. `op` names the reduction ("sum",
/// "mean", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp"); `empty` is
/// its value over an empty set (a reduced dim of size 0). No axes reduce every dim, or none with
/// noop_with_empty_axes. Integer inputs of the ops that need fractions (mean, l2, logs) are
/// computed in f64 and cast back.
pub fn reduce_axes(
    xs: &Tensor,
    axes: &Tensor,
    keepdim: bool,
    noop_with_empty_axes: bool,
    op: &str,
    empty: f64,
) -> Result<Tensor> {
    let rank = xs.rank();
    let raw = axes.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?;
    if raw.is_empty() && noop_with_empty_axes {
        // no axes: the elementwise steps of the composite reductions still apply
        return match op {
            "l1" | "l2" => xs.abs(),
            "sum_square" => xs.mul(xs),
            "log_sum" => xs.to_dtype(DType::F64)?.log()?.to_dtype(xs.dtype()),
            _ => Ok(xs.clone()),
        };
    }
    let mut dims: Vec<usize> = if raw.is_empty() {
        (0..rank).collect()
    } else {
        raw.iter()
            .map(|&a| if a < 0 { a + rank as i64 } else { a } as usize)
            .collect()
    };
    dims.sort_unstable();
    dims.dedup();
    if let Some(&bad) = dims.iter().find(|&&d| d >= rank) {
        candle_core::bail!("reduce: axis {bad} is out of range for rank {rank}");
    }
    let mut kept = xs.dims().to_vec();
    for &d in &dims {
        kept[d] = 1;
    }
    let y = if dims.iter().any(|&d| xs.dims()[d] == 0) {
        (Tensor::zeros(kept.as_slice(), DType::F64, xs.device())? + empty)?.to_dtype(xs.dtype())?
    } else {
        let exact = xs.dtype().is_float()
            || matches!(op, "sum" | "max" | "min" | "prod" | "l1" | "sum_square");
        let x = if exact {
            xs.clone()
        } else {
            xs.to_dtype(DType::F64)?
        };
        let y = match op {
            "sum" => x.sum_keepdim(dims.as_slice())?,
            "mean" => x.mean_keepdim(dims.as_slice())?,
            "l1" => x.abs()?.sum_keepdim(dims.as_slice())?,
            "l2" => x.sqr()?.sum_keepdim(dims.as_slice())?.sqrt()?,
            "sum_square" => x.mul(&x)?.sum_keepdim(dims.as_slice())?,
            "log_sum" => x.sum_keepdim(dims.as_slice())?.log()?,
            "log_sum_exp" => log_sum_exp(&x, &dims)?,
            "max" => dims.iter().try_fold(x, |acc, &d| acc.max_keepdim(d))?,
            "min" => dims.iter().try_fold(x, |acc, &d| acc.min_keepdim(d))?,
            "prod" => dims.iter().try_fold(x, |acc, &d| reduce_prod(&acc, d))?,
            _ => candle_core::bail!("reduce: unknown reduction {op}"),
        };
        y.to_dtype(xs.dtype())?
    };
    if keepdim {
        return Ok(y);
    }
    let out: Vec<usize> = (0..rank)
        .filter(|d| !dims.contains(d))
        .map(|d| xs.dims()[d])
        .collect();
    y.reshape(out)
}
