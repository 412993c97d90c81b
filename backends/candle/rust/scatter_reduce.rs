/// The host side of ONNX ScatterND and ScatterElements: element `k` of `updates` goes to flat position
/// `positions[k]` of `data`, in order, replacing it ("none") or combined with it ("add", "mul", "max",
/// "min"), in the data's own element type.
pub fn scatter_reduce(data: &Tensor, positions: &[usize], updates: &Tensor, reduction: &str) -> Result<Tensor> {
    fn apply<T: candle_core::WithDType>(data: &Tensor, positions: &[usize], updates: &Tensor, reduction: &str) -> Result<Tensor> {
        let mut out: Vec<T> = data.flatten_all()?.to_vec1()?;
        let upd: Vec<T> = updates.flatten_all()?.to_vec1()?;
        for (&p, &u) in positions.iter().zip(upd.iter()) {
            let Some(slot) = out.get_mut(p) else {
                candle_core::bail!("scatter: position {p} is outside the data");
            };
            *slot = match reduction {
                "add" => *slot + u,
                "mul" => *slot * u,
                "max" => if u > *slot { u } else { *slot },
                "min" => if u < *slot { u } else { *slot },
                _ => u,
            };
        }
        Tensor::from_vec(out, data.shape(), data.device())
    }
    let updates = updates.to_dtype(data.dtype())?;
    match data.dtype() {
        DType::U8 => apply::<u8>(data, positions, &updates, reduction),
        DType::U32 => apply::<u32>(data, positions, &updates, reduction),
        DType::I16 => apply::<i16>(data, positions, &updates, reduction),
        DType::I32 => apply::<i32>(data, positions, &updates, reduction),
        DType::I64 => apply::<i64>(data, positions, &updates, reduction),
        // f16/bf16 combine in f32 and round back: a product of two is exact there, a sum rounds twice at worst
        DType::F16 | DType::BF16 => {
            let wide = apply::<f32>(&data.to_dtype(DType::F32)?, positions, &updates.to_dtype(DType::F32)?, reduction)?;
            wide.to_dtype(data.dtype())
        }
        DType::F32 => apply::<f32>(data, positions, &updates, reduction),
        DType::F64 => apply::<f64>(data, positions, &updates, reduction),
        dtype => candle_core::bail!("scatter: unsupported dtype {dtype:?}"),
    }
}
