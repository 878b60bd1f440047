//! Which biomarker values make a chronic finding: the cut-offs, each with its source, and the
//! evaluation of one screening result against them. The programme may move the cut-offs within
//! their ranges (settings page); the defaults are the published ones.
//!
//! - Steatosis: liver attenuation below 40 HU on unenhanced CT is highly specific for moderate to
//!   severe steatosis (Pickhardt PJ et al., "Specificity of unenhanced CT for non-invasive
//!   diagnosis of hepatic steatosis", Eur Radiol 2012;22:1075-1082); a liver-minus-spleen
//!   difference below -10 HU also indicates it (Boyce CJ et al., "Hepatic steatosis (fatty liver
//!   disease) in asymptomatic adults identified by unenhanced low-dose CT", AJR 2010;194:623-628).
//! - Bone density: L1 trabecular attenuation of at most 110 HU makes osteoporosis likely, at most
//!   160 HU is low bone density (osteopenia range, DXA advised), above 160 HU is likely normal
//!   (Pickhardt PJ et al., "Opportunistic screening for osteoporosis using abdominal computed
//!   tomography scans obtained for other indications", Ann Intern Med 2013;158:588-595).
//! - Coronary calcium: any coronary calcium on non-gated chest CT is reported (Hecht HS et al.,
//!   "2016 SCCT/STR guidelines for coronary artery calcium scoring of noncontrast noncardiac chest
//!   CT scans", J Cardiovasc Comput Tomogr 2017;11:74-84). The model measures a calcified volume
//!   (voxels of at least 130 HU, Agatston's threshold), not an Agatston score, which needs an
//!   ECG-gated scan. The default 100 mm³ is the programme's own choice, set near the Agatston-100
//!   boundary of CAC-DRS 2 (Hecht HS et al., J Cardiovasc Comput Tomogr 2018;12:185-191) because a
//!   volume score runs close to the Agatston score at typical plaque densities (Callister TQ et
//!   al., Radiology 1998;208:807-814); a site should set its own.

use serde::{Deserialize, Serialize};

use super::kind::{ChronicKind, Criterion};

/// The cut-offs in force. Values are in HU except the calcium volume (mm³).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChronicRules {
    /// Steatosis when the liver is below this (HU).
    pub steatosis_liver_hu: f64,
    /// Steatosis when the liver minus the spleen is below this (HU).
    pub steatosis_liver_minus_spleen_hu: f64,
    /// Osteoporosis likely at or below this L1 attenuation (HU).
    pub osteoporosis_l1_hu: f64,
    /// Low bone density at or below this L1 attenuation (HU), above the osteoporosis cut-off.
    pub low_bone_density_l1_hu: f64,
    /// Coronary calcium above this calcified volume (mm³).
    pub coronary_calcium_mm3: f64,
}

impl Default for ChronicRules {
    fn default() -> Self {
        ChronicRules {
            steatosis_liver_hu: 40.0,
            steatosis_liver_minus_spleen_hu: -10.0,
            osteoporosis_l1_hu: 110.0,
            low_bone_density_l1_hu: 160.0,
            coronary_calcium_mm3: 100.0,
        }
    }
}

/// Each cut-off's allowed range (inclusive): wide enough for any published variant, narrow
/// enough that a typing mistake (a missing minus, a decimal point) is refused.
pub const STEATOSIS_LIVER_HU: (f64, f64) = (20.0, 60.0);
pub const STEATOSIS_LIVER_MINUS_SPLEEN_HU: (f64, f64) = (-30.0, 10.0);
pub const OSTEOPOROSIS_L1_HU: (f64, f64) = (50.0, 200.0);
pub const LOW_BONE_DENSITY_L1_HU: (f64, f64) = (50.0, 250.0);
pub const CORONARY_CALCIUM_MM3: (f64, f64) = (0.0, 1000.0);

/// A refused set of cut-offs: which one, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RulesRefusal {
    pub field: &'static str,
    pub message: crate::domain::said::Said,
}

