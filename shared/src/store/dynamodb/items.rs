//! Item codecs for the reset table: records to items (`From`) and items back to records
//! (`TryFrom`), with the attribute names each item holds; and the transaction items (puts,
//! deletes, in named positions) built from them. The users table's items, whose names are
//! configured, are in `users.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::DeleteBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::DynamoStore;
use super::keys::{TOKEN_PREFIX, slot_key, slot_number, token_key};
use super::schema::{PK, SK, TTL_ATTRIBUTE};
use crate::clock::EpochSecs;
use crate::domain::{EmailKey, TokenHash, UserId};
use crate::store::{SlotClaim, SlotRecord, StoreError, TokenRecord};

/// A DynamoDB item (or key).
pub(super) type Item = HashMap<String, AttributeValue>;

/// Token item: the user the code may reset.
const USER_ID: &str = "user_id";
/// Token item: the key of the address whose slot the token occupies.
const EMAIL_KEY: &str = "email_key";
/// Token item: which of the address's slots.
const SLOT: &str = "slot";
/// Token item: when the code was issued, epoch seconds.
const CREATED_AT: &str = "created_at";
/// Token item: the user's password-change mark at issue (absent: the user had none).
const PW_CHANGED: &str = "pw_changed_at";
/// Slot item: the hash of the token in it (absent for an address with no account).
pub(super) const SLOT_TOKEN: &str = "token";
/// Window item: hits counted so far.
pub(super) const COUNT: &str = "count";
/// A slot's short-code hash.
pub(super) const SLOT_SHORT_CODE: &str = "otp";
/// Tries counted in an address's short-code attempt window.
pub(super) const ATTEMPTS: &str = "attempts";

/// A string attribute value.
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An instant as a number attribute value (epoch seconds, what DynamoDB's TTL reads).
pub(super) fn at(v: EpochSecs) -> AttributeValue {
    n(v.get())
}

/// The string attribute `name`, or an error naming it.
pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::other(format!("item without string attribute {name}")))
}

/// The whole-number attribute `name`, or an error naming it.
pub(super) fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::other(format!("item without numeric attribute {name}")))
}

/// The instant attribute `name` (epoch seconds), or an error naming it.
pub(super) fn get_at(item: &Item, name: &str) -> Result<EpochSecs, StoreError> {
    get_n(item, name).map(EpochSecs::new)
}

impl From<&TokenRecord> for Item {
    fn from(t: &TokenRecord) -> Self {
        let mut item = token_key(&t.hash);
        item.insert(USER_ID.into(), s(t.user_id.as_str()));
        item.insert(EMAIL_KEY.into(), s(t.email_key.as_str()));
        item.insert(SLOT.into(), n(u64::from(t.slot)));
        item.insert(CREATED_AT.into(), at(t.created_at));
        item.insert(TTL_ATTRIBUTE.into(), at(t.expires_at));
        if let Some(changed) = t.password_changed_at {
            item.insert(PW_CHANGED.into(), at(changed));
        }
        item
    }
}

impl TryFrom<&Item> for TokenRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let hash = get_s(item, PK)?
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(|| StoreError::other("malformed token key"))?;
        let password_changed_at = match item.get(PW_CHANGED) {
            None => None,
            Some(_) => Some(get_at(item, PW_CHANGED)?),
        };
        Ok(Self {
            password_changed_at,
            hash: TokenHash::from_stored(hash),
            user_id: UserId::parse(get_s(item, USER_ID)?).map_err(StoreError::other)?,
            email_key: EmailKey::from_stored(get_s(item, EMAIL_KEY)?),
            slot: get_n(item, SLOT)? as u32,
            created_at: get_at(item, CREATED_AT)?,
            expires_at: get_at(item, TTL_ATTRIBUTE)?,
        })
    }
}

/// The slot item a claim writes: the slot's key, its expiry and, for a known user, the token.
impl From<&SlotClaim> for Item {
    fn from(claim: &SlotClaim) -> Self {
        let mut item = slot_key(&claim.email_key, claim.slot);
        item.insert(TTL_ATTRIBUTE.into(), at(claim.expires_at));
        if let Some(t) = &claim.token {
            item.insert(SLOT_TOKEN.into(), s(t.hash.as_str()));
            if let Some(short) = &claim.short_code {
                item.insert(SLOT_SHORT_CODE.into(), s(short.as_str()));
            }
        }
        item
    }
}

