//! The three use cases over the ports. Commands arrive already parsed (see [`crate::http`]);
//! nothing here knows about API Gateway, HTTP or the AWS SDK.

mod captcha;
mod check;
mod consume;
mod report;
mod request;
mod revoke;
mod short_code;

use crate::clock::EpochSecs;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use check::CheckOutcome;
pub use consume::ConsumeReset;
pub use request::{Issued, LinkTarget, RequestReset, Target};
pub use short_code::Proof;

use crate::breach::BreachCheck;
use crate::captcha::CaptchaVerifier;
use crate::clock::Clock;
use crate::config::{Config, RateLimit};
use crate::domain::{PasswordError, TokenHash};
use crate::events::EventSink;
use crate::hashing::HashError;
use crate::mail::{MailError, Mailer};
use crate::metrics::Metric;
use crate::store::{HitOutcome, ResetStore, StoreError, UserDirectory, WindowHit};

/// Who is calling: the public (a browser, anyone) or the app's backend with the server key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone. Learns nothing about accounts.
    Public,
    /// Authenticated with the server key: may use the privileged request options.
    Server,
}

/// Whom the per-IP limit counts a call against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIp {
    /// The app's backend (server key): not IP-limited; it calls from a handful of addresses.
    Exempt,
    /// A public caller at this address (API Gateway's `sourceIp`, or the local socket).
    Public(IpAddr),
    /// A public caller whose address the edge did not get. Fails closed: every such call
    /// counts against one shared bucket instead of escaping the limit.
    Unknown,
}

impl ClientIp {
    /// A public caller's address as the edge saw it, or [`ClientIp::Unknown`].
    pub fn public(ip: Option<IpAddr>) -> Self {
        ip.map_or(Self::Unknown, Self::Public)
    }
}

/// The three operations, for rate limits and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /password-reset/request`
    Request,
    /// `POST /password-reset/check`
    Check,
    /// `POST /password-reset/consume`
    Consume,
    /// `POST /password-reset/revoke` (server callers; served by the consume function)
    Revoke,
}

impl Operation {
    /// Short name: route suffix, log field, rate-window label.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Request => "request",
            Operation::Check => "check",
            Operation::Consume => "consume",
            Operation::Revoke => "revoke",
        }
    }
}

/// Why a use case did not succeed. The HTTP edge maps each to one status and body.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The code is unknown, spent, revoked or expired (indistinguishable on purpose).
    #[error("invalid or expired code")]
    InvalidCode,
    /// The per-email cap or a per-IP limit is reached.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// Server callers only: no such user.
    #[error("user not found")]
    UserNotFound,
    /// Server callers only: the mail could not be handed to the provider.
    #[error("email delivery failed")]
    EmailDeliveryFailed(#[source] MailError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The new password is built on the account's address (known only once the code's user
    /// is read) or otherwise breaks the policy. The code is not spent.
    #[error("new password refused: {0}")]
    WeakPassword(PasswordError),
    /// The new password appears in known breaches (`PWNED_PASSWORDS_MIN_COUNT` times or more).
    /// The code is not spent.
    #[error("new password appears in known breaches")]
    BreachedPassword,
    /// The breached-password check did not answer and `PWNED_PASSWORDS_FAIL_CLOSED` is set.
    #[error("breached-password check unavailable")]
    BreachCheckUnavailable,
    /// The CAPTCHA provider refused the public caller's token (or none was sent).
    #[error("CAPTCHA not accepted")]
    CaptchaRefused,
    /// The CAPTCHA provider did not answer in time or failed.
    #[error("CAPTCHA provider unavailable")]
    CaptchaUnavailable,
    /// Server callers only: the link template cannot be filled for this user (its
    /// `{{.OrgID}}` has no value). Nothing is written.
    #[error("url_template: {0}")]
    LinkTemplate(crate::domain::CallbackError),
}

