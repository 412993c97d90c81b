use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};

/// Whether the fused kernels run for `xs`: on a CUDA device, in a build with the `cuda` feature, unless
/// `ML2CANDLE_NO_KERNELS` is set (candle's own ops on the GPU, to compare or to time them).
pub fn enabled(xs: &Tensor) -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    cfg!(feature = "cuda")
        && xs.device().is_cuda()
        && !*OFF.get_or_init(|| std::env::var_os("ML2CANDLE_NO_KERNELS").is_some())
}

/// `x·wᵀ` for a weight `w` of shape (out, in), as `candle_nn::Linear` computes it but without its bias: the
/// GEMM whose epilogue (bias, activation) a kernel applies.  The batch dims fold into the rows of one GEMM.
pub fn linear_product(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (out, k) = w.dims2()?;
    let mut dims = x.dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = out;
    }
    x.reshape((x.elem_count() / k, k))?
        .matmul(&w.t()?)?
        .reshape(dims)
}

/// The bias of a layer built with one, which a kernel reads.
pub fn bias(b: Option<&Tensor>) -> Result<&Tensor> {
    b.ok_or_else(|| candle_core::Error::Msg("a fused kernel needs the layer's bias".into()))
}

/// One kernel: its entry point in the PTX and how it is launched.  Its arguments are its inputs (device
/// pointers to contiguous row-major tensors), the output, then one `long long` per size.
pub struct Kernel {
    pub name: &'static str,
    /// Each size: `Some((input, axis))`, that dim of an input, or `None`, the next of the sizes the caller
    /// passes to `launch_with`.
    scalars: &'static [Option<(usize, usize)>],
    /// The output's dtype and shape, from the sizes.
    dtype: DType,
    shape: fn(&[i64]) -> Vec<usize>,
    /// Blocks per grid, from the sizes; threads per block; bytes of dynamic shared memory.
    grid: fn(&[i64]) -> [u32; 3],
    block: [u32; 3],
    shared: u32,
}

/// Blocks covering `work` items at `per` items a block (at least one).
fn blocks(work: i64, per: i64) -> u32 {
    ((work + per - 1) / per).clamp(1, u32::MAX as i64) as u32
}

impl Kernel {
    /// Runs the kernel on `inputs`, on their device.
    pub fn launch(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        self.launch_with(inputs, &[])
    }