impl TryFrom<&Item> for SlotRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let slot =
            slot_number(get_s(item, SK)?).ok_or_else(|| StoreError::other("malformed slot key"))?;
        Ok(Self {
            slot,
            token: item
                .get(SLOT_TOKEN)
                .and_then(|v| v.as_s().ok())
                .map(|h| TokenHash::from_stored(h.as_str())),
            short_code: item
                .get(SLOT_SHORT_CODE)
                .and_then(|v| v.as_s().ok())
                .map(|h| TokenHash::from_stored(h.as_str())),
            expires_at: get_at(item, TTL_ATTRIBUTE)?,
        })
    }
}

impl DynamoStore {
    /// A conditional put of `item` into the reset table, as a transaction item.
    pub(super) fn put(&self, item: Item, condition: String, values: Item) -> TransactWriteItem {
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

    /// A delete of `key` from the reset table, to condition or build.
    pub(super) fn delete(&self, key: Item) -> DeleteBuilder {
        Delete::builder()
            .table_name(&self.reset_table)
            .set_key(Some(key))
    }

    /// Writes `items` in one transaction.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }

    /// An unconditional delete of `key` from the reset table, as a transaction item.
    pub(super) fn delete_item(&self, key: Item) -> TransactWriteItem {
        let delete = self.delete(key).build().expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }
}

/// A transaction's items in order, each with its named position; checked, so a position
/// cannot drift from where its item is placed.
pub(super) fn positioned<const N: usize>(
    items: [(usize, TransactWriteItem); N],
) -> Vec<TransactWriteItem> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, (at, item))| {
            assert_eq!(i, at, "transaction item out of its named position");
            item
        })
        .collect()
}

/// The expression value `:now`.
pub(super) fn now_value(now: EpochSecs) -> Item {
    HashMap::from([(":now".to_owned(), at(now))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(password_changed_at: Option<EpochSecs>) -> TokenRecord {
        TokenRecord::sample(password_changed_at)
    }

    #[test]
    fn a_token_survives_the_round_trip_through_its_item() {
        for mark in [None, Some(EpochSecs::new(50))] {
            let record = token(mark);
            let item = Item::from(&record);
            assert_eq!(
                get_s(&item, PK).unwrap(),
                format!("TOKEN#{}", "ab".repeat(32))
            );
            assert_eq!(get_s(&item, SK).unwrap(), "TOKEN");
            assert_eq!(item.contains_key(PW_CHANGED), mark.is_some());
            let back = TokenRecord::try_from(&item).unwrap();
            assert_eq!(back, record);
        }
    }

    #[test]
    fn a_slot_item_reads_back_as_the_claimed_slot() {
        for with_token in [false, true] {
            let claim = SlotClaim {
                email_key: EmailKey::from_stored("cd".repeat(32)),
                slot: 3,
                expires_at: EpochSecs::new(900),
                now: EpochSecs::new(10),
                token: with_token.then(|| token(None)),
                short_code: Some(TokenHash::from_stored("ef".repeat(32))),
            };
            let item = Item::from(&claim);
            assert_eq!(get_s(&item, SK).unwrap(), "SLOT#3");
            let slot = SlotRecord::try_from(&item).unwrap();
            assert_eq!(slot.slot, 3);
            assert_eq!(slot.expires_at, EpochSecs::new(900));
            assert_eq!(slot.token.is_some(), with_token);
            // A short code is stored only beside a token: an address with no account has none.
            assert_eq!(slot.short_code.is_some(), with_token);
        }
    }

    #[test]
    fn an_item_under_another_key_is_not_a_token_or_a_slot() {
        let mut item = Item::from(&token(None));
        item.insert(SK.into(), s("SLOT#x"));
        assert!(SlotRecord::try_from(&item).is_err());
        item.insert(PK.into(), s("EMAIL#x"));
        assert!(TokenRecord::try_from(&item).is_err());
    }

    #[test]
    #[should_panic(expected = "named position")]
    fn a_transaction_item_out_of_its_named_position_is_refused() {
        let item = || TransactWriteItem::builder().build();
        positioned([(1, item()), (0, item())]);
    }
}
