//! The storage ports and their two adapters.
//!
//! [`ResetStore`] holds tokens, per-email slots and per-IP windows; [`UserDirectory`] finds the
//! app's users. Both adapters ([`memory::MemoryStore`], [`dynamodb::DynamoStore`]) keep the
//! same semantics: every condition is checked atomically with its write, multi-item writes are
//! all-or-nothing, and `expires_at` is compared with `now` on every read, because DynamoDB's TTL
//! deletes expired items days late. One conformance suite (tests/) runs against both.

pub mod dynamodb;
pub mod memory;

use crate::clock::EpochSecs;
use std::time::Duration;

use crate::domain::{EmailAddress, EmailKey, IpKey, TokenHash, User, UserId};

/// A live reset token as stored (by its hash, never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// HMAC of the code: the token's key.
    pub hash: TokenHash,
    /// The user whose password the code may set.
    pub user_id: UserId,
    /// Owner of the slot this token occupies.
    pub email_key: EmailKey,
    /// Which of the email's slots.
    pub slot: u32,
    /// Epoch seconds.
    pub created_at: EpochSecs,
    /// Epoch seconds; DynamoDB's TTL attribute and checked on every read.
    pub expires_at: EpochSecs,
    /// The user's `password_changed_at` when the code was issued. The code works only while
    /// the user's item still holds this value (and the address behind `email_key`), so a code
    /// issued before any password change, ours or the app's, is dead after it.
    pub password_changed_at: Option<EpochSecs>,
}

impl TokenRecord {
    /// Whether the code still works at `now` (epoch seconds). A token dies *at* `expires_at`:
    /// the read side of DynamoDB's `expires_at > :now` condition on the password write.
    pub fn is_live(&self, now: EpochSecs) -> bool {
        self.expires_at > now
    }

    /// Whether `user`, as read now, is still the account state this code was issued for: the
    /// same user, an address with the same key, the same password-change mark.
    pub fn is_bound_to(&self, user: &User, key: &crate::domain::TokenKey) -> bool {
        user.id == self.user_id
            && key.email_key(&user.email) == self.email_key
            && user.password_changed_at == self.password_changed_at
    }
}

/// One occupied, unexpired slot of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRecord {
    /// Slot number, `0..max_concurrent`.
    pub slot: u32,
    /// The token in it; `None` for an address with no account.
    pub token: Option<TokenHash>,
    /// The keyed hash of the short code mailed with the token
    /// ([`crate::domain::TokenKey::short_code_hash`]); `None` when none was issued or it was
    /// revoked. The short code is a second way to name the slot's token, never a token itself.
    pub short_code: Option<TokenHash>,
    /// Epoch seconds when the slot frees itself.
    pub expires_at: EpochSecs,
}

impl SlotRecord {
    /// Whether the slot still counts against the cap at `now` (epoch seconds). A slot frees
    /// itself only *after* `expires_at`, one second later than its token dies: the read side of
    /// the claim's `expires_at < :now` condition, so a slot is never reused while its token
    /// could still be consumed.
    pub fn is_live(&self, now: EpochSecs) -> bool {
        self.expires_at >= now
    }
}

/// Take slot `slot` of `email_key` if it is free or expired at `now`, and (for a known user)
/// store the token, in one atomic write.
#[derive(Debug, Clone)]
pub struct SlotClaim {
    /// Whose slot.
    pub email_key: EmailKey,
    /// Which slot.
    pub slot: u32,
    /// When slot and token expire.
    pub expires_at: EpochSecs,
    /// Epoch seconds; a slot expired before this counts as free.
    pub now: EpochSecs,
    /// The token to store with the slot, for a known user.
    pub token: Option<TokenRecord>,
    /// The short code's keyed hash to store with the slot; only with a token.
    pub short_code: Option<TokenHash>,
}

/// How a [`SlotClaim`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The slot (and token) are written.
    Claimed,
    /// Someone holds the slot: try another, or answer 429.
    SlotTaken,
}

