//! Revoke: the app's backend kills every live code of a user at once (a support agent locking
//! an account down, a user reporting mail they did not ask for).

use super::request::SERVER_SLOT_BASE;
use super::{ResetService, ServiceError};
use crate::domain::UserId;

impl ResetService {
    /// Deletes every live code of the user, public and server slots alike, under the current
    /// token key and the previous one. Atomic against concurrent requests: a code claimed
    /// while the revocation runs makes its write fail and it starts over, so no code issued
    /// before the answer survives it (codes filed under an address the account has left are
    /// already dead: codes are bound to the stored address). Returns how many were revoked.
    #[tracing::instrument(name = "revoke", skip_all)]
    pub async fn revoke(&self, id: &UserId) -> Result<u32, ServiceError> {
        let user = self
            .ports
            .users
            .by_id(id)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        let max = self.config.policy.max_concurrent;
        let numbers: Vec<u32> = (0..max)
            .chain(SERVER_SLOT_BASE..SERVER_SLOT_BASE + max)
            .collect();
        let now = self.now();
        let keys = self.config.keys.verifying();
        let mut revoked = 0;
        for key in keys {
            revoked += self
                .ports
                .store
                .revoke_all(&key.email_key(&user.email), &numbers, now)
                .await?;
        }
        tracing::info!(user_id = %user.id, revoked, "reset codes revoked by the app");
        Ok(revoked)
    }
}
