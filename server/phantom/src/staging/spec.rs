//! The staging spec: `models/phantom/staging.toml`, parsed and checked against the phantom
//! spec (organ names).

use std::collections::HashSet;

use serde::Deserialize;

use crate::PhantomError;
use crate::spec::{LesionRule, LesionShape, PhantomSpec};

/// The staging specification shipped with Elysium.
pub const DEFAULT_STAGING_SPEC: &str = include_str!("../../../../models/phantom/staging.toml");

/// The staging spec format version this generator reads.
pub const STAGING_SPEC_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingSpec {
    pub version: u32,
    pub node: NodeSpec,
    pub distant: DistantSpec,
    #[serde(rename = "invasion", default)]
    pub invasions: Vec<InvasionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub label: u8,
    pub name: String,
    pub hu: f64,
    pub hu_contrast: Option<f64>,
    pub sd: f64,
    pub fat_shell_mm: f64,
    pub short_axis_mm: [f64; 2],
    pub long_over_short: [f64; 2],
    pub craniocaudal_over_short: [f64; 2],
    pub gap_mm: f64,
    #[serde(rename = "region")]
    pub regions: Vec<NodeRegionSpec>,
}

impl NodeSpec {
    pub fn mean_hu(&self, contrast: bool) -> f64 {
        if contrast { self.hu_contrast.unwrap_or(self.hu) } else { self.hu }
    }

    /// The region `name` of a primary in `organ` (a phantom organ name).
    pub fn region(&self, organ: &str, name: &str) -> Option<&NodeRegionSpec> {
        self.regions.iter().find(|r| r.name.eq_ignore_ascii_case(name.trim()) && r.organs.iter().any(|o| o == organ))
    }

    /// The region names offered for a primary in `organ`.
    pub fn region_names(&self, organ: &str) -> Vec<&str> {
        self.regions.iter().filter(|r| r.organs.iter().any(|o| o == organ)).map(|r| r.name.as_str()).collect()
    }
}

