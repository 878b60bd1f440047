//! Password hashing with argon2id, off the async threads, a bounded number at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

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
    /// Too many passwords are being checked at once: try again shortly.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
}

/// Too many checks at once is the caller's to retry (503 `busy`); anything else is internal.
impl From<PasswordError> for crate::error::ApiError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => crate::error::ApiError::Busy,
            other => crate::error::ApiError::internal(other),
        }
    }
}

/// How many argon2 computations run at once, and how many may wait for a turn (and how long).
/// Each computation takes 19 MiB and a core for tens of milliseconds: without a bound, a flood
/// of sign-in attempts takes every core and as much memory as it likes. Past the bound an
/// attempt is refused at once (503), not queued without end.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub concurrent: usize,
    pub waiting: usize,
    pub wait: Duration,
}

impl Default for HashLimits {
    /// As many at once as the machine has cores (at least one, at most eight); 64 waiting, for at
    /// most ten seconds.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        HashLimits { concurrent: cores.clamp(1, 8), waiting: 64, wait: Duration::from_secs(10) }
    }
}

/// The turns of [`HashLimits`]: permits for the computations, and a count of those waiting.
#[derive(Debug)]
struct Gate {
    limits: HashLimits,
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Gate {
    /// Runs `work` on the blocking pool when a turn is free; `Busy` when the queue is full or
    /// the wait runs out.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.limits.waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(PasswordError::Busy);
                }
                let turn = tokio::time::timeout(self.limits.wait, self.permits.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                turn.map_err(|_| PasswordError::Busy)?.map_err(|_| PasswordError::Busy)?
            }
        };
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

/// Hashes and verifies passwords. Holds a hash of a random password so that checking an unknown
/// username costs the same argon2 work as checking a wrong password (no timing oracle).
#[derive(Clone)]
pub struct Hasher {
    dummy_hash: Arc<str>,
    gate: Arc<Gate>,
}

impl Hasher {
    pub fn new() -> Result<Self, PasswordError> {
        Hasher::with_limits(HashLimits::default())
    }

    pub fn with_limits(limits: HashLimits) -> Result<Self, PasswordError> {
        let random = uuid::Uuid::new_v4().to_string();
        let gate = Gate { limits, permits: Semaphore::new(limits.concurrent.max(1)), waiting: AtomicUsize::new(0) };
        Ok(Hasher { dummy_hash: hash_blocking(&random)?.into(), gate: Arc::new(gate) })
    }

    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        self.gate.run(move || hash_blocking(password.expose())).await?
    }

    /// Verifies `password` against `stored_hash`, or against the dummy hash when there is no
    /// account (then always `false`, after the same work).
    pub async fn verify(&self, stored_hash: Option<String>, password: Password) -> Result<bool, PasswordError> {
        let (hash, real) = match stored_hash {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.to_string(), false),
        };
        let matches = self
            .gate
            .run(move || {
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

    /// One turn and nobody waiting: while one check runs, a second is refused at once; after
    /// it, the next one runs. With one waiting place and a short wait, a waiter gives up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_beyond_the_limits_are_refused_not_queued() {
        let bound = Duration::from_secs(10);
        let one_at_a_time = HashLimits { concurrent: 1, waiting: 0, wait: Duration::from_secs(5) };
        let hasher = Hasher::with_limits(one_at_a_time).expect("hasher");
        let started = Arc::new(tokio::sync::Notify::new());
        let (release, released) = std::sync::mpsc::channel::<()>();
        let running = {
            let (started, gate) = (started.clone(), hasher.gate.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    started.notify_one();
                    // Holds the only turn until the test lets go (never longer than the bound).
                    let _ = released.recv_timeout(Duration::from_secs(10));
                })
                .await
            })
        };
        tokio::time::timeout(bound, started.notified()).await.expect("the first check started");
        let refused = hasher.verify(None, Password::new("x".into())).await;
        assert!(matches!(refused, Err(PasswordError::Busy)), "{refused:?}");
        release.send(()).expect("release");
        tokio::time::timeout(bound, running).await.expect("finished").expect("joined").expect("ran");
        assert!(!hasher.verify(None, Password::new("x".into())).await.expect("a turn is free again"));

        let short_wait = HashLimits { concurrent: 1, waiting: 1, wait: Duration::from_millis(50) };
        let hasher = Hasher::with_limits(short_wait).expect("hasher");
        let held = hasher.gate.permits.acquire().await.expect("permit");
        assert!(matches!(hasher.verify(None, Password::new("x".into())).await, Err(PasswordError::Busy)));
        drop(held);
        assert_eq!(hasher.gate.waiting.load(Ordering::SeqCst), 0, "the waiter left the queue");
        assert!(!hasher.verify(None, Password::new("x".into())).await.expect("a turn is free again"));
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
