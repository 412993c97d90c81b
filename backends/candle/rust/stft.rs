/// ONNX STFT of a (batch, length, 1 or 2) signal: frames of `frame_length` samples every
/// `frame_step`, weighted by `window`, each through a DFT of frame_length points: (batch, frames,
/// bins, 2), bins = frame_length/2 + 1 when `onesided`. The frames are a strided view of the signal
/// (unfold) that the window product lays out contiguously, and the transform is one matmul with the
/// cos/sin basis.
pub fn stft(
    signal: &Tensor,
    frame_step: usize,
    window: Option<&Tensor>,
    frame_length: usize,
    onesided: bool,
) -> Result<Tensor> {
    let (batch, len, channels) = signal.dims3()?;
    if frame_step == 0 || frame_length == 0 || frame_length > len {
        candle_core::bail!(
            "stft: frames of {frame_length} every {frame_step} do not fit {len} samples"
        );
    }
    let frames = (len - frame_length) / frame_step + 1;
    let used = (frames - 1) * frame_step + frame_length;
    let x = signal.narrow(1, 0, used)?;
    // (batch, frames, channels, frame_length); unfold counts frames in f32: exact below 2^24
    let x = if used - frame_length < (1 << 24) {
        x.unfold(1, frame_length, frame_step)?
    } else {
        let idx: Vec<u32> = (0..frames)
            .flat_map(|f| (0..frame_length).map(move |t| (f * frame_step + t) as u32))
            .collect();
        let idx = Tensor::from_vec(idx, frames * frame_length, signal.device())?;
        x.contiguous()?
            .index_select(&idx, 1)?
            .reshape((batch, frames, frame_length, channels))?
            .transpose(2, 3)?
    };
    let x = x.transpose(2, 3)?; // (batch, frames, frame_length, channels)
    let x = match window {
        Some(w) => x.broadcast_mul(&w.reshape((frame_length, 1))?)?,
        None => x.contiguous()?,
    };
    let bins = if onesided {
        frame_length / 2 + 1
    } else {
        frame_length
    };
    let basis = dft_basis(
        signal,
        frame_length,
        channels,
        bins,
        frame_length,
        false,
        false,
    )?;
    x.reshape((batch * frames, frame_length * channels))?
        .matmul(&basis)?
        .reshape((batch, frames, bins, 2))
}
