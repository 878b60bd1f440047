//! Password hashing with argon2id, off the async threads.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{
        SaltString,
        rand_core::{OsRng, RngCore},
    },
};

/// A password as typed. Neither `Debug` nor `Serialize`, so it cannot end up in a log or a body.
pub struct Password(String);

impl Password {
    pub fn new(password: String) -> Self {
        Password(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error("the hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Hashes and verifies passwords. Holds a hash of a random password so that checking an unknown
/// username costs the same argon2 work as checking a wrong password (no timing oracle).
#[derive(Clone)]
pub struct Hasher {
    dummy_hash: std::sync::Arc<str>,
}

impl Hasher {
    pub fn new() -> Result<Self, PasswordError> {
        let random = uuid::Uuid::new_v4().to_string();
        Ok(Hasher { dummy_hash: hash_blocking(&random)?.into() })
    }

    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        tokio::task::spawn_blocking(move || hash_blocking(password.expose())).await?
    }

    /// Verifies `password` against `stored_hash`, or against the dummy hash when there is no
    /// account (then always `false`, after the same work).
    pub async fn verify(&self, stored_hash: Option<String>, password: Password) -> Result<bool, PasswordError> {
        let (hash, real) = match stored_hash {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.to_string(), false),
        };
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await?;
        Ok(real && matches)
    }
}

/// The characters of a temporary password: lower-case letters and digits, without those read
/// out or copied wrongly (0 and o, 1, l and i).
const TEMPORARY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A temporary password for `username` (a new account, an administrator's reset): four groups
/// of four characters from the OS random source, about 79 bits, and within the password policy.
pub fn temporary(username: &str) -> String {
    // Rejection sampling: a byte at or above the last whole multiple of the alphabet is drawn
    // again, so that every character is equally likely.
    let limit = 256 / TEMPORARY_ALPHABET.len() * TEMPORARY_ALPHABET.len();
    loop {
        let mut password = String::with_capacity(19);
        let mut drawn = 0;
        while drawn < 16 {
            let byte = (OsRng.next_u32() & 0xff) as usize;
            if byte >= limit {
                continue;
            }
            if drawn > 0 && drawn % 4 == 0 {
                password.push('-');
            }
            password.push(char::from(TEMPORARY_ALPHABET[byte % TEMPORARY_ALPHABET.len()]));
            drawn += 1;
        }
        // A short username may turn up by chance; draw again.
        if app::domain::accounts::check_password_policy(username, &password).is_ok() {
            return password;
        }
    }
}

/// argon2id with the crate's defaults (OWASP's recommended m=19 MiB, t=2, p=1).
fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = Hasher::new().expect("hasher");
        let hash = hasher.hash(Password::new("correct horse battery".into())).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher.verify(Some(hash.clone()), Password::new("correct horse battery".into())).await.expect("verify")
        );
        assert!(!hasher.verify(Some(hash), Password::new("wrong horse battery".into())).await.expect("verify"));
    }

    #[test]
    fn temporary_passwords_are_four_groups_within_the_policy_and_never_repeat() {
        let passwords: std::collections::BTreeSet<String> = (0..200).map(|_| temporary("a")).collect();
        assert_eq!(passwords.len(), 200);
        for password in &passwords {
            let groups: Vec<&str> = password.split('-').collect();
            assert_eq!(groups.len(), 4, "{password}");
            assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| TEMPORARY_ALPHABET.contains(&b))));
            assert!(!password.contains('a'), "the username never appears in it");
        }
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let hasher = Hasher::new().expect("hasher");
        assert!(!hasher.verify(None, Password::new(String::new())).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_fails_closed() {
        let hasher = Hasher::new().expect("hasher");
        assert!(!hasher.verify(Some("not a hash".into()), Password::new("x".into())).await.expect("verify"));
    }
}
