//! Account rules: what a username may be and the minimum password policy.

/// Usernames are 1-64 characters: lower-case letters, digits, `.`, `_`, `-`, starting with a
/// letter or digit. Input is trimmed and lower-cased first, so `Admin` names the account `admin`.
pub const MAX_USERNAME_LEN: usize = 64;
/// NIST SP 800-63B recommends allowing long passphrases; the cap only bounds hashing work.
pub const MAX_PASSWORD_LEN: usize = 256;
pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username is required")]
    Empty,
    #[error("username must be at most {MAX_USERNAME_LEN} characters")]
    TooLong,
    #[error("username may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")]
    BadCharacters,
}

impl UsernameError {
    pub fn said(&self) -> crate::domain::said::Said {
        match self {
            UsernameError::Empty => crate::said!("username is required", "请填写用户名"),
            UsernameError::TooLong => crate::said!(
                "username must be at most {MAX_USERNAME_LEN} characters",
                "用户名最多 {MAX_USERNAME_LEN} 个字符"
            ),
            UsernameError::BadCharacters => crate::said!(
                "username may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit",
                "用户名只能包含字母、数字、“.”、“_”和“-”，并须以字母或数字开头"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    #[error("password must not be the username or contain it")]
    ContainsUsername,
}

pub fn normalize_username(input: &str) -> Result<String, UsernameError> {
    let name = input.trim().to_lowercase();
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if name.chars().count() > MAX_USERNAME_LEN {
        return Err(UsernameError::TooLong);
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(first_ok && rest_ok) {
        return Err(UsernameError::BadCharacters);
    }
    Ok(name)
}

/// The minimum policy for a new password. Length counts characters, not bytes.
pub fn check_password_policy(username: &str, password: &str) -> Result<(), PasswordPolicyError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(PasswordPolicyError::TooShort);
    }
    if length > MAX_PASSWORD_LEN {
        return Err(PasswordPolicyError::TooLong);
    }
    let username = username.trim().to_lowercase();
    if !username.is_empty() && password.to_lowercase().contains(&username) {
        return Err(PasswordPolicyError::ContainsUsername);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(normalize_username("  Dr.Smith_2 "), Ok("dr.smith_2".into()));
    }

    #[test]
    fn bad_usernames_are_named() {
        assert_eq!(normalize_username("   "), Err(UsernameError::Empty));
        assert_eq!(normalize_username(&"a".repeat(65)), Err(UsernameError::TooLong));
        assert_eq!(normalize_username(".hidden"), Err(UsernameError::BadCharacters));
        assert_eq!(normalize_username("robert'); drop"), Err(UsernameError::BadCharacters));
        assert_eq!(normalize_username("zoë"), Err(UsernameError::BadCharacters));
    }

    #[test]
    fn password_policy_table() {
        let cases = [
            ("alice", "short", Err(PasswordPolicyError::TooShort)),
            ("alice", "elevenchars", Err(PasswordPolicyError::TooShort)),
            ("alice", "twelve chars", Ok(())),
            ("alice", "my-ALICE-password", Err(PasswordPolicyError::ContainsUsername)),
            ("alice", &"x".repeat(257), Err(PasswordPolicyError::TooLong)),
            // Twelve characters, more than twelve bytes: characters are what count.
            ("alice", "ééééééééééé", Err(PasswordPolicyError::TooShort)),
            ("alice", "éééééééééééé", Ok(())),
        ];
        for (username, password, expected) in cases {
            assert_eq!(check_password_policy(username, password), expected, "{password:?}");
        }
    }

    /// Username-like input: mostly the allowed characters in either case with surrounding space
    /// (so that most normalise), sometimes a character that must be refused, and some arbitrary text.
    fn username_like() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => " {0,2}[A-Za-z0-9][A-Za-z0-9._-]{0,70} {0,2}",
            1 => "[a-z0-9]{0,10}[ @/\\\\é][a-z0-9]{0,10}",
            1 => "\\PC{0,80}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn normalised_usernames_are_stable(input in username_like()) {
            if let Ok(name) = normalize_username(&input) {
                prop_assert_eq!(normalize_username(&name), Ok(name.clone()));
                prop_assert!(name.len() <= MAX_USERNAME_LEN);
                prop_assert_eq!(name.clone(), input.trim().to_lowercase(), "only trimmed and lower-cased");
            }
        }
    }
}