    /// The same, with the sizes no input has as a dim of its own.
    pub fn launch_with(&self, inputs: &[&Tensor], given: &[usize]) -> Result<Tensor> {
        let mut given = given.iter();
        let scalars = self
            .scalars
            .iter()
            .map(|s| match *s {
                Some((i, axis)) => Ok(inputs[i].dim(axis)? as i64),
                None => given.next().map(|&v| v as i64).ok_or_else(|| {
                    candle_core::Error::Msg(format!("{}: a size is missing", self.name))
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        let shape = (self.shape)(&scalars);
        // the kernel reads its inputs as contiguous row-major tensors: a no-op for most
        let inputs = inputs
            .iter()
            .map(|t| t.contiguous())
            .collect::<Result<Vec<_>>>()?;
        let Some((first, rest)) = inputs.split_first() else {
            candle_core::bail!("{}: no inputs", self.name)
        };
        if shape.iter().product::<usize>() == 0 {
            return Tensor::zeros(shape, self.dtype, first.device());
        }
        let grid = (self.grid)(&scalars);
        first.apply_op1_no_bwd(&Launch {
            kernel: self,
            rest,
            scalars,
            shape,
            grid,
        })
    }
}

/// One launch, as a custom op on the first input; the other inputs are read through their storage.
struct Launch<'a> {
    kernel: &'a Kernel,
    rest: &'a [Tensor],
    scalars: Vec<i64>,
    shape: Vec<usize>,
    grid: [u32; 3],
}

impl CustomOp1 for Launch<'_> {
    fn name(&self) -> &'static str {
        self.kernel.name
    }

    fn cpu_fwd(&self, first: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        launch_cpu(self, first, layout)
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        first: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
        use candle_core::cuda_backend::WrapErr;
        use candle_core::{CudaStorage, Storage};

        let dev = &first.device;
        let stream = dev.cuda_stream();
        let (major, _) = stream.context().compute_capability().w()?;
        // candle keeps custom modules per device by name: another generated crate may have a kernel of this name
        let module = format!("{}/{}", env!("CARGO_PKG_NAME"), self.kernel.name);
        let func = dev.get_or_load_custom_func(self.kernel.name, &module, ptx(self.kernel.name, major)?)?;
        if self.kernel.shared > 48 * 1024 {
            // above 48 KiB a kernel gets dynamic shared memory only once its limit is raised
            use candle_core::cuda_backend::cudarc::driver::sys::CUfunction_attribute as A;
            let max = A::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
            func.set_attribute(max, self.kernel.shared as i32).w()?;
        }
        // device pointers of the inputs; `reads` records the kernel's reads on candle's stream once launched
        let rest = self.rest.iter().map(|t| t.storage_and_layout()).collect::<Vec<_>>();
        let mut ptrs = Vec::with_capacity(rest.len() + 1);
        let mut reads = Vec::with_capacity(rest.len() + 1);
        let (p, r) = device_ptr(first, layout, &stream)?;
        ptrs.push(p);
        reads.push(r);
        for (storage, layout) in &rest {
            let Storage::Cuda(s) = &**storage else {
                candle_core::bail!("{}: an input is not on the GPU", self.kernel.name)
            };
            let (p, r) = device_ptr(s, layout, &stream)?;
            ptrs.push(p);
            reads.push(r);
        }
        let [gx, gy, gz] = self.grid;
        let [bx, by, bz] = self.kernel.block;
        let cfg = LaunchConfig {
            grid_dim: (gx, gy, gz),
            block_dim: (bx, by, bz),
            shared_mem_bytes: self.kernel.shared,
        };
        let n = self.shape.iter().product::<usize>();
        macro_rules! run {
            ($t:ty) => {{
                // SAFETY: the kernel writes every element of `out`
                let out = unsafe { dev.alloc::<$t>(n) }?;
                let mut args = func.builder();
                for p in &ptrs {
                    args.arg(p);
                }
                args.arg(&out);
                for s in &self.scalars {
                    args.arg(s);
                }
                // SAFETY: the arguments are the kernel's, in its order (see `Kernel`)
                unsafe { args.launch(cfg) }.w()?;
                CudaStorage::wrap_cuda_slice(out, dev.clone())
            }};
        }
        let out = match self.kernel.dtype {
            DType::F32 => run!(f32),
            DType::U8 => run!(u8),
            DType::I64 => run!(i64),
            DType::U32 => run!(u32),
            dtype => candle_core::bail!("{}: no output of dtype {dtype:?}", self.kernel.name),
        };
        drop(reads);
        Ok((out, Shape::from(self.shape.clone())))
    }
}

/// The device address of a contiguous tensor's first element, and the guard recording the kernel's read.
#[cfg(feature = "cuda")]
fn device_ptr<'a>(
    s: &'a candle_core::CudaStorage,
    layout: &Layout,
    stream: &'a candle_core::cuda_backend::cudarc::driver::CudaStream,
) -> Result<(u64, candle_core::cuda_backend::cudarc::driver::SyncOnDrop<'a>)> {
    use candle_core::cuda_backend::CudaStorageSlice as S;
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("a fused kernel's input is not contiguous")
    };
    Ok(match &s.slice {
        S::U8(x) => x.slice(start..end).view_ptr(stream),
        S::U32(x) => x.slice(start..end).view_ptr(stream),
        S::I32(x) => x.slice(start..end).view_ptr(stream),
        S::I64(x) => x.slice(start..end).view_ptr(stream),
        S::F32(x) => x.slice(start..end).view_ptr(stream),
        S::F16(x) => x.slice(start..end).view_ptr(stream),
        S::BF16(x) => x.slice(start..end).view_ptr(stream),
        _ => candle_core::bail!("a fused kernel's input has an unexpected dtype"),
    })
}

/// On the CPU the model runs candle's ops (`enabled` is false there): these kernels are CUDA kernels.
fn launch_cpu(launch: &Launch, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
    candle_core::bail!("{} is a CUDA kernel: on the CPU the model runs candle's ops", launch.kernel.name)
}
