//! The four roles of Elysium. A user may hold several.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Screening coordinator: triages AI-positive findings and drives each to an outcome.
    Coordinator,
    /// MDT surgeon or clinician: reviews staging, signs treatment recommendations.
    Surgeon,
    /// Radiologist: reviews findings and images, confirms or dismisses.
    Radiologist,
    /// Administrator: users, sites, models, program metrics, the audit log.
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected coordinator, surgeon, radiologist or admin)")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Coordinator, Role::Surgeon, Role::Radiologist, Role::Admin];

    /// The name stored in the database and used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Surgeon => "surgeon",
            Role::Radiologist => "radiologist",
            Role::Admin => "admin",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Coordinator => "Screening coordinator",
            Role::Surgeon => "MDT surgeon",
            Role::Radiologist => "Radiologist",
            Role::Admin => "Administrator",
        }
    }
}

impl crate::domain::language::Labelled for Role {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            Role::Coordinator => "筛查协调员",
            Role::Surgeon => "MDT 外科医生",
            Role::Radiologist => "放射科医生",
            Role::Admin => "管理员",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_refused() {
        assert!("Admin".parse::<Role>().is_err());
        assert!("nurse".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }
}
