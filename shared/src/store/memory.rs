//! In-memory adapter for the local API and fast tests. Not a mock: one mutex makes every
//! operation atomic the way a DynamoDB condition or transaction is, conditions are evaluated
//! against `now` exactly as the DynamoDB adapter's condition expressions are, and expired items
//! are invisible to reads though (as with TTL) they may linger.

use crate::clock::EpochSecs;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    ChangeOutcome, ClaimOutcome, HitOutcome, PasswordChange, ResetStore, ShortCodeTry, SlotClaim,
    SlotRecord, StoreError, TokenRecord, TryOutcome, UserDirectory, WindowHit,
};
use crate::domain::{EmailAddress, EmailKey, IpKey, TokenHash, User, UserId};

/// A user row of the in-memory users table.
#[derive(Clone)]
struct UserRow {
    email: EmailAddress,
    password_hash: Option<String>,
    password_changed_at: Option<EpochSecs>,
    /// `false` plays an account whose enabled attribute is not true (`USERS_ENABLED_ATTRIBUTE`).
    enabled: bool,
    /// The session version (`USERS_SESSION_VERSION_ATTRIBUTE`); `None` until the first reset.
    session_version: Option<u64>,
    /// The organisation attribute (`USERS_ORG_ATTRIBUTE`).
    org_id: Option<String>,
}

impl UserRow {
    fn user(&self, id: &UserId) -> Option<User> {
        self.enabled.then(|| User {
            id: id.clone(),
            email: self.email.clone(),
            password_changed_at: self.password_changed_at,
            org_id: self.org_id.clone(),
        })
    }
}

#[derive(Default)]
struct Tables {
    tokens: HashMap<TokenHash, TokenRecord>,
    slots: BTreeMap<(EmailKey, u32), SlotRecord>,
    windows: HashMap<(IpKey, &'static str, EpochSecs), (u32, EpochSecs)>,
    /// Short-code tries per address: (count, window end).
    attempts: HashMap<EmailKey, (u32, EpochSecs)>,
    users: BTreeMap<UserId, UserRow>,
}

/// Reset table and users table in one process.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Whether a reset adds one to the user's session version, as the DynamoDB adapter does
    /// with `USERS_SESSION_VERSION_ATTRIBUTE` set.
    session_version: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose resets add one to the user's session version, the memory twin of
    /// `USERS_SESSION_VERSION_ATTRIBUTE`.
    pub fn with_session_version() -> Self {
        Self {
            session_version: true,
            ..Self::default()
        }
    }

    /// The user's session version: `None` before the first reset (or when not kept).
    pub fn session_version(&self, id: &UserId) -> Option<u64> {
        self.lock().users.get(id)?.session_version
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied write: every write below
        // checks all its conditions before mutating anything.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) a user with an already-hashed password.
    pub fn put_user(&self, id: UserId, email: EmailAddress, password_hash: Option<String>) {
        self.lock().users.insert(
            id,
            UserRow {
                email,
                password_hash,
                password_changed_at: None,
                enabled: true,
                session_version: None,
                org_id: None,
            },
        );
    }

    /// Sets a user's organisation attribute (`USERS_ORG_ATTRIBUTE`).
    pub fn set_user_org(&self, id: &UserId, org: Option<String>) {
        if let Some(row) = self.lock().users.get_mut(id) {
            row.org_id = org;
        }
    }

    /// Plays the app changing a user's account: a new address, a password it set itself
    /// (a new `password_changed_at`), or the account disabled. `None` leaves a field as it is.
    pub fn update_user(
        &self,
        id: &UserId,
        email: Option<EmailAddress>,
        password_changed_at: Option<EpochSecs>,
        enabled: Option<bool>,
    ) {
        if let Some(row) = self.lock().users.get_mut(id) {
            if let Some(email) = email {
                row.email = email;
            }
            if let Some(at) = password_changed_at {
                row.password_changed_at = Some(at);
            }
            if let Some(enabled) = enabled {
                row.enabled = enabled;
            }
        }
    }

    /// Deletes a user (tests: the account vanishing mid-flow).
    pub fn delete_user(&self, id: &UserId) {
        self.lock().users.remove(id);
    }

    /// The stored PHC string of a user's password (dev sign-in, tests).
    pub fn password_hash(&self, id: &UserId) -> Option<String> {
        self.lock().users.get(id)?.password_hash.clone()
    }

    /// When the user's password was last changed by a reset, epoch seconds.
    pub fn password_changed_at(&self, id: &UserId) -> Option<EpochSecs> {
        self.lock().users.get(id)?.password_changed_at
    }

    /// Every token item, expired or not (tests inspect the "table").
    pub fn all_tokens(&self) -> Vec<TokenRecord> {
        self.lock().tokens.values().cloned().collect()
    }

    /// Every slot item with its owner, expired or not.
    pub fn all_slots(&self) -> Vec<(EmailKey, SlotRecord)> {
        self.lock()
            .slots
            .iter()
            .map(|((k, _), s)| (k.clone(), s.clone()))
            .collect()
    }
}

#[async_trait::async_trait]
impl ResetStore for MemoryStore {
    async fn live_slots(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        Ok(self
            .lock()
            .slots
            .range((email_key.clone(), 0)..=(email_key.clone(), u32::MAX))
            .map(|(_, s)| s.clone())
            .filter(|s| s.is_live(now))
            .collect())
    }

