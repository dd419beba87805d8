//! DynamoDB adapter: the production store. This module implements the [`ResetStore`] port;
//! the table layout is in `keys.rs` (keys, condition expressions) and `items.rs` (item
//! codecs), the sorting of SDK failures in `errors.rs`, the users directory in `users.rs`.
//!
//! One reset table (`pk`, `sk` strings; TTL on `expires_at`):
//!
//! | item   | pk                 | sk                       | attributes                                   |
//! |--------|--------------------|--------------------------|----------------------------------------------|
//! | token  | `TOKEN#<hash>`     | `TOKEN`                  | user_id, email_key, slot, created_at, expires_at, pw_changed_at? |
//! | slot   | `EMAIL#<email key>`| `SLOT#<n>`               | token, otp (both absent for unknown emails), expires_at |
//! | window | `IP#<ip key>`      | `WINDOW#<route>#<start>` | count, expires_at                            |
//! | tries  | `EMAIL#<email key>`| `ATTEMPTS`               | attempts, expires_at (short-code tries)      |
//!
//! Every contended write is settled by a condition expression evaluated by DynamoDB; our code
//! never reads-then-writes to decide a race. Failures are sorted by the SDK's typed accessors
//! (error kinds, cancellation reason codes), never by message text.

mod errors;
mod items;
pub(crate) mod keys;
mod retry;
pub mod schema;
mod users;

use crate::clock::EpochSecs;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};

use self::errors::{Cancelled, ConditionFailed, cancellation, classify};
use self::items::{
    ATTEMPTS, COUNT, Item, SLOT_SHORT_CODE, SLOT_TOKEN, at, get_n, n, now_value, positioned, s,
};
use self::keys::{
    SLOT_PREFIX, absent, absent_or_expired, attempts_key, email_pk, slot_key, token_key, unexpired,
    window_key,
};
use self::schema::{PK, SK, TTL_ATTRIBUTE};
pub use self::users::NewUser;
use super::{
    ChangeOutcome, ClaimOutcome, HitOutcome, PasswordChange, ResetStore, ShortCodeTry, SlotClaim,
    SlotRecord, StoreError, TokenRecord, TryOutcome, WindowHit,
};
use crate::config::UsersTable;
use crate::domain::{EmailKey, TokenHash};

/// Item positions in the claim transaction ([`ResetStore::claim`] for a known user).
mod claim_tx {
    /// The slot, free or expired.
    pub const SLOT: usize = 0;
    /// The new token.
    pub const TOKEN: usize = 1;
}

/// Item positions in the release transaction ([`ResetStore::release`]).
mod release_tx {
    /// The slot, still holding this token.
    pub const SLOT: usize = 0;
    /// The token.
    pub const TOKEN: usize = 1;
}

/// Item positions in the consume transaction ([`ResetStore::change_password`]); the slots
/// and tokens it revokes follow.
mod consume_tx {
    /// Spending the token: it must exist and be unexpired.
    pub const SPEND: usize = 0;
    /// Setting the password: the user must still hold the state the token is bound to.
    pub const SET_PASSWORD: usize = 1;
    /// The token's own slot.
    pub const SLOT: usize = 2;
}

/// Reset table and users table on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    reset_table: String,
    users: UsersTable,
}

impl DynamoStore {
    /// `client` is built once at init and shared by every invocation.
    pub fn new(client: Client, reset_table: impl Into<String>, users: UsersTable) -> Self {
        Self {
            client,
            reset_table: reset_table.into(),
            users,
        }
    }