fn within(field: &'static str, value: f64, (low, high): (f64, f64)) -> Result<(), RulesRefusal> {
    if value.is_finite() && (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(RulesRefusal { field, message: crate::said!("{low} to {high}", "{low} 至 {high}") })
    }
}

impl ChronicRules {
    /// Each cut-off within its range, and the osteoporosis cut-off below the low-density one
    /// (the two bands would otherwise overlap or invert).
    pub fn check(&self) -> Result<(), RulesRefusal> {
        within("steatosis_liver_hu", self.steatosis_liver_hu, STEATOSIS_LIVER_HU)?;
        within(
            "steatosis_liver_minus_spleen_hu",
            self.steatosis_liver_minus_spleen_hu,
            STEATOSIS_LIVER_MINUS_SPLEEN_HU,
        )?;
        within("osteoporosis_l1_hu", self.osteoporosis_l1_hu, OSTEOPOROSIS_L1_HU)?;
        within("low_bone_density_l1_hu", self.low_bone_density_l1_hu, LOW_BONE_DENSITY_L1_HU)?;
        within("coronary_calcium_mm3", self.coronary_calcium_mm3, CORONARY_CALCIUM_MM3)?;
        if self.low_bone_density_l1_hu <= self.osteoporosis_l1_hu {
            return Err(RulesRefusal {
                field: "low_bone_density_l1_hu",
                message: crate::said!("above the osteoporosis cut-off", "须高于骨质疏松切点"),
            });
        }
        Ok(())
    }
}

/// The biomarkers of one screening result that the rules read (`null` where not measured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub liver_hu: Option<f64>,
    pub spleen_hu: Option<f64>,
    pub l1_trabecular_hu: Option<f64>,
    pub coronary_calcium_mm3: Option<f64>,
}

impl Measured {
    /// The figure a chronic finding of `kind` follows over time: the liver attenuation, the L1
    /// attenuation, the coronary calcium volume.
    pub fn value_of(&self, kind: ChronicKind) -> Option<f64> {
        match kind {
            ChronicKind::Steatosis => self.liver_hu,
            ChronicKind::Osteoporosis => self.l1_trabecular_hu,
            ChronicKind::CoronaryCalcium => self.coronary_calcium_mm3,
        }
        .filter(|v| v.is_finite())
    }
}

/// A chronic condition one result meets: which, by which criterion, and the figure followed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Met {
    pub kind: ChronicKind,
    pub criterion: Criterion,
    pub value: f64,
}

/// The conditions `measured` meets under `rules`, at most one per kind (for steatosis the liver
/// criterion is named when both hold; for bone the more severe band).
pub fn evaluate(measured: &Measured, rules: &ChronicRules) -> Vec<Met> {
    let mut met = Vec::new();
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    if let Some(liver) = finite(measured.liver_hu) {
        let difference = finite(measured.spleen_hu).map(|spleen| liver - spleen);
        let criterion = if liver < rules.steatosis_liver_hu {
            Some(Criterion::LiverBelow)
        } else if difference.is_some_and(|d| d < rules.steatosis_liver_minus_spleen_hu) {
            Some(Criterion::LiverMinusSpleenBelow)
        } else {
            None
        };
        if let Some(criterion) = criterion {
            met.push(Met { kind: ChronicKind::Steatosis, criterion, value: liver });
        }
    }
    if let Some(l1) = finite(measured.l1_trabecular_hu) {
        let criterion = if l1 <= rules.osteoporosis_l1_hu {
            Some(Criterion::OsteoporosisLikely)
        } else if l1 <= rules.low_bone_density_l1_hu {
            Some(Criterion::LowBoneDensity)
        } else {
            None
        };
        if let Some(criterion) = criterion {
            met.push(Met { kind: ChronicKind::Osteoporosis, criterion, value: l1 });
        }
    }
    if let Some(calcium) = finite(measured.coronary_calcium_mm3)
        && calcium > rules.coronary_calcium_mm3
    {
        met.push(Met {
            kind: ChronicKind::CoronaryCalcium,
            criterion: Criterion::CoronaryCalciumAbove,
            value: calcium,
        });
    }
    met
}
