//! A staging model's outputs read as TNM proposals: for each category the manifest declares
//! (`category_probabilities` outputs), the probabilities over its labels, the label chosen (the
//! most probable; on a tie the first in the manifest's order) and its probability. Outputs that
//! are not a probability distribution are refused rather than read.

use crate::manifest::{Manifest, STAGING_CATEGORIES};
use crate::runtime::RawOutputs;

/// How far the probabilities of one category may sum from 1 (float32 softmax rounding).
pub const SUM_TOLERANCE: f64 = 1e-3;

/// One category as the model proposes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryProposal {
    /// `t`, `n` or `m`.
    pub category: String,
    /// The chosen label, e.g. `T1c`.
    pub label: String,
    pub probability: f64,
    /// Every label with its probability, in the manifest's order.
    pub probabilities: Vec<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{model}: output `{output}` {problem}")]
pub struct StagingOutputError {
    pub model: String,
    pub output: String,
    pub problem: String,
}

/// Reads the category outputs of `manifest` from `raw`, in T, N, M order.
pub fn read(manifest: &Manifest, raw: &RawOutputs) -> Result<Vec<CategoryProposal>, StagingOutputError> {
    let mut proposals = Vec::new();
    for category in STAGING_CATEGORIES {
        let Some(spec) = manifest.category_output(category) else { continue };
        let refuse = |problem: String| StagingOutputError {
            model: format!("{} {}", manifest.name, manifest.version),
            output: spec.name.clone(),
            problem,
        };
        let values = raw.f32(&spec.name).ok_or_else(|| refuse("is missing or not float32".into()))?;
        if values.len() != spec.labels.len() {
            return Err(refuse(format!("has {} values for {} labels", values.len(), spec.labels.len())));
        }
        let values: Vec<f64> = values.iter().map(|v| f64::from(*v)).collect();
        if values.iter().any(|p| !(p.is_finite() && (0.0..=1.0).contains(p))) {
            return Err(refuse("has a value outside [0, 1]".into()));
        }
        let sum: f64 = values.iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            return Err(refuse(format!("sums to {sum:.4}, not 1: not a probability distribution")));
        }
        let mut best = 0;
        for (i, p) in values.iter().enumerate() {
            if *p > values[best] {
                best = i;
            }
        }
        proposals.push(CategoryProposal {
            category: category.to_owned(),
            label: spec.labels[best].clone(),
            probability: values[best],
            probabilities: spec.labels.iter().cloned().zip(values).collect(),
        });
    }
    Ok(proposals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const STAGING: &str = r#"
name = "stager"
version = "0.0.1"
task = "staging"
cancer = "lung"
onnx = "model.onnx"
sha256 = "x"
opset = 17
clinical_use = false

[input]
name = "ct"
shape = [1, 1, 4, 4, 4]

[preprocessing]
target_spacing_mm = [2.0, 2.0, 2.0]
size = [4, 4, 4]
orientation = "volume"
interpolation = "trilinear"
hu_clip = [-1000.0, 1000.0]
fill_hu = -1000.0
normalisation = "clip_minmax"

[[outputs]]
name = "n_probabilities"
kind = "category_probabilities"
category = "n"
shape = [1, 3]
labels = ["N0", "N1", "N2"]

[[outputs]]
name = "t_probabilities"
kind = "category_probabilities"
category = "t"
shape = [1, 2]
labels = ["T1a", "T1b"]
"#;

    fn manifest(text: &str) -> Result<Manifest, crate::manifest::ManifestError> {
        Manifest::parse(text, Path::new("manifest.toml"))
    }

    fn raw(t: &[f32], n: &[f32]) -> RawOutputs {
        RawOutputs {
            f32: vec![
                ("t_probabilities".into(), vec![1, t.len()], t.to_vec()),
                ("n_probabilities".into(), vec![1, n.len()], n.to_vec()),
            ],
            i64: vec![],
            ..RawOutputs::default()
        }
    }

    #[test]
    fn each_declared_category_is_read_in_tnm_order_with_its_most_probable_label() {
        let m = manifest(STAGING).expect("a staging manifest");
        let read = read(&m, &raw(&[0.25, 0.75], &[0.1, 0.2, 0.7])).expect("reads");
        assert_eq!(read.len(), 2, "M is not declared: left to the measurement rules");
        assert_eq!((read[0].category.as_str(), read[0].label.as_str(), read[0].probability), ("t", "T1b", 0.75));
        assert_eq!(read[1].label, "N2");
        assert!((read[1].probability - 0.7).abs() < 1e-7);
        assert_eq!(read[1].probabilities.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["N0", "N1", "N2"]);
        let tie = super::read(&m, &raw(&[0.5, 0.5], &[0.1, 0.2, 0.7])).expect("reads");
        assert_eq!(tie[0].label, "T1a", "a tie goes to the first label in the manifest");
    }

    #[test]
    fn outputs_that_are_not_a_distribution_are_refused() {
        let m = manifest(STAGING).expect("a staging manifest");
        for (t, n) in [
            (vec![0.5, 0.6], vec![0.1, 0.2, 0.7]),
            (vec![1.5, -0.5], vec![0.1, 0.2, 0.7]),
            (vec![f32::NAN, 1.0], vec![0.1, 0.2, 0.7]),
            (vec![1.0], vec![0.1, 0.2, 0.7]),
        ] {
            assert!(read(&m, &raw(&t, &n)).is_err(), "{t:?}");
        }
        let missing = RawOutputs {
            f32: vec![("t_probabilities".into(), vec![1, 2], vec![0.5, 0.5])],
            i64: vec![],
            ..RawOutputs::default()
        };
        let refused = read(&m, &missing).err().map(|e| e.problem);
        assert!(refused.as_deref().is_some_and(|p| p.contains("missing")), "{refused:?}");
    }

    #[test]
    fn inconsistent_staging_manifests_are_refused() {
        let cases = [
            STAGING.replace("cancer = \"lung\"\n", ""),
            STAGING.replace("category = \"n\"", "category = \"t\""),
            STAGING.replace("category = \"n\"", "category = \"x\""),
            STAGING.replace(r#"labels = ["N0", "N1", "N2"]"#, r#"labels = ["N0", "N1"]"#),
            STAGING.replace(r#"labels = ["N0", "N1", "N2"]"#, r#"labels = ["N0", "N1", "N1"]"#),
            STAGING.replace("kind = \"category_probabilities\"\ncategory = \"n\"", "kind = \"lesion_heatmap\""),
            format!(
                "{STAGING}\n[[thresholds]]\norgan = \"lung\"\nclass = \"Cancer\"\nthreshold = 0.5\nspecificity = 0.99\n"
            ),
            STAGING.replace("task = \"staging\"", "task = \"screening\""),
        ];
        for case in cases {
            assert!(manifest(&case).is_err(), "{case}");
        }
        assert_eq!(manifest(STAGING).expect("parses").cancer.as_deref(), Some("lung"));
    }
}