    async fn claim(&self, claim: SlotClaim) -> Result<ClaimOutcome, StoreError> {
        let mut t = self.lock();
        let key = (claim.email_key.clone(), claim.slot);
        // Same condition as DynamoDB: attribute_not_exists(pk) OR expires_at < :now.
        if t.slots.get(&key).is_some_and(|s| s.is_live(claim.now)) {
            return Ok(ClaimOutcome::SlotTaken);
        }
        if let Some(token) = &claim.token {
            // attribute_not_exists(pk) on the token item: a 256-bit collision, but checked anyway.
            if t.tokens.contains_key(&token.hash) {
                return Err(StoreError::other("token hash already exists"));
            }
        }
        t.slots.insert(
            key,
            SlotRecord {
                slot: claim.slot,
                token: claim.token.as_ref().map(|tk| tk.hash.clone()),
                short_code: claim.token.as_ref().and(claim.short_code.clone()),
                expires_at: claim.expires_at,
            },
        );
        if let Some(token) = claim.token {
            t.tokens.insert(token.hash.clone(), token);
        }
        Ok(ClaimOutcome::Claimed)
    }

    async fn release(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let mut t = self.lock();
        let key = (token.email_key.clone(), token.slot);
        if t.slots.get(&key).and_then(|s| s.token.as_ref()) == Some(&token.hash) {
            t.slots.remove(&key);
        }
        t.tokens.remove(&token.hash);
        Ok(())
    }

