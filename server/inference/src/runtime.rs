//! ONNX Runtime: the library is loaded once per process from `ORT_DYLIB_PATH` (the CPU build from
//! the PyPI `onnxruntime` wheel, or the GPU build on GPU hosts), and each worker opens one
//! [`ModelSession`] per model, warmed up, and reuses it for every case: sessions are never made
//! per request. The execution provider is chosen by configuration and the one actually used is
//! reported, so that it can be recorded with every result.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use crate::manifest::{OutputKind, SlidingWindowSpec, VerifiedModel};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("ONNX Runtime library {path}: {message}")]
    Library { path: PathBuf, message: String },
    #[error("no ONNX Runtime library: set ORT_DYLIB_PATH (make run and make test install the CPU library)")]
    NoLibrary,
    #[error("CUDA was asked for, but {0}")]
    CudaUnavailable(String),
    #[error("{model}: {message}")]
    Session { model: String, message: String },
    #[error("{model}: output `{output}` {problem}")]
    Output { model: String, output: String, problem: String },
    #[error("{model}: {problem}")]
    Input { model: String, problem: String },
    #[error("sliding window: {0}")]
    Window(#[from] crate::sliding::WindowError),
}

/// Where inference should run (`ELYSIUM_INFERENCE_DEVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePreference {
    /// CUDA when the loaded library supports it and a device answers; otherwise the CPU, with a
    /// warning.
    #[default]
    Auto,
    /// CUDA or nothing: fails loudly when CUDA is not usable.
    Cuda,
    Cpu,
}

impl DevicePreference {
    /// The name `FromStr` reads: `auto`, `cuda` or `cpu`.
    pub fn as_str(self) -> &'static str {
        match self {
            DevicePreference::Auto => "auto",
            DevicePreference::Cuda => "cuda",
            DevicePreference::Cpu => "cpu",
        }
    }
}

impl std::str::FromStr for DevicePreference {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DevicePreference::Auto),
            "cuda" => Ok(DevicePreference::Cuda),
            "cpu" => Ok(DevicePreference::Cpu),
            other => Err(format!("unknown inference device `{other}` (auto, cuda or cpu)")),
        }
    }
}

/// The execution provider a session actually runs on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderInUse {
    /// ONNX Runtime's name, e.g. `CUDAExecutionProvider`, `CPUExecutionProvider`.
    pub provider: String,
    /// `cuda:0` or `cpu`.
    pub device: String,
}

/// The loaded library, once per process.
#[derive(Debug)]
pub struct Runtime {
    pub library: PathBuf,
    /// Whether the library was built with the CUDA provider.
    pub cuda_in_library: bool,
    environment: ort::environment::Environment,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Loads ONNX Runtime from `library` (or `ORT_DYLIB_PATH`) the first time; later calls return the
/// same runtime whatever they pass.
pub fn runtime(library: Option<&Path>) -> Result<&'static Runtime, RuntimeError> {
    let result = RUNTIME.get_or_init(|| {
        let path = library.map(Path::to_owned).or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from));
        let Some(path) = path else { return Err(RuntimeError::NoLibrary.to_string()) };
        if !path.is_file() {
            return Err(RuntimeError::Library { path, message: "no such file".into() }.to_string());
        }
        let environment = ort::init_from(&path)
            .map_err(|e| e.to_string())
            .and_then(|builder| builder.with_name("elysium").build().map_err(|e| e.to_string()))
            .map_err(|message| RuntimeError::Library { path: path.clone(), message }.to_string())?;
        let cuda_in_library = <ep::CUDA as ExecutionProvider>::is_available().unwrap_or(false);
        Ok(Runtime { library: path, cuda_in_library, environment })
    });
    result.as_ref().map_err(|message| RuntimeError::Library { path: PathBuf::new(), message: message.clone() })
}

