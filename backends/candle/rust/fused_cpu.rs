/// Whether the fused kernels run for `xs`: on the CPU, where build.rs linked the CPU kernels (an x86-64
/// target), unless `ML2CANDLE_NO_KERNELS` is set (candle's own ops, to compare or to time them).
pub fn enabled(xs: &Tensor) -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    cfg!(m2c_cpu_kernels)
        && xs.device().is_cpu()
        && !*OFF.get_or_init(|| std::env::var_os("ML2CANDLE_NO_KERNELS").is_some())
}

/// A kernel of `kernels/lib*_kernels.a`: `f(args, sizes, part, nparts)` computes share `part` of `nparts` of
/// the output from the inputs' and the output's addresses (`args`, inputs then output) and the sizes.
#[cfg(m2c_cpu_kernels)]
type CpuKernelFn = unsafe extern "C" fn(*const *mut u8, *const i64, i64, i64);

/// The library's pointers, shared by the shares of one call on rayon's threads.
#[cfg(m2c_cpu_kernels)]
struct Args(Vec<*mut u8>);

// SAFETY: the shares of a call only read the inputs and write disjoint parts of the output.
#[cfg(m2c_cpu_kernels)]
unsafe impl Sync for Args {}

#[cfg(m2c_cpu_kernels)]
impl Args {
    fn as_ptr(&self) -> *const *mut u8 {
        self.0.as_ptr()
    }
}

/// Whether this CPU runs the x86-64-v3 objects (AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE), checked once;
/// `ML2CANDLE_CPU_VARIANT=x86-64-v2` takes the x86-64-v2 ones anyway (to test them).
#[cfg(m2c_cpu_kernels)]
fn x86_64_v3() -> bool {
    static V3: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V3.get_or_init(|| {
        std::env::var_os("ML2CANDLE_CPU_VARIANT").as_deref() != Some(std::ffi::OsStr::new("x86-64-v2"))
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("lzcnt")
            && std::arch::is_x86_feature_detected!("movbe")
    })
}

/// The address of a contiguous tensor's first element.
#[cfg(m2c_cpu_kernels)]
fn host_ptr(s: &CpuStorage, layout: &Layout) -> Result<*mut u8> {
    let Some((start, _)) = layout.contiguous_offsets() else {
        candle_core::bail!("a fused kernel's input is not contiguous")
    };
    Ok(match s {
        CpuStorage::U8(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::U32(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::I32(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::I64(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::F32(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::F16(x) => x[start..].as_ptr() as *mut u8,
        CpuStorage::BF16(x) => x[start..].as_ptr() as *mut u8,
        _ => candle_core::bail!("a fused kernel's input has an unexpected dtype"),
    })
}

/// Runs the kernel on the CPU: its shares on rayon's pool (candle's CPU threads), one share for small outputs.
#[cfg(m2c_cpu_kernels)]
fn launch_cpu(launch: &Launch, first: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
    use candle_core::Storage;
    use rayon::prelude::*;

    let f = cpu_kernel(launch.kernel.name, x86_64_v3())?;
    let rest = launch.rest.iter().map(|t| t.storage_and_layout()).collect::<Vec<_>>();
    let mut ptrs = Vec::with_capacity(rest.len() + 2);
    ptrs.push(host_ptr(first, layout)?);
    for (storage, layout) in &rest {
        let Storage::Cpu(s) = &**storage else {
            candle_core::bail!("{}: an input is not on the CPU", launch.kernel.name)
        };
        ptrs.push(host_ptr(s, layout)?);
    }
    let n = launch.shape.iter().product::<usize>();
    // a share per 8K elements, at most 4 per thread: a thread switch costs more than a small kernel
    let threads = rayon::current_num_threads();
    let nparts = if threads > 1 { (n >> 13).clamp(1, 4 * threads) } else { 1 };
    macro_rules! run {
        ($t:ty, $v:ident) => {{
            let mut out = Vec::<$t>::with_capacity(n);
            ptrs.push(out.as_mut_ptr() as *mut u8);
            let args = Args(ptrs);
            let scalars = &launch.scalars;
            // SAFETY: the arguments are the kernel's, in its order, each as large as its shape; the shares
            // of one call write disjoint parts of the output
            let share = |p: usize| unsafe { f(args.as_ptr(), scalars.as_ptr(), p as i64, nparts as i64) };
            if nparts == 1 {
                share(0);
            } else {
                (0..nparts).into_par_iter().for_each(share);
            }
            // SAFETY: the kernel wrote every element of `out`
            unsafe { out.set_len(n) };
            CpuStorage::$v(out)
        }};
    }
    let out = match launch.kernel.dtype {
        DType::F32 => run!(f32, F32),
        DType::U8 => run!(u8, U8),
        DType::I64 => run!(i64, I64),
        dtype => candle_core::bail!("{}: no output of dtype {dtype:?}", launch.kernel.name),
    };
    drop(rest);
    Ok((out, Shape::from(launch.shape.clone())))
}

/// Without the CPU kernels (a target other than x86-64) the model runs candle's ops: `enabled` is false.
#[cfg(not(m2c_cpu_kernels))]
fn launch_cpu(launch: &Launch, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
    candle_core::bail!("{}: this build has no CPU kernels", launch.kernel.name)
}
