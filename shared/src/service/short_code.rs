//! Finding the token a short code names (issue 15; docs/short-codes.md): the try is counted
//! before the code is compared, by one conditional write, so concurrent guesses can never
//! compare more than `OTP_MAX_ATTEMPTS` codes per address and attempt window.

use subtle::ConstantTimeEq;

use super::{Operation, ResetService};
use crate::domain::User;
use crate::domain::{EmailAddress, ShortCode, TokenKey};
use crate::metrics::Metric;
use crate::store::{ShortCodeTry, SlotRecord, StoreError, TokenRecord, TryOutcome};

/// What the code was presented as: a link's code, or a short code typed with the address it
/// was mailed to. `None` inside: the caller sent something that cannot be one (answered like
/// a wrong code; a malformed short code spends no try).
#[derive(Debug, Clone)]
pub enum Proof {
    /// `{"code"}`: the link's 43-character code.
    Link(Option<crate::domain::ResetCode>),
    /// `{"email", "otp"}`.
    Short {
        /// The address the code was mailed to, as typed.
        email: EmailAddress,
        /// The digits.
        otp: Option<ShortCode>,
    },
    /// A short code presented for a user named by id (Zitadel's `verificationCode` on
    /// `/v2/users/{userId}/password`): looked up under the address stored on that account.
    ShortOf {
        /// Whose account.
        user: crate::domain::UserId,
        /// The digits.
        otp: ShortCode,
    },
}

impl From<Option<crate::domain::ResetCode>> for Proof {
    fn from(code: Option<crate::domain::ResetCode>) -> Self {
        Proof::Link(code)
    }
}

/// A short code's token, with what was read beside it in the same round trip.
pub(super) struct ShortCodeHit<'a> {
    /// The unexpired token the code names.
    pub token: TokenRecord,
    /// The key it was issued under (always the current one).
    pub key: &'a TokenKey,
    /// The account the address names now, if any.
    pub user: Option<User>,
    /// The address's live slots (consume revokes them with the password write).
    pub slots: Vec<SlotRecord>,
}

impl ResetService {
    /// Two round trips when the code is right, one when it is not: (1) the try's conditional
    /// write and the address's slots together; (2) the token the matching slot holds. The
    /// account lookup by address runs beside both. A wrong code and an unknown address cost the
    /// same work.
    ///
    /// Only the current token key is tried: the slots' partition is keyed by it, so a short
    /// code issued before a key rotation stops working (the link in the same mail does not).
    pub(super) async fn find_by_short_code(
        &self,
        email: &EmailAddress,
        otp: &ShortCode,
        op: Operation,
    ) -> Result<Option<ShortCodeHit<'_>>, StoreError> {
        let policy = &self.config.policy;
        let key = &self.config.keys.current;
        let email_key = key.email_key(email);
        let now = self.now();
        let attempt = ShortCodeTry {
            email_key: email_key.clone(),
            max: policy.otp_max_attempts,
            now,
            // Every code live now was issued less than a TTL ago, so it dies before this.
            window_end: now + policy.token_ttl,
        };
        // The account lookup by address (on the email-index layout, a query then the item)
        // runs beside the try, the slots and then the token, never before them.
        let found = async {
            let (tried, slots) = tokio::join!(
                self.ports.store.short_code_try(attempt),
                self.ports.store.live_slots(&email_key, now),
            );
            let (tried, slots) = (tried?, slots?);
            let hash = key.short_code_hash(&email_key, otp);
            let (matched, exhausted) = match tried {
                TryOutcome::Exhausted => (None, true),
                TryOutcome::Allowed { attempt } => {
                    let matched = slots
                        .iter()
                        .filter(|s| {
                            s.short_code.as_ref().is_some_and(|h| {
                                bool::from(h.as_str().as_bytes().ct_eq(hash.as_str().as_bytes()))
                            })
                        })
                        .find_map(|s| s.token.clone());
                    let last_wrong = matched.is_none() && attempt >= policy.otp_max_attempts;
                    (matched, last_wrong)
                }
            };
            if exhausted && slots.iter().any(|s| s.short_code.is_some()) {
                let revoked = self.ports.store.revoke_short_codes(&email_key, now).await?;
                tracing::warn!(
                    revoked,
                    "short-code tries exhausted; the address's short codes are revoked"
                );
                self.count(Metric::ShortCodeExhausted, op);
            }
            let token = match matched {
                Some(hash) => self.ports.store.token(&hash, now).await?,
                None => None,
            };
            Ok::<_, StoreError>((token, slots))
        };
        let (user, found) = tokio::join!(self.ports.users.by_email(email), found);
        let (token, slots) = found?;
        let user = user?;
        Ok(token.map(|token| ShortCodeHit {
            token,
            key,
            user,
            slots,
        }))
    }
}