/// One model's session, opened once per worker and reused.
pub struct ModelSession {
    session: Session,
    pub model: VerifiedModel,
    pub provider: ProviderInUse,
    /// Threads ONNX Runtime uses within an operator; the worker's other CPU stages use as many.
    pub intra_threads: usize,
}

impl std::fmt::Debug for ModelSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSession")
            .field("model", &self.model.manifest.name)
            .field("provider", &self.provider)
            .finish()
    }
}

/// Raw outputs by name: `f32` or `i64` tensors with their shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawOutputs {
    pub f32: Vec<(String, Vec<usize>, Vec<f32>)>,
    pub i64: Vec<(String, Vec<usize>, Vec<i64>)>,
    /// Milliseconds inside ONNX Runtime's `run` (all patches of a sliding window together): the
    /// network's share of the inference stage, apart from the tiling and blending around it.
    pub network_ms: f64,
}

impl RawOutputs {
    pub fn f32(&self, name: &str) -> Option<&[f32]> {
        self.f32.iter().find(|(n, _, _)| n == name).map(|(_, _, v)| v.as_slice())
    }

    pub fn i64(&self, name: &str) -> Option<&[i64]> {
        self.i64.iter().find(|(n, _, _)| n == name).map(|(_, _, v)| v.as_slice())
    }
}

