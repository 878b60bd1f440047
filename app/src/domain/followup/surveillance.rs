//! The surveillance interval the finding page offers when a closed finding (benign, no lesion,
//! dismissed) is to be imaged again: by the finding's organ and, for lung nodules, its size. The
//! person setting it may choose another interval for the patient; this is the default.
//!
//! Sources:
//! - Lung nodules: Fleischner Society 2017 (MacMahon H et al., Radiology 2017;284:228-243),
//!   solid nodules in a high-risk patient (a screening population is): below 6 mm, optional CT
//!   at 12 months; 6 to 8 mm, CT at 6 to 12 months (the earlier bound is taken); above 8 mm,
//!   consider CT at 3 months, PET/CT or tissue sampling (3 months is taken).
//! - Kidney: Bosniak classification, version 2019 (Silverman SG et al., Radiology
//!   2019;292:475-488): a Bosniak IIF mass is imaged at 6 months, 12 months, then yearly.
//! - Every other organ: the programme's default of 12 months (no guideline sets an interval for
//!   an incidental finding there that a screening programme could apply on size alone).

use serde::{Deserialize, Serialize};

use super::event::DEFAULT_SURVEILLANCE_MONTHS;
use crate::domain::organs::Organ;

/// Where a default interval comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveillanceSource {
    /// Fleischner 2017, solid nodule below 6 mm.
    FleischnerSmall,
    /// Fleischner 2017, solid nodule 6 to 8 mm.
    FleischnerMedium,
    /// Fleischner 2017, solid nodule above 8 mm.
    FleischnerLarge,
    /// Bosniak 2019, class IIF.
    BosniakIif,
    /// The programme's default.
    Programme,
}

impl SurveillanceSource {
    pub fn citation(self) -> &'static str {
        match self {
            SurveillanceSource::FleischnerSmall => "Fleischner 2017: solid nodule < 6 mm, high risk",
            SurveillanceSource::FleischnerMedium => "Fleischner 2017: solid nodule 6–8 mm",
            SurveillanceSource::FleischnerLarge => "Fleischner 2017: solid nodule > 8 mm",
            SurveillanceSource::BosniakIif => "Bosniak 2019: class IIF",
            SurveillanceSource::Programme => "programme default",
        }
    }

    /// The citation in Simplified Chinese (the guidelines' names and the figures as they are).
    pub fn citation_zh(self) -> &'static str {
        match self {
            SurveillanceSource::FleischnerSmall => "Fleischner 2017：实性结节 < 6 mm，高危",
            SurveillanceSource::FleischnerMedium => "Fleischner 2017：实性结节 6–8 mm",
            SurveillanceSource::FleischnerLarge => "Fleischner 2017：实性结节 > 8 mm",
            SurveillanceSource::BosniakIif => "Bosniak 2019：IIF 级",
            SurveillanceSource::Programme => "本项目默认值",
        }
    }

    pub fn citation_in(self, language: crate::domain::language::Language) -> &'static str {
        match language {
            crate::domain::language::Language::English => self.citation(),
            crate::domain::language::Language::SimplifiedChinese => self.citation_zh(),
        }
    }
}

/// A default interval and its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveillanceDefault {
    pub months: u32,
    pub source: SurveillanceSource,
}

/// The default interval for a finding of `organ` whose lesion measured `diameter_mm` (when the
/// model sized it). A lung finding without a size gets the 6 to 8 mm interval: the screening
/// model's smallest flagged nodules are of that order, and the earlier look is the safer one.
pub fn default_interval(organ: Organ, diameter_mm: Option<f64>) -> SurveillanceDefault {
    let (months, source) = match organ {
        Organ::Lung => match diameter_mm.filter(|d| d.is_finite()) {
            Some(d) if d < 6.0 => (12, SurveillanceSource::FleischnerSmall),
            Some(d) if d > 8.0 => (3, SurveillanceSource::FleischnerLarge),
            _ => (6, SurveillanceSource::FleischnerMedium),
        },
        Organ::Kidney => (6, SurveillanceSource::BosniakIif),
        _ => (DEFAULT_SURVEILLANCE_MONTHS, SurveillanceSource::Programme),
    };
    SurveillanceDefault { months, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of the table against the sources as written above.
    #[test]
    fn every_organ_and_size_gets_its_cited_interval() {
        use SurveillanceSource as S;
        let cases: &[(Organ, Option<f64>, u32, S)] = &[
            (Organ::Lung, Some(4.0), 12, S::FleischnerSmall),
            (Organ::Lung, Some(5.99), 12, S::FleischnerSmall),
            (Organ::Lung, Some(6.0), 6, S::FleischnerMedium),
            (Organ::Lung, Some(8.0), 6, S::FleischnerMedium),
            (Organ::Lung, Some(8.01), 3, S::FleischnerLarge),
            (Organ::Lung, Some(25.0), 3, S::FleischnerLarge),
            (Organ::Lung, None, 6, S::FleischnerMedium),
            (Organ::Lung, Some(f64::NAN), 6, S::FleischnerMedium),
            (Organ::Kidney, Some(30.0), 6, S::BosniakIif),
            (Organ::Kidney, None, 6, S::BosniakIif),
            (Organ::Breast, None, 12, S::Programme),
            (Organ::Esophagus, None, 12, S::Programme),
            (Organ::Stomach, None, 12, S::Programme),
            (Organ::Colorectal, None, 12, S::Programme),
            (Organ::Liver, Some(12.0), 12, S::Programme),
            (Organ::Pancreas, Some(9.0), 12, S::Programme),
        ];
        for (organ, diameter, months, source) in cases {
            assert_eq!(
                default_interval(*organ, *diameter),
                SurveillanceDefault { months: *months, source: *source },
                "{organ:?} {diameter:?}"
            );
        }
        // Every organ is covered by a row above.
        for organ in Organ::ALL {
            assert!(cases.iter().any(|(o, ..)| *o == organ), "{organ:?}");
        }
    }
}