/// Spend a token and set the password, in one atomic write.
///
/// The write is conditioned on the token (exists, unexpired) and on the user's item still
/// holding exactly the state the token is bound to: the stored address `user.email` (byte for
/// byte) and `password_changed_at` equal to the token's. Conditions, not the reads before them,
/// settle every race: a code issued concurrently with this change carries the old mark and can
/// never pass this condition afterwards.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    /// The token being spent; must exist and be unexpired at `now`.
    pub token: TokenRecord,
    /// The user as read just before; its address and change mark are the write's conditions.
    pub user: User,
    /// The new argon2id PHC string; redacted in `Debug`.
    pub password_hash: crate::hashing::PasswordHash,
    /// Epoch seconds; the token must be unexpired at this time.
    pub now: EpochSecs,
    /// The new `password_changed_at`: `now`, or one more than the old mark if that is not
    /// earlier, so the mark strictly increases and every code bound to the old one dies.
    pub changed_at: EpochSecs,
    /// The user's other slots (and their tokens) to delete with it.
    pub revoke: Vec<SlotRecord>,
}

impl PasswordChange {
    /// The next password-change mark after `previous`, at `now`: strictly greater.
    pub fn next_mark(previous: Option<EpochSecs>, now: EpochSecs) -> EpochSecs {
        previous.map_or(now, |p| now.max(p.plus_secs(1)))
    }
}

/// How a [`PasswordChange`] ended. Nothing was written unless `Changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The token is gone, the password is set, the other tokens are revoked.
    Changed,
    /// The token was spent, revoked or expired first (a lost race): nothing written.
    TokenGone,
    /// The user item is gone, disabled, or no longer holds the address and password-change
    /// mark the token is bound to: nothing written.
    UserChanged,
}

/// Count one hit in a fixed window, refusing it above `limit`.
#[derive(Debug, Clone)]
pub struct WindowHit {
    /// Whose window (a keyed hash of the client IP).
    pub ip_key: IpKey,
    /// The route it counts for (`request`, `check`, `consume`).
    pub route: &'static str,
    /// Epoch seconds at which the window started (a multiple of its length).
    pub window_start: EpochSecs,
    /// Epoch seconds when the window ends (and its item expires).
    pub window_end: EpochSecs,
    /// Hits allowed in the window.
    pub limit: u32,
}

/// How a [`WindowHit`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitOutcome {
    /// Counted, under the limit.
    Allowed,
    /// The window is full; not counted.
    Limited,
}

/// Reserve one short-code try for an address, refusing it once `max` tries were counted in
/// the address's live attempt window.
///
/// Every evaluated try (right or wrong) is reserved *before* the code is compared, by one
/// conditional write: N concurrent guesses can never evaluate more than `max` codes, because
/// DynamoDB (or the memory store's lock) settles which writes pass `attempts < :max`. Nothing
/// resets the count but the window's end: not a right code, not a new request.
#[derive(Debug, Clone)]
pub struct ShortCodeTry {
    /// Whose counter: the same key as the address's slots, for known and unknown addresses
    /// alike, so the counter is no account oracle.
    pub email_key: EmailKey,
    /// `OTP_MAX_ATTEMPTS`: tries allowed in one window.
    pub max: u32,
    /// Epoch seconds; a window that ended before this is over and a new one starts.
    pub now: EpochSecs,
    /// Epoch seconds when a window started by this try ends (and its item expires). A live
    /// window keeps its own end.
    pub window_end: EpochSecs,
}

/// How a [`ShortCodeTry`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryOutcome {
    /// Counted: this is try number `attempt` (1-based) of the window; compare the code.
    Allowed {
        /// 1..=max.
        attempt: u32,
    },
    /// `max` tries are counted already: do not compare the code; answer as for a wrong one.
    Exhausted,
}

/// The store could not answer. Never carries secrets (no codes, no key material).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled or unreachable after the SDK's retries: worth trying again later.
    #[error("the store is unavailable")]
    Unavailable {
        /// Suggested wait.
        retry_after: Duration,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else (misconfiguration, a bug, an unexpected item shape).
    #[error("the store failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any error as [`StoreError::Other`].
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Other(e.into())
    }
}

