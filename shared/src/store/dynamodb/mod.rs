//! DynamoDB adapter: the production store.
//!
//! One reset table (`pk`, `sk` strings; TTL on `expires_at`):
//!
//! | item   | pk                 | sk                       | attributes                                   |
//! |--------|--------------------|--------------------------|----------------------------------------------|
//! | token  | `TOKEN#<hash>`     | `TOKEN`                  | user_id, email_key, slot, created_at, expires_at, pw_changed_at? |
//! | slot   | `EMAIL#<email key>`| `SLOT#<n>`               | token (absent for unknown emails), expires_at |
//! | window | `IP#<ip key>`      | `WINDOW#<route>#<start>` | count, expires_at                            |
//!
//! Every contended write is settled by a condition expression evaluated by DynamoDB; our code
//! never reads-then-writes to decide a race. Failures are sorted by the SDK's typed accessors
//! (error kinds, cancellation reason codes), never by message text.

mod retry;
pub mod schema;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::builders::DeleteBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use self::schema::{PK, SK, TTL_ATTRIBUTE};
use super::{
    ChangeOutcome, ClaimOutcome, HitOutcome, PasswordChange, ResetStore, SlotClaim, SlotRecord,
    StoreError, TokenRecord, UserDirectory, WindowHit,
};
use crate::config::UsersTable;
use crate::domain::{EmailAddress, EmailKey, TokenHash, User, UserId};

type Item = HashMap<String, AttributeValue>;

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

    fn put(&self, item: Item, condition: &str, values: Item) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.reset_table)
            .set_item(Some(item))
            .condition_expression(condition);
        if !values.is_empty() {
            put = put.set_expression_attribute_values(Some(values));
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table, item and condition are set"))
            .build()
    }

    fn delete(&self, pk: String, sk: &str) -> DeleteBuilder {
        Delete::builder()
            .table_name(&self.reset_table)
            .set_key(Some(key(pk, sk)))
    }

    fn delete_item(&self, pk: String, sk: &str) -> TransactWriteItem {
        let delete = self.delete(pk, sk).build().expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn token_pk(hash: &TokenHash) -> String {
    format!("TOKEN#{}", hash.as_str())
}

fn email_pk(email_key: &EmailKey) -> String {
    format!("EMAIL#{}", email_key.as_str())
}

fn slot_sk(slot: u32) -> String {
    format!("SLOT#{slot}")
}

const TOKEN_SK: &str = "TOKEN";

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::other(format!("item without string attribute {name}")))
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::other(format!("item without numeric attribute {name}")))
}

/// The users-table key read when an address matches no account (its answer is ignored).
const ABSENT_USER_KEY: &str = "\u{1}password-reset:no-account";

/// The token item's copy of the user's password-change mark at issue (absent: the user had none).
const TOKEN_PW_CHANGED: &str = "pw_changed_at";

fn token_from_item(hash: &TokenHash, item: &Item) -> Result<TokenRecord, StoreError> {
    let password_changed_at = match item.get(TOKEN_PW_CHANGED) {
        None => None,
        Some(_) => Some(get_n(item, TOKEN_PW_CHANGED)?),
    };
    Ok(TokenRecord {
        password_changed_at,
        hash: hash.clone(),
        user_id: UserId::parse(get_s(item, "user_id")?).map_err(StoreError::other)?,
        email_key: EmailKey::from_stored(get_s(item, "email_key")?),
        slot: get_n(item, "slot")? as u32,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
    })
}

fn token_item(t: &TokenRecord) -> Item {
    let mut item = key(token_pk(&t.hash), TOKEN_SK);
    item.insert("user_id".into(), s(t.user_id.as_str()));
    item.insert("email_key".into(), s(t.email_key.as_str()));
    item.insert("slot".into(), n(u64::from(t.slot)));
    item.insert("created_at".into(), n(t.created_at));
    item.insert(TTL_ATTRIBUTE.into(), n(t.expires_at));
    if let Some(at) = t.password_changed_at {
        item.insert(TOKEN_PW_CHANGED.into(), n(at));
    }
    item
}

/// Which failures of an operation mean "try again later". DynamoDB's model marks none of its
/// errors retryable, so the SDK's `retryable_error_kind()` is always `None` for them: the typed
/// variants (and, for a cancelled transaction, its reason codes) say it instead.
trait Transient {
    fn is_transient(&self) -> bool;
}