impl ModelSession {
    /// Opens `model` on the preferred device with `intra_threads` threads for each operator, and
    /// runs it once on an empty input so that the first real case is not the slow one.
    pub fn open(
        model: VerifiedModel,
        device: DevicePreference,
        intra_threads: usize,
    ) -> Result<ModelSession, RuntimeError> {
        let runtime = runtime(None)?;
        let name = format!("{} {}", model.manifest.name, model.manifest.version);
        let session_error = |e: ort::Error| RuntimeError::Session { model: name.clone(), message: e.to_string() };
        let builder = || -> Result<ort::session::builder::SessionBuilder, ort::Error> {
            Ok(Session::builder(&runtime.environment)?
                .with_optimization_level(GraphOptimizationLevel::Level3)?
                .with_intra_threads(intra_threads.max(1))?
                .with_inter_threads(1)?)
        };
        let cuda = || -> Result<Session, ort::Error> {
            builder()?
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])?
                .with_config_entry("session.disable_cpu_ep_fallback", "1")?
                .commit_from_file(&model.onnx_path)
        };
        let cpu = || -> Result<Session, ort::Error> { builder()?.commit_from_file(&model.onnx_path) };
        let cuda_provider = ProviderInUse { provider: "CUDAExecutionProvider".into(), device: "cuda:0".into() };
        let cpu_provider = ProviderInUse { provider: "CPUExecutionProvider".into(), device: "cpu".into() };
        let (session, provider) = match device {
            DevicePreference::Cpu => (cpu().map_err(session_error)?, cpu_provider),
            DevicePreference::Cuda => {
                if !runtime.cuda_in_library {
                    return Err(RuntimeError::CudaUnavailable(format!(
                        "the ONNX Runtime library {} has no CUDA provider",
                        runtime.library.display()
                    )));
                }
                (cuda().map_err(|e| RuntimeError::CudaUnavailable(e.to_string()))?, cuda_provider)
            }
            DevicePreference::Auto if runtime.cuda_in_library => match cuda() {
                Ok(session) => (session, cuda_provider),
                Err(error) => {
                    tracing::warn!(%error, model = %name, "CUDA is in the library but not usable; running on the CPU");
                    (cpu().map_err(session_error)?, cpu_provider)
                }
            },
            DevicePreference::Auto => {
                tracing::warn!(model = %name, library = %runtime.library.display(), "this ONNX Runtime library has no CUDA provider; running on the CPU");
                (cpu().map_err(session_error)?, cpu_provider)
            }
        };
        let mut opened = ModelSession { session, model, provider, intra_threads: intra_threads.max(1) };
        let size: usize = opened.model.manifest.input.shape.iter().product();
        match opened.model.manifest.sliding_window.clone() {
            // One patch warms a patch-based network up; a whole grid of them would be a case.
            Some(sliding) => {
                let (organs, classes) = opened.model.manifest.sliding_channels().unwrap_or_default();
                let [_, _, z, y, x] = opened.model.manifest.input.shape;
                opened.run_patches(&sliding.output, &vec![0.0; size], [1, 1, z, y, x], organs + classes)?;
            }
            None => {
                let [_, _, z, y, x] = opened.model.manifest.input.shape;
                opened.run(&vec![0.0; size], [z, y, x])?;
            }
        }
        Ok(opened)
    }

    /// Runs the network on one preprocessed grid of `grid` voxels (z, y, x; the case's
    /// `GridMap::size`), z-major: at once, or patch by patch when the manifest declares a sliding
    /// window. The input is passed by reference, not copied.
    pub fn run(&mut self, input: &[f32], grid: [usize; 3]) -> Result<RawOutputs, RuntimeError> {
        self.check_input(input, grid)?;
        if let Some(sliding) = self.model.manifest.sliding_window.clone() {
            return self.run_sliding(&sliding, input, grid);
        }
        let manifest = &self.model.manifest;
        let model = format!("{} {}", manifest.name, manifest.version);
        let failed = |message: String| RuntimeError::Session { model: model.clone(), message };
        let tensor = TensorRef::from_array_view((manifest.input.shape, input)).map_err(|e| failed(e.to_string()))?;
        let started = std::time::Instant::now();
        let outputs = self
            .session
            .run(ort::inputs![manifest.input.name.as_str() => tensor])
            .map_err(|e| failed(e.to_string()))?;
        let mut raw = RawOutputs { network_ms: started.elapsed().as_secs_f64() * 1000.0, ..RawOutputs::default() };
        for spec in &manifest.outputs {
            let value = outputs.get(&spec.name).ok_or_else(|| RuntimeError::Output {
                model: model.clone(),
                output: spec.name.clone(),
                problem: "is missing".into(),
            })?;
            let shape: Vec<usize> = if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
                raw.f32.push((spec.name.clone(), shape.iter().map(|d| *d as usize).collect(), data.to_vec()));
                shape.iter().map(|d| *d as usize).collect()
            } else if let Ok((shape, data)) = value.try_extract_tensor::<i64>() {
                raw.i64.push((spec.name.clone(), shape.iter().map(|d| *d as usize).collect(), data.to_vec()));
                shape.iter().map(|d| *d as usize).collect()
            } else {
                return Err(RuntimeError::Output {
                    model,
                    output: spec.name.clone(),
                    problem: "is neither float32 nor int64".into(),
                });
            };
            if shape != spec.shape {
                return Err(RuntimeError::Output {
                    model,
                    output: spec.name.clone(),
                    problem: format!("has shape {shape:?}, the manifest says {:?}", spec.shape),
                });
            }
        }
        Ok(raw)
    }

    /// Refuses an input that is not `grid`'s voxels, or a grid the manifest's preprocessing does
    /// not make (another fixed size, or beyond `max_size`): a caller's mistake, reported rather
    /// than run into a wrong shape.
    fn check_input(&self, input: &[f32], grid: [usize; 3]) -> Result<(), RuntimeError> {
        let manifest = &self.model.manifest;
        let refused =
            |problem: String| RuntimeError::Input { model: format!("{} {}", manifest.name, manifest.version), problem };
        let voxels = grid.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
        if voxels != Some(input.len()) {
            return Err(refused(format!("the input has {} values, a {grid:?} grid does not", input.len())));
        }
        let pre = &manifest.preprocessing;
        if !pre.fits(grid) {
            let expected = match (pre.size, pre.max_size) {
                (Some(size), _) => format!("the fixed size {size:?}"),
                (None, Some(max)) => format!("a grid within max_size {max:?}"),
                (None, None) => "a grid with voxels".to_owned(),
            };
            return Err(refused(format!("a {grid:?} grid is not what the manifest makes ({expected})")));
        }
        Ok(())
    }

    /// Sliding-window inference over the grid (`size` voxels, z, y, x), and the manifest's
    /// outputs made from the blended per-voxel output (see
    /// [`crate::manifest::SlidingWindowSpec`]), the maps on this grid.
    fn run_sliding(
        &mut self,
        sliding: &SlidingWindowSpec,
        grid: &[f32],
        size: [usize; 3],
    ) -> Result<RawOutputs, RuntimeError> {
        let manifest = self.model.manifest.clone();
        let (organs, classes) = manifest.sliding_channels().unwrap_or_default();
        let channels = organs + classes;
        let patch = sliding.patch;
        let voxels: usize = size.iter().product();
        // The box to tile: the body's, or the whole grid.
        let body = match sliding.crop_to_body_hu {
            Some(hu) => crate::sliding::bounding_box(grid, size, manifest.normalised(hu)),
            None => Some(([0; 3], size)),
        };
        let mut network_ms = 0.0;
        let mut tile = |inside: &[f32], shape: [usize; 3]| {
            crate::sliding::infer(inside, shape, channels, &sliding.window(), |batch, n| {
                let started = std::time::Instant::now();
                let values = self.run_patches(&sliding.output, batch, [n, 1, patch[0], patch[1], patch[2]], channels);
                network_ms += started.elapsed().as_secs_f64() * 1000.0;
                values
            })
        };
        let blended = match body {
            // The whole grid: the blend is the output.
            Some((_, shape)) if shape == size => tile(grid, size)?,
            body => {
                // Outside the box: background, no lesion.
                let mut blended = vec![0.0f32; channels * voxels];
                blended[..voxels].fill(1.0);
                if let Some((start, shape)) = body {
                    let tiled = tile(&crate::sliding::crop(grid, size, start, shape), shape)?;
                    let inside_voxels: usize = shape.iter().product();
                    for c in 0..channels {
                        for z in 0..shape[0] {
                            for y in 0..shape[1] {
                                let from = c * inside_voxels + (z * shape[1] + y) * shape[2];
                                let to = c * voxels + ((start[0] + z) * size[1] + start[1] + y) * size[2] + start[2];
                                blended[to..to + shape[2]].copy_from_slice(&tiled[from..from + shape[2]]);
                            }
                        }
                    }
                }
                blended
            }
        };
        let channel = |c: usize| &blended[c * voxels..(c + 1) * voxels];
        let mut raw = RawOutputs { network_ms, ..RawOutputs::default() };
        for spec in &manifest.outputs {
            match spec.kind {
                OutputKind::OrganLabelMap => {
                    let mut labels = vec![0i64; voxels];
                    let mut best = channel(0).to_vec();
                    for c in 1..organs {
                        for (v, p) in channel(c).iter().enumerate() {
                            if *p > best[v] {
                                best[v] = *p;
                                labels[v] = c as i64;
                            }
                        }
                    }
                    raw.i64.push((spec.name.clone(), on_grid(&spec.shape, size), labels));
                }
                OutputKind::ClassProbabilities => {
                    let evidence = (0..classes)
                        .map(|k| channel(organs + k).iter().copied().fold(f32::NEG_INFINITY, f32::max))
                        .collect();
                    raw.f32.push((spec.name.clone(), spec.shape.clone(), evidence));
                }
                OutputKind::LesionHeatmap => {
                    let mut heat = vec![f32::NEG_INFINITY; voxels];
                    for k in 0..classes {
                        for (h, p) in heat.iter_mut().zip(channel(organs + k)) {
                            *h = h.max(*p);
                        }
                    }
                    raw.f32.push((spec.name.clone(), on_grid(&spec.shape, size), heat));
                }
                OutputKind::CategoryProbabilities => {}
            }
        }
        Ok(raw)
    }

    /// One call of a patch-based network on `shape` (N, 1, patch) of `input`: its `output`,
    /// which must be N × `channels` × the patch.
    fn run_patches(
        &mut self,
        output: &str,
        input: &[f32],
        shape: [usize; 5],
        channels: usize,
    ) -> Result<Vec<f32>, RuntimeError> {
        let manifest = &self.model.manifest;
        let model = format!("{} {}", manifest.name, manifest.version);
        run_one(&mut self.session, &model, &manifest.input.name, output, input, shape, channels)
    }
}