/// Tokens, slots and rate windows.
#[async_trait::async_trait]
pub trait ResetStore: Send + Sync {
    /// The slots of `email_key` that are occupied and unexpired at `now`.
    async fn live_slots(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<Vec<SlotRecord>, StoreError>;

    /// Takes a slot (and stores a token) atomically; see [`SlotClaim`].
    async fn claim(&self, claim: SlotClaim) -> Result<ClaimOutcome, StoreError>;

    /// Gives back a slot and its token after a failed delivery, so the user can ask again at
    /// once. Only deletes the slot if it still holds that token.
    async fn release(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// The token with this hash if it exists and is unexpired at `now`.
    async fn token(
        &self,
        hash: &TokenHash,
        now: EpochSecs,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// The first of `hashes` (in order) that names a token unexpired at `now`, with its index:
    /// a code's hashes under the current and the previous token key during a rotation. The
    /// lookups run concurrently, so a second key costs a read but no round trip. A hit wins
    /// over the other lookup's failure; a miss with a failure is the failure.
    async fn token_among(
        &self,
        hashes: &[TokenHash],
        now: EpochSecs,
    ) -> Result<Option<(usize, TokenRecord)>, StoreError> {
        match hashes {
            [] => Ok(None),
            [only] => Ok(self.token(only, now).await?.map(|t| (0, t))),
            [first, rest @ ..] => {
                let (first, rest) =
                    tokio::join!(self.token(first, now), self.token_among(rest, now));
                match (first, rest) {
                    (Ok(Some(t)), _) => Ok(Some((0, t))),
                    (_, Ok(Some((i, t)))) => Ok(Some((i + 1, t))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    (Ok(None), Ok(None)) => Ok(None),
                }
            }
        }
    }

    /// Spends the token and sets the password atomically; see [`PasswordChange`].
    async fn change_password(&self, change: PasswordChange) -> Result<ChangeOutcome, StoreError>;

    /// Deletes every unexpired slot of `email_key` and its token in one atomic write, and
    /// returns how many there were. The write is conditioned on the slots it did not see
    /// (those numbered in `numbers`) still being free, and on those it saw still holding what
    /// was read: a code claimed meanwhile makes it read and try again, so no code claimed
    /// before it returns survives.
    async fn revoke_all(
        &self,
        email_key: &EmailKey,
        numbers: &[u32],
        now: EpochSecs,
    ) -> Result<u32, StoreError>;

    /// Forgets the short code of every live slot of `email_key` (their link tokens stay), and
    /// returns how many there were: what an exhausted attempt counter does. Not what stops a
    /// guess (the counter refuses it before any comparison); it keeps a table dump from
    /// holding codes that can no longer be used, and a short code from outliving its window.
    async fn revoke_short_codes(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<u32, StoreError>;

    /// Counts a hit in a fixed window atomically; see [`WindowHit`].
    async fn hit(&self, hit: WindowHit) -> Result<HitOutcome, StoreError>;

    /// Reserves one short-code try atomically; see [`ShortCodeTry`].
    async fn short_code_try(&self, attempt: ShortCodeTry) -> Result<TryOutcome, StoreError>;

    /// Makes the address's live attempt window (if any) last at least `until`: a short code
    /// issued during a window then dies within it, so no code ever meets a fresh window
    /// while it lives and every code faces at most `OTP_MAX_ATTEMPTS` tries in its life. One
    /// conditional write (the window exists, is live at `now` and ends before `until`); no
    /// window is created, none is shortened.
    async fn extend_short_code_window(
        &self,
        email_key: &EmailKey,
        until: EpochSecs,
        now: EpochSecs,
    ) -> Result<(), StoreError>;
}

/// The app's users, read-only except through [`ResetStore::change_password`].
#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user whose stored address normalizes to `email`'s normalized form.
    async fn by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;

    /// The user with this id (server callers).
    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
}

#[cfg(test)]
impl TokenRecord {
    /// A token of `user-1` in slot 2, issued at 100 and expiring at 1000: the unit tests'
    /// fixture.
    pub(crate) fn sample(password_changed_at: Option<EpochSecs>) -> Self {
        Self {
            hash: TokenHash::from_stored("ab".repeat(32)),
            user_id: UserId::parse("user-1").unwrap(),
            email_key: EmailKey::from_stored("cd".repeat(32)),
            slot: 2,
            created_at: EpochSecs::new(100),
            expires_at: EpochSecs::new(1_000),
            password_changed_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_dies_at_its_expiry_and_its_slot_frees_one_second_later() {
        let token = TokenRecord::sample(None);
        let expiry = token.expires_at;
        let slot = SlotRecord {
            slot: token.slot,
            token: Some(token.hash.clone()),
            short_code: None,
            expires_at: expiry,
        };
        let before = EpochSecs::new(expiry.get() - 1);
        assert!(token.is_live(before) && slot.is_live(before));
        // At expiry: the code no longer works, but its slot is not yet free, so a new claim
        // can never overlap a code that might still be consumed.
        assert!(!token.is_live(expiry) && slot.is_live(expiry));
        let after = expiry.plus_secs(1);
        assert!(!token.is_live(after) && !slot.is_live(after));
    }
}