macro_rules! transient {
    ($($err:ty $(: $extra:ident)*;)*) => {$(
        impl Transient for $err {
            fn is_transient(&self) -> bool {
                self.is_throttling_exception()
                    || self.is_provisioned_throughput_exceeded_exception()
                    || self.is_request_limit_exceeded()
                    || self.is_internal_server_error()
                    $(|| self.$extra())*
            }
        }
    )*};
}

transient! {
    QueryError;
    GetItemError;
    PutItemError: is_transaction_conflict_exception;
    UpdateItemError: is_transaction_conflict_exception;
    DeleteItemError: is_transaction_conflict_exception;
}

impl Transient for TransactWriteItemsError {
    fn is_transient(&self) -> bool {
        // Cancelled because one of its items was throttled or in another transaction.
        let item_throttled = match self {
            Self::TransactionCanceledException(e) => e.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some(
                        "ThrottlingError" | "ProvisionedThroughputExceeded" | "TransactionConflict"
                    )
                )
            }),
            _ => false,
        };
        item_throttled
            || self.is_throttling_exception()
            || self.is_provisioned_throughput_exceeded_exception()
            || self.is_request_limit_exceeded()
            || self.is_internal_server_error()
            || self.is_transaction_in_progress_exception()
    }
}

/// Sorts an SDK failure: throttling, server errors and transport failures (after the SDK's own
/// retries) are `Unavailable`; the rest (missing table, bad request) is `Other`.
fn classify<E>(err: SdkError<E>) -> StoreError
where
    E: Transient + std::error::Error + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.err().is_transient() || service.raw().status().is_server_error()
        }
        _ => false,
    };
    if transient {
        StoreError::Unavailable {
            retry_after: Duration::from_secs(1),
            source: Box::new(err),
        }
    } else {
        StoreError::Other(Box::new(err))
    }
}

/// Why a transaction was cancelled, by item position, from the typed cancellation reasons.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// The condition of item `i` failed.
    Condition(usize),
    /// Another transaction touched the same items (DynamoDB's `TransactionConflict`).
    Conflict,
}

fn cancellation(err: &SdkError<TransactWriteItemsError>) -> Option<Cancelled> {
    let TransactWriteItemsError::TransactionCanceledException(e) = err.as_service_error()? else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    if let Some(i) = reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        return Some(Cancelled::Condition(i));
    }
    reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
        .then_some(Cancelled::Conflict)
}

