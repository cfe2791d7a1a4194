//! Password hashing with Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane: the `argon2` crate's
//! defaults), stored as PHC strings so that stronger parameters can come later without a migration; and the
//! random secrets of sessions, CSRF tokens and generated passwords.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{AuthError, Result};

/// The shortest password accepted (OWASP's minimum for passwords without multi-factor authentication).
pub(super) const MIN_PASSWORD_CHARS: usize = 12;
/// Longer passwords are refused: Argon2 would accept them, but nobody needs them and they cost memory.
pub(super) const MAX_PASSWORD_BYTES: usize = 1024;

/// A hash of a password nobody has, verified against when a login names no user, so that such a login takes
/// as long as one with a wrong password and does not reveal which users exist.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash(&random_token()).expect("hashing a random password with the default parameters")
});

pub(super) fn check_policy(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::Invalid(format!(
            "a password may have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The PHC string of `password` with a fresh random salt.
pub(super) fn hash(password: &str) -> Result<String> {
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AuthError::Hashing(format!("no randomness for a salt: {e}")))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`; a hash that does not parse matches nothing.
pub(super) fn verify(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Spends the time of a verification, for a login whose user does not exist.
pub(super) fn verify_decoy(password: &str) {
    let _ = verify(password, &DECOY_HASH);
}

/// 256 random bits, URL-safe base64 without padding: session tokens, CSRF tokens, generated passwords.
pub(super) fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a secret presented by a client is looked up: its SHA-256. The secrets are 256 random bits, so a fast
/// hash suffices; a stolen database holds no usable session.
pub(super) fn secret_digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_with_owasp_parameters_and_verifies_only_its_password() {
        let hash = hash("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse batterY", &hash));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(hash, super::hash("correct horse battery").expect("hash"), "salted");
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_policy("eleven char").is_err());
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (first, second) = (random_token(), random_token());
        assert_eq!(first.len(), 43);
        assert!(first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(first, second);
    }
}
