//! Where a site stands in the tiered network (分级诊疗): community health centres, county,
//! municipal and provincial hospitals. Findings are usually referred up a level, and back down
//! once the patient can be followed closer to home (双向转诊); which site may refer to which is an
//! administrator's route, not the levels. A site outside the network has no level.

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;
use crate::domain::said::Said;
use crate::said;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteLevel {
    /// A community health centre (社区卫生服务中心), where most screening happens.
    Community,
    County,
    Municipal,
    Provincial,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown site level `{0}` (expected community, county, municipal or provincial)")]
pub struct UnknownSiteLevel(pub String);

impl UnknownSiteLevel {
    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        let level = &self.0;
        said!(
            "unknown site level `{level}` (expected community, county, municipal or provincial)",
            "未知的医院级别“{level}”（应为 community, county, municipal 或 provincial）"
        )
    }
}

impl SiteLevel {
    pub const ALL: [SiteLevel; 4] =
        [SiteLevel::Community, SiteLevel::County, SiteLevel::Municipal, SiteLevel::Provincial];

    /// The name stored in `site.level` and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteLevel::Community => "community",
            SiteLevel::County => "county",
            SiteLevel::Municipal => "municipal",
            SiteLevel::Provincial => "provincial",
        }
    }

    /// 1 (community) to 4 (provincial): a referral is upward when `to.rank() > from.rank()`.
    pub fn rank(self) -> u8 {
        match self {
            SiteLevel::Community => 1,
            SiteLevel::County => 2,
            SiteLevel::Municipal => 3,
            SiteLevel::Provincial => 4,
        }
    }
}

impl std::str::FromStr for SiteLevel {
    type Err = UnknownSiteLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SiteLevel::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| UnknownSiteLevel(s.to_owned()))
    }
}

impl std::fmt::Display for SiteLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Labelled for SiteLevel {
    fn label_en(self) -> &'static str {
        match self {
            SiteLevel::Community => "Community hospital",
            SiteLevel::County => "County hospital",
            SiteLevel::Municipal => "Municipal hospital",
            SiteLevel::Provincial => "Provincial hospital",
        }
    }

    /// The institutions as the health administration names them: 县级医院 as in 国务院办公厅
    /// 《关于推进分级诊疗制度建设的指导意见》（国办发〔2015〕70号）, the community's institution by its
    /// own name (社区卫生服务中心), and the city's and province's hospitals by their level.
    fn label_zh(self) -> &'static str {
        match self {
            SiteLevel::Community => "社区卫生服务中心",
            SiteLevel::County => "县级医院",
            SiteLevel::Municipal => "市级医院",
            SiteLevel::Provincial => "省级医院",
        }
    }
}
