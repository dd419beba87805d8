//! Consume: spend a code and set the new password, atomically, then tell the account owner.

use std::net::IpAddr;

use super::{Operation, ResetService, ServiceError, rfc3339};
use crate::domain::{Locale, NewPassword, ResetCode};
use crate::mail::render;
use crate::password;
use crate::store::{ChangeOutcome, PasswordChange};

/// A parsed consume request. The password already passed the policy, so a weak password never
/// reaches the store and never spends a code.
#[derive(Debug)]
pub struct ConsumeReset {
    /// `None` when the caller sent something that cannot be a code.
    pub code: Option<ResetCode>,
    /// The new password.
    pub password: NewPassword,
    /// Language of the "password changed" mail.
    pub locale: Locale,
    /// The caller's address for the per-IP limit; `None` for server callers.
    pub client_ip: Option<IpAddr>,
}

impl ResetService {
    /// Three sequential store round trips: get the token (with the caller's rate window); read
    /// the user's slots and the user together; one transaction that deletes the token (condition: exists, unexpired), writes
    /// the password (condition: user exists) and revokes every other token of the user.
    #[tracing::instrument(name = "consume", skip_all)]
    pub async fn consume(&self, cmd: ConsumeReset) -> Result<(), ServiceError> {
        let limit = self.limit(Operation::Consume, cmd.client_ip);
        let Some(code) = cmd.code else {
            limit.await?;
            return Err(ServiceError::InvalidCode);
        };
        let hash = self.code_hash(&code);
        let (limited, token) = tokio::join!(limit, self.ports.store.token(&hash, self.now()));
        limited?;
        let token = token?.ok_or(ServiceError::InvalidCode)?;
        let password_hash = password::hash_off_thread(cmd.password).await?;
        let now = self.now();
        let (slots, user) = tokio::join!(
            self.ports.store.live_slots(&token.email_key, now),
            self.ports.users.by_id(&token.user_id),
        );
        let (slots, user) = (slots?, user?);
        let outcome = self
            .ports
            .store
            .change_password(PasswordChange {
                token: token.clone(),
                password_hash,
                now,
                revoke: slots,
            })
            .await?;
        match outcome {
            ChangeOutcome::Changed => {}
            ChangeOutcome::TokenGone => return Err(ServiceError::InvalidCode),
            ChangeOutcome::UserGone => {
                tracing::warn!("reset code for a user that no longer exists");
                return Err(ServiceError::InvalidCode);
            }
        }
        tracing::info!(user_id = %token.user_id, "password changed by reset");
        if self.config.notify_password_changed
            && let Some(user) = user
        {
            let mail = render::changed_mail(
                cmd.locale,
                &self.config.app_name,
                &user.email,
                &rfc3339(now),
            );
            if let Err(e) = self.ports.mailer.send(&mail).await {
                // The password is changed either way; the notice is best effort.
                tracing::error!(error = %e, "password-changed notice not sent");
            }
        }
        Ok(())
    }
}