/// A blended map's shape: the manifest's leading dimensions (`[1]` for a label map, `[1, 1]` for
/// a heatmap) followed by this case's grid, which for a grid that follows the scan is not the
/// `max_size` the manifest declares the map for.
fn on_grid(declared: &[usize], grid: [usize; 3]) -> Vec<usize> {
    let leading = &declared[..declared.len().saturating_sub(3)];
    leading.iter().copied().chain(grid).collect()
}

/// Runs `session` on `shape` of `input` and returns `output`'s values, checked to be
/// N × `channels` × the patch's voxels.
fn run_one(
    session: &mut Session,
    model: &str,
    input_name: &str,
    output: &str,
    input: &[f32],
    shape: [usize; 5],
    channels: usize,
) -> Result<Vec<f32>, RuntimeError> {
    let failed = |message: String| RuntimeError::Session { model: model.to_owned(), message };
    let tensor = TensorRef::from_array_view((shape, input)).map_err(|e| failed(e.to_string()))?;
    let outputs = session.run(ort::inputs![input_name => tensor]).map_err(|e| failed(e.to_string()))?;
    let refused =
        |problem: String| RuntimeError::Output { model: model.to_owned(), output: output.to_owned(), problem };
    let value = outputs.get(output).ok_or_else(|| refused("is missing".into()))?;
    let (got, data) = value.try_extract_tensor::<f32>().map_err(|e| refused(format!("is not float32: {e}")))?;
    let got: Vec<usize> = got.iter().map(|d| *d as usize).collect();
    let expected = [shape[0], channels, shape[2], shape[3], shape[4]];
    if got != expected {
        return Err(refused(format!("has shape {got:?}, expected {expected:?}")));
    }
    Ok(data.to_vec())
}

