//! Consume: spend a code and set the new password, atomically, then tell the account owner.

use super::{ClientIp, Operation, Proof, ResetService, ServiceError, rfc3339};
use crate::breach::BreachError;
use crate::clock::EpochSecs;
use crate::domain::{EmailAddress, Locale, NewPassword, ResetCode, ShortCode, User, UserId};
use crate::events::EventKind;
use crate::hashing;
use crate::logging::error_chain;
use crate::mail::render;
use crate::metrics::Metric;
use crate::store::{ChangeOutcome, PasswordChange, SlotRecord, TokenRecord};

/// A parsed consume request. The password already passed the policy, so a weak password never
/// reaches the store and never spends a code.
#[derive(Debug)]
pub struct ConsumeReset {
    /// The link's code or a short code with its address.
    pub code: Proof,
    /// The new password.
    pub password: NewPassword,
    /// Language of the "password changed" mail.
    pub locale: Locale,
    /// Whom the per-IP limit counts the call against.
    pub client_ip: ClientIp,
}

impl ResetService {
    /// Three sequential store round trips: get the token (with the caller's rate window and,
    /// beside them, the breached-password check: no round trip of its own); read the user's
    /// slots and the user together; one transaction that deletes the token (condition:
    /// exists, unexpired), writes the password and a new password-change mark (condition: the
    /// user still holds the address and mark the token is bound to) and revokes the user's
    /// other tokens. Tokens issued concurrently with it are not in the slots read, but they
    /// are bound to the old mark and die with it. A password refused by the breach check or,
    /// once the account's address is known, by the context words is refused before argon2id
    /// and before the transaction, so the code stays valid.
    #[tracing::instrument(name = "consume", skip_all)]
    pub async fn consume(&self, cmd: ConsumeReset) -> Result<(), ServiceError> {
        self.consume_inner(cmd, None).await.map(|_| ())
    }

    /// [`ResetService::consume`] for a caller that names whose code it must be (Zitadel's
    /// `/v2/users/{userId}/password`, server callers): a code of another user is refused as
    /// invalid, before any write, so it stays valid for its owner. Every other rule is
    /// `consume`'s own. Answers the user's organisation attribute (`USERS_ORG_ATTRIBUTE`).
    #[tracing::instrument(name = "consume", skip_all)]
    pub async fn consume_for_user(
        &self,
        cmd: ConsumeReset,
        owner: &UserId,
    ) -> Result<Option<String>, ServiceError> {
        self.consume_inner(cmd, Some(owner)).await
    }

    /// The consume; answers the user's organisation attribute, if any.
    async fn consume_inner(
        &self,
        cmd: ConsumeReset,
        owner: Option<&UserId>,
    ) -> Result<Option<String>, ServiceError> {
        let (token, key, slots, user) = match &cmd.code {
            Proof::Link(code) => self.spendable_by_link(code.as_ref(), &cmd).await?,
            Proof::Short { email, otp } => {
                self.spendable_by_short_code(email, otp.as_ref(), &cmd)
                    .await?
            }
            // One more round trip first: the account's stored address names the slots.
            Proof::ShortOf { user, otp } => match self.ports.users.by_id(user).await? {
                Some(account) => {
                    self.spendable_by_short_code(&account.email, Some(otp), &cmd)
                        .await?
                }
                None => return Err(ServiceError::InvalidCode),
            },
        };
        if owner.is_some_and(|owner| *owner != token.user_id) {
            tracing::warn!("reset code presented for another user than its own; refused");
            return Err(ServiceError::InvalidCode);
        }
        let Some(user) = user.filter(|u| token.is_bound_to(u, key)) else {
            tracing::warn!(
                "reset code for an account that is gone, disabled, or changed since it was issued"
            );
            return Err(ServiceError::InvalidCode);
        };
        self.config
            .password
            .policy
            .check_context(&cmd.password, Some(&user.email))
            .map_err(ServiceError::WeakPassword)?;
        let password_hash = hashing::hash_off_thread(cmd.password).await?;
        let now = self.now();
        let outcome = self
            .ports
            .store
            .change_password(PasswordChange {
                token: token.clone(),
                changed_at: PasswordChange::next_mark(user.password_changed_at, now),
                user: user.clone(),
                password_hash,
                now,
                revoke: slots,
            })
            .await?;
        match outcome {
            ChangeOutcome::Changed => {}
            ChangeOutcome::TokenGone => return Err(ServiceError::InvalidCode),
            ChangeOutcome::UserChanged => {
                tracing::warn!("the account changed while its reset code was being spent");
                return Err(ServiceError::InvalidCode);
            }
        }
        tracing::info!(user_id = %token.user_id, "password changed by reset");
        self.count(Metric::Consumed, Operation::Consume);
        // The event goes out beside the notice, so it adds no round trip of its own.
        let completed = self.event(EventKind::Completed, &user.id, Operation::Consume, None);
        tokio::join!(
            self.publish(completed, None),
            self.notify_changed(&cmd.locale, &user, now)
        );
        Ok(user.org_id)
    }

