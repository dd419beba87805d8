//! The users directory on the app's users table: reading accounts by address or id (the
//! [`UserDirectory`] port), the users-table half of the consume transaction, and the seeding
//! helpers ([`DynamoStore::put_user`], [`DynamoStore::password_hash`]) the local API uses.
//! The attribute names are the app's, from [`UsersTable`].

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::DynamoStore;
use super::errors::classify;
use super::items::{Item, at, get_s, s};
use crate::clock::EpochSecs;
use crate::config::UsersTable;
use crate::domain::{EmailAddress, User, UserId};
use crate::store::{PasswordChange, StoreError, UserDirectory};

/// The users-table key read when an address matches no account (its answer is ignored).
const ABSENT_USER_KEY: &str = "\u{1}password-reset:no-account";

/// A users-table item as the app would write it, for seeding (local API, tests). The service
/// itself never creates accounts: it reads them and writes the two password attributes.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// The key attribute: the user id (the address itself when there is no email index).
    pub id: &'a str,
    /// The address attribute, byte for byte as stored.
    pub email: &'a str,
    /// The password attribute (an argon2id PHC string); `None` leaves it out.
    pub password_hash: Option<&'a str>,
    /// The enabled attribute, if one is configured; `None` leaves it out.
    pub enabled: Option<bool>,
}

impl NewUser<'_> {
    fn item(&self, users: &UsersTable) -> Item {
        let mut item = Item::from([
            (users.key_attribute.clone(), s(self.id)),
            (users.email_attribute.clone(), s(self.email)),
        ]);
        if let Some(hash) = self.password_hash {
            item.insert(users.password_attribute.clone(), s(hash));
        }
        if let (Some(attribute), Some(on)) = (&users.enabled_attribute, self.enabled) {
            item.insert(attribute.clone(), AttributeValue::Bool(on));
        }
        item
    }
}

impl DynamoStore {
    /// Writes (or replaces) a user's item.
    pub async fn put_user(&self, user: &NewUser<'_>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.users.table)
            .set_item(Some(user.item(&self.users)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The user's stored password hash (consistent read), for the local API's dev sign-in;
    /// `None` without an item or a hash.
    pub async fn password_hash(&self, id: &UserId) -> Result<Option<String>, StoreError> {
        let users = &self.users;
        let out = self
            .client
            .get_item()
            .table_name(&users.table)
            .key(&users.key_attribute, s(id.as_str()))
            .consistent_read(true)
            .projection_expression("#pw")
            .expression_attribute_names("#pw", &users.password_attribute)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .item()
            .and_then(|i| i.get(&users.password_attribute))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// The users-table half of the consume transaction: set the password and the change
    /// mark, and add one to the session version if configured, on condition that the user
    /// still holds exactly the state the token is bound to (its address as read, byte for
    /// byte, and the password-change mark at issue; enabled if configured).
    pub(super) fn set_password(&self, change: &PasswordChange) -> Update {
        let t = &change.token;
        let users = &self.users;
        let mut condition = String::from("attribute_exists(#key) AND #email = :email AND ");
        condition.push_str(match t.password_changed_at {
            Some(_) => "#changed = :old",
            None => "attribute_not_exists(#changed)",
        });
        let mut update = String::from("SET #pw = :pw, #changed = :new");
        if users.session_version_attribute.is_some() {
            // ADD starts a missing attribute at 0: the first reset makes it 1.
            update.push_str(" ADD #version :one");
        }
        let mut set_password = Update::builder()
            .table_name(&users.table)
            .key(&users.key_attribute, s(t.user_id.as_str()))
            .update_expression(update)
            .expression_attribute_names("#pw", &users.password_attribute)
            .expression_attribute_names("#changed", &users.password_changed_attribute)
            .expression_attribute_names("#key", &users.key_attribute)
            .expression_attribute_names("#email", &users.email_attribute)
            .expression_attribute_values(":pw", s(change.password_hash.as_str()))
            .expression_attribute_values(":new", at(change.changed_at))
            .expression_attribute_values(":email", s(change.user.email.as_str()));
        if let Some(old) = t.password_changed_at {
            set_password = set_password.expression_attribute_values(":old", at(old));
        }
        if let Some(version) = &users.session_version_attribute {
            set_password = set_password
                .expression_attribute_names("#version", version)
                .expression_attribute_values(":one", AttributeValue::N("1".to_owned()));
        }
        if let Some(enabled) = &users.enabled_attribute {
            condition.push_str(" AND #enabled = :true");
            set_password = set_password
                .expression_attribute_names("#enabled", enabled)
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        set_password
            .condition_expression(condition)
            .build()
            .expect("table, key and expression are set")
    }

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
                Some(secs) => Some(EpochSecs::new(secs)),
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
        let org_id = self
            .users
            .org_attribute
            .as_ref()
            .and_then(|attribute| item.get(attribute))
            .and_then(|v| v.as_s().ok())
            .filter(|org| !org.is_empty())
            .cloned();
        match EmailAddress::parse(raw_email) {
            Ok(email) => Ok(Some(User {
                id,
                email,
                password_changed_at,
                org_id,
            })),
            Err(_) => {
                tracing::warn!(user_id = %id, "user item holds an address we cannot mail; ignored");
                Ok(None)
            }
        }
    }

    /// What a user read projects: the key, the address, the password-change mark, the
    /// enabled flag and the organisation; never the password hash.
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
        if let Some(org) = &u.org_attribute {
            names.push(("#org", org.clone()));
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
