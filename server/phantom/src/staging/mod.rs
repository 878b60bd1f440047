//! Staging findings: what a tumour board needs besides the primary lesion, on request.
//!
//! * [`NodeRequest`] (`ORGAN:REGION:SHORT_AXIS_MM`, e.g. `lung:hilar:14`): a lymph node of the
//!   primary lesion in ORGAN, in a named region (`models/phantom/staging.toml`: for the lung
//!   `hilar`, `mediastinal`, `contralateral`; for abdominal organs `regional`), a soft-tissue
//!   ellipsoid with that short axis in the axial plane, wrapped in perinodal fat. A short axis
//!   under 10 mm makes a normal node, 10 mm or more an enlarged one.
//! * [`DistantRequest`] (`ORGAN:DIAMETER_MM`, e.g. `liver:18`): a metastasis in the liver
//!   (hypodense) or a lung (a solid nodule; the other lung for a lung primary).
//! * [`InvasionRequest`] (`ORGAN:STRUCTURE`, e.g. `lung:chest_wall`, `pancreas:aorta`): the
//!   primary lesion in ORGAN is placed against the structure (overlapping it, growing into
//!   it where the staging spec says so).
//!
//! The ground truth goes into truth.json (`nodes`, `distant`, `invasion`), which keeps its
//! old form when none is requested; so do the files: without staging options the phantom is
//! byte-identical to one made before these existed.

mod place;
mod spec;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub(crate) use self::place::{PatientStaging, TruthDistant, TruthInvasion, TruthNode};
pub use self::spec::{DEFAULT_STAGING_SPEC, STAGING_SPEC_VERSION, StagingSpec};
use self::spec::{DistantRule, InvasionSpec, NodeRegionSpec};
use crate::PhantomError;
use crate::spec::{LesionRule, PhantomSpec};

/// Staging findings added to every patient of a run (all empty: none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StagingOptions {
    pub nodes: Vec<NodeRequest>,
    pub distant: Vec<DistantRequest>,
    pub invasion: Vec<InvasionRequest>,
}

impl StagingOptions {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.distant.is_empty() && self.invasion.is_empty()
    }
}

/// A lymph node, `ORGAN:REGION:SHORT_AXIS_MM` on the command line (e.g. `lung:hilar:14`,
/// `pancreas:regional:12`). ORGAN designates the primary lesion's organ as in
/// [`crate::LesionRequest`] (a lesion of that organ must be requested too).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRequest {
    pub organ: String,
    pub region: String,
    pub short_axis_mm: f32,
}

/// A distant lesion (metastasis), `ORGAN:DIAMETER_MM` on the command line (e.g. `liver:18`,
/// `lung:10`).
#[derive(Debug, Clone, PartialEq)]
pub struct DistantRequest {
    pub organ: String,
    pub diameter_mm: f32,
}

/// A primary lesion against an adjacent structure, `ORGAN:STRUCTURE` on the command line
/// (e.g. `lung:chest_wall`, `pancreas:aorta`): the first requested lesion of ORGAN is placed
/// against it.
#[derive(Debug, Clone, PartialEq)]
pub struct InvasionRequest {
    pub organ: String,
    pub structure: String,
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn millimetres(text: &str) -> Option<f32> {
    let text = text.trim();
    let value: f32 = text.strip_suffix("mm").unwrap_or(text).trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then_some(value)
}

impl FromStr for NodeRequest {
    type Err = PhantomError;

    fn from_str(input: &str) -> Result<NodeRequest, PhantomError> {
        let bad =
            |reason: &str| PhantomError::InvalidNodeRequest { input: input.to_owned(), reason: reason.to_owned() };
        let mut parts = input.split(':');
        let (Some(organ), Some(region), Some(size), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not three fields separated by `:`"));
        };
        let (organ, region) = (organ.trim(), region.trim());
        if !name_ok(organ) {
            return Err(bad("the organ is empty or has characters other than letters, digits, `_`, `-`"));
        }
        if !name_ok(region) {
            return Err(bad("the region is empty or has characters other than letters, digits, `_`, `-`"));
        }
        let short_axis_mm =
            millimetres(size).ok_or_else(|| bad("the short axis must be a positive number of millimetres"))?;
        Ok(NodeRequest { organ: organ.to_owned(), region: region.to_ascii_lowercase(), short_axis_mm })
    }
}

impl fmt::Display for NodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.organ, self.region, self.short_axis_mm)
    }
}

impl FromStr for DistantRequest {
    type Err = PhantomError;

    fn from_str(input: &str) -> Result<DistantRequest, PhantomError> {
        let bad =
            |reason: &str| PhantomError::InvalidDistantRequest { input: input.to_owned(), reason: reason.to_owned() };
        let (organ, size) = input.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let organ = organ.trim();
        if !name_ok(organ) {
            return Err(bad("the organ is empty or has characters other than letters, digits, `_`, `-`"));
        }
        let diameter_mm =
            millimetres(size).ok_or_else(|| bad("the diameter must be a positive number of millimetres"))?;
        Ok(DistantRequest { organ: organ.to_owned(), diameter_mm })
    }
}

impl fmt::Display for DistantRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.organ, self.diameter_mm)
    }
}

impl FromStr for InvasionRequest {
    type Err = PhantomError;

