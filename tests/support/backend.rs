//! The store backends a [`TestApp`](crate::app::TestApp) runs on: the in-memory adapter, or the
//! DynamoDB adapter on moto with a reset table and a users table of its own. Each seeds users,
//! reads the stored password hash and scans its tables, so one test body runs on both.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use shared::clock::EpochSecs;
use shared::config::Config;
use shared::store::dynamodb::{DynamoStore, NewUser};
use shared::store::memory::MemoryStore;
use shared::store::{ResetStore, UserDirectory};
use shared::wiring::Store;

use crate::app::{address, config, user_id};
use crate::moto;

/// A store implementation under test, with the app's users table it reads.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + Sized + 'static {
    /// Fresh, empty tables for one test; `label` names them.
    async fn start(label: &str, overrides: &[(&str, &str)]) -> Self;
    /// The settings, naming this backend's tables.
    fn config(&self) -> Config;
    /// The store adapter, as the composition root takes it.
    fn adapter(&self) -> Store;
    /// The reset store.
    fn store(&self) -> Arc<dyn ResetStore> {
        self.adapter().reset_store()
    }
    /// The user directory.
    fn users(&self) -> Arc<dyn UserDirectory> {
        self.adapter().users()
    }
    /// Adds a user with no password.
    async fn put_user(&self, id: &str, email: &str);
    /// Deletes a user.
    async fn delete_user(&self, id: &str);
    /// Plays the app changing an account: its address, a password it set itself (a new
    /// password-change mark), or whether it is enabled. `None` leaves a field as it is.
    async fn update_user(
        &self,
        id: &str,
        email: Option<&str>,
        password_changed_at: Option<EpochSecs>,
        enabled: Option<bool>,
    );
    /// Sets the user's organisation attribute (`USERS_ORG_ATTRIBUTE`, which must be set).
    async fn set_user_org(&self, id: &str, org: &str);
    /// The user's stored password hash.
    async fn password_hash(&self, id: &str) -> Option<String>;
    /// The user's stored `password_changed_at`.
    async fn password_changed_at(&self, id: &str) -> Option<EpochSecs>;
    /// The user's session version (`USERS_SESSION_VERSION_ATTRIBUTE`), if it has one.
    async fn session_version(&self, id: &str) -> Option<u64>;
    /// How many token items the reset table holds, expired or not.
    async fn token_items(&self) -> usize;
    /// Every item of the reset table as text (its `Debug`), to search for what must never be
    /// stored (a code, an address).
    async fn reset_table_dump(&self) -> String;
}

/// The in-memory adapter.
pub struct Memory {
    store: Arc<MemoryStore>,
    config: Config,
}

#[async_trait::async_trait]
impl Backend for Memory {
    async fn start(_label: &str, overrides: &[(&str, &str)]) -> Self {
        let config = config("password-reset", "users", overrides);
        let Store::Memory(store) = Store::memory(&config.store) else {
            unreachable!("Store::memory is the memory store");
        };
        Self { store, config }
    }

    fn config(&self) -> Config {
        self.config.clone()
    }

    fn adapter(&self) -> Store {
        Store::Memory(self.store.clone())
    }

    async fn put_user(&self, id: &str, email: &str) {
        self.store.put_user(user_id(id), address(email), None);
    }

    async fn delete_user(&self, id: &str) {
        self.store.delete_user(&user_id(id));
    }

    async fn update_user(
        &self,
        id: &str,
        email: Option<&str>,
        password_changed_at: Option<EpochSecs>,
        enabled: Option<bool>,
    ) {
        self.store.update_user(
            &user_id(id),
            email.map(address),
            password_changed_at,
            enabled,
        );
    }

    async fn set_user_org(&self, id: &str, org: &str) {
        self.store.set_user_org(&user_id(id), Some(org.to_owned()));
    }

    async fn password_hash(&self, id: &str) -> Option<String> {
        self.store.password_hash(&user_id(id))
    }

    async fn password_changed_at(&self, id: &str) -> Option<EpochSecs> {
        self.store.password_changed_at(&user_id(id))
    }

    async fn session_version(&self, id: &str) -> Option<u64> {
        self.store.session_version(&user_id(id))
    }

    async fn token_items(&self) -> usize {
        self.store.all_tokens().len()
    }

    async fn reset_table_dump(&self) -> String {
        format!("{:?} {:?}", self.store.all_tokens(), self.store.all_slots())
    }
}

/// The DynamoDB adapter on moto, with a reset table and a users table of its own.
pub struct Dynamo {
    /// The adapter.
    pub store: Arc<DynamoStore>,
    /// A client for inspecting the tables.
    pub client: aws_sdk_dynamodb::Client,
    config: Config,
}

impl Dynamo {
    /// The reset table's name.
    pub fn reset_table(&self) -> &str {
        &self.config.store.reset_table
    }

