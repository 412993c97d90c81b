/// Pads `xs` along `dim` with `left` and `right` copies of `value`, in the tensor's dtype (-inf for MaxPool
/// windows; integer dtypes saturate, so -inf is their minimum).
pub fn pad_const(xs: &Tensor, dim: usize, left: usize, right: usize, value: f64) -> Result<Tensor> {
    if left == 0 && right == 0 {
        return Ok(xs.clone());
    }
    let block = |n: usize| -> Result<Tensor> {
        let mut dims = xs.dims().to_vec();
        dims[dim] = n;
        let dev = xs.device();
        match xs.dtype() {
            DType::F64 => Tensor::full(value, dims, dev),
            DType::I64 => Tensor::full(value as i64, dims, dev),
            DType::I32 => Tensor::full(value as i32, dims, dev),
            DType::I16 => Tensor::full(value as i16, dims, dev),
            DType::U32 => Tensor::full(value as u32, dims, dev),
            DType::U8 => Tensor::full(value as u8, dims, dev),
            dtype => Tensor::full(value as f32, dims, dev)?.to_dtype(dtype),
        }
    };
    let mut parts = Vec::with_capacity(3);
    if left > 0 {
        parts.push(block(left)?);
    }
    parts.push(xs.clone());
    if right > 0 {
        parts.push(block(right)?);
    }
    Tensor::cat(&parts, dim)
}
