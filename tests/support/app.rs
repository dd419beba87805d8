//! The harness the integration tests share: a [`Backend`] (the memory store, or the DynamoDB
//! store on moto with tables of its own), and a [`TestApp`] that runs the real
//! [`ResetService`] on it with a [`FixedClock`] and a mailer, plus helpers to call the use cases
//! and the HTTP edge.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;
use sha2::{Digest, Sha256};

use shared::clock::{EpochSecs, FixedClock};
use shared::config::{Config, Profile};
use shared::domain::{EmailAddress, Locale, NewPassword, ResetCode, UserId};
use shared::http::ApiRequest;
use shared::mail::Mailer;
use shared::mail::recording::RecordingMailer;
use shared::service::{
    Caller, CheckOutcome, ClientIp, ConsumeReset, Issued, LinkTarget, Operation, RequestReset,
    ResetService, ServiceError, Target,
};
use shared::store::ResetStore;
use shared::wiring::Adapters;

/// The HMAC key of every test app (tests only).
pub const TOKEN_KEY: &str = "integration-tests-token-key-0123456789abcdef";
/// The server key whose SHA-256 every test app accepts (tests only).
pub const SERVER_KEY: &str = "integration-tests-server-key";
/// The only origin reset links may point at.
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";
/// The default callback.
pub const CALLBACK: &str = "https://app.example.com/reset";
/// Where every fixed clock starts (epoch seconds).
pub const T0: EpochSecs = EpochSecs::new(1_800_000_000);
/// Default token lifetime, seconds.
pub const TTL: u64 = 3600;

