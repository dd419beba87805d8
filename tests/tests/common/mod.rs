//! A `TestApp` for handler-level tests: the real HTTP edge and use cases on the memory store,
//! a fixed clock and a recording mailer, with one seeded user.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use shared::clock::FixedClock;
use shared::config::{Config, Profile};
use shared::domain::{EmailAddress, NewPassword, UserId};
use shared::http::{ApiRequest, handle};
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, Ports, ResetService};
use shared::store::memory::MemoryStore;

/// 2026-11-23T00:00:00Z.
pub const T0: u64 = 1_795_392_000;
/// The seeded user's stored address, lowercase as the README asks of the users table.
pub const ADA_STORED: &str = "ada@example.com";
/// What a requester types for Ada (other capitals on purpose: found through the lowercase
/// form, and mail still goes to the stored spelling).
pub const ADA: &str = "Ada@Example.COM";
/// Ada's id.
pub const ADA_ID: &str = "user-ada";
/// Ada's password before any reset.
pub const ADA_OLD_PASSWORD: &str = "old password 1";
/// The server key whose SHA-256 is configured.
pub const SERVER_KEY: &str = "test-server-key-0123456789abcdef";

pub struct TestApp {
    pub service: ResetService,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<RecordingMailer>,
    pub clock: Arc<FixedClock>,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: String,
    pub json: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_env(&[])
    }

    /// Local-profile defaults (callbacks to 127.0.0.1:3000), a fixed token key, the server key,
    /// no response floor, plus `env` overrides.
    pub fn with_env(env: &[(&str, &str)]) -> Self {
        let server_key_hash = sha256_hex(SERVER_KEY);
        let mut vars: HashMap<String, String> = HashMap::from([
            (
                "TOKEN_HMAC_KEY".into(),
                "test-token-key-0123456789-abcdefghij".into(),
            ),
            ("SERVER_KEY_SHA256".into(), server_key_hash),
            ("MIN_REQUEST_RESPONSE_MS".into(), "0".into()),
            (
                "ALLOWED_CALLBACK_ORIGINS".into(),
                "https://app.example.com,http://127.0.0.1:3000".into(),
            ),
        ]);
        for (k, v) in env {
            vars.insert((*k).into(), (*v).into());
        }
        let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| vars.get(k).cloned())
            .expect("test configuration is valid");
        let store = Arc::new(MemoryStore::new());
        let mailer = Arc::new(RecordingMailer::new());
        let clock = Arc::new(FixedClock::at(T0));
        let hash = shared::password::hash(&NewPassword::parse(ADA_OLD_PASSWORD).unwrap()).unwrap();
        store.put_user(
            UserId::parse(ADA_ID).unwrap(),
            EmailAddress::parse(ADA_STORED).unwrap(),
            Some(hash),
        );
        let service = ResetService::new(
            config,
            Ports {
                store: store.clone(),
                users: store.clone(),
                mailer: mailer.clone(),
                clock: clock.clone(),
            },
        );
        Self {
            service,
            store,
            mailer,
            clock,
        }
    }

    pub fn request(body: &str) -> ApiRequest {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        ApiRequest {
            method: Method::POST,
            headers,
            body: Bytes::from(body.to_owned()),
            client_ip: Some("203.0.113.7".parse().unwrap()),
        }
    }

    pub async fn send(&self, op: Operation, req: ApiRequest) -> Reply {
        let response = handle(&self.service, op, req).await;
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.into_body();
        let json = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            raw,
            json,
        }
    }

    pub async fn post(&self, op: Operation, body: &str) -> Reply {
        self.send(op, Self::request(body)).await
    }

    pub async fn post_from(&self, op: Operation, body: &str, ip: IpAddr) -> Reply {
        let mut req = Self::request(body);
        req.client_ip = Some(ip);
        self.send(op, req).await
    }

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
        code_from_link(sent.last().unwrap().link.as_deref().unwrap())
    }

    pub async fn consume(&self, code: &str, password: &str) -> Reply {
        let body = serde_json::json!({"code": code, "password": password}).to_string();
        self.post(Operation::Consume, &body).await
    }

    pub async fn check(&self, code: &str) -> Reply {
        let body = serde_json::json!({"code": code}).to_string();
        self.post(Operation::Check, &body).await
    }

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

/// The `code` query parameter of a reset link.
pub fn code_from_link(link: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the link carries a code")
}
