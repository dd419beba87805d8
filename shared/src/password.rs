//! Password hashing: argon2id with OWASP's parameters, as a PHC string.

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, PasswordVerifier as _, Version};

use crate::domain::NewPassword;

/// OWASP Password Storage Cheat Sheet, argon2id option 2: m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). CPU-heavy
/// (tens of milliseconds): call it from a blocking thread, see [`hash_off_thread`].
pub fn hash(password: &NewPassword) -> Result<String, argon2::password_hash::Error> {
    argon2()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
}

/// [`hash`] on tokio's blocking pool, so a hash never stalls the async workers.
pub async fn hash_off_thread(password: NewPassword) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|_| HashError)?
        .map_err(|_| HashError)
}

/// Checks a password against a stored PHC string (the local API's dev sign-in and tests).
pub fn verify(password: &str, phc: &str) -> bool {
    argon2::PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Hashing failed (out of memory or the blocking task died); carries nothing secret.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters_that_verify() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let phc = hash(&p).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("wrong horse battery", &phc));
        assert_ne!(phc, hash(&p).unwrap(), "salted");
    }
}
