//! ONNX Runtime: the library is loaded once per process from `ORT_DYLIB_PATH` (the CPU build from
//! the PyPI `onnxruntime` wheel, or the GPU build on GPU hosts), and each worker opens one
//! [`ModelSession`] per model, warmed up, and reuses it for every case: sessions are never made
//! per request. The execution provider is chosen by configuration and the one actually used is
//! reported, so that it can be recorded with every result.
//!
//! A cascade model (`[cascade]` in its manifest) has a second session, its first stage, opened on
//! the same provider: [`ModelSession::run_case`] runs it on its own coarse grid, takes the box of
//! the organs it labels widened by the margin, and tiles only that box with the main network's
//! sliding window; the rest of the grid is background with no lesion, and when no organ is found
//! the main network is not run at all. What was tiled is recorded in [`RawOutputs::cascade`].

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use elysium_dicom::volume::Volume;

use crate::manifest::{CascadeSpec, OutputKind, SlidingWindowSpec, VerifiedModel};
use crate::preprocess::GridMap;

/// A box of a grid: its first voxel and its size, z, y, x.
type GridBox = ([usize; 3], [usize; 3]);

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
    /// A cascade's first stage, on the same provider as `session`; `None` for a single stage.
    first_stage: Option<Session>,
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
    /// Milliseconds inside ONNX Runtime's `run` (all patches of a sliding window together, and
    /// both stages of a cascade): the network's share of the inference stage, apart from the
    /// tiling and blending around it.
    pub network_ms: f64,
    /// What a cascade's first stage found and its second stage tiled; `None` for a single stage.
    pub cascade: Option<CascadeRun>,
}

/// One case through a cascade (see [`ModelSession::run_case`]), stored with its result.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct CascadeRun {
    /// Milliseconds inside ONNX Runtime for the first stage (part of `network_ms`).
    pub first_stage_ms: f64,
    /// Milliseconds inside ONNX Runtime for the second stage (part of `network_ms`): 0 when it
    /// was not run.
    pub second_stage_ms: f64,
    /// The box the second stage tiled; `None` when the first stage found none of the organs (or
    /// found them outside the grid or the body), and the second stage was not run: every output
    /// is then background, no lesion, class probabilities 0.
    pub region: Option<CascadeBox>,
}

/// The box of the main grid the second stage tiled.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CascadeBox {
    /// Its first voxel in the main grid, z, y, x.
    pub start: [usize; 3],
    /// Its size in voxels, z, y, x.
    pub size: [usize; 3],
    /// The patient position (mm) of its first voxel's centre.
    pub first_mm: [f64; 3],
    /// The patient position (mm) of its last voxel's centre.
    pub last_mm: [f64; 3],
}

