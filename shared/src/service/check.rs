//! Check: is this code valid right now? Reads one item; never spends the code.

use super::{ResetService, ServiceError};
use crate::domain::ResetCode;

/// What check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The code works until `expires_at` (epoch seconds), unless spent or revoked first.
    Valid {
        /// Epoch seconds.
        expires_at: u64,
    },
    /// Unknown, spent, revoked, expired or malformed: one answer for all.
    Invalid,
}

impl ResetService {
    /// `code` is `None` when the caller sent something that cannot be a code: answered like
    /// an unknown code, without touching the store.
    #[tracing::instrument(name = "check", skip_all)]
    pub async fn check(&self, code: Option<ResetCode>) -> Result<CheckOutcome, ServiceError> {
        let Some(code) = code else {
            return Ok(CheckOutcome::Invalid);
        };
        let token = self
            .ports
            .store
            .token(&self.code_hash(&code), self.now())
            .await?;
        Ok(match token {
            Some(t) => CheckOutcome::Valid {
                expires_at: t.expires_at,
            },
            None => CheckOutcome::Invalid,
        })
    }
}
