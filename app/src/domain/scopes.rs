//! What an API token may be used for. A token acts for its owner, and its scopes narrow that:
//! a request passes when the owner's roles allow it (the access policy) and one of the token's
//! scopes covers it (the server's `TOKEN_SCOPES` table says which requests each scope covers).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Store images (STOW-RS): what a PACS or modality sends with.
    #[serde(rename = "dicom:write")]
    DicomWrite,
    /// Search and retrieve images (QIDO-RS, WADO-RS).
    #[serde(rename = "dicom:read")]
    DicomRead,
    /// Read screening results, findings and tumour-board cases (a RIS or data warehouse).
    #[serde(rename = "results:read")]
    ResultsRead,
    /// Read the programme metrics and the Prometheus metrics (a dashboard or scraper).
    #[serde(rename = "metrics:read")]
    MetricsRead,
    /// Everything the owner may do (tokens made before scopes existed).
    #[serde(rename = "all")]
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}` (valid: dicom:write, dicom:read, results:read, metrics:read, all)")]
pub struct UnknownScope(pub String);

impl UnknownScope {
    pub fn said(&self) -> crate::domain::said::Said {
        let scope = &self.0;
        crate::said!(
            "unknown scope `{scope}` (valid: dicom:write, dicom:read, results:read, metrics:read, all)",
            "未知权限范围“{scope}”（可选值：dicom:write, dicom:read, results:read, metrics:read, all）"
        )
    }
}

impl Scope {
    pub const ALL: [Scope; 5] =
        [Scope::DicomWrite, Scope::DicomRead, Scope::ResultsRead, Scope::MetricsRead, Scope::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::DicomWrite => "dicom:write",
            Scope::DicomRead => "dicom:read",
            Scope::ResultsRead => "results:read",
            Scope::MetricsRead => "metrics:read",
            Scope::All => "all",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

impl crate::domain::language::Labelled for Scope {
    fn label_en(self) -> &'static str {
        match self {
            Scope::DicomWrite => "Store images",
            Scope::DicomRead => "Read images",
            Scope::ResultsRead => "Read results",
            Scope::MetricsRead => "Read metrics",
            Scope::All => "Everything the owner may do",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            Scope::DicomWrite => "存储影像",
            Scope::DicomRead => "读取影像",
            Scope::ResultsRead => "读取结果",
            Scope::MetricsRead => "读取指标",
            Scope::All => "所有者的全部权限",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name_and_serde() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            assert_eq!(serde_json::to_string(&scope).expect("json"), format!("\"{}\"", scope.as_str()));
        }
        assert!("dicom:Write".parse::<Scope>().is_err());
    }
}