/// The ports a [`ResetService`] runs on.
pub struct Ports {
    /// Tokens, slots, windows.
    pub store: Arc<dyn ResetStore>,
    /// The app's users.
    pub users: Arc<dyn UserDirectory>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Events after each reset (best effort).
    pub events: Arc<dyn EventSink>,
    /// Time and waiting.
    pub clock: Arc<dyn Clock>,
    /// Whether a new password appears in known breaches.
    pub breach: Arc<dyn BreachCheck>,
    /// The CAPTCHA public requests must pass; `None`: none configured.
    pub captcha: Option<Arc<dyn CaptchaVerifier>>,
}

/// The password-reset use cases, built once at init and shared by every invocation.
pub struct ResetService {
    ports: Ports,
    config: Config,
}

impl ResetService {
    /// Wires the use cases to their ports.
    pub fn new(config: Config, ports: Ports) -> Self {
        Self { ports, config }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Now, on the service's clock: what the edge stamps a dialect's answer with (Zitadel's
    /// `changeDate`), so tests on a fixed clock see fixed answers.
    pub fn now(&self) -> EpochSecs {
        self.ports.clock.now_secs()
    }

    /// The unexpired token a code names, and the key it was found under: the current token
    /// key or, during a rotation, the previous one (both hashes looked up concurrently: one
    /// round trip). The token's email key was made under that same key.
    async fn find_token(
        &self,
        code: &crate::domain::ResetCode,
    ) -> Result<Option<(crate::store::TokenRecord, &crate::domain::TokenKey)>, StoreError> {
        let keys: Vec<_> = self.config.verifying_keys().collect();
        let hashes: Vec<TokenHash> = keys.iter().map(|k| k.code_hash(code)).collect();
        let found = self.ports.store.token_among(&hashes, self.now()).await?;
        Ok(found.map(|(i, token)| (token, keys[i])))
    }

    /// Counts one call from `client` against the route's fixed-window limit (IPv6 by prefix,
    /// unknown addresses in one shared bucket; see [`ClientIp`]). The use cases run this
    /// concurrently with their first read, so it adds no round trip.
    async fn limit(&self, op: Operation, client: ClientIp) -> Result<(), ServiceError> {
        let limits = &self.config.edge.rate_limits;
        let RateLimit { max, window } = match op {
            Operation::Request => limits.request,
            Operation::Check => limits.check,
            Operation::Consume | Operation::Revoke => limits.consume,
        };
        let ip = match client {
            ClientIp::Exempt => return Ok(()),
            ClientIp::Public(ip) => Some(ip),
            ClientIp::Unknown => None,
        };
        if max == 0 {
            return Ok(());
        }
        let now = self.now();
        // RateLimit::parse bounds the window to 1 s ..= 1 day.
        let window_start = now.window_start(window);
        let window_end = window_start + window;
        let hit = WindowHit {
            ip_key: self.config.keys.current.ip_key(ip, limits.ipv6_prefix),
            route: op.name(),
            window_start,
            window_end,
            limit: max,
        };
        match self.ports.store.hit(hit).await? {
            HitOutcome::Allowed => Ok(()),
            HitOutcome::Limited => {
                tracing::warn!(operation = op.name(), "per-IP limit reached");
                self.count(Metric::IpLimited, op);
                Err(ServiceError::TooManyRequests {
                    retry_after: window_end.since(now).as_secs().max(1),
                })
            }
        }
    }

    /// Waits until `floor` has passed since `started_ms` (the response-time floor).
    async fn wait_for_floor(&self, started_ms: u64, floor: Duration) {
        let elapsed = self.ports.clock.now_ms().saturating_sub(started_ms);
        let floor_ms = floor.as_millis() as u64;
        if elapsed < floor_ms {
            self.ports
                .clock
                .sleep(Duration::from_millis(floor_ms - elapsed))
                .await;
        }
    }
}

/// RFC 3339 (UTC, seconds) for an epoch-seconds timestamp.
pub fn rfc3339(at: EpochSecs) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(at.get()))
        .to_string()
}
