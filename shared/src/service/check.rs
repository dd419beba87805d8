//! Check: is this code valid right now? Reads one item; never spends the code.

use std::net::IpAddr;

use super::{Operation, ResetService, ServiceError};
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
    /// an unknown code, without reading a token. One round trip: the token read and the
    /// caller's rate window together.
    #[tracing::instrument(name = "check", skip_all)]
    pub async fn check(
        &self,
        code: Option<ResetCode>,
        client_ip: Option<IpAddr>,
    ) -> Result<CheckOutcome, ServiceError> {
        let limit = self.limit(Operation::Check, client_ip);
        let Some(code) = code else {
            limit.await?;
            return Ok(CheckOutcome::Invalid);
        };
        let hash = self.code_hash(&code);
        let (limited, token) = tokio::join!(limit, self.ports.store.token(&hash, self.now()));
        limited?;
        Ok(match token? {
            Some(t) => CheckOutcome::Valid {
                expires_at: t.expires_at,
            },
            None => CheckOutcome::Invalid,
        })
    }
}
