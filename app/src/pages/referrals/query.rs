//! The referral list's address: its query string as the page was given it, kept whole. The page
//! shows the direction, the status and the page number; the list may know more filters than
//! the page shows, and every link and form here changes only what it is about and carries the
//! rest along unchanged, so that a filter set elsewhere (a bookmark, another page's link) is not
//! lost by a click. Reading the query into the list's parameters is the server's (see
//! `api::referral::load_referrals`).

use crate::format::query_value;

/// Where the list lives.
pub const LIST_PATH: &str = "/referrals";

/// The notices a form post's redirect adds (`referral`: the status a referral reached;
/// `error`: a refusal's words): the page's own, never filters.
pub const NOTICE_KEYS: [&str; 2] = ["referral", "error"];

/// The list's query: `(key, value)` pairs in their order, without the notices and without empty
/// values (an empty form field filters nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery(Vec<(String, String)>);

impl ListQuery {
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> ListQuery {
        ListQuery(
            pairs
                .into_iter()
                .filter(|(k, v)| !v.as_ref().is_empty() && !NOTICE_KEYS.contains(&k.as_ref()))
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        )
    }

    /// The last value of `key`, as a browser's form would have it win.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The same query with `key` set to `value` (or taken out with `None`), where it stood.
    pub fn with(&self, key: &str, value: Option<&str>) -> ListQuery {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for (k, v) in &self.0 {
            if k != key {
                pairs.push((k.clone(), v.clone()));
            } else if let (false, Some(value)) = (placed, value) {
                pairs.push((k.clone(), value.to_owned()));
                placed = true;
            }
        }
        if let (false, Some(value)) = (placed, value) {
            pairs.push((key.to_owned(), value.to_owned()));
        }
        ListQuery::from_pairs(pairs)
    }

    /// Another filter: the same query with `key` changed and the page number dropped (page 3
    /// of one selection says nothing about another).
    pub fn filtered(&self, key: &str, value: Option<&str>) -> ListQuery {
        self.with(key, value).with("page", None)
    }

    /// `a=1&b=2`, each key and value percent-encoded.
    pub fn to_query_string(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{}={}", query_value(k), query_value(v))).collect::<Vec<_>>().join("&")
    }

    /// The list's address with this query.
    pub fn href(&self) -> String {
        if self.0.is_empty() { LIST_PATH.to_owned() } else { format!("{LIST_PATH}?{}", self.to_query_string()) }
    }

    /// The pairs whose key is not one of `shown`: the hidden fields of a form that shows those.
    pub fn others(&self, shown: &[&str]) -> Vec<(String, String)> {
        self.0.iter().filter(|(k, _)| !shown.contains(&k.as_str())).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &[(&str, &str)]) -> ListQuery {
        ListQuery::from_pairs(text.iter().copied())
    }

    #[test]
    fn notices_and_empty_values_are_not_filters() {
        let q = query(&[("direction", "outgoing"), ("status", ""), ("referral", "accepted"), ("error", "stale")]);
        assert_eq!(q.to_query_string(), "direction=outgoing");
        assert_eq!(ListQuery::default().href(), "/referrals");
    }

    #[test]
    fn a_link_changes_only_its_own_filter_and_keeps_the_others() {
        let q = query(&[("from_site", "DEMO-RC"), ("direction", "incoming"), ("page", "2"), ("to_site", "DEMO GH")]);
        assert_eq!(
            q.filtered("direction", Some("outgoing")).href(),
            "/referrals?from_site=DEMO-RC&direction=outgoing&to_site=DEMO%20GH"
        );
        assert_eq!(
            q.with("page", Some("3")).href(),
            "/referrals?from_site=DEMO-RC&direction=incoming&page=3&to_site=DEMO%20GH"
        );
        assert_eq!(q.filtered("status", Some("declined")).get("status"), Some("declined"));
        assert_eq!(q.filtered("status", None).get("page"), None);
        assert_eq!(
            q.others(&["status", "page"]),
            [
                ("from_site".into(), "DEMO-RC".into()),
                ("direction".into(), "incoming".into()),
                ("to_site".into(), "DEMO GH".into())
            ]
        );
    }

    #[test]
    fn a_repeated_key_is_read_as_its_last_value_and_set_once() {
        let q = query(&[("status", "requested"), ("status", "accepted")]);
        assert_eq!(q.get("status"), Some("accepted"));
        assert_eq!(q.with("status", Some("declined")).to_query_string(), "status=declined");
    }
}
