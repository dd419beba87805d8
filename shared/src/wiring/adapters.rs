//! The composition root: which adapter stands behind each port, chosen in one place.
//!
//! The Lambdas, the local API and the integration tests all build their [`ResetService`]
//! through [`Adapters`], so a port added to [`Ports`] is wired once here and every one of them
//! gets it (zero-to-production's `Application::build` plays this part). Callers only choose the
//! store, the mailer and the clock, and may decorate the mailer or wrap the reset store (the
//! local API's `--mail-delay-ms`, the tests' gates).

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, StoreSettings};
use crate::domain::UserId;
use crate::mail::Mailer;
use crate::mail::ses::SesMailer;
use crate::service::{Ports, ResetService};
use crate::store::dynamodb::DynamoStore;
use crate::store::dynamodb::NewUser;
use crate::store::memory::MemoryStore;
use crate::store::{ResetStore, StoreError, UserDirectory};

/// Where tokens, slots, windows and the users live: one adapter plays both the
/// [`ResetStore`] and the [`UserDirectory`] port.
#[derive(Clone)]
pub enum Store {
    /// DynamoDB: the deployed functions, and the local API and tests on moto.
    Dynamo(Arc<DynamoStore>),
    /// In memory: the local API's default and the fast tests.
    Memory(Arc<MemoryStore>),
}

impl Store {
    /// The DynamoDB store on `client`, with the tables `settings` names.
    pub fn dynamodb(settings: &StoreSettings, client: aws_sdk_dynamodb::Client) -> Self {
        Self::Dynamo(Arc::new(DynamoStore::new(
            client,
            settings.reset_table.clone(),
            settings.users.clone(),
        )))
    }

    /// An empty in-memory store.
    pub fn memory() -> Self {
        Self::Memory(Arc::new(MemoryStore::new()))
    }

    /// The store as the service's reset-store port.
    pub fn reset_store(&self) -> Arc<dyn ResetStore> {
        match self {
            Self::Dynamo(s) => s.clone(),
            Self::Memory(s) => s.clone(),
        }
    }

    /// The store as the service's users port.
    pub fn users(&self) -> Arc<dyn UserDirectory> {
        match self {
            Self::Dynamo(s) => s.clone(),
            Self::Memory(s) => s.clone(),
        }
    }

    /// Writes (or replaces) a user, as the app would (seeding the local API and tests; the
    /// service itself never creates accounts). The memory store keeps the address parsed, so
    /// an address it cannot parse is refused there.
    pub async fn put_user(&self, user: &NewUser<'_>) -> Result<(), StoreError> {
        match self {
            Self::Dynamo(s) => s.put_user(user).await,
            Self::Memory(s) => {
                let id = UserId::parse(user.id)
                    .map_err(|e| StoreError::other(format!("user id: {e}")))?;
                let email = crate::domain::EmailAddress::parse(user.email)
                    .map_err(|e| StoreError::other(format!("user address: {e}")))?;
                s.put_user(id.clone(), email, user.password_hash.map(str::to_owned));
                if user.enabled == Some(false) {
                    s.update_user(&id, None, None, Some(false));
                }
                Ok(())
            }
        }
    }

    /// The user's stored password hash (dev sign-in, tests); `None` without one.
    pub async fn password_hash(&self, id: &UserId) -> Result<Option<String>, StoreError> {
        match self {
            Self::Dynamo(s) => s.password_hash(id).await,
            Self::Memory(s) => Ok(s.password_hash(id)),
        }
    }
}

/// The adapters behind the ports of one [`ResetService`], built step by step.
pub struct Adapters {
    store: Store,
    reset_store: Arc<dyn ResetStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
}

impl Adapters {
    /// `store` and `mailer`, on the system clock.
    pub fn new(store: Store, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            reset_store: store.reset_store(),
            store,
            mailer,
            clock: Arc::new(SystemClock),
        }
    }

    /// The production adapters: DynamoDB on `dynamodb`, SES on `ses`, the system clock.
    pub fn aws(
        config: &Config,
        dynamodb: aws_sdk_dynamodb::Client,
        ses: aws_sdk_sesv2::Client,
    ) -> Self {
        let mailer = SesMailer::new(
            ses,
            config.mail.from.clone(),
            config.mail.configuration_set.clone(),
        )
        .with_reply_to(config.mail.reply_to.clone());
        Self::new(Store::dynamodb(&config.store, dynamodb), Arc::new(mailer))
    }

    /// Time from `clock` instead of the system's (tests: a fixed clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The mailer wrapped by `decorate` (the local API's delaying mailer, tests' faults).
    pub fn map_mailer(mut self, decorate: impl FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer>) -> Self {
        self.mailer = decorate(self.mailer);
        self
    }

    /// The reset store wrapped by `wrap` (tests: a store held at a gate); the users port
    /// stays the store's own.
    pub fn map_reset_store(
        mut self,
        wrap: impl FnOnce(Arc<dyn ResetStore>) -> Arc<dyn ResetStore>,
    ) -> Self {
        self.reset_store = wrap(self.reset_store);
        self
    }

    /// The store (for seeding and the dev views).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The service on these adapters.
    pub fn service(self, config: Config) -> ResetService {
        ResetService::new(
            config,
            Ports {
                store: self.reset_store,
                users: self.store.users(),
                mailer: self.mailer,
                clock: self.clock,
            },
        )
    }
}