#[async_trait::async_trait]
impl ResetStore for DynamoStore {
    async fn live_slots(
        &self,
        email_key: &EmailKey,
        now: u64,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.reset_table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :slot)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(email_pk(email_key)))
            .expression_attribute_values(":slot", s("SLOT#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let mut slots = Vec::new();
        for item in out.items() {
            let slot = get_s(item, SK)?
                .strip_prefix("SLOT#")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::other("malformed slot key"))?;
            let record = SlotRecord {
                slot,
                token: item
                    .get("token")
                    .and_then(|v| v.as_s().ok())
                    .map(|h| TokenHash::from_stored(h.as_str())),
                expires_at: get_n(item, TTL_ATTRIBUTE)?,
            };
            // TTL deletes late: an expired slot is free whatever the table still says.
            if record.expires_at >= now {
                slots.push(record);
            }
        }
        Ok(slots)
    }

    async fn claim(&self, claim: SlotClaim) -> Result<ClaimOutcome, StoreError> {
        let mut slot_item = key(email_pk(&claim.email_key), &slot_sk(claim.slot));
        slot_item.insert(TTL_ATTRIBUTE.into(), n(claim.expires_at));
        if let Some(t) = &claim.token {
            slot_item.insert("token".into(), s(t.hash.as_str()));
        }
        let free = "attribute_not_exists(pk) OR expires_at < :now";
        let now = HashMap::from([(":now".to_owned(), n(claim.now))]);

        let Some(token) = &claim.token else {
            // No account: the slot alone, one conditional put.
            let result = self
                .client
                .put_item()
                .table_name(&self.reset_table)
                .set_item(Some(slot_item))
                .condition_expression(free)
                .set_expression_attribute_values(Some(now))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(ClaimOutcome::Claimed),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    Ok(ClaimOutcome::SlotTaken)
                }
                Err(e) => Err(classify(e)),
            };
        };

        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put(slot_item, free, now))
            .transact_items(self.put(
                token_item(token),
                "attribute_not_exists(pk)",
                HashMap::new(),
            ))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(e) => match cancellation(&e) {
                // Slot held by another token, or another request is claiming it right now.
                Some(Cancelled::Condition(0) | Cancelled::Conflict) => Ok(ClaimOutcome::SlotTaken),
                _ => Err(classify(e)),
            },
        }
    }

    async fn release(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let slot_delete = self
            .delete(email_pk(&token.email_key), &slot_sk(token.slot))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(token.hash.as_str()))
            .build()
            .expect("table and key are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(slot_delete).build())
            .transact_items(self.delete_item(token_pk(&token.hash), TOKEN_SK))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The slot holds another token by now: only our token needs to go.
            Err(e) if cancellation(&e) == Some(Cancelled::Condition(0)) => self
                .client
                .delete_item()
                .table_name(&self.reset_table)
                .set_key(Some(key(token_pk(&token.hash), TOKEN_SK)))
                .send()
                .await
                .map(|_| ())
                .map_err(classify),
            Err(e) => Err(classify(e)),
        }
    }

    async fn token(&self, hash: &TokenHash, now: u64) -> Result<Option<TokenRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.reset_table)
            .set_key(Some(key(token_pk(hash), TOKEN_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let token = token_from_item(hash, item)?;
        // TTL deletes late: check expiry on every read.
        Ok((token.expires_at > now).then_some(token))
    }

    async fn change_password(&self, change: PasswordChange) -> Result<ChangeOutcome, StoreError> {
        let t = &change.token;
        let spend = self
            .delete(token_pk(&t.hash), TOKEN_SK)
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(change.now))
            .build()
            .expect("table and key are set");
        let users = &self.users;
        // The user must still hold exactly the state the token is bound to: its address as
        // read (byte for byte) and the password-change mark at issue; enabled if configured.
        let mut condition = String::from("attribute_exists(#key) AND #email = :email AND ");
        condition.push_str(match t.password_changed_at {
            Some(_) => "#changed = :old",
            None => "attribute_not_exists(#changed)",
        });
        let mut set_password = Update::builder()
            .table_name(&users.table)
            .key(&users.key_attribute, s(t.user_id.as_str()))
            .update_expression("SET #pw = :pw, #changed = :new")
            .expression_attribute_names("#pw", &users.password_attribute)
            .expression_attribute_names("#changed", &users.password_changed_attribute)
            .expression_attribute_names("#key", &users.key_attribute)
            .expression_attribute_names("#email", &users.email_attribute)
            .expression_attribute_values(":pw", s(change.password_hash.as_str()))
            .expression_attribute_values(":new", n(change.changed_at))
            .expression_attribute_values(":email", s(change.user.email.as_str()));
        if let Some(old) = t.password_changed_at {
            set_password = set_password.expression_attribute_values(":old", n(old));
        }
        if let Some(enabled) = &users.enabled_attribute {
            condition.push_str(" AND #enabled = :true");
            set_password = set_password
                .expression_attribute_names("#enabled", enabled)
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        let set_password = set_password
            .condition_expression(condition)
            .build()
            .expect("table, key and expression are set");

        let mut items = vec![
            TransactWriteItem::builder().delete(spend).build(),
            TransactWriteItem::builder().update(set_password).build(),
            self.delete_item(email_pk(&t.email_key), &slot_sk(t.slot)),
        ];
        for slot in change.revoke.iter().filter(|s| s.slot != t.slot) {
            items.push(self.delete_item(email_pk(&t.email_key), &slot_sk(slot.slot)));
            if let Some(other) = slot.token.as_ref().filter(|h| **h != t.hash) {
                items.push(self.delete_item(token_pk(other), TOKEN_SK));
            }
        }

        // A conflict means another transaction touched these items at the same moment; the
        // conditions decide on the next attempt, after a jittered wait (bounded: retry.rs).
        let outcome = retry::retry(retry::TRANSACTION_CONFLICT, || async {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            retry::Step::Done(match result {
                Ok(_) => Ok(ChangeOutcome::Changed),
                Err(e) => match cancellation(&e) {
                    Some(Cancelled::Condition(0)) => Ok(ChangeOutcome::TokenGone),
                    Some(Cancelled::Condition(1)) => Ok(ChangeOutcome::UserChanged),
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
        now: u64,
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
                    .delete(email_pk(email_key), &slot_sk(slot.slot))
                    .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                    .expression_attribute_values(":exp", n(slot.expires_at));
                delete = match &slot.token {
                    Some(hash) => delete
                        .condition_expression("#exp = :exp AND #token = :token")
                        .expression_attribute_names("#token", "token")
                        .expression_attribute_values(":token", s(hash.as_str())),
                    None => delete.condition_expression("#exp = :exp"),
                };
                let delete = delete.build().expect("table, key and condition are set");
                items.push(TransactWriteItem::builder().delete(delete).build());
                if let Some(hash) = &slot.token {
                    items.push(self.delete_item(token_pk(hash), TOKEN_SK));
                }
            }
            for number in numbers
                .iter()
                .filter(|n| !live.iter().any(|s| s.slot == **n))
            {
                let check = ConditionCheck::builder()
                    .table_name(&self.reset_table)
                    .set_key(Some(key(email_pk(email_key), &slot_sk(*number))))
                    .condition_expression("attribute_not_exists(pk) OR #exp < :now")
                    .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                    .expression_attribute_values(":now", n(now))
                    .build()
                    .expect("table, key and condition are set");
                items.push(TransactWriteItem::builder().condition_check(check).build());
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
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

    async fn hit(&self, hit: WindowHit) -> Result<HitOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.reset_table)
            .set_key(Some(key(
                format!("IP#{}", hit.ip_key.as_str()),
                &format!("WINDOW#{}#{}", hit.route, hit.window_start),
            )))
            .update_expression("ADD #count :one SET #exp = :end")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(hit.window_end))
            .expression_attribute_values(":limit", n(u64::from(hit.limit)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(HitOutcome::Allowed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(HitOutcome::Limited)
            }
            Err(e) => Err(classify(e)),
        }
    }
}

impl DynamoStore {
    /// The user's item, projected (see [`Self::user_projection`]).
    async fn user_item(&self, id: &UserId) -> Result<Option<Item>, StoreError> {
        self.user_item_by_key(id.as_str()).await
    }

    async fn user_item_by_key(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let users = &self.users;
        let (projection, names) = self.user_projection();
        let mut get = self
            .client
            .get_item()
            .table_name(&users.table)
            .key(&users.key_attribute, s(key))
            // check and consume compare the account's state with the code's binding: read
            // the latest (the transaction's conditions settle races either way).
            .consistent_read(true)
            .projection_expression(projection);
        for (n, v) in names {
            get = get.expression_attribute_names(n, v);
        }
        Ok(get.send().await.map_err(classify)?.item().cloned())
    }

    fn user_from_item(&self, item: &Item) -> Result<Option<User>, StoreError> {
        let id =
            UserId::parse(get_s(item, &self.users.key_attribute)?).map_err(StoreError::other)?;
        let Ok(raw_email) = get_s(item, &self.users.email_attribute) else {
            return Ok(None);
        };
        if let Some(enabled) = &self.users.enabled_attribute
            && item.get(enabled) != Some(&AttributeValue::Bool(true))
        {
            return Ok(None);
        }
        let password_changed_at = match item.get(&self.users.password_changed_attribute) {
            None => None,
            Some(v) => match v.as_n().ok().and_then(|n| n.parse::<u64>().ok()) {
                Some(at) => Some(at),
                None => {
                    tracing::warn!(user_id = %id, "user item's password-change attribute is not a whole number (epoch seconds); ignored");
                    return Ok(None);
                }
            },
        };
        // Mail goes to the address exactly as stored; a code is bound to it as stored.
        if raw_email.trim() != raw_email {
            tracing::warn!(user_id = %id, "user item's address has surrounding whitespace; ignored");
            return Ok(None);
        }
        match EmailAddress::parse(raw_email) {
            Ok(email) => Ok(Some(User {
                id,
                email,
                password_changed_at,
            })),
            Err(_) => {
                tracing::warn!(user_id = %id, "user item holds an address we cannot mail; ignored");
                Ok(None)
            }
        }
    }

    /// What a user read projects: the key, the address, the password-change mark and the
    /// enabled flag; never the password hash.
    fn user_projection(&self) -> (String, Vec<(&'static str, String)>) {
        let u = &self.users;
        let mut names = vec![
            ("#key", u.key_attribute.clone()),
            ("#email", u.email_attribute.clone()),
            ("#changed", u.password_changed_attribute.clone()),
        ];
        if let Some(enabled) = &u.enabled_attribute {
            names.push(("#enabled", enabled.clone()));
        }
        let projection = names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        (projection, names)
    }

    /// Ids of the users whose address attribute equals `value` exactly, from the index (at
    /// most two: more than one is ambiguous either way).
    async fn ids_with_address(&self, index: &str, value: &str) -> Result<Vec<UserId>, StoreError> {
        let users = &self.users;
        let out = self
            .client
            .query()
            .table_name(&users.table)
            .index_name(index)
            .key_condition_expression("#email = :email")
            .expression_attribute_names("#email", &users.email_attribute)
            .expression_attribute_names("#key", &users.key_attribute)
            .expression_attribute_values(":email", s(value))
            .projection_expression("#key")
            .limit(2)
            .send()
            .await
            .map_err(classify)?;
        out.items()
            .iter()
            .map(|item| {
                UserId::parse(get_s(item, &users.key_attribute)?).map_err(StoreError::other)
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl UserDirectory for DynamoStore {
    /// DynamoDB matches exactly, so an address is looked up in its normalized (lowercase)
    /// form and, when the requester typed other capitals, also as typed, in parallel: an app
    /// whose table holds `Ada@Example.com` finds it when the user types it so, and every
    /// lowercased table works whatever the user types. Two different accounts matching is
    /// ambiguous: no account.
    ///
    /// With an email index, the index (keys only is enough, and its reads are eventually
    /// consistent) yields the user's id, then a consistent read of the item gives the state a
    /// code is bound to. The same reads happen whether or not an account matched (an absent
    /// key is read instead), so the store work does not depend on the account.
    async fn by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let forms: Vec<&str> = if email.as_str() == email.normalized() {
            vec![email.normalized()]
        } else {
            vec![email.normalized(), email.as_str()]
        };
        let Some(index) = &self.users.email_index else {
            // The key attribute is the address itself: one consistent read per form.
            let read = |form: &str| {
                let id = UserId::parse(form).map_err(StoreError::other);
                async move { self.user_item(&id?).await }
            };
            let mut items: Vec<Item> = match forms.as_slice() {
                [lower, typed] => {
                    let (a, b) = tokio::join!(read(lower), read(typed));
                    a?.into_iter().chain(b?).collect()
                }
                _ => read(email.normalized()).await?.into_iter().collect(),
            };
            return match items.len() {
                0 => Ok(None),
                1 => self.user_from_item(&items.remove(0)),
                _ => {
                    tracing::warn!("two accounts hold this address; treated as no account");
                    Ok(None)
                }
            };
        };
        let mut ids = match forms.as_slice() {
            [lower, typed] => {
                let (a, b) = tokio::join!(
                    self.ids_with_address(index, lower),
                    self.ids_with_address(index, typed)
                );
                let mut ids = a?;
                ids.extend(b?);
                ids
            }
            _ => self.ids_with_address(index, email.normalized()).await?,
        };
        ids.sort();
        ids.dedup();
        let (id, ambiguous) = match ids.as_slice() {
            [id] => (Some(id.clone()), false),
            [] => (None, false),
            _ => (None, true),
        };
        // Without a match, a key whose item is ignored anyway: the read an absent account
        // costs, so a known and an unknown address do the same store work.
        let key = id.as_ref().map_or(ABSENT_USER_KEY, UserId::as_str);
        let item = self.user_item_by_key(key).await?;
        if ambiguous {
            tracing::warn!("two accounts hold this address; treated as no account");
            return Ok(None);
        }
        match (id, item) {
            (Some(_), Some(item)) => self.user_from_item(&item),
            _ => Ok(None),
        }
    }

    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        match self.user_item(id).await? {
            Some(item) => self.user_from_item(&item),
            None => Ok(None),
        }
    }
}
