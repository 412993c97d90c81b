//! Uses a model compiled by ml2candle from build.rs: no generated code in the repository.
use candle_core::{Device, Tensor};

mod mlp {
    include!(concat!(env!("OUT_DIR"), "/mlp.rs"));
}

fn main() -> candle_core::Result<()> {
    let device = Device::Cpu;
    let model = mlp::Model::load_embedded(&device)?;
    let input = Tensor::randn(0f32, 1f32, (3, 16), &device)?;
    let output = model.forward(&input)?;
    println!("mlp: {:?} -> {:?}", input.dims(), output.dims());
    assert_eq!(output.dims(), &[3, 32]);
    Ok(())
}
