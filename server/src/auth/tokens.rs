//! API tokens: random bearer secrets for integrations, stored only as a SHA-256 (made and
//! digested by the token service, `app::service::tokens`).

pub use app::service::tokens::{PREFIX, digest, generate};

/// The token from an `Authorization: Bearer ely_...` header value, if it is one of ours.
pub fn from_authorization(value: &str) -> Option<&str> {
    let token = value.strip_prefix("Bearer ")?.trim();
    token.starts_with(PREFIX).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_tokens_of_ours_are_read() {
        assert_eq!(from_authorization("Bearer ely_abc"), Some("ely_abc"));
        assert_eq!(from_authorization("Bearer other"), None);
        assert_eq!(from_authorization("Basic ely_abc"), None);
    }
}