    async fn token(
        &self,
        hash: &TokenHash,
        now: EpochSecs,
    ) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .get(hash)
            .filter(|t| t.is_live(now))
            .cloned())
    }

    async fn change_password(&self, change: PasswordChange) -> Result<ChangeOutcome, StoreError> {
        let mut t = self.lock();
        // Conditions first, writes after: all or nothing.
        let token_live = t
            .tokens
            .get(&change.token.hash)
            .is_some_and(|tk| tk.is_live(change.now));
        if !token_live {
            return Ok(ChangeOutcome::TokenGone);
        }
        // Same condition as DynamoDB's: the item exists, is enabled, and holds exactly the
        // address and password-change mark that were read (and that the token is bound to).
        let user_unchanged = t.users.get(&change.token.user_id).is_some_and(|row| {
            row.enabled
                && row.email.as_str() == change.user.email.as_str()
                && row.password_changed_at == change.user.password_changed_at
                && row.password_changed_at == change.token.password_changed_at
        });
        if !user_unchanged {
            return Ok(ChangeOutcome::UserChanged);
        }
        t.tokens.remove(&change.token.hash);
        let own_slot = (change.token.email_key.clone(), change.token.slot);
        t.slots.remove(&own_slot);
        for slot in &change.revoke {
            t.slots.remove(&(change.token.email_key.clone(), slot.slot));
            if let Some(hash) = &slot.token {
                t.tokens.remove(hash);
            }
        }
        let user = t
            .users
            .get_mut(&change.token.user_id)
            .expect("checked above under the same lock");
        user.password_hash = Some(change.password_hash.into_string());
        user.password_changed_at = Some(change.changed_at);
        if self.session_version {
            user.session_version = Some(user.session_version.unwrap_or(0) + 1);
        }
        Ok(ChangeOutcome::Changed)
    }

    async fn revoke_all(
        &self,
        email_key: &EmailKey,
        _numbers: &[u32],
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        // One lock: nothing can be claimed between the read and the deletes.
        let mut t = self.lock();
        let range = (email_key.clone(), 0)..=(email_key.clone(), u32::MAX);
        let owned: Vec<(EmailKey, u32)> = t.slots.range(range).map(|(k, _)| k.clone()).collect();
        let mut revoked = 0;
        for key in owned {
            if let Some(slot) = t.slots.remove(&key) {
                revoked += u32::from(slot.is_live(now));
                if let Some(hash) = slot.token {
                    t.tokens.remove(&hash);
                }
            }
        }
        Ok(revoked)
    }

    async fn revoke_short_codes(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        let mut t = self.lock();
        let range = (email_key.clone(), 0)..=(email_key.clone(), u32::MAX);
        let mut revoked = 0;
        for (_, slot) in t.slots.range_mut(range) {
            if slot.short_code.take().is_some() && slot.is_live(now) {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn hit(&self, hit: WindowHit) -> Result<HitOutcome, StoreError> {
        let mut t = self.lock();
        let now_window = (hit.ip_key.clone(), hit.route, hit.window_start);
        let entry = t.windows.entry(now_window).or_insert((0, hit.window_end));
        if entry.0 >= hit.limit {
            return Ok(HitOutcome::Limited);
        }
        entry.0 += 1;
        Ok(HitOutcome::Allowed)
    }

    async fn short_code_try(&self, attempt: ShortCodeTry) -> Result<TryOutcome, StoreError> {
        let mut t = self.lock();
        // The DynamoDB adapter's two conditions under one lock: a window that ended before
        // `now` (or none) is replaced by a fresh one; a live one counts while under `max`.
        match t.attempts.get_mut(&attempt.email_key) {
            Some((count, end)) if *end >= attempt.now => {
                if *count >= attempt.max {
                    return Ok(TryOutcome::Exhausted);
                }
                *count += 1;
                Ok(TryOutcome::Allowed { attempt: *count })
            }
            _ if attempt.max == 0 => Ok(TryOutcome::Exhausted),
            _ => {
                t.attempts
                    .insert(attempt.email_key, (1, attempt.window_end));
                Ok(TryOutcome::Allowed { attempt: 1 })
            }
        }
    }
    async fn extend_short_code_window(
        &self,
        email_key: &EmailKey,
        until: EpochSecs,
        now: EpochSecs,
    ) -> Result<(), StoreError> {
        // The DynamoDB adapter's condition under the lock.
        if let Some((_, end)) = self.lock().attempts.get_mut(email_key)
            && *end >= now
            && *end < until
        {
            *end = until;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl UserDirectory for MemoryStore {
    /// Exact matches only, as DynamoDB's index query: the stored address must equal the
    /// normalized (lowercase) form or the form as typed. Two matching accounts are ambiguous
    /// and count as none.
    async fn by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let t = self.lock();
        let mut found = t.users.iter().filter(|(_, row)| {
            row.email.as_str() == email.normalized() || row.email.as_str() == email.as_str()
        });
        match (found.next(), found.next()) {
            (Some((id, row)), None) => Ok(row.user(id)),
            (Some(_), Some(_)) => {
                tracing::warn!("two accounts hold this address; treated as no account");
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(id).and_then(|row| row.user(id)))
    }
}
