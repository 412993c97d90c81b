/// ONNX Det: the determinants of [*, M, M] matrices, by LU with partial pivoting in f64 on the host.
pub fn det(xs: &Tensor) -> Result<Tensor> {
    let dims = xs.dims().to_vec();
    let r = dims.len();
    if r < 2 || dims[r - 1] != dims[r - 2] {
        candle_core::bail!("det: expects square matrices, got {:?}", dims);
    }
    let m = dims[r - 1];
    let values: Vec<f64> = xs.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let batch: usize = dims[..r - 2].iter().product();
    let mut out = Vec::with_capacity(batch);
    for b in 0..batch {
        let mut a = values[b * m * m..(b + 1) * m * m].to_vec();
        let mut det = 1.0;
        for col in 0..m {
            let mut piv = col;
            for i in col + 1..m {
                if a[i * m + col].abs() > a[piv * m + col].abs() {
                    piv = i;
                }
            }
            if a[piv * m + col] == 0.0 {
                det = 0.0;
                break;
            }
            if piv != col {
                for j in 0..m {
                    a.swap(col * m + j, piv * m + j);
                }
                det = -det;
            }
            det *= a[col * m + col];
            for i in col + 1..m {
                let f = a[i * m + col] / a[col * m + col];
                for j in col..m {
                    a[i * m + j] -= f * a[col * m + j];
                }
            }
        }
        out.push(det);
    }
    Tensor::from_vec(out, dims[..r - 2].to_vec(), xs.device())?.to_dtype(xs.dtype())
}