    fn from_str(input: &str) -> Result<InvasionRequest, PhantomError> {
        let bad =
            |reason: &str| PhantomError::InvalidInvasionRequest { input: input.to_owned(), reason: reason.to_owned() };
        let mut parts = input.split(':');
        let (Some(organ), Some(structure), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("not two fields separated by `:`"));
        };
        let (organ, structure) = (organ.trim(), structure.trim());
        if !name_ok(organ) {
            return Err(bad("the organ is empty or has characters other than letters, digits, `_`, `-`"));
        }
        if !name_ok(structure) {
            return Err(bad("the structure is empty or has characters other than letters, digits, `_`, `-`"));
        }
        Ok(InvasionRequest { organ: organ.to_owned(), structure: structure.to_ascii_lowercase().replace('-', "_") })
    }
}

impl fmt::Display for InvasionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.organ, self.structure)
    }
}

/// A node request checked against the specs.
pub(crate) struct ResolvedNode<'a> {
    pub region: &'a NodeRegionSpec,
    /// The phantom organ of the primary lesion.
    pub organ: String,
    /// Index of the primary lesion among the run's lesions.
    pub primary: usize,
    pub short_axis_mm: f64,
    pub request: String,
}

pub(crate) struct ResolvedDistant {
    pub rule: LesionRule,
    pub margin_mm: f64,
    pub diameter_mm: f64,
    /// A lung lesion index whose other lung this one goes to.
    pub opposite_of: Option<usize>,
    pub request: String,
}

pub(crate) struct ResolvedInvasion<'a> {
    pub spec: &'a InvasionSpec,
    pub lesion: usize,
}

/// Staging requests checked against the specs, for a run.
pub(crate) struct ResolvedStaging<'a> {
    pub staging: &'a StagingSpec,
    pub nodes: Vec<ResolvedNode<'a>>,
    pub distant: Vec<ResolvedDistant>,
    pub invasions: Vec<ResolvedInvasion<'a>>,
}

impl<'a> ResolvedStaging<'a> {
    /// Checks `options` against the specs; `lesion_organs` are the phantom organs of the run's
    /// lesions, in order.
    pub fn resolve(
        spec: &PhantomSpec,
        staging: &'a StagingSpec,
        options: &StagingOptions,
        lesion_organs: &[&str],
    ) -> Result<ResolvedStaging<'a>, PhantomError> {
        let bad = |request: String, reason: String| PhantomError::InvalidStagingRequest { request, reason };
        let primary_of = |organ: &str, request: String| -> Result<(String, usize), PhantomError> {
            let rule = spec.lesion_rule(organ).ok_or_else(|| {
                bad(
                    request.clone(),
                    format!(
                        "no lesion rule for organ `{organ}` (known: {})",
                        spec.lesion_rules.iter().map(|r| r.organ.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let index = lesion_organs.iter().position(|o| *o == rule.organ).ok_or_else(|| {
                bad(request, format!("no {} lesion is requested (add --lesion {}:DIAMETER_MM)", rule.organ, rule.organ))
            })?;
            Ok((rule.organ.clone(), index))
        };

        let mut nodes = Vec::new();
        for request in &options.nodes {
            let text = request.to_string();
            let (organ, primary) = primary_of(&request.organ, text.clone())?;
            let region = staging.node.region(&organ, &request.region).ok_or_else(|| {
                let known = staging.node.region_names(&organ);
                let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                bad(text.clone(), format!("no node region `{}` for the {organ} (known: {known})", request.region))
            })?;
            let d = f64::from(request.short_axis_mm);
            let [lo, hi] = staging.node.short_axis_mm;
            if !d.is_finite() || d < lo || d > hi {
                return Err(bad(text, format!("the short axis must be within {lo}..={hi} mm")));
            }
            nodes.push(ResolvedNode { region, organ, primary, short_axis_mm: d, request: text });
        }

        let mut distant = Vec::new();
        for request in &options.distant {
            let text = request.to_string();
            let rule: &DistantRule = staging.distant.rule(&request.organ).ok_or_else(|| {
                let known = staging.distant.rules.iter().map(|r| r.organ.as_str()).collect::<Vec<_>>().join(", ");
                bad(text.clone(), format!("no distant lesion rule for organ `{}` (known: {known})", request.organ))
            })?;
            let d = f64::from(request.diameter_mm);
            let [lo, hi] = rule.diameter_mm;
            if !d.is_finite() || d < lo || d > hi {
                return Err(bad(text, format!("the diameter must be within {lo}..={hi} mm")));
            }
            let opposite_of = lesion_organs.iter().position(|o| *o == rule.organ && rule.organ == "lung");
            distant.push(ResolvedDistant {
                rule: rule.lesion_rule(),
                margin_mm: rule.margin_mm,
                diameter_mm: d,
                opposite_of,
                request: text,
            });
        }

        let mut invasions: Vec<ResolvedInvasion<'a>> = Vec::new();
        for request in &options.invasion {
            let text = request.to_string();
            let (organ, lesion) = primary_of(&request.organ, text.clone())?;
            let spec = staging.invasion(&organ, &request.structure).ok_or_else(|| {
                let known: Vec<String> =
                    staging.invasions.iter().map(|i| format!("{}:{}", i.organ, i.structure)).collect();
                bad(
                    text.clone(),
                    format!("no invasion of `{}` for the {organ} (known: {})", request.structure, known.join(", ")),
                )
            })?;
            if invasions.iter().any(|i| i.lesion == lesion) {
                return Err(bad(text, "the lesion already has an invasion".into()));
            }
            invasions.push(ResolvedInvasion { spec, lesion });
        }
        Ok(ResolvedStaging { staging, nodes, distant, invasions })
    }

    pub fn invasion_of(&self, lesion: usize) -> Option<&ResolvedInvasion<'a>> {
        self.invasions.iter().find(|i| i.lesion == lesion)
    }
}
