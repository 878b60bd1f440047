//! Patient identity: the demographics a study may state differently from its patient, and what
//! a person decides about such a mismatch. A patient is (assigning authority, PatientID); a
//! study of the same identifiers whose name or birth date differs is kept and attached, never
//! used to rename the patient, until someone resolves it.

use serde::{Deserialize, Serialize};

use crate::domain::roles::Role;

/// A demographic compared at ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemographicField {
    Name,
    BirthDate,
}

impl DemographicField {
    pub fn as_str(self) -> &'static str {
        match self {
            DemographicField::Name => "name",
            DemographicField::BirthDate => "birth_date",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DemographicField::Name => "Name",
            DemographicField::BirthDate => "Birth date",
        }
    }

    pub fn parse(value: &str) -> Option<DemographicField> {
        match value {
            "name" => Some(DemographicField::Name),
            "birth_date" => Some(DemographicField::BirthDate),
            _ => None,
        }
    }
}

impl crate::domain::language::Labelled for DemographicField {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            DemographicField::Name => "姓名",
            DemographicField::BirthDate => "出生日期",
        }
    }
}

/// A person's decision on a mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchResolution {
    /// The patient's record was right; the study's value was a typo or another system's spelling.
    KeptStored,
    /// The study's value is right: the patient now carries it (the old value stays on record).
    UpdatedPatient,
}

impl MismatchResolution {
    pub fn as_str(self) -> &'static str {
        match self {
            MismatchResolution::KeptStored => "kept_stored",
            MismatchResolution::UpdatedPatient => "updated_patient",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MismatchResolution::KeptStored => "kept the patient's record",
            MismatchResolution::UpdatedPatient => "updated the patient to the study's value",
        }
    }

    pub fn parse(value: &str) -> Option<MismatchResolution> {
        match value {
            "kept_stored" => Some(MismatchResolution::KeptStored),
            "updated_patient" => Some(MismatchResolution::UpdatedPatient),
            _ => None,
        }
    }
}

/// Who may resolve a mismatch: the people who keep the program's records straight. A surgeon
/// reads the record but does not correct identity.
pub fn may_resolve(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Coordinator | Role::Radiologist | Role::Admin))
}

impl crate::domain::language::Labelled for MismatchResolution {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            MismatchResolution::KeptStored => "保留患者档案",
            MismatchResolution::UpdatedPatient => "按本检查更新患者信息",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for field in [DemographicField::Name, DemographicField::BirthDate] {
            assert_eq!(DemographicField::parse(field.as_str()), Some(field));
        }
        for resolution in [MismatchResolution::KeptStored, MismatchResolution::UpdatedPatient] {
            assert_eq!(MismatchResolution::parse(resolution.as_str()), Some(resolution));
        }
        assert_eq!(MismatchResolution::parse("merge"), None);
    }

    #[test]
    fn who_may_resolve() {
        assert!(may_resolve(&[Role::Coordinator]));
        assert!(may_resolve(&[Role::Radiologist]));
        assert!(may_resolve(&[Role::Admin]));
        assert!(!may_resolve(&[Role::Surgeon]));
        assert!(!may_resolve(&[]));
    }
}