    /// The users table's name.
    pub fn users_table(&self) -> &str {
        &self.config.store.users.table
    }

    /// Every item of the reset table (strongly consistent scan, all pages).
    pub async fn reset_items(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.scan(self.reset_table()).await
    }

    /// Every item of `table`.
    pub async fn scan(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        moto::scan(&self.client, table).await
    }

    /// The user's item.
    pub async fn user_item(&self, id: &str) -> Option<HashMap<String, AttributeValue>> {
        let users = &self.config.store.users;
        self.client
            .get_item()
            .table_name(&users.table)
            .key(&users.key_attribute, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get the user item")
            .item()
            .cloned()
    }
}

#[async_trait::async_trait]
impl Backend for Dynamo {
    async fn start(label: &str, overrides: &[(&str, &str)]) -> Self {
        let prefix = moto::unique_prefix(label);
        let config = config(
            &format!("{prefix}-reset"),
            &format!("{prefix}-users"),
            overrides,
        );
        let client = moto::dynamodb();
        moto::create_tables(&client, &config).await;
        Self {
            store: Arc::new(DynamoStore::new(
                client.clone(),
                config.store.reset_table.clone(),
                config.store.users.clone(),
            )),
            client,
            config,
        }
    }

    fn config(&self) -> Config {
        self.config.clone()
    }

    fn adapter(&self) -> Store {
        Store::Dynamo(self.store.clone())
    }

    async fn put_user(&self, id: &str, email: &str) {
        self.store
            .put_user(&NewUser {
                id,
                email,
                password_hash: None,
                enabled: Some(true),
            })
            .await
            .expect("put the user item");
    }

    async fn update_user(
        &self,
        id: &str,
        email: Option<&str>,
        password_changed_at: Option<EpochSecs>,
        enabled: Option<bool>,
    ) {
        let users = &self.config.store.users;
        let mut sets = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&users.table)
            .key(&users.key_attribute, AttributeValue::S(id.to_owned()));
        if let Some(email) = email {
            sets.push("#email = :email");
            update = update
                .expression_attribute_names("#email", &users.email_attribute)
                .expression_attribute_values(":email", AttributeValue::S(email.to_owned()));
        }
        if let Some(at) = password_changed_at {
            sets.push("#changed = :changed");
            update = update
                .expression_attribute_names("#changed", &users.password_changed_attribute)
                .expression_attribute_values(":changed", AttributeValue::N(at.to_string()));
        }
        if let Some(on) = enabled {
            let attribute = users
                .enabled_attribute
                .as_ref()
                .expect("USERS_ENABLED_ATTRIBUTE is configured");
            sets.push("#enabled = :enabled");
            update = update
                .expression_attribute_names("#enabled", attribute)
                .expression_attribute_values(":enabled", AttributeValue::Bool(on));
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .expect("update the user item");
    }

    async fn delete_user(&self, id: &str) {
        let users = &self.config.store.users;
        self.client
            .delete_item()
            .table_name(&users.table)
            .key(&users.key_attribute, AttributeValue::S(id.to_owned()))
            .send()
            .await
            .expect("delete the user item");
    }

    async fn set_user_org(&self, id: &str, org: &str) {
        let users = &self.config.store.users;
        let attribute = users
            .org_attribute
            .as_ref()
            .expect("USERS_ORG_ATTRIBUTE is configured");
        self.client
            .update_item()
            .table_name(&users.table)
            .key(&users.key_attribute, AttributeValue::S(id.to_owned()))
            .update_expression("SET #org = :org")
            .expression_attribute_names("#org", attribute)
            .expression_attribute_values(":org", AttributeValue::S(org.to_owned()))
            .send()
            .await
            .expect("set the user's organisation");
    }

    async fn password_hash(&self, id: &str) -> Option<String> {
        let item = self.user_item(id).await?;
        item.get(&self.config.store.users.password_attribute)?
            .as_s()
            .ok()
            .cloned()
    }

    async fn password_changed_at(&self, id: &str) -> Option<EpochSecs> {
        let item = self.user_item(id).await?;
        item.get(&self.config.store.users.password_changed_attribute)?
            .as_n()
            .ok()?
            .parse()
            .ok()
            .map(EpochSecs::new)
    }

    async fn session_version(&self, id: &str) -> Option<u64> {
        let attribute = self.config.store.users.session_version_attribute.as_ref()?;
        let item = self.user_item(id).await?;
        item.get(attribute)?.as_n().ok()?.parse().ok()
    }

    async fn token_items(&self) -> usize {
        self.reset_items()
            .await
            .iter()
            .filter(|i| {
                i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("TOKEN")
            })
            .count()
    }

    async fn reset_table_dump(&self) -> String {
        format!("{:?}", self.reset_items().await)
    }
}
