//! Screening inference: models described by their manifests, the CT preprocessing they specify,
//! ONNX Runtime sessions on the CPU or CUDA, and the post-processing that turns network outputs
//! into per-organ probabilities, lesion locations and chronic-disease biomarkers, and staging
//! models' outputs into TNM proposals.

pub mod biomarkers;
pub mod manifest;
pub mod postprocess;
pub mod preprocess;
pub mod runtime;
pub mod sliding;
pub mod staging;