/// A network run patch by patch (sliding-window inference, `crate::sliding`): one input and one
/// output named by the caller, a batch of patches per call, the batch and patch size free. On the
/// CPU, opened once and reused like [`ModelSession`].
pub struct PatchSession {
    session: Session,
    input: String,
    output: String,
}

impl std::fmt::Debug for PatchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchSession").field("input", &self.input).field("output", &self.output).finish()
    }
}

impl PatchSession {
    pub fn open(onnx: &Path, input: &str, output: &str, intra_threads: usize) -> Result<PatchSession, RuntimeError> {
        let runtime = runtime(None)?;
        let failed =
            |e: ort::Error| RuntimeError::Session { model: onnx.display().to_string(), message: e.to_string() };
        let open = || -> Result<Session, ort::Error> {
            Session::builder(&runtime.environment)?
                .with_optimization_level(GraphOptimizationLevel::Level3)?
                .with_intra_threads(intra_threads.max(1))?
                .with_inter_threads(1)?
                .commit_from_file(onnx)
        };
        let session = open().map_err(failed)?;
        Ok(PatchSession { session, input: input.to_owned(), output: output.to_owned() })
    }

    /// Runs `shape` (N, C, Z, Y, X) of `input` and returns the output's values, which must be
    /// `n` × `channels` × the patch's voxels.
    pub fn run(&mut self, input: &[f32], shape: [usize; 5], channels: usize) -> Result<Vec<f32>, RuntimeError> {
        let model = format!("{} → {}", self.input, self.output);
        run_one(&mut self.session, &model, &self.input, &self.output, input, shape, channels)
    }
}
