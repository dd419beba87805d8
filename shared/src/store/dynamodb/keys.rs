//! The reset table's keys, in one place: which item lives under which `pk`/`sk` (the layout
//! table in `mod.rs`), and the condition expressions that name the key and TTL attributes.

use crate::clock::EpochSecs;
use std::collections::HashMap;

use super::items::{Item, s};
use super::schema::{PK, SK, TTL_ATTRIBUTE};
use crate::domain::{EmailKey, IpKey, TokenHash};

/// Partition key prefix of a token item; the rest is the code's HMAC.
pub(super) const TOKEN_PREFIX: &str = "TOKEN#";
/// Sort key of every token item.
pub(super) const TOKEN_SK: &str = "TOKEN";
/// Partition key prefix of an address's slots; the rest is the email key.
const EMAIL_PREFIX: &str = "EMAIL#";
/// Sort key of an address's short-code attempt counter (under its `EMAIL#` partition, beside
/// the slots, so one query can read both).
pub(super) const ATTEMPTS_SK: &str = "ATTEMPTS";
/// Sort key prefix of a slot; the rest is its number.
pub(super) const SLOT_PREFIX: &str = "SLOT#";

/// A token key no token can have (token hashes are 64 hex digits), read at init to open the
/// connection: the functions' IAM policy allows GetItem on `TOKEN#` keys, and the answer is
/// always "no item".
const PRIMING_TOKEN_PK: &str = "TOKEN#PRIME";

/// The item key `pk`, `sk`.
pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The partition key of the token whose code hashes to `hash`.
pub(super) fn token_pk(hash: &TokenHash) -> String {
    format!("{TOKEN_PREFIX}{}", hash.as_str())
}

/// The key of the token item of `hash`.
pub(super) fn token_key(hash: &TokenHash) -> Item {
    key(token_pk(hash), TOKEN_SK)
}

/// The partition key of an address's slots.
pub(super) fn email_pk(email_key: &EmailKey) -> String {
    format!("{EMAIL_PREFIX}{}", email_key.as_str())
}

/// The sort key of slot `slot`.
pub(super) fn slot_sk(slot: u32) -> String {
    format!("{SLOT_PREFIX}{slot}")
}

/// The key of slot `slot` of `email_key`.
pub(super) fn slot_key(email_key: &EmailKey, slot: u32) -> Item {
    key(email_pk(email_key), &slot_sk(slot))
}

/// The key of the short-code attempt counter of `email_key`.
pub(super) fn attempts_key(email_key: &EmailKey) -> Item {
    key(email_pk(email_key), ATTEMPTS_SK)
}

/// The slot number in a slot's sort key; `None` if it is not one.
pub(super) fn slot_number(sk: &str) -> Option<u32> {
    sk.strip_prefix(SLOT_PREFIX)?.parse().ok()
}

/// The key of the rate window of `ip_key` for `route` that starts at `window_start`.
pub(super) fn window_key(ip_key: &IpKey, route: &str, window_start: EpochSecs) -> Item {
    key(
        format!("IP#{}", ip_key.as_str()),
        &format!("WINDOW#{route}#{window_start}"),
    )
}

/// The key the functions read at init to open their DynamoDB connection (`wiring::prime`).
pub(crate) fn priming_key() -> Item {
    key(PRIMING_TOKEN_PK.to_owned(), TOKEN_SK)
}

/// Condition: no item under this key yet.
pub(super) fn absent() -> String {
    format!("attribute_not_exists({PK})")
}

/// Condition: no item under this key, or one that expired before `:now` (TTL deletes late).
pub(super) fn absent_or_expired() -> String {
    format!("attribute_not_exists({PK}) OR {TTL_ATTRIBUTE} < :now")
}

/// Condition: an item under this key that is still live after `:now`.
pub(super) fn unexpired() -> String {
    format!("attribute_exists({PK}) AND {TTL_ATTRIBUTE} > :now")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conditions_name_the_schema_key_and_ttl_attributes() {
        assert_eq!(absent(), "attribute_not_exists(pk)");
        assert_eq!(
            absent_or_expired(),
            "attribute_not_exists(pk) OR expires_at < :now"
        );
        assert_eq!(unexpired(), "attribute_exists(pk) AND expires_at > :now");
    }

    #[test]
    fn the_priming_key_is_a_token_key_no_code_hashes_to() {
        let key = priming_key();
        assert_eq!(key[PK], s("TOKEN#PRIME"));
        assert_eq!(key[SK], s(TOKEN_SK));
        assert!(
            !key[PK].as_s().unwrap()[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    }

    #[test]
    fn the_attempt_counter_shares_the_slots_partition_but_is_never_read_as_a_slot() {
        let email_key = EmailKey::from_stored("cd".repeat(32));
        let counter = attempts_key(&email_key);
        assert_eq!(counter[PK], slot_key(&email_key, 0)[PK]);
        let sk = counter[SK].as_s().unwrap();
        assert!(!sk.starts_with(SLOT_PREFIX), "the slots query skips it");
        assert_eq!(slot_number(sk), None);
    }

    #[test]
    fn a_slot_number_reads_back_from_its_sort_key() {
        assert_eq!(slot_number(&slot_sk(7)), Some(7));
        assert_eq!(slot_number("TOKEN"), None);
        assert_eq!(slot_number("SLOT#x"), None);
    }
}