    /// The "your password was changed" mail, if configured. The password is changed either
    /// way; the notice is best effort.
    async fn notify_changed(&self, locale: &Locale, user: &User, now: EpochSecs) {
        if !self.config.mail.notify_password_changed {
            return;
        }
        let mail = render::changed_mail(&self.config.mail, locale, &user.email, &rfc3339(now));
        let sent = match mail {
            Ok(mail) => self.ports.mailer.send(&mail).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::error!(error = %error_chain(&e), "password-changed notice not sent");
            self.mail_failed(&e, &user.id, Operation::Consume, None, None)
                .await;
        }
    }
}

/// What a consume may spend: the token, the key it was found under, the address's live
/// slots (revoked with the password write) and the user the token names, if any.
type Spendable<'a> = (
    TokenRecord,
    &'a crate::domain::TokenKey,
    Vec<SlotRecord>,
    Option<User>,
);

impl ResetService {
    /// A link's code: the token (with the rate window and the breach check beside it), then
    /// the slots and the user together. Two round trips.
    async fn spendable_by_link(
        &self,
        code: Option<&ResetCode>,
        cmd: &ConsumeReset,
    ) -> Result<Spendable<'_>, ServiceError> {
        let limit = self.limit(Operation::Consume, cmd.client_ip);
        let Some(code) = code else {
            limit.await?;
            return Err(ServiceError::InvalidCode);
        };
        let (limited, found, seen) = tokio::join!(
            limit,
            self.find_token(code),
            self.ports.breach.times_seen(&cmd.password),
        );
        limited?;
        let found = found?;
        self.judge_breach(seen)?;
        let (token, key) = found.ok_or(ServiceError::InvalidCode)?;
        let (slots, user) = tokio::join!(
            self.ports.store.live_slots(&token.email_key, self.now()),
            self.ports.users.by_id(&token.user_id),
        );
        Ok((token, key, slots?, user?))
    }

    /// A short code: its counted try, the slots and the account together (with the rate
    /// window and the breach check beside them), then the token. Two round trips, like a link.
    /// A password refused by the breach check spends no try: the check runs beside the try,
    /// so the try is already counted, which is the safe side.
    async fn spendable_by_short_code(
        &self,
        email: &EmailAddress,
        otp: Option<&ShortCode>,
        cmd: &ConsumeReset,
    ) -> Result<Spendable<'_>, ServiceError> {
        let limit = self.limit(Operation::Consume, cmd.client_ip);
        let Some(otp) = otp else {
            limit.await?;
            return Err(ServiceError::InvalidCode);
        };
        let (limited, found, seen) = tokio::join!(
            limit,
            self.find_by_short_code(email, otp, Operation::Consume),
            self.ports.breach.times_seen(&cmd.password),
        );
        limited?;
        let found = found?;
        self.judge_breach(seen)?;
        let hit = found.ok_or(ServiceError::InvalidCode)?;
        Ok((hit.token, hit.key, hit.slots, hit.user))
    }

    /// The breach check's answer as the settings want it: a password seen at least
    /// `PWNED_PASSWORDS_MIN_COUNT` times is refused; an unanswered check accepts the password
    /// (logged as a warning) unless `PWNED_PASSWORDS_FAIL_CLOSED`, then 503.
    fn judge_breach(&self, seen: Result<u64, BreachError>) -> Result<(), ServiceError> {
        let settings = &self.config.password.breach;
        match seen {
            Ok(count) if count >= settings.min_count => {
                tracing::info!("new password refused: it appears in known breaches");
                Err(ServiceError::BreachedPassword)
            }
            Ok(_) => Ok(()),
            Err(e) if settings.fail_closed => {
                tracing::error!(error = %error_chain(&e), "breached-password check failed; password refused (PWNED_PASSWORDS_FAIL_CLOSED)");
                Err(ServiceError::BreachCheckUnavailable)
            }
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "breached-password check failed; password accepted unchecked");
                Ok(())
            }
        }
    }
}
