//! Cross-site referral as server functions: the referral list (coordinators and administrators:
//! the `/api/fn/referrals/` prefix), the outcomes a coordinator's home reports, and the network
//! (administrators: `/api/fn/admin/`). Referring, the events and the network's changes are plain
//! form posts (`server/src/routes/referral_forms.rs`) and REST calls; all go through the referral
//! service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::referral::{Network, ReferralItem, ReferralList};

/// How many outcomes a coordinator's home lists (the newest; the list page has the rest).
pub const OUTCOMES_ON_HOME: usize = 10;

/// A page of the referral list. `query` is the list page's own query string as given (its
/// notices taken out): it is read into `ReferralListParams` exactly as `GET /api/v1/referrals`
/// reads its query, so every filter the list knows reaches the service, and an unknown or
/// malformed one is refused the same way.
#[leptos::server(prefix = "/api/fn/referrals", endpoint = "list", input = GetUrl)]
pub async fn load_referrals(#[server(default)] query: String) -> Result<ReferralList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let params = ssr::params(&query)?;
    Ok(crate::service::referral::list(&pool()?, &caller()?, &params).await?)
}

/// The outcomes of the caller's sites' referrals: the accepted ones whose finding has reached an
/// outcome at the receiving site, newest first, at most [`OUTCOMES_ON_HOME`]. This is how the
/// sending site hears how its referrals ended.
#[leptos::server(prefix = "/api/fn/referrals", endpoint = "outcomes", input = GetUrl)]
pub async fn load_referral_outcomes() -> Result<Vec<ReferralItem>, AppError> {
    use crate::api::session::ssr::{caller, pool};
    use crate::domain::referral::ReferralStatus;
    use crate::model::referral::ReferralListParams;
    let params = ReferralListParams {
        direction: Some("outgoing".to_owned()),
        status: Some(ReferralStatus::Accepted.as_str().to_owned()),
        ..Default::default()
    };
    let list = crate::service::referral::list(&pool()?, &caller()?, &params).await?;
    Ok(list.items.into_iter().filter(|r| r.outcome.is_some()).take(OUTCOMES_ON_HOME).collect())
}

/// Every site with its level and the open routes (the network page).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "network", input = GetUrl)]
pub async fn load_network() -> Result<Network, AppError> {
    Ok(crate::service::referral::network(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?)
        .await?)
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::model::AppError;
    use crate::model::referral::ReferralListParams;
    use crate::said;
    use crate::service::ServiceError;

    /// The list's parameters from its page's query string, deserialised as the REST route's
    /// `Query` extractor does it.
    pub fn params(query: &str) -> Result<ReferralListParams, AppError> {
        let refused = |detail: String| {
            AppError::from(ServiceError::invalid("query", said!("{detail}", "无法读取页面地址中的筛选条件：{detail}")))
        };
        let uri: axum::http::Uri = format!("/referrals?{query}").parse().map_err(|e| refused(format!("{e}")))?;
        axum::extract::Query::<ReferralListParams>::try_from_uri(&uri)
            .map(|axum::extract::Query(params)| params)
            .map_err(|rejection| refused(rejection.body_text()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_query_is_read_whole_and_an_unknown_field_is_refused() {
            let read = params("direction=outgoing&status=accepted&page=2").expect("parsed");
            assert_eq!(read.direction.as_deref(), Some("outgoing"));
            assert_eq!(read.status.as_deref(), Some("accepted"));
            assert_eq!(read.page, Some(2));
            assert_eq!(params("").expect("no filter"), ReferralListParams::default());
            assert!(matches!(params("colour=red"), Err(AppError::Validation { .. })));
            assert!(matches!(params("page=two"), Err(AppError::Validation { .. })));
        }
    }
}