    /// The SDK client (tests, table creation).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait::async_trait]
impl ResetStore for DynamoStore {
    async fn live_slots(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.reset_table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :slot)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(email_pk(email_key)))
            .expression_attribute_values(":slot", s(SLOT_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let mut slots = Vec::new();
        for item in out.items() {
            let record = SlotRecord::try_from(item)?;
            // TTL deletes late: an expired slot is free whatever the table still says.
            if record.is_live(now) {
                slots.push(record);
            }
        }
        Ok(slots)
    }

    async fn claim(&self, claim: SlotClaim) -> Result<ClaimOutcome, StoreError> {
        let slot_item = Item::from(&claim);
        let Some(token) = &claim.token else {
            // No account: the slot alone, one conditional put.
            let result = self
                .client
                .put_item()
                .table_name(&self.reset_table)
                .set_item(Some(slot_item))
                .condition_expression(absent_or_expired())
                .set_expression_attribute_values(Some(now_value(claim.now)))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(ClaimOutcome::Claimed),
                Err(e) if e.condition_failed() => Ok(ClaimOutcome::SlotTaken),
                Err(e) => Err(classify(e)),
            };
        };

        let items = positioned([
            (
                claim_tx::SLOT,
                self.put(slot_item, absent_or_expired(), now_value(claim.now)),
            ),
            (
                claim_tx::TOKEN,
                self.put(Item::from(token), absent(), HashMap::new()),
            ),
        ]);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(e) => match cancellation(&e) {
                // Slot held by another token, or another request is claiming it right now.
                Some(Cancelled::Condition(claim_tx::SLOT) | Cancelled::Conflict) => {
                    Ok(ClaimOutcome::SlotTaken)
                }
                _ => Err(classify(e)),
            },
        }
    }

    async fn release(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let slot_delete = self
            .delete(slot_key(&token.email_key, token.slot))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", SLOT_TOKEN)
            .expression_attribute_values(":token", s(token.hash.as_str()))
            .build()
            .expect("table and key are set");
        let items = positioned([
            (
                release_tx::SLOT,
                TransactWriteItem::builder().delete(slot_delete).build(),
            ),
            (release_tx::TOKEN, self.delete_item(token_key(&token.hash))),
        ]);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(()),
            // The slot holds another token by now: only our token needs to go.
            Err(e) if cancellation(&e) == Some(Cancelled::Condition(release_tx::SLOT)) => self
                .client
                .delete_item()
                .table_name(&self.reset_table)
                .set_key(Some(token_key(&token.hash)))
                .send()
                .await
                .map(|_| ())
                .map_err(classify),
            Err(e) => Err(classify(e)),
        }
    }

    async fn token(
        &self,
        hash: &TokenHash,
        now: EpochSecs,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.reset_table)
            .set_key(Some(token_key(hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let token = TokenRecord::try_from(item)?;
        // TTL deletes late: check expiry on every read.
        Ok(token.is_live(now).then_some(token))
    }

    async fn change_password(&self, change: PasswordChange) -> Result<ChangeOutcome, StoreError> {
        let t = &change.token;
        let spend = self
            .delete(token_key(&t.hash))
            .condition_expression(unexpired())
            .expression_attribute_values(":now", at(change.now))
            .build()
            .expect("table and key are set");

        let mut items = positioned([
            (
                consume_tx::SPEND,
                TransactWriteItem::builder().delete(spend).build(),
            ),
            (
                consume_tx::SET_PASSWORD,
                TransactWriteItem::builder()
                    .update(self.set_password(&change))
                    .build(),
            ),
            (
                consume_tx::SLOT,
                self.delete_item(slot_key(&t.email_key, t.slot)),
            ),
        ]);
        for slot in change.revoke.iter().filter(|s| s.slot != t.slot) {
            items.push(self.delete_item(slot_key(&t.email_key, slot.slot)));
            if let Some(other) = slot.token.as_ref().filter(|h| **h != t.hash) {
                items.push(self.delete_item(token_key(other)));
            }
        }

        // A conflict means another transaction touched these items at the same moment; the
        // conditions decide on the next attempt, after a jittered wait (bounded: retry.rs).
        let outcome = retry::retry(retry::TRANSACTION_CONFLICT, || async {
            let result = self.transact(items.clone()).await;
            retry::Step::Done(match result {
                Ok(_) => Ok(ChangeOutcome::Changed),
                Err(e) => match cancellation(&e) {
                    Some(Cancelled::Condition(consume_tx::SPEND)) => Ok(ChangeOutcome::TokenGone),
                    Some(Cancelled::Condition(consume_tx::SET_PASSWORD)) => {
                        Ok(ChangeOutcome::UserChanged)
                    }
                    Some(Cancelled::Conflict) => return retry::Step::Again,
                    _ => Err(classify(e)),
                },
            })
        })
        .await;
        outcome.unwrap_or_else(|| {
            Err(StoreError::Unavailable {
                retry_after: Duration::from_secs(1),
                source: "transaction conflicts persisted".into(),
            })
        })
    }

    async fn revoke_all(
        &self,
        email_key: &EmailKey,
        numbers: &[u32],
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        // Read, then one transaction conditioned on what was read and on the unseen slots
        // still being free; a claim in between cancels it and it reads again.
        for _ in 0..3 {
            let live = self.live_slots(email_key, now).await?;
            if live.is_empty() {
                return Ok(0);
            }
            let mut items = Vec::new();
            for slot in &live {
                let mut delete = self
                    .delete(slot_key(email_key, slot.slot))
                    .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                    .expression_attribute_values(":exp", at(slot.expires_at));
                delete = match &slot.token {
                    Some(hash) => delete
                        .condition_expression("#exp = :exp AND #token = :token")
                        .expression_attribute_names("#token", SLOT_TOKEN)
                        .expression_attribute_values(":token", s(hash.as_str())),
                    None => delete.condition_expression("#exp = :exp"),
                };
                let delete = delete.build().expect("table, key and condition are set");
                items.push(TransactWriteItem::builder().delete(delete).build());
                if let Some(hash) = &slot.token {
                    items.push(self.delete_item(token_key(hash)));
                }
            }
            for number in numbers
                .iter()
                .filter(|n| !live.iter().any(|s| s.slot == **n))
            {
                let check = ConditionCheck::builder()
                    .table_name(&self.reset_table)
                    .set_key(Some(slot_key(email_key, *number)))
                    .condition_expression(absent_or_expired())
                    .expression_attribute_values(":now", at(now))
                    .build()
                    .expect("table, key and condition are set");
                items.push(TransactWriteItem::builder().condition_check(check).build());
            }
            let result = self.transact(items).await;
            match result {
                Ok(_) => return Ok(live.len() as u32),
                Err(e) => match cancellation(&e) {
                    Some(Cancelled::Condition(_) | Cancelled::Conflict) => continue,
                    _ => return Err(classify(e)),
                },
            }
        }
        Err(StoreError::Unavailable {
            retry_after: Duration::from_secs(1),
            source: "codes kept being issued while revoking".into(),
        })
    }

    async fn revoke_short_codes(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        let mut revoked = 0;
        for slot in self.live_slots(email_key, now).await? {
            let Some(short) = &slot.short_code else {
                continue;
            };
            // Only the code that was read: a slot claimed again meanwhile keeps its new code
            // (the attempt counter refuses it as long as the window lasts anyway).
            let result = self
                .client
                .update_item()
                .table_name(&self.reset_table)
                .set_key(Some(slot_key(email_key, slot.slot)))
                .update_expression("REMOVE #otp")
                .condition_expression("#otp = :otp")
                .expression_attribute_names("#otp", SLOT_SHORT_CODE)
                .expression_attribute_values(":otp", s(short.as_str()))
                .send()
                .await;
            match result {
                Ok(_) => revoked += 1,
                Err(e) if e.condition_failed() => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(revoked)
    }

    async fn hit(&self, hit: WindowHit) -> Result<HitOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.reset_table)
            .set_key(Some(window_key(&hit.ip_key, hit.route, hit.window_start)))
            .update_expression("ADD #count :one SET #exp = :end")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", at(hit.window_end))
            .expression_attribute_values(":limit", n(u64::from(hit.limit)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(HitOutcome::Allowed),
            Err(e) if e.condition_failed() => Ok(HitOutcome::Limited),
            Err(e) => Err(classify(e)),
        }
    }

    async fn short_code_try(&self, attempt: ShortCodeTry) -> Result<TryOutcome, StoreError> {
        if attempt.max == 0 {
            return Ok(TryOutcome::Exhausted);
        }
        // A new window first (one round trip for a user's first try), else one more try in
        // the live window (two). Each step is one conditional write; whichever passes decides.
        // Both failing means a live window at `max`, unless a window ended or began between
        // the two writes: then the steps run again, and after three rounds it fails closed.
        for _ in 0..3 {
            let started = self
                .client
                .put_item()
                .table_name(&self.reset_table)
                .set_item(Some(self.attempts_item(&attempt)))
                .condition_expression(absent_or_expired())
                .expression_attribute_values(":now", at(attempt.now))
                .send()
                .await;
            match started {
                Ok(_) => return Ok(TryOutcome::Allowed { attempt: 1 }),
                Err(e) if e.condition_failed() => {}
                Err(e) => return Err(classify(e)),
            }
            let counted = self
                .client
                .update_item()
                .table_name(&self.reset_table)
                .set_key(Some(attempts_key(&attempt.email_key)))
                .update_expression("ADD #attempts :one")
                .condition_expression("#attempts < :max AND #exp >= :now")
                .expression_attribute_names("#attempts", ATTEMPTS)
                .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(u64::from(attempt.max)))
                .expression_attribute_values(":now", at(attempt.now))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await;
            match counted {
                Ok(out) => {
                    let count = out
                        .attributes()
                        .map(|item| get_n(item, ATTEMPTS))
                        .transpose()?
                        .and_then(|c| u32::try_from(c).ok())
                        .ok_or_else(|| {
                            StoreError::other("the attempt counter came back without its count")
                        })?;
                    return Ok(TryOutcome::Allowed { attempt: count });
                }
                Err(e) if e.condition_failed() => {
                    if self.attempts_exhausted(&attempt).await? {
                        return Ok(TryOutcome::Exhausted);
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(TryOutcome::Exhausted)
    }

    async fn extend_short_code_window(
        &self,
        email_key: &EmailKey,
        until: EpochSecs,
        now: EpochSecs,
    ) -> Result<(), StoreError> {
        let extended = self
            .client
            .update_item()
            .table_name(&self.reset_table)
            .set_key(Some(attempts_key(email_key)))
            .update_expression("SET #exp = :until")
            .condition_expression(format!(
                "attribute_exists({PK}) AND #exp >= :now AND #exp < :until"
            ))
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", at(now))
            .expression_attribute_values(":until", at(until))
            .send()
            .await;
        match extended {
            // No live window, or one that already lasts long enough: nothing to do.
            Ok(_) => Ok(()),
            Err(e) if e.condition_failed() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

impl DynamoStore {
    /// A fresh attempt window holding this one try.
    fn attempts_item(&self, attempt: &ShortCodeTry) -> Item {
        let mut item = attempts_key(&attempt.email_key);
        item.insert(ATTEMPTS.to_owned(), n(1));
        item.insert(TTL_ATTRIBUTE.to_owned(), at(attempt.window_end));
        item
    }

    /// Whether the address's window is live at `now` and full: the reason the count was
    /// refused, as opposed to a window that ended between the put and the update (a strongly
    /// consistent read; it decides nothing by itself, the conditions did).
    async fn attempts_exhausted(&self, attempt: &ShortCodeTry) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.reset_table)
            .set_key(Some(attempts_key(&attempt.email_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item() else {
            return Ok(false);
        };
        let live = get_n(item, TTL_ATTRIBUTE)? >= attempt.now.get();
        Ok(live && get_n(item, ATTEMPTS)? >= u64::from(attempt.max))
    }
}
