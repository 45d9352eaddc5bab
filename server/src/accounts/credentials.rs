//! Credentials: password hashing (Argon2id, OWASP parameters), one-time and
//! session tokens (random, stored as SHA-256), and the checks on emails,
//! names and passwords.

use super::AuthError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest and longest password, in characters (OWASP: at least 8; long
/// passphrases welcome, bounded so hashing stays cheap to refuse).
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;

/// Longest display name of an account, in characters.
pub const NAME_MAX: usize = 80;

/// Argon2id with OWASP's minimum recommended parameters: 19 MiB of memory,
/// 2 iterations, 1 lane.
pub const ARGON2_M_KIB: u32 = 19_456;
pub const ARGON2_T: u32 = 2;
pub const ARGON2_P: u32 = 1;

/// Trim and lower-case an email; refuse what cannot be one.
pub fn normalize_email(s: &str) -> Result<String, AuthError> {
    let e = s.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(AuthError::BadEmail)
    }
}

pub(super) fn check_password(p: &str) -> Result<(), AuthError> {
    let n = p.chars().count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        Ok(())
    } else {
        Err(AuthError::BadPassword)
    }
}

/// Trim a display name and check it (the room's text rules: no control or bidi characters).
pub fn clean_name(s: &str) -> Result<String, AuthError> {
    let n = s.trim();
    if n.is_empty() || n.chars().count() > NAME_MAX || crate::room::text::check("name", n).is_err()
    {
        return Err(AuthError::BadName);
    }
    Ok(n.to_string())
}

/// A new random token (256 bits, hex) and the hash the store keeps of it.
pub fn new_token() -> (String, String) {
    let t = hex::encode(rand::random::<[u8; 32]>());
    let h = token_hash(&t);
    (t, h)
}

/// The stored form of a token (SHA-256, hex).
pub fn token_hash(token: &str) -> String {
    crate::room::hash_secret(token)
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within Argon2's bounds.
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password (Argon2id, a random 16-byte salt): the PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether a password matches a PHC hash (the comparison is constant-time).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2().verify_password(password.as_bytes(), &h).is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "a stored password hash is unreadable");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_owasp_parameters() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.ORG ").unwrap(),
            "ann@example.org"
        );
        for bad in ["", "ann", "@x", "ann@", "a b@x", "a@b@c", "a\u{0}@x"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