/// The SHA-256 (lowercase hex) of [`SERVER_KEY`], as `SERVER_KEY_SHA256` takes it: computed
/// here only, for [`TestConfig`] and for tests that hand the settings to a child process.
pub fn server_key_sha256() -> String {
    Sha256::digest(SERVER_KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The settings of a test app as a typed builder: the defaults of the local profile, a fixed
/// token key ([`TOKEN_KEY`]), links to [`ALLOWED_ORIGIN`] (default [`CALLBACK`]), no
/// response-time floor, no breached-password check and the server key ([`SERVER_KEY`]) enabled; [`TestConfig::set`] and
/// [`TestConfig::unset`] change one setting, [`TestConfig::build`] parses them into a
/// [`Config`] (panicking on invalid settings) and [`TestConfig::vars`] lists them for a child
/// process.
#[derive(Clone, Debug)]
pub struct TestConfig {
    vars: HashMap<String, String>,
}

impl Default for TestConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl TestConfig {
    /// The defaults above, no table names (the local profile's own).
    pub fn new() -> Self {
        let vars = [
            ("TOKEN_HMAC_KEY", TOKEN_KEY.to_owned()),
            ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN.to_owned()),
            ("DEFAULT_CALLBACK_URL", CALLBACK.to_owned()),
            ("MIN_REQUEST_RESPONSE_MS", "0".to_owned()),
            ("SERVER_KEY_SHA256", server_key_sha256()),
            // The function binaries read the Lambda profile, whose default is the public API.
            ("PWNED_PASSWORDS_URL", "off".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self { vars }
    }

    /// The app's two tables.
    pub fn tables(self, reset_table: &str, users_table: &str) -> Self {
        self.set("RESET_TABLE_NAME", reset_table)
            .set("USERS_TABLE_NAME", users_table)
    }

    /// One setting, by its environment variable name.
    pub fn set(mut self, var: &str, value: &str) -> Self {
        self.vars.insert(var.to_owned(), value.to_owned());
        self
    }

    /// Each `(variable, value)` of `overrides`, in order.
    pub fn with(self, overrides: &[(&str, &str)]) -> Self {
        overrides.iter().fold(self, |c, (k, v)| c.set(k, v))
    }

    /// Back to the profile's default for `var`.
    pub fn unset(mut self, var: &str) -> Self {
        self.vars.remove(var);
        self
    }

    /// The settings as environment variables (for a function binary).
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The [`Config`] the local profile reads from these settings.
    pub fn build(&self) -> Config {
        Config::from_lookup(Profile::Local { port: 3000 }, |k| self.vars.get(k).cloned())
            .expect("the test settings are valid")
    }
}

/// [`TestConfig`] with the app's two tables and `overrides` on top.
pub fn config(reset_table: &str, users_table: &str, overrides: &[(&str, &str)]) -> Config {
    TestConfig::new()
        .tables(reset_table, users_table)
        .with(overrides)
        .build()
}

pub use crate::backend::{Backend, Dynamo, Memory};

/// A user id (tests use valid ones).
pub fn user_id(id: &str) -> UserId {
    UserId::parse(id).expect("a valid user id")
}

/// An address (tests use valid ones).
pub fn address(email: &str) -> EmailAddress {
    EmailAddress::parse(email).expect("a valid address")
}

/// A password that passes the policy.
pub fn password(raw: &str) -> NewPassword {
    NewPassword::parse(raw).expect("a password the policy accepts")
}

/// The `code` query parameter of a reset link.
pub fn code_in(link: &str) -> ResetCode {
    let url = url::Url::parse(link).expect("the link is a URL");
    let in_fragment = url
        .fragment()
        .and_then(|f| f.strip_prefix("code="))
        .map(str::to_owned);
    let code = in_fragment.unwrap_or_else(|| {
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .expect("the link has a code parameter or fragment")
            .1
            .into_owned()
    });
    ResetCode::parse(&code).expect("the link's code is well formed")
}

/// The real use cases on a backend, a fixed clock and a mailer.
pub struct TestApp<B> {
    /// The store under test.
    pub backend: B,
    /// Starts at [`T0`]; move it with `advance`.
    pub clock: Arc<FixedClock>,
    /// Every mail sent, when the app records mail (see [`TestApp::start`]).
    pub inbox: Arc<RecordingMailer>,
    /// The use cases.
    pub service: ResetService,
}

impl<B: Backend> TestApp<B> {
    /// A fresh backend and a recording mailer.
    pub async fn start(label: &str) -> Self {
        let inbox = Arc::new(RecordingMailer::new());
        Self::with_mailer(B::start(label, &[]).await, inbox.clone(), inbox)
    }

    /// A fresh backend with settings `overrides` and a recording mailer.
    pub async fn start_with(label: &str, overrides: &[(&str, &str)]) -> Self {
        let inbox = Arc::new(RecordingMailer::new());
        Self::with_mailer(B::start(label, overrides).await, inbox.clone(), inbox)
    }

    /// [`Self::start_with`], with one user, `user-ada` at `email`.
    pub async fn with_user(label: &str, overrides: &[(&str, &str)], email: &str) -> Self {
        let app = Self::start_with(label, overrides).await;
        app.backend.put_user("user-ada", email).await;
        app
    }

    /// A backend and the mailer the service sends through (`inbox` only records if it is the
    /// same mailer).
    pub fn with_mailer(backend: B, mailer: Arc<dyn Mailer>, inbox: Arc<RecordingMailer>) -> Self {
        let store = backend.store();
        Self::with_store(backend, store, mailer, inbox)
    }

    /// As [`TestApp::with_mailer`], with the service's reset store replaced by `store` (a
    /// wrapper of the backend's, e.g. [`crate::gate::GatedStore`]).
    pub fn with_store(
        backend: B,
        store: Arc<dyn ResetStore>,
        mailer: Arc<dyn Mailer>,
        inbox: Arc<RecordingMailer>,
    ) -> Self {
        let clock = Arc::new(FixedClock::at(T0));
        let service = Adapters::new(backend.adapter(), mailer)
            .with_clock(clock.clone())
            .map_reset_store(|_| store)
            .service(backend.config());
        Self {
            backend,
            clock,
            inbox,
            service,
        }
    }

    /// Seconds since the epoch on the app's clock.
    pub fn now(&self) -> EpochSecs {
        use shared::clock::Clock;
        self.clock.now_secs()
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// A public request for `email` with the default callback, in English.
    pub async fn request(&self, email: &str) -> Result<Option<Issued>, ServiceError> {
        self.service
            .request(RequestReset {
                caller: Caller::Public,
                target: Target::Email(address(email)),
                link: LinkTarget::Callback(
                    self.backend
                        .config()
                        .links
                        .default_callback
                        .expect("a default callback is configured"),
                ),
                locale: Locale::default(),
                return_code: false,
                send_email: true,
                max_concurrent: None,
                opaque: false,
                // The use-case helpers test the cap and the codes, not the IP limit.
                client_ip: ClientIp::Exempt,
                captcha: None,
            })
            .await
    }

    /// The code in the newest recorded mail.
    pub fn last_code(&self) -> ResetCode {
        let mail = self.inbox.sent().pop().expect("a mail was sent");
        code_in(mail.link.as_deref().expect("the mail has a link"))
    }

    /// The code of every mail sent so far, oldest first.
    pub fn sent_codes(&self) -> Vec<ResetCode> {
        let sent = self.inbox.sent();
        sent.iter()
            .map(|m| code_in(m.link.as_deref().expect("the mail has a link")))
            .collect()
    }

    /// Check.
    pub async fn check(&self, code: &ResetCode) -> CheckOutcome {
        self.service
            .check(Some(code.clone()), ClientIp::Exempt)
            .await
            .expect("check answers")
    }

    /// Consume.
    pub async fn consume(&self, code: &ResetCode, new_password: &str) -> Result<(), ServiceError> {
        self.service
            .consume(ConsumeReset {
                code: Some(code.clone()).into(),
                password: password(new_password),
                locale: Locale::default(),
                client_ip: ClientIp::Exempt,
            })
            .await
    }

    /// Calls the HTTP edge with a JSON body from the public with no client address (such
    /// calls share one IP-limit bucket).
    pub async fn call(&self, op: Operation, body: Value) -> Response {
        call(&self.service, op, body, &[], None).await
    }

    /// Calls the HTTP edge from the public at `ip` (counted by the per-IP limits).
    pub async fn call_from(&self, ip: IpAddr, op: Operation, body: Value) -> Response {
        call(&self.service, op, body, &[], Some(ip)).await
    }

    /// Calls the HTTP edge as the app's backend (bearer server key).
    pub async fn call_as_server(&self, op: Operation, body: Value) -> Response {
        let bearer = format!("Bearer {SERVER_KEY}");
        call(
            &self.service,
            op,
            body,
            &[(header::AUTHORIZATION.as_str(), bearer.as_str())],
            None,
        )
        .await
    }
}

impl<B: Backend> TestApp<B> {
    /// Calls any dialect's route by `path` (as API Gateway or the local API routes it), from the
    /// public at `client_ip`, with `headers`.
    pub async fn call_path(
        &self,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
        client_ip: Option<IpAddr>,
    ) -> Response {
        call_path(&self.service, path, body, headers, client_ip).await
    }
}

/// Calls the HTTP edge on the route `path` names (any dialect), as [`call`] does.
pub async fn call_path(
    service: &ResetService,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
    client_ip: Option<IpAddr>,
) -> Response {
    let route = shared::http::dialect::route(path).expect("a served route");
    let mut request = json_post(body, headers, client_ip);
    request.path = path.to_owned();
    decoded(shared::http::handle_route(service, route, request).await)
}

/// A POST of `body` as JSON with `headers`, from `client_ip`.
fn json_post(body: Value, headers: &[(&str, &str)], client_ip: Option<IpAddr>) -> ApiRequest {
    let mut map = HeaderMap::new();
    map.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    ApiRequest {
        method: Method::POST,
        path: String::new(),
        headers: map,
        body: Bytes::from(body.to_string()),
        client_ip,
    }
}

/// The edge's answer with its JSON body parsed.
fn decoded(response: http::Response<String>) -> Response {
    let (parts, body) = response.into_parts();
    Response {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_str(&body).expect("the API answers JSON"),
    }
}

/// An HTTP answer, parsed.
#[derive(Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// JSON body.
    pub body: Value,
}

/// Calls the HTTP edge: POST with a JSON body and `headers`, from `client_ip`.
pub async fn call(
    service: &ResetService,
    op: Operation,
    body: Value,
    headers: &[(&str, &str)],
    client_ip: Option<IpAddr>,
) -> Response {
    let request = json_post(body, headers, client_ip);
    decoded(shared::http::handle(service, op, request).await)
}
