//! The phantom specification: `models/phantom/spec.toml`, parsed and checked. See that file
//! and `models/phantom/README.md` for the meaning of every field.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::PhantomError;

/// The specification shipped with Elysium, used when no spec path is given.
pub const DEFAULT_SPEC: &str = include_str!("../../../models/phantom/spec.toml");

/// The spec format version this generator reads.
pub const SPEC_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhantomSpec {
    pub version: u32,
    pub geometry: GeometrySpec,
    pub variation: VariationSpec,
    pub noise: NoiseSpec,
    pub lesions: LesionLabelSpec,
    #[serde(rename = "organ")]
    pub organs: Vec<OrganSpec>,
    #[serde(rename = "lesion", default)]
    pub lesion_rules: Vec<LesionRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometrySpec {
    pub fov_mm: f64,
    pub slice_thickness_mm: f64,
    pub slice_spacing_mm: f64,
    pub body_half_width_mm: f64,
    pub body_half_depth_mm: f64,
    pub body_length_mm: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariationSpec {
    pub body_scale_sd: f64,
    pub body_scale_range: [f64; 2],
    pub position_jitter: f64,
    pub size_sd: f64,
    pub size_range: [f64; 2],
    pub female_fraction: f64,
    pub age_range: [u32; 2],
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    pub in_plane_smoothing: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LesionLabelSpec {
    pub label: u8,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganSpec {
    pub name: String,
    pub label: u8,
    pub hu: f64,
    pub hu_contrast: Option<f64>,
    pub sd: f64,
    #[serde(default)]
    pub hu_jitter: f64,
    #[serde(default = "yes")]
    pub jitter: bool,
    #[serde(rename = "shape", default)]
    pub shapes: Vec<ShapeSpec>,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

impl OrganSpec {
    /// The organ's mean HU in the requested phase.
    pub fn mean_hu(&self, contrast: bool) -> f64 {
        if contrast { self.hu_contrast.unwrap_or(self.hu) } else { self.hu }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ShapeSpec {
    Ellipsoid {
        center: [f64; 3],
        radii: [f64; 3],
        #[serde(default)]
        rotate_deg: f64,
        #[serde(default = "one")]
        male_scale: f64,
    },
    Cylinder {
        center: [f64; 2],
        radii: [f64; 2],
        w: [f64; 2],
        inner: Option<[f64; 2]>,
        period_mm: Option<f64>,
        #[serde(default = "one")]
        duty: f64,
        #[serde(default)]
        descent_mm: f64,
        sector_deg: Option<[f64; 2]>,
    },
    Tube {
        points: Vec<[f64; 3]>,
        radius_mm: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LesionShape {
    Sphere,
    Lobulated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Sex {
    F,
    M,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LesionRule {
    pub organ: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub class: String,
    pub diameter_mm: [f64; 2],
    pub hu_offset: [f64; 2],
    pub hu_offset_contrast: Option<[f64; 2]>,
    pub shapes: Vec<LesionShape>,
    pub min_inside: f64,
    #[serde(default)]
    pub grow_into: Vec<String>,
    pub patient_sex: Option<Sex>,
}

impl LesionRule {
    /// The HU offset range in the requested phase.
    pub fn offset_range(&self, contrast: bool) -> [f64; 2] {
        if contrast { self.hu_offset_contrast.unwrap_or(self.hu_offset) } else { self.hu_offset }
    }

    /// Whether a command-line organ name designates this rule (organ, alias or class,
    /// ignoring case).
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        self.organ.eq_ignore_ascii_case(name)
            || self.class.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

impl PhantomSpec {
    /// Parses and checks a spec; `origin` names it in errors (a path or "built-in spec").
    pub fn parse(text: &str, origin: &str) -> Result<PhantomSpec, PhantomError> {
        let spec: PhantomSpec = toml::from_str(text)
            .map_err(|e| PhantomError::SpecParse { origin: origin.to_owned(), source: Box::new(e) })?;
        spec.check().map_err(|reason| PhantomError::SpecInvalid { origin: origin.to_owned(), reason })?;
        Ok(spec)
    }

    /// The built-in spec (`models/phantom/spec.toml` as compiled in).
    pub fn builtin() -> Result<PhantomSpec, PhantomError> {
        PhantomSpec::parse(DEFAULT_SPEC, "built-in spec")
    }

    /// Reads a spec file.
    pub fn load(path: &Path) -> Result<PhantomSpec, PhantomError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| PhantomError::SpecRead { path: path.to_owned(), source })?;
        PhantomSpec::parse(&text, &path.display().to_string())
    }

    pub fn organ(&self, name: &str) -> Option<&OrganSpec> {
        self.organs.iter().find(|o| o.name == name)
    }

    pub fn background(&self) -> Option<&OrganSpec> {
        self.organs.iter().find(|o| o.label == 0)
    }

    /// The name of a label id (organs and the lesion label).
    pub fn label_name(&self, label: u8) -> Option<&str> {
        if label == self.lesions.label {
            return Some(&self.lesions.name);
        }
        self.organs.iter().find(|o| o.label == label).map(|o| o.name.as_str())
    }

    /// The lesion rule a command-line organ name designates.
    pub fn lesion_rule(&self, name: &str) -> Option<&LesionRule> {
        self.lesion_rules.iter().find(|r| r.matches(name))
    }

    fn check(&self) -> Result<(), String> {
        if self.version != SPEC_VERSION {
            return Err(format!(
                "version {} is not supported (this generator reads version {SPEC_VERSION})",
                self.version
            ));
        }
        let g = &self.geometry;
        for (name, value) in [
            ("geometry.fov_mm", g.fov_mm),
            ("geometry.slice_thickness_mm", g.slice_thickness_mm),
            ("geometry.slice_spacing_mm", g.slice_spacing_mm),
            ("geometry.body_half_width_mm", g.body_half_width_mm),
            ("geometry.body_half_depth_mm", g.body_half_depth_mm),
            ("geometry.body_length_mm", g.body_length_mm),
        ] {
            positive(name, value)?;
        }
        let v = &self.variation;
        non_negative("variation.body_scale_sd", v.body_scale_sd)?;
        ordered_positive("variation.body_scale_range", v.body_scale_range)?;
        non_negative("variation.position_jitter", v.position_jitter)?;
        non_negative("variation.size_sd", v.size_sd)?;
        ordered_positive("variation.size_range", v.size_range)?;
        if !(0.0..=1.0).contains(&v.female_fraction) {
            return Err("variation.female_fraction must be within 0..=1".into());
        }
        if v.age_range[0] > v.age_range[1] || v.age_range[1] > 130 {
            return Err("variation.age_range must be [min, max] with max <= 130".into());
        }
        if self.lesions.name.trim().is_empty() {
            return Err("lesions.name is empty".into());
        }

        let mut names = HashSet::new();
        let mut labels = HashSet::new();
        let mut background = 0;
        for organ in &self.organs {
            let ctx = |what: &str| format!("organ `{}`: {what}", organ.name);
            if organ.name.trim().is_empty() {
                return Err("an organ has an empty name".into());
            }
            if !names.insert(organ.name.as_str()) {
                return Err(ctx("the name is used twice"));
            }
            if organ.label == self.lesions.label {
                return Err(ctx("its label is the lesion label"));
            }
            if !labels.insert(organ.label) {
                return Err(ctx(&format!("label {} is used twice", organ.label)));
            }
            finite(&ctx("hu"), organ.hu)?;
            if let Some(hu) = organ.hu_contrast {
                finite(&ctx("hu_contrast"), hu)?;
            }
            non_negative(&ctx("sd"), organ.sd)?;
            non_negative(&ctx("hu_jitter"), organ.hu_jitter)?;
            if organ.label == 0 {
                background += 1;
                if !organ.shapes.is_empty() {
                    return Err(ctx("the background (label 0) takes no shapes"));
                }
                continue;
            }
            if organ.shapes.is_empty() {
                return Err(ctx("no shapes"));
            }
            for shape in &organ.shapes {
                check_shape(shape).map_err(|e| ctx(&e))?;
            }
        }
        if background != 1 {
            return Err("exactly one organ must have label 0 (the background)".into());
        }

        let mut designators = HashSet::new();
        for rule in &self.lesion_rules {
            let ctx = |what: &str| format!("lesion rule for `{}`: {what}", rule.organ);
            match self.organ(&rule.organ) {
                Some(o) if o.label != 0 => {}
                _ => return Err(ctx("no such organ")),
            }
            if rule.class.trim().is_empty() {
                return Err(ctx("empty class"));
            }
            let own: HashSet<String> = std::iter::once(&rule.organ)
                .chain(&rule.aliases)
                .chain(std::iter::once(&rule.class))
                .map(|name| name.trim().to_ascii_lowercase())
                .collect();
            for name in own {
                if name.is_empty() {
                    return Err(ctx("an empty alias"));
                }
                if !designators.insert(name.clone()) {
                    return Err(ctx(&format!("the name `{name}` designates two rules")));
                }
            }
            ordered_positive(&ctx("diameter_mm"), rule.diameter_mm)?;
            ordered(&ctx("hu_offset"), rule.hu_offset)?;
            if let Some(range) = rule.hu_offset_contrast {
                ordered(&ctx("hu_offset_contrast"), range)?;
            }
            if rule.shapes.is_empty() {
                return Err(ctx("no shapes"));
            }
            if !(0.0..=1.0).contains(&rule.min_inside) {
                return Err(ctx("min_inside must be within 0..=1"));
            }
            for other in &rule.grow_into {
                if self.organ(other).is_none() {
                    return Err(ctx(&format!("grow_into names no organ (`{other}`)")));
                }
            }
        }
        Ok(())
    }
}

fn check_shape(shape: &ShapeSpec) -> Result<(), String> {
    match shape {
        ShapeSpec::Ellipsoid { center, radii, rotate_deg, male_scale } => {
            all_finite("ellipsoid center", center)?;
            for r in radii {
                positive("ellipsoid radii", *r)?;
            }
            finite("ellipsoid rotate_deg", *rotate_deg)?;
            positive("ellipsoid male_scale", *male_scale)
        }
        ShapeSpec::Cylinder { center, radii, w, inner, period_mm, duty, descent_mm, sector_deg } => {
            all_finite("cylinder center", center)?;
            finite("cylinder descent_mm", *descent_mm)?;
            for r in radii {
                positive("cylinder radii", *r)?;
            }
            all_finite("cylinder w", w)?;
            if w[0] >= w[1] {
                return Err("cylinder w must be [lower, upper] with lower < upper".into());
            }
            if let Some(inner) = inner {
                for (i, r) in inner.iter().enumerate() {
                    positive("cylinder inner", *r)?;
                    if *r >= radii[i] {
                        return Err("cylinder inner radii must be below its radii".into());
                    }
                }
            }
            if let Some(period) = period_mm {
                positive("cylinder period_mm", *period)?;
            }
            if !(*duty > 0.0 && *duty <= 1.0) {
                return Err("cylinder duty must be within (0, 1]".into());
            }
            if let Some([a0, a1]) = sector_deg {
                all_finite("cylinder sector_deg", &[*a0, *a1])?;
                let span = a1 - a0;
                if !(span > 0.0 && span <= 360.0) {
                    return Err("cylinder sector_deg must span (0, 360] degrees".into());
                }
            }
            Ok(())
        }
        ShapeSpec::Tube { points, radius_mm } => {
            if points.len() < 2 {
                return Err("a tube needs at least two points".into());
            }
            for p in points {
                all_finite("tube points", p)?;
            }
            positive("tube radius_mm", *radius_mm)
        }
    }
}

fn finite(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() { Ok(()) } else { Err(format!("{name} must be a finite number")) }
}

fn all_finite(name: &str, values: &[f64]) -> Result<(), String> {
    values.iter().try_for_each(|v| finite(name, *v))
}

fn positive(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 { Ok(()) } else { Err(format!("{name} must be positive")) }
}

fn non_negative(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value >= 0.0 { Ok(()) } else { Err(format!("{name} must be zero or positive")) }
}

fn ordered(name: &str, [lo, hi]: [f64; 2]) -> Result<(), String> {
    all_finite(name, &[lo, hi])?;
    if lo <= hi { Ok(()) } else { Err(format!("{name} must be [min, max] with min <= max")) }
}

fn ordered_positive(name: &str, range: [f64; 2]) -> Result<(), String> {
    ordered(name, range)?;
    positive(name, range[0])
}
