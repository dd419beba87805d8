//! The breached-password port: how often a new password appears in known breaches, asked by
//! the consume use case concurrently with the code lookup (NIST SP 800-63B: a verifier SHALL
//! compare new passwords against known-compromised values). Adapters: [`RangeApi`] (the Pwned
//! Passwords k-anonymity range API, or anything speaking it) and [`AlwaysClean`] (checking
//! off: `PWNED_PASSWORDS_URL=off`, the local API's default, tests).

mod range;

pub use range::RangeApi;

use crate::domain::NewPassword;
use crate::outbound::OutboundError;

/// Why the check gave no answer. The consume use case then accepts the password (and logs
/// it), or answers 503 when `PWNED_PASSWORDS_FAIL_CLOSED` is set.
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    /// The API did not answer in time, or could not be reached, or failed.
    #[error("breached-password API unavailable")]
    Unavailable(#[from] OutboundError),
    /// The API answered something that is not a range answer.
    #[error("breached-password API answered something unreadable")]
    Malformed,
}

/// Looks a new password up in a corpus of breached passwords.
#[async_trait::async_trait]
pub trait BreachCheck: Send + Sync {
    /// How many times the password was seen in breaches; 0 when never.
    async fn times_seen(&self, password: &NewPassword) -> Result<u64, BreachError>;
}

/// No breach corpus: every password counts as never seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysClean;

#[async_trait::async_trait]
impl BreachCheck for AlwaysClean {
    async fn times_seen(&self, _password: &NewPassword) -> Result<u64, BreachError> {
        Ok(0)
    }
}
