//! API tokens: random bearer secrets for integrations, stored only as a SHA-256.

use sha2::{Digest, Sha256};

/// Prefix that makes a leaked token easy to recognise (and to scan for).
const PREFIX: &str = "ely_";

/// A new token: 244 random bits from two v4 UUIDs (the OS random source), hex encoded.
pub fn generate() -> String {
    format!("{PREFIX}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The token from an `Authorization: Bearer ely_...` header value, if it is one of ours.
pub fn from_authorization(value: &str) -> Option<&str> {
    let token = value.strip_prefix("Bearer ")?.trim();
    token.starts_with(PREFIX).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hashed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn only_bearer_tokens_of_ours_are_read() {
        assert_eq!(from_authorization("Bearer ely_abc"), Some("ely_abc"));
        assert_eq!(from_authorization("Bearer other"), None);
        assert_eq!(from_authorization("Basic ely_abc"), None);
    }
}
