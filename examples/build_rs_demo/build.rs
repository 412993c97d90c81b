//! Compiles the bundled MLP export (tests/models/mlp_ts) into OUT_DIR/mlp.rs, weights compiled in.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    ml2candle_build::Builder::new()
        .model("../../tests/models/mlp_ts/model.onnx")
        .name("mlp")
        .embed_weights(true)
        .generate()?;
    Ok(())
}
