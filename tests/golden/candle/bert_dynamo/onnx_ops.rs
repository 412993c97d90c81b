//! Operations ONNX has and candle 0.11 does not, used by the generated model.
use candle_core::{Result, Tensor};

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
