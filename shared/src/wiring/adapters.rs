//! The composition root: which adapter stands behind each port, chosen in one place.
//!
//! The Lambdas, the local API and the integration tests all build their [`ResetService`]
//! through [`Adapters`], so a port added to [`Ports`] is wired once here and every one of them
//! gets it (zero-to-production's `Application::build` plays this part). Callers only choose the
//! store, the mailer and the clock, and may decorate the mailer or wrap the reset store (the
//! local API's `--mail-delay-ms`, the tests' gates).

use std::sync::Arc;
use std::time::Duration;

use crate::breach::{AlwaysClean, BreachCheck, RangeApi};
use crate::captcha::{CaptchaVerifier, SiteVerify};
use crate::outbound::Outbound;

use crate::clock::{Clock, SystemClock};
use crate::config::{BreachSettings, CaptchaSettings, Config, StoreSettings};
use crate::domain::UserId;
use crate::events::{EventSink, NoEvents};
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

    /// An empty in-memory store, keeping a session version if `settings` name one.
    pub fn memory(settings: &StoreSettings) -> Self {
        Self::Memory(Arc::new(match settings.users.session_version_attribute {
            Some(_) => MemoryStore::with_session_version(),
            None => MemoryStore::new(),
        }))
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
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    breach: Option<Arc<dyn BreachCheck>>,
}

impl Adapters {
    /// `store` and `mailer`, no events, on the system clock.
    pub fn new(store: Store, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            reset_store: store.reset_store(),
            store,
            mailer,
            events: Arc::new(NoEvents),
            clock: Arc::new(SystemClock),
            breach: None,
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

    /// Events to `events` instead of nowhere (EventBridge, or a recording sink).
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Time from `clock` instead of the system's (tests: a fixed clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `check` as the breached-password port instead of the one the settings name (tests: a
    /// counting or failing check).
    pub fn with_breach_check(mut self, check: Arc<dyn BreachCheck>) -> Self {
        self.breach = Some(check);
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

    /// The service on these adapters. The breached-password port is the one the settings name
    /// (`PWNED_PASSWORDS_URL`: the range API, or none) unless one was given; the CAPTCHA port
    /// is the provider's siteverify when `CAPTCHA_PROVIDER` is set.
    pub fn service(self, config: Config) -> ResetService {
        let breach = self
            .breach
            .unwrap_or_else(|| breach_check(&config.password.breach));
        let captcha = config.captcha.as_ref().map(captcha_verifier);
        ResetService::new(
            config,
            Ports {
                store: self.reset_store,
                users: self.store.users(),
                mailer: self.mailer,
                events: self.events,
                clock: self.clock,
                breach,
                captcha,
            },
        )
    }
}

/// How long the breached-password range API may take, connecting and reading included. It runs
/// beside the code lookup (a few ms to DynamoDB), so this is what a slow API can add to a consume;
/// the range API answers from a CDN in tens of milliseconds.
pub const BREACH_CHECK_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The breached-password port the settings name: the range API at `PWNED_PASSWORDS_URL`, or
/// [`AlwaysClean`] when it is `off` (the local API's default).
pub fn breach_check(settings: &BreachSettings) -> Arc<dyn BreachCheck> {
    match &settings.url {
        Some(url) => Arc::new(RangeApi::new(url, Outbound::new(BREACH_CHECK_TIMEOUT))),
        None => Arc::new(AlwaysClean),
    }
}

/// How long a CAPTCHA provider's siteverify may take. A public request waits for it before its
/// lookups, so it counts against the Lambda timeout: 1 s + 3 x 2 s of DynamoDB + 2.5 s of SES
/// on the failure path still fits the template's 10 s.
pub const CAPTCHA_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The CAPTCHA port for `settings`: the provider's siteverify.
pub fn captcha_verifier(settings: &CaptchaSettings) -> Arc<dyn CaptchaVerifier> {
    Arc::new(SiteVerify::new(
        settings.verify_url.clone(),
        settings.secret.clone(),
        Outbound::new(CAPTCHA_TIMEOUT),
    ))
}