impl CascadeBox {
    /// The box `start`, `size` of the grid `map` of `volume`, with its corners in patient mm.
    fn new((start, size): GridBox, map: &GridMap, volume: &Volume) -> CascadeBox {
        let at = |index: [usize; 3]| volume.voxel_to_patient(map.to_volume(index.map(|i| i as f64)));
        let last = std::array::from_fn(|a| start[a] + size[a].saturating_sub(1));
        CascadeBox { start, size, first_mm: at(start), last_mm: at(last) }
    }
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
        let (session, provider) = open_session(runtime, &model.onnx_path, device, intra_threads, &name)?;
        // The first stage on the provider the main network got, so that both run alike.
        let first_stage = match &model.cascade_onnx_path {
            Some(path) => {
                let same = if provider.device == "cpu" { DevicePreference::Cpu } else { DevicePreference::Cuda };
                Some(open_session(runtime, path, same, intra_threads, &format!("{name} (cascade first stage)"))?.0)
            }
            None => None,
        };
        let mut opened = ModelSession { session, first_stage, model, provider, intra_threads: intra_threads.max(1) };
        if let Some(cascade) = opened.model.manifest.cascade.clone() {
            opened.run_first_stage(&cascade, &vec![0.0; cascade.size.iter().product()])?;
        }
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
    /// window. The input is passed by reference, not copied. A cascade needs the volume its
    /// first stage resamples: it is refused here and runs through [`Self::run_case`].
    pub fn run(&mut self, input: &[f32], grid: [usize; 3]) -> Result<RawOutputs, RuntimeError> {
        self.check_input(input, grid)?;
        if self.model.manifest.cascade.is_some() {
            return Err(self.refused("a cascade model runs on the volume (`run_case`), not on a grid alone".into()));
        }
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

    /// Runs the network on one case: `input` is `volume` preprocessed onto the grid `map` (as
    /// `preprocess::input_tensor` and `GridMap::new` make them). A cascade runs its first stage
    /// on `volume` and tiles the main grid only around the organs it finds; any other model is
    /// [`Self::run`] on the grid.
    pub fn run_case(&mut self, volume: &Volume, input: &[f32], map: &GridMap) -> Result<RawOutputs, RuntimeError> {
        let manifest = &self.model.manifest;
        let (Some(cascade), Some(sliding)) = (manifest.cascade.clone(), manifest.sliding_window.clone()) else {
            return self.run(input, map.size);
        };
        self.check_input(input, map.size)?;
        self.run_cascade(&cascade, &sliding, volume, input, map)
    }

    /// The cascade's two stages: the first on its own grid of `volume`, the organs' box on the
    /// main grid `map` (within the body box when the manifest crops to the body), and the
    /// sliding window over that box only.
    fn run_cascade(
        &mut self,
        cascade: &CascadeSpec,
        sliding: &SlidingWindowSpec,
        volume: &Volume,
        input: &[f32],
        map: &GridMap,
    ) -> Result<RawOutputs, RuntimeError> {
        let pre = cascade.preprocessing(&self.model.manifest.preprocessing);
        let first_map = GridMap::new(volume, &pre);
        let first_input = crate::preprocess::input_tensor(volume, &pre);
        let (labels, first_stage_ms) = self.run_first_stage(cascade, &first_input)?;
        let organs = organ_box(cascade, &labels);
        let region = organs.and_then(|organs| {
            let widened = widen(organs, &first_map, map, volume, cascade.margin_mm)?;
            intersect(widened, self.body_box(sliding, input, map.size)?)
        });
        let mut raw = self.tile_box(sliding, input, map.size, region)?;
        let second_stage_ms = raw.network_ms;
        raw.network_ms += first_stage_ms;
        let region = region.map(|region| CascadeBox::new(region, map, volume));
        raw.cascade = Some(CascadeRun { first_stage_ms, second_stage_ms, region });
        Ok(raw)
    }

    /// The cascade's first stage on its grid `input` (`cascade.size`): its label map, checked to
    /// be int64 of `[1, size / stride]`, and the milliseconds inside ONNX Runtime's `run`.
    fn run_first_stage(&mut self, cascade: &CascadeSpec, input: &[f32]) -> Result<(Vec<i64>, f64), RuntimeError> {
        let model = format!("{} {} (cascade first stage)", self.model.manifest.name, self.model.manifest.version);
        let failed = |message: String| RuntimeError::Session { model: model.clone(), message };
        let Some(session) = self.first_stage.as_mut() else {
            return Err(failed("the first stage's session is not open".into()));
        };
        let [z, y, x] = cascade.size;
        let tensor = TensorRef::from_array_view(([1usize, 1, z, y, x], input)).map_err(|e| failed(e.to_string()))?;
        let started = std::time::Instant::now();
        let outputs = session.run(ort::inputs![cascade.input.as_str() => tensor]).map_err(|e| failed(e.to_string()))?;
        let network_ms = started.elapsed().as_secs_f64() * 1000.0;
        let refused =
            |problem: String| RuntimeError::Output { model: model.clone(), output: cascade.output.clone(), problem };
        let value = outputs.get(&cascade.output).ok_or_else(|| refused("is missing".into()))?;
        let (shape, data) = value.try_extract_tensor::<i64>().map_err(|e| refused(format!("is not int64: {e}")))?;
        let shape: Vec<usize> = shape.iter().map(|d| *d as usize).collect();
        let expected = cascade.label_shape();
        if shape != expected {
            return Err(refused(format!("has shape {shape:?}, expected {expected:?}")));
        }
        Ok((data.to_vec(), network_ms))
    }

    /// An input refused for `problem`, naming the model.
    fn refused(&self, problem: String) -> RuntimeError {
        let manifest = &self.model.manifest;
        RuntimeError::Input { model: format!("{} {}", manifest.name, manifest.version), problem }
    }

    /// Refuses an input that is not `grid`'s voxels, or a grid the manifest's preprocessing does
    /// not make (another fixed size, or beyond `max_size`): a caller's mistake, reported rather
    /// than run into a wrong shape.
    fn check_input(&self, input: &[f32], grid: [usize; 3]) -> Result<(), RuntimeError> {
        let voxels = grid.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
        if voxels != Some(input.len()) {
            return Err(self.refused(format!("the input has {} values, a {grid:?} grid does not", input.len())));
        }
        let pre = &self.model.manifest.preprocessing;
        if !pre.fits(grid) {
            let expected = match (pre.size, pre.max_size) {
                (Some(size), _) => format!("the fixed size {size:?}"),
                (None, Some(max)) => format!("a grid within max_size {max:?}"),
                (None, None) => "a grid with voxels".to_owned(),
            };
            return Err(self.refused(format!("a {grid:?} grid is not what the manifest makes ({expected})")));
        }
        Ok(())
    }

    /// Sliding-window inference over the grid (`size` voxels, z, y, x) within the body box, and
    /// the manifest's outputs made from the blended per-voxel output (see
    /// [`crate::manifest::SlidingWindowSpec`]), the maps on this grid.
    fn run_sliding(
        &mut self,
        sliding: &SlidingWindowSpec,
        grid: &[f32],
        size: [usize; 3],
    ) -> Result<RawOutputs, RuntimeError> {
        let body = self.body_box(sliding, grid, size);
        self.tile_box(sliding, grid, size, body)
    }

    /// The box of the grid to tile: the body's when the manifest crops to the body (`None` when
    /// no voxel is body), or the whole grid.
    fn body_box(&self, sliding: &SlidingWindowSpec, grid: &[f32], size: [usize; 3]) -> Option<GridBox> {
        match sliding.crop_to_body_hu {
            Some(hu) => crate::sliding::bounding_box(grid, size, self.model.manifest.normalised(hu)),
            None => Some(([0; 3], size)),
        }
    }

    /// Sliding-window inference over the box `body` of the grid only (none when `None`), the
    /// rest of the grid background with no lesion, and the manifest's outputs made from the
    /// blended per-voxel output.
    fn tile_box(
        &mut self,
        sliding: &SlidingWindowSpec,
        grid: &[f32],
        size: [usize; 3],
        body: Option<GridBox>,
    ) -> Result<RawOutputs, RuntimeError> {
        let manifest = self.model.manifest.clone();
        let (organs, classes) = manifest.sliding_channels().unwrap_or_default();
        let channels = organs + classes;
        let patch = sliding.patch;
        let voxels: usize = size.iter().product();
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

/// Opens the session of `onnx` on the preferred device with `intra_threads` threads for each
/// operator (`name` names the model in errors and warnings), and the provider it got.
fn open_session(
    runtime: &Runtime,
    onnx: &Path,
    device: DevicePreference,
    intra_threads: usize,
    name: &str,
) -> Result<(Session, ProviderInUse), RuntimeError> {
    let session_error = |e: ort::Error| RuntimeError::Session { model: name.to_owned(), message: e.to_string() };
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
            .commit_from_file(onnx)
    };
    let cpu = || -> Result<Session, ort::Error> { builder()?.commit_from_file(onnx) };
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
    Ok((session, provider))
}

/// The box, in the first stage's grid indices, of the label voxels that are one of the
/// cascade's organs; `None` when there are none. Label voxel `k` at stride `s` covers grid
/// indices `s·k` to `s·k + s - 1`, so the box runs from `s·first` to `s·last + s - 1`.
fn organ_box(cascade: &CascadeSpec, labels: &[i64]) -> Option<GridBox> {
    let wanted = cascade.organ_values();
    let mask: Vec<f32> = labels.iter().map(|l| if wanted.contains(l) { 1.0 } else { 0.0 }).collect();
    let [_, z, y, x] = cascade.label_shape();
    let (first, size) = crate::sliding::bounding_box(&mask, [z, y, x], 0.5)?;
    let s = cascade.stride.max(1);
    Some((first.map(|k| k * s), size.map(|n| n * s)))
}

/// The first stage's box `organs` (its grid `first`) on the main grid `main`: its first and last
/// voxel centres in the volume's continuous indices, `margin_mm` further out along each axis (at
/// the volume's spacing along it), into the main grid's indices rounded outward and clamped to
/// the grid. `None` when the widened box misses the grid.
fn widen((start, size): GridBox, first: &GridMap, main: &GridMap, volume: &Volume, margin_mm: f64) -> Option<GridBox> {
    let low = first.to_volume(start.map(|i| i as f64));
    let high = first.to_volume(std::array::from_fn(|a| (start[a] + size[a]).saturating_sub(1) as f64));
    // `Volume.spacing` is x, y, z; grids are z, y, x.
    let [sx, sy, sz] = volume.spacing;
    let margin = [margin_mm / sz, margin_mm / sy, margin_mm / sx];
    let low = main.to_grid(std::array::from_fn(|a| low[a] - margin[a]));
    let high = main.to_grid(std::array::from_fn(|a| high[a] + margin[a]));
    let mut out = ([0; 3], [0; 3]);
    for a in 0..3 {
        let last = main.size[a].checked_sub(1)? as f64;
        // A millionth of a voxel keeps an index that is whole up to rounding from gaining one.
        let (from, to) = ((low[a] + 1e-6).floor(), (high[a] - 1e-6).ceil());
        if to < 0.0 || from > last {
            return None;
        }
        // `max`/`min` read NaN as the other value: a box that cannot be placed is the grid.
        let (from, to) = (from.max(0.0) as usize, to.min(last) as usize);
        out.0[a] = from;
        out.1[a] = to.saturating_sub(from) + 1;
    }
    Some(out)
}

/// The common part of two boxes; `None` when they do not meet.
fn intersect(a: GridBox, b: GridBox) -> Option<GridBox> {
    let start: [usize; 3] = std::array::from_fn(|i| a.0[i].max(b.0[i]));
    let end: [usize; 3] = std::array::from_fn(|i| (a.0[i] + a.1[i]).min(b.0[i] + b.1[i]));
    (0..3).all(|i| end[i] > start[i]).then(|| (start, std::array::from_fn(|i| end[i] - start[i])))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cascade(size: [usize; 3], stride: usize) -> CascadeSpec {
        CascadeSpec {
            onnx: "organs.onnx".into(),
            sha256: String::new(),
            input: "ct".into(),
            output: "organs".into(),
            size,
            target_spacing_mm: [4.0; 3],
            stride,
            labels: vec!["background".into(), "liver".into(), "kidney".into()],
            organs: vec!["kidney".into()],
            margin_mm: 0.0,
        }
    }

    #[test]
    fn the_organs_box_covers_each_label_voxels_grid_voxels() {
        // A 2 × 3 × 4 label map at stride 2 (a 4 × 6 × 8 grid): kidney (2) at label voxels
        // (0, 1, 1) and (1, 2, 2), liver (1, not an organ here) at (1, 0, 3). Label voxel k covers
        // grid voxels 2k and 2k + 1: the box runs from grid (0, 2, 2) to (3, 5, 5).
        let mut labels = vec![0i64; 24];
        labels[4 + 1] = 2;
        labels[12 + 2 * 4 + 2] = 2;
        labels[12 + 3] = 1;
        assert_eq!(organ_box(&cascade([4, 6, 8], 2), &labels), Some(([0, 2, 2], [4, 4, 4])));
        assert_eq!(organ_box(&cascade([4, 6, 8], 2), &[1; 24]), None, "liver only: no organ");
    }

    #[test]
    fn boxes_meet_where_both_hold() {
        assert_eq!(intersect(([2, 4, 2], [8, 8, 8]), ([0, 0, 4], [12, 12, 8])), Some(([2, 4, 4], [8, 8, 6])));
        assert_eq!(intersect(([0, 0, 0], [2, 2, 2]), ([2, 0, 0], [2, 2, 2])), None, "touching is not meeting");
    }
}
