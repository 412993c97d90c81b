/// ONNX Col2Im: sums the columns of an im2col matrix back into an image. `xs` is (n, c·∏block, L),
/// L the number of block positions; the result is (n, c, *image). Per kernel offset, its (n, c,
/// *positions) slice is spread to the pixels it covers on the device — zeros interleaved for the
/// stride, then zero-padded into place (offset·dilation) — and the offsets are added up; the pads
/// are cut last.
pub fn col2im(
    xs: &Tensor,
    image: &[i64],
    block: &[i64],
    dilations: &[i64],
    pads: &[i64],
    strides: &[i64],
) -> Result<Tensor> {
    let d = image.len();
    let us = |v: &[i64]| v.iter().map(|&x| x.max(0) as usize).collect::<Vec<usize>>();
    let (image, block, dil, pads, strides) =
        (us(image), us(block), us(dilations), us(pads), us(strides));
    let (n, ck, l) = xs.dims3()?;
    let k: usize = block.iter().product();
    if block.len() != d || k == 0 || !ck.is_multiple_of(k) {
        candle_core::bail!("col2im: block shape {block:?} does not divide the {ck} input channels");
    }
    let c = ck / k;
    let padded: Vec<usize> = (0..d).map(|i| image[i] + pads[i] + pads[d + i]).collect();
    let span = |i: usize| dil[i] * (block[i] - 1) + 1;
    if (0..d).any(|i| padded[i] < span(i)) {
        candle_core::bail!("col2im: the blocks do not fit the padded image");
    }
    let pos: Vec<usize> = (0..d)
        .map(|i| (padded[i] - span(i)) / strides[i] + 1)
        .collect();
    if pos.iter().product::<usize>() != l {
        candle_core::bail!(
            "col2im: {l} blocks given, the image and block shapes make {:?}",
            pos
        );
    }
    let cols = xs.reshape((n, c, k, l))?;
    let mut shape = vec![n, c];
    shape.extend(&pos);
    let mut acc: Option<Tensor> = None;
    for kk in 0..k {
        let mut t = cols.narrow(2, kk, 1)?.reshape(shape.as_slice())?;
        let mut rest = kk;
        for i in (0..d).rev() {
            let (off, ax) = (rest % block[i], 2 + i);
            rest /= block[i];
            let s = strides[i];
            if s > 1 {
                let mut spread = t.dims().to_vec();
                spread[ax] = pos[i] * s;
                t = t
                    .unsqueeze(ax + 1)?
                    .pad_with_zeros(ax + 1, 0, s - 1)?
                    .reshape(spread)?;
                t = t.narrow(ax, 0, (pos[i] - 1) * s + 1)?;
            }
            let left = off * dil[i];
            let right = padded[i] - left - t.dim(ax)?;
            t = t.pad_with_zeros(ax, left, right)?;
        }
        acc = Some(match acc {
            None => t,
            Some(a) => (a + t)?,
        });
    }
    let mut out = match acc {
        Some(a) => a,
        None => candle_core::bail!("col2im: empty block"),
    };
    for i in 0..d {
        out = out.narrow(2 + i, pads[i], image[i])?;
    }
    out.contiguous()
}