/// Which side a region lies on, relative to the primary lesion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionSide {
    Ipsilateral,
    Contralateral,
    Any,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRegionSpec {
    pub organs: Vec<String>,
    pub name: String,
    pub side: RegionSide,
    pub center: Option<[f64; 3]>,
    pub half_size: Option<[f64; 3]>,
    pub around_primary_mm: Option<[f64; 2]>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistantSpec {
    pub label: u8,
    pub name: String,
    #[serde(rename = "rule")]
    pub rules: Vec<DistantRule>,
}

impl DistantSpec {
    pub fn rule(&self, name: &str) -> Option<&DistantRule> {
        let name = name.trim();
        self.rules
            .iter()
            .find(|r| r.organ.eq_ignore_ascii_case(name) || r.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistantRule {
    pub organ: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub class: String,
    pub diameter_mm: [f64; 2],
    pub hu_offset: [f64; 2],
    pub hu_offset_contrast: Option<[f64; 2]>,
    pub shapes: Vec<LesionShape>,
    pub min_inside: f64,
    pub margin_mm: f64,
}

impl DistantRule {
    /// The equivalent lesion rule (placement and HU draws).
    pub fn lesion_rule(&self) -> LesionRule {
        LesionRule {
            organ: self.organ.clone(),
            aliases: self.aliases.clone(),
            class: self.class.clone(),
            diameter_mm: self.diameter_mm,
            hu_offset: self.hu_offset,
            hu_offset_contrast: self.hu_offset_contrast,
            shapes: self.shapes.clone(),
            min_inside: self.min_inside,
            grow_into: Vec::new(),
            patient_sex: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvasionSpec {
    pub organ: String,
    pub structure: String,
    pub labels: Vec<String>,
    pub grow_into: Vec<String>,
    pub allowed: Vec<String>,
    pub overlap: [f64; 2],
    pub min_host: f64,
}

impl StagingSpec {
    /// Parses and checks a staging spec against the phantom spec it goes with.
    pub fn parse(text: &str, origin: &str, spec: &PhantomSpec) -> Result<StagingSpec, PhantomError> {
        let staging: StagingSpec = toml::from_str(text)
            .map_err(|e| PhantomError::SpecParse { origin: origin.to_owned(), source: Box::new(e) })?;
        staging.check(spec).map_err(|reason| PhantomError::SpecInvalid { origin: origin.to_owned(), reason })?;
        Ok(staging)
    }

    /// The built-in staging spec, checked against `spec`.
    pub fn builtin(spec: &PhantomSpec) -> Result<StagingSpec, PhantomError> {
        StagingSpec::parse(DEFAULT_STAGING_SPEC, "built-in staging spec", spec)
    }

    pub fn invasion(&self, organ: &str, structure: &str) -> Option<&InvasionSpec> {
        let structure = structure.trim().replace('-', "_");
        self.invasions.iter().find(|i| i.organ == organ && i.structure.eq_ignore_ascii_case(&structure))
    }

    fn check(&self, spec: &PhantomSpec) -> Result<(), String> {
        if self.version != STAGING_SPEC_VERSION {
            return Err(format!(
                "version {} is not supported (this generator reads version {STAGING_SPEC_VERSION})",
                self.version
            ));
        }
        let organ = |name: &str, what: &str| -> Result<(), String> {
            match spec.organ(name) {
                Some(o) if o.label != 0 => Ok(()),
                _ => Err(format!("{what}: no organ `{name}`")),
            }
        };
        organ(super::place::FAT, "perinodal fat")?;
        let used: HashSet<u8> = spec.organs.iter().map(|o| o.label).chain([spec.lesions.label]).collect();
        let n = &self.node;
        let d = &self.distant;
        if used.contains(&n.label) || used.contains(&d.label) || n.label == d.label {
            return Err(
                "node.label and distant.label must differ from every organ and lesion label and each other".into()
            );
        }
        for (name, value) in [("node.sd", n.sd), ("node.fat_shell_mm", n.fat_shell_mm), ("node.gap_mm", n.gap_mm)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be zero or positive"));
            }
        }
        if !n.hu.is_finite() || n.hu_contrast.is_some_and(|h| !h.is_finite()) {
            return Err("node.hu must be finite".into());
        }
        for (name, [lo, hi]) in [
            ("node.short_axis_mm", n.short_axis_mm),
            ("node.long_over_short", n.long_over_short),
            ("node.craniocaudal_over_short", n.craniocaudal_over_short),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
                return Err(format!("{name} must be [min, max] with 0 < min <= max"));
            }
        }
        if n.long_over_short[0] < 1.0 || n.craniocaudal_over_short[0] < 1.0 {
            return Err("node axis ratios must be at least 1 (the short axis is the shortest)".into());
        }
        for region in &n.regions {
            let what = format!("node region `{}`", region.name);
            if region.organs.is_empty() || region.labels.is_empty() {
                return Err(format!("{what}: no organs or no labels"));
            }
            for name in region.organs.iter().chain(&region.labels) {
                organ(name, &what)?;
            }
            match (region.center, region.half_size, region.around_primary_mm) {
                (Some(c), Some(h), None) => {
                    if c.iter().chain(&h).any(|v| !v.is_finite()) || h.iter().any(|v| *v <= 0.0) {
                        return Err(format!("{what}: center and half_size must be finite, half_size positive"));
                    }
                }
                (None, None, Some([lo, hi])) => {
                    if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo < hi) {
                        return Err(format!("{what}: around_primary_mm must be [min, max] with 0 <= min < max"));
                    }
                }
                _ => return Err(format!("{what}: give either center and half_size, or around_primary_mm")),
            }
        }
        for rule in &d.rules {
            let what = format!("distant rule `{}`", rule.organ);
            organ(&rule.organ, &what)?;
            let [lo, hi] = rule.diameter_mm;
            if !(lo > 0.0 && lo <= hi && hi.is_finite()) || rule.shapes.is_empty() {
                return Err(format!("{what}: diameter_mm must be [min, max] with 0 < min <= max, shapes not empty"));
            }
            let margin_ok = rule.margin_mm.is_finite() && rule.margin_mm >= 0.0;
            if !((0.0..=1.0).contains(&rule.min_inside) && margin_ok) {
                return Err(format!("{what}: min_inside within 0..=1, margin_mm zero or positive"));
            }
        }
        for inv in &self.invasions {
            let what = format!("invasion `{}:{}`", inv.organ, inv.structure);
            organ(&inv.organ, &what)?;
            if spec.lesion_rule(&inv.organ).is_none_or(|r| r.organ != inv.organ) {
                return Err(format!("{what}: no lesion rule for the organ"));
            }
            if inv.labels.is_empty() {
                return Err(format!("{what}: no labels"));
            }
            for name in inv.labels.iter().chain(&inv.grow_into).chain(&inv.allowed) {
                organ(name, &what)?;
            }
            let [lo, hi] = inv.overlap;
            let overlap_ok = lo > 0.0 && lo <= hi && hi < 1.0;
            if !(overlap_ok && (0.0..=1.0).contains(&inv.min_host)) {
                return Err(format!("{what}: overlap must be [min, max] within (0, 1), min_host within 0..=1"));
            }
        }
        Ok(())
    }
}
