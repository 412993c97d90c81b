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

// ml2candle helper: gather_nd.rs
/// ONNX GatherND.  The last axis of `indices` (length m) addresses the m axes of `data` that follow its
/// first `batch_dims` axes, which `indices` shares.  Each index tuple becomes a row number of `data` seen
/// as a (rows, rest) matrix, so the gather is one index_select; negative indices count from the end.
pub fn gather_nd(data: &Tensor, indices: &Tensor, batch_dims: usize) -> Result<Tensor> {
    let (dd, id) = (data.dims().to_vec(), indices.dims().to_vec());
    let (b, q) = (batch_dims, id.len());
    let m = id[q - 1];
    if b + m > dd.len() || b >= q {
        candle_core::bail!(
            "GatherND: indices {id:?} do not address data {dd:?} with batch_dims {b}"
        );
    }
    let dev = data.device();
    let batch: usize = dd[..b].iter().product();
    let addressed = &dd[b..b + m];
    let rows_per_batch: usize = addressed.iter().product();
    let rest: usize = dd[b + m..].iter().product();
    let tuples: usize = id[b..q - 1].iter().product();
    // row-major strides of the addressed axes, counted in rows
    let mut strides = vec![0i64; m];
    let mut s = 1i64;
    for k in (0..m).rev() {
        strides[k] = s;
        s *= addressed[k] as i64;
    }
    let sizes: Vec<i64> = addressed.iter().map(|&d| d as i64).collect();
    let idx = indices.to_dtype(DType::I64)?.reshape((batch, tuples, m))?;
    let sizes = Tensor::from_vec(sizes, (1, 1, m), dev)?;
    let idx = idx.add(&idx.lt(0.0)?.to_dtype(DType::I64)?.broadcast_mul(&sizes)?)?;
    let strides = Tensor::from_vec(strides, (1, 1, m), dev)?;
    let rows = idx.broadcast_mul(&strides)?.sum(2)?;
    let offsets: Vec<i64> = (0..batch).map(|i| (i * rows_per_batch) as i64).collect();
    let offsets = Tensor::from_vec(offsets, (batch, 1), dev)?;
    let rows = rows.broadcast_add(&offsets)?.flatten_all()?;
    let picked = data
        .reshape((batch * rows_per_batch, rest))?
        .index_select(&rows, 0)?;
    let mut out: Vec<usize> = id[..q - 1].to_vec();
    out.extend_from_slice(&dd[b + m..]);
    picked.reshape(out)
}
