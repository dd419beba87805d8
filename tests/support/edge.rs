//! An [`EdgeApp`] for handler-level tests: the real HTTP edge (`shared::http::handle`) and use
//! cases on the memory store, a fixed clock at [`T0`] and a recording mailer, with one seeded
//! user (Ada). The settings are [`TestConfig`]'s, with callbacks to the local profile's
//! `http://127.0.0.1:3000` allowed too; the breached-password and CAPTCHA ports are the ones
//! they name (none, unless a test points `PWNED_PASSWORDS_URL` or `CAPTCHA_*` at a fake).

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use shared::clock::FixedClock;
use shared::domain::{EmailAddress, NewPassword, UserId};
use shared::events::recording::RecordingEvents;
use shared::http::{ApiRequest, handle};
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, Ports, ResetService};
use shared::store::memory::MemoryStore;

pub use crate::app::{SERVER_KEY, T0, TOKEN_KEY};
use crate::app::{TestConfig, code_in};

/// The seeded user's stored address, lowercase as the README asks of the users table.
pub const ADA_STORED: &str = "ada@example.com";
/// What a requester types for Ada (other capitals on purpose: found through the lowercase
/// form, and mail still goes to the stored spelling).
pub const ADA: &str = "Ada@Example.COM";
/// Ada's id.
pub const ADA_ID: &str = "user-ada";
/// Ada's password before any reset.
pub const ADA_OLD_PASSWORD: &str = "old password 1";
/// The handler-level app: [`ResetService`] behind `shared::http::handle`.
pub struct EdgeApp {
    /// The use cases behind the edge.
    pub service: ResetService,
    /// Tokens, slots and the users directory (Ada).
    pub store: Arc<MemoryStore>,
    /// Every mail sent.
    pub mailer: Arc<RecordingMailer>,
    /// Every event put.
    pub events: Arc<RecordingEvents>,
    /// Starts at [`T0`]; tests advance it.
    pub clock: Arc<FixedClock>,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as sent.
    pub raw: String,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl From<http::Response<String>> for Reply {
    fn from(response: http::Response<String>) -> Self {
        let (parts, raw) = response.into_parts();
        let json = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status: parts.status,
            headers: parts.headers,
            raw,
            json,
        }
    }
}

impl Reply {
    /// The error body's `code` (empty when there is none).
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
}

impl Default for EdgeApp {
    fn default() -> Self {
        Self::new()
    }
}

impl EdgeApp {
    /// The app with [`TestConfig`]'s settings as below, no overrides.
    pub fn new() -> Self {
        Self::with_env(&[])
    }

    /// [`TestConfig`] (the local profile's default callback, on 127.0.0.1:3000), plus `env`
    /// overrides.
    pub fn with_env(env: &[(&str, &str)]) -> Self {
        let config = TestConfig::new()
            .set(
                "ALLOWED_CALLBACK_ORIGINS",
                "https://app.example.com,http://127.0.0.1:3000",
            )
            .unset("DEFAULT_CALLBACK_URL")
            .with(env)
            .build();
        let store = Arc::new(MemoryStore::new());
        let mailer = Arc::new(RecordingMailer::new());
        let events = Arc::new(RecordingEvents::new());
        let clock = Arc::new(FixedClock::at(T0));
        let hash = shared::hashing::hash(&NewPassword::parse(ADA_OLD_PASSWORD).unwrap()).unwrap();
        store.put_user(
            UserId::parse(ADA_ID).unwrap(),
            EmailAddress::parse(ADA_STORED).unwrap(),
            Some(hash),
        );
        let breach = shared::wiring::breach_check(&config.password.breach);
        let captcha = config
            .captcha
            .as_ref()
            .map(shared::wiring::captcha_verifier);
        let service = ResetService::new(
            config,
            Ports {
                store: store.clone(),
                users: store.clone(),
                mailer: mailer.clone(),
                events: events.clone(),
                clock: clock.clone(),
                breach,
                captcha,
            },
        );
        Self {
            service,
            store,
            mailer,
            events,
            clock,
        }
    }

    /// A JSON POST of `body` from 203.0.113.7.
    pub fn request(body: &str) -> ApiRequest {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        ApiRequest {
            method: Method::POST,
            path: String::new(),
            headers,
            body: Bytes::from(body.to_owned()),
            client_ip: Some("203.0.113.7".parse().unwrap()),
        }
    }

    /// `req` through the HTTP edge, decoded.
    pub async fn send(&self, op: Operation, req: ApiRequest) -> Reply {
        Reply::from(handle(&self.service, op, req).await)
    }

    /// `req` to the route `path` names (any dialect, as the local API routes it), decoded.
    pub async fn send_path(&self, path: &str, mut req: ApiRequest) -> Reply {
        let route = shared::http::dialect::route(path).expect("a served route");
        req.path = path.to_owned();
        Reply::from(shared::http::handle_route(&self.service, route, req).await)
    }

    /// [`EdgeApp::request`] of `body`, sent.
    pub async fn post(&self, op: Operation, body: &str) -> Reply {
        self.send(op, Self::request(body)).await
    }

    /// [`EdgeApp::post`] from another client address.
    pub async fn post_from(&self, op: Operation, body: &str, ip: IpAddr) -> Reply {
        let mut req = Self::request(body);
        req.client_ip = Some(ip);
        self.send(op, req).await
    }

    /// [`EdgeApp::post`] with the server key as bearer.
    pub async fn post_as_server(&self, op: Operation, body: &str) -> Reply {
        let mut req = Self::request(body);
        req.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {SERVER_KEY}")).unwrap(),
        );
        self.send(op, req).await
    }

    /// Asks for Ada's reset and returns the code from the mailed link.
    pub async fn code_for_ada(&self) -> String {
        let before = self.mailer.sent().len();
        let reply = self
            .post(Operation::Request, &format!(r#"{{"email":"{ADA}"}}"#))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
        let sent = self.mailer.sent();
        assert_eq!(sent.len(), before + 1, "one new mail");
        code_in(sent.last().unwrap().link.as_deref().unwrap())
            .expose()
            .to_owned()
    }

    /// Consume `code`, setting `password`.
    pub async fn consume(&self, code: &str, password: &str) -> Reply {
        let body = serde_json::json!({"code": code, "password": password}).to_string();
        self.post(Operation::Consume, &body).await
    }

    /// Check `code`.
    pub async fn check(&self, code: &str) -> Reply {
        let body = serde_json::json!({"code": code}).to_string();
        self.post(Operation::Check, &body).await
    }

    /// Ada's stored password hash.
    pub fn ada_hash(&self) -> Option<String> {
        self.store.password_hash(&UserId::parse(ADA_ID).unwrap())
    }

    /// Everything a bad request must leave untouched.
    pub fn snapshot(&self) -> String {
        let mut tokens: Vec<String> = self
            .store
            .all_tokens()
            .iter()
            .map(|t| format!("{t:?}"))
            .collect();
        tokens.sort();
        format!(
            "{tokens:?} {:?} mails={} hash={:?}",
            self.store.all_slots(),
            self.mailer.sent().len(),
            self.ada_hash()
        )
    }
}
