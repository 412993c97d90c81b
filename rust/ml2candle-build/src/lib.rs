//! `ml2candle-build`: compile an ONNX model into Candle code from a build script.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     ml2candle_build::Builder::new().model("models/encoder.onnx").generate()?;
//!     Ok(())
//! }
//! ```
//!
//! ```ignore
//! // src/main.rs
//! mod encoder {
//!     include!(concat!(env!("OUT_DIR"), "/encoder.rs"));
//! }
//! let model = encoder::Model::load(concat!(env!("OUT_DIR"), "/encoder.safetensors"), &device)?;
//! ```
//!
//! The `ml2candle` binary is taken from the `ML2CANDLE` environment variable, else from `PATH`.  The
//! generated file is the crate's `src/model.rs` made includable: its helper functions become an inner
//! module, and with `.embed_weights(true)` it gets `Model::load_embedded(&device)` reading the weights
//! compiled into the binary.  Cargo reruns the build when the model or `ML2CANDLE` changes.
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What went wrong, with ml2candle's own message when it refused the model.
#[derive(Debug)]
pub enum Error {
    /// No model was given.
    NoModel,
    /// `OUT_DIR` is not set and no `out_dir` was given (not running from a build script?).
    NoOutDir,
    /// The ml2candle binary could not be started.
    Spawn { binary: PathBuf, source: std::io::Error },
    /// ml2candle ran and failed; `stderr` says why (every unsupported node, with its name).
    Compiler { status: Option<i32>, stderr: String },
    /// Reading or writing the generated files failed.
    Io { path: PathBuf, source: std::io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoModel => write!(f, "ml2candle-build: no model given (Builder::model)"),
            Error::NoOutDir => write!(f, "ml2candle-build: OUT_DIR is not set; call out_dir() outside build scripts"),
            Error::Spawn { binary, source } => write!(
                f,
                "ml2candle-build: cannot run '{}': {source} (set ML2CANDLE to the ml2candle binary)",
                binary.display()
            ),
            Error::Compiler { status, stderr } => {
                write!(f, "ml2candle failed (exit {status:?}):\n{stderr}")
            }
            Error::Io { path, source } => write!(f, "ml2candle-build: {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

/// The files `generate` wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The module to `include!`: `OUT_DIR/<name>.rs`.
    pub module: PathBuf,
    /// The weights: `OUT_DIR/<name>.safetensors`.
    pub weights: PathBuf,
}

/// Configures and runs ml2candle.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    model: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    name: Option<String>,
    embed_weights: bool,
    binary: Option<PathBuf>,
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The ONNX model (relative paths are relative to the crate's manifest directory, as in build scripts).
    pub fn model(mut self, path: impl AsRef<Path>) -> Self {
        self.model = Some(path.as_ref().to_path_buf());
        self
    }

    /// Where the files go (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The generated files' base name (default: the model file's stem, as a Rust identifier).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Compile the weights into the binary and add `Model::load_embedded`.
    pub fn embed_weights(mut self, yes: bool) -> Self {
        self.embed_weights = yes;
        self
    }

    /// The ml2candle binary (default: `ML2CANDLE`, else `ml2candle` on `PATH`).
    pub fn binary(mut self, path: impl AsRef<Path>) -> Self {
        self.binary = Some(path.as_ref().to_path_buf());
        self
    }

    pub fn generate(self) -> Result<Generated, Error> {
        let model = self.model.ok_or(Error::NoModel)?;
        let out_dir = match self.out_dir {
            Some(d) => d,
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or(Error::NoOutDir)?),
        };
        let binary = self
            .binary
            .or_else(|| std::env::var_os("ML2CANDLE").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("ml2candle"));
        let name = self.name.unwrap_or_else(|| {
            let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned());
            identifier(&stem.unwrap_or_else(|| "model".into()))
        });
        println!("cargo:rerun-if-changed={}", model.display());
        println!("cargo:rerun-if-env-changed=ML2CANDLE");

        let crate_dir = out_dir.join(format!("{name}.ml2candle"));
        let mut cmd = Command::new(&binary);
        cmd.arg(&model).arg("-o").arg(&crate_dir).arg("--name").arg(&name).arg("--force");
        if self.embed_weights {
            cmd.arg("--embed-weights");
        }
        let output = cmd.output().map_err(|source| Error::Spawn { binary: binary.clone(), source })?;
        if !output.status.success() {
            return Err(Error::Compiler {
                status: output.status.code(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source });
        let model_rs = read(crate_dir.join("src/model.rs"))?;
        let ops_path = crate_dir.join("src/onnx_ops.rs");
        let ops_rs = if ops_path.exists() { Some(read(ops_path)?) } else { None };
        let weights = out_dir.join(format!("{name}.safetensors"));
        std::fs::copy(crate_dir.join("model.safetensors"), &weights)
            .map_err(|source| Error::Io { path: weights.clone(), source })?;
        let constants = out_dir.join(format!("{name}.constants.safetensors"));
        if crate_dir.join("constants.safetensors").exists() {
            std::fs::copy(crate_dir.join("constants.safetensors"), &constants)
                .map_err(|source| Error::Io { path: constants.clone(), source })?;
        }
        let module = out_dir.join(format!("{name}.rs"));
        let text = includable(&model_rs, ops_rs.as_deref(), &weights, &constants);
        std::fs::write(&module, text).map_err(|source| Error::Io { path: module.clone(), source })?;
        Ok(Generated { module, weights })
    }
}

/// A file name as a Rust identifier: `my-model.v2` -> `my_model_v2`.
fn identifier(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'm');
    }
    out
}

/// model.rs as a file to `include!` inside a `mod`: inner doc comments (not allowed there) become
/// comments, the crate-level helper module becomes an inner one, the embedded weights are found in OUT_DIR,
/// and the constructors a program does not call raise no dead-code warning.
fn includable(model_rs: &str, ops_rs: Option<&str>, weights: &Path, constants: &Path) -> String {
    let mut out = String::new();
    for line in model_rs.lines() {
        if let Some(rest) = line.strip_prefix("//!") {
            out.push_str("//");
            out.push_str(rest);
        } else if line.trim() == "use crate::onnx_ops;" {
            continue;
        } else if line.starts_with("impl ") {
            // an included module is a library: load, load_embedded and new need not all be used
            out.push_str("#[allow(dead_code)]\n");
            out.push_str(line);
        } else if line.contains("include_bytes!(\"../model.safetensors\")") {
            out.push_str(&line.replace("\"../model.safetensors\"", &format!("{:?}", weights.display().to_string())));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if let Some(ops) = ops_rs {
        out.push_str("\nmod onnx_ops {\n");
        let path = format!("{:?}", constants.display().to_string());
        for line in ops.lines() {
            if !line.starts_with("//!") {
                out.push_str(&line.replace("\"../constants.safetensors\"", &path));
                out.push('\n');
            }
        }
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(identifier("my-model.v2"), "my_model_v2");
        assert_eq!(identifier("3d"), "m3d");
    }

    #[test]
    fn includable_moves_helpers_inside() {
        let model = "//! doc\nuse candle_core::Tensor;\nuse crate::onnx_ops;\nfn f() {}\n";
        let ops = "//! helpers\npub fn g() {}\n";
        let text = includable(model, Some(ops), Path::new("/o/w.safetensors"), Path::new("/o/c.safetensors"));
        assert!(text.starts_with("// doc\n"));
        assert!(!text.contains("use crate::onnx_ops"));
        assert!(text.contains("mod onnx_ops {\npub fn g() {}\n}"));
    }
}
