//! Faults between the functions and AWS, injected deterministically by a proxy in front of moto
//! (`integration_tests::faults`): the SDK clients are the ones the Lambdas build
//! (`shared::wiring`), with their timeouts and attempts. Each fault ends in the answer README's
//! "Faults" table documents, and after each the reset table and the users table are scanned:
//! no token without its slot, no plaintext code, the password unchanged unless the answer was a
//! success. Also here: the time bounds themselves, and the production IP limiter (DynamoDB
//! windows) driven to its limit.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryPartition;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::app::{self, Response, SERVER_KEY, T0};
use integration_tests::faults::{self, ANY, Fault, FaultProxy, SES_SEND};
use integration_tests::moto;
use serde_json::{Value, json};
use shared::clock::FixedClock;
use shared::config::Config;
use shared::domain::ResetCode;
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, ResetService};
use shared::store::dynamodb::NewUser;
use shared::wiring::{Adapters, Store};

type Item = HashMap<String, AttributeValue>;

const USER: &str = "user-ada";
const OLD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b2xkc2FsdG9sZHNhbHQ$b2xkLWhhc2gtb2xkLWhhc2gtb2xkLWhhc2gtb2xkLWg";
const NEW_PASSWORD: &str = "a brand new password";

fn transact() -> String {
    faults::dynamodb("TransactWriteItems")
}

/// The Lambdas' clients (`shared::wiring`) for `endpoint`, each with a retry partition of its
/// own: the SDK's retry token bucket is per partition and process-wide, so tests that spend
/// retries must not drain one another's.
fn clients(
    endpoint: &str,
    config: &Config,
    partition: &str,
) -> (aws_sdk_dynamodb::Client, aws_sdk_sesv2::Client) {
    let sdk = moto::sdk_config(endpoint);
    let db = shared::wiring::dynamodb_client(&sdk, &config.store.timeouts);
    let db = aws_sdk_dynamodb::Client::from_conf(
        db.config()
            .to_builder()
            .retry_partition(RetryPartition::new(format!("{partition}-dynamodb")))
            .build(),
    );
    let ses = shared::wiring::ses_client(&sdk, &config.mail.timeouts);
    let ses = aws_sdk_sesv2::Client::from_conf(
        ses.config()
            .to_builder()
            .retry_partition(aws_sdk_sesv2::config::retry::RetryPartition::new(format!(
                "{partition}-ses"
            )))
            .build(),
    );
    (db, ses)
}

/// Which mailer the service sends through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mail {
    /// Recorded in memory (codes readable from `inbox`).
    Recorded,
    /// SES v2 on moto, through the proxy.
    Ses,
}

/// The real service on DynamoDB (and SES) on moto, every call through a fault proxy, with a
/// direct client to inspect the tables and one user, Ada, with a known password hash.
struct Rig {
    proxy: FaultProxy,
    service: Arc<ResetService>,
    direct: aws_sdk_dynamodb::Client,
    config: Config,
    inbox: Arc<RecordingMailer>,
    email: String,
    /// Every code the test has seen (mails, return_code answers).
    codes: std::sync::Mutex<Vec<ResetCode>>,
}

impl Rig {
    async fn start(label: &str, mail: Mail, overrides: &[(&str, &str)]) -> Self {
        let prefix = moto::unique_prefix(label);
        let sender = format!("reset.{prefix}@example.com");
        let email = format!("ada.{prefix}@example.com");
        let mut vars = vec![("MAIL_FROM", sender.as_str())];
        vars.extend_from_slice(overrides);
        let config = app::config(
            &format!("{prefix}-reset"),
            &format!("{prefix}-users"),
            &vars,
        );
        let direct = moto::dynamodb();
        moto::create_tables(&direct, &config).await;
        Store::dynamodb(&config.store, direct.clone())
            .put_user(&NewUser {
                id: USER,
                email: &email,
                password_hash: Some(OLD_HASH),
                enabled: None,
            })
            .await
            .expect("put Ada");
        if mail == Mail::Ses {
            moto::verify_sender(&sender).await;
        }

        let proxy = FaultProxy::in_front_of_moto().await;
        let (db, ses) = clients(&proxy.endpoint(), &config, &prefix);
        let inbox = Arc::new(RecordingMailer::new());
        let adapters = Adapters::aws(&config, db, ses);
        let adapters = match mail {
            Mail::Recorded => adapters.map_mailer(|_| inbox.clone()),
            Mail::Ses => adapters,
        };
        let service = adapters
            .with_clock(Arc::new(FixedClock::at(T0)))
            .service(config.clone());
        Self {
            proxy,
            service: Arc::new(service),
            direct,
            config,
            inbox,
            email,
            codes: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn call(&self, op: Operation, body: Value) -> Response {
        app::call(&self.service, op, body, &[], None).await
    }

    async fn call_as_server(&self, op: Operation, body: Value) -> Response {
        let bearer = format!("Bearer {SERVER_KEY}");
        let r = app::call(&self.service, op, body, &[("authorization", &bearer)], None).await;
        if let Some(code) = r.body["code"].as_str().and_then(ResetCode::parse) {
            self.codes.lock().expect("codes").push(code);
        }
        r
    }

    /// A public request for Ada.
    async fn request(&self) -> Response {
        self.call(Operation::Request, json!({"email": self.email}))
            .await
    }

    /// A code for Ada, issued with no fault and remembered.
    async fn issue_code(&self) -> ResetCode {
        let r = self
            .call_as_server(
                Operation::Request,
                json!({"email": self.email, "return_code": true, "send_email": false}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        ResetCode::parse(r.body["code"].as_str().expect("a code")).expect("a well-formed code")
    }

    async fn consume(&self, code: &ResetCode) -> Response {
        self.call(
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        )
        .await
    }

    async fn is_valid(&self, code: &ResetCode) -> bool {
        let r = self
            .call(Operation::Check, json!({"code": code.expose()}))
            .await;
        r.body["is_valid"] == true
    }

    async fn scan(&self, table: &str) -> Vec<Item> {
        moto::scan(&self.direct, table).await
    }

    async fn reset_items(&self) -> Vec<Item> {
        self.scan(&self.config.store.reset_table).await
    }

    async fn tokens(&self) -> Vec<Item> {
        let items = self.reset_items().await;
        items
            .into_iter()
            .filter(|i| s(i, "sk") == "TOKEN")
            .collect()
    }

    async fn slots(&self) -> Vec<Item> {
        let items = self.reset_items().await;
        items
            .into_iter()
            .filter(|i| s(i, "sk").starts_with("SLOT#"))
            .collect()
    }

    /// Ada's stored password hash.
    async fn password_hash(&self) -> String {
        let users = self.scan(&self.config.store.users.table).await;
        let ada = users
            .iter()
            .find(|u| s(u, &self.config.store.users.key_attribute) == USER)
            .expect("Ada's item");
        s(ada, &self.config.store.users.password_attribute).to_owned()
    }

    /// The invariants every fault must leave intact. `changed`: whether the answer was a
    /// successful consume (then the password is a new one, else the old).
    async fn assert_nothing_half_written(&self, changed: bool) {
        let items = self.reset_items().await;
        for token in items.iter().filter(|i| s(i, "sk") == "TOKEN") {
            let hash = s(token, "pk").trim_start_matches("TOKEN#");
            let slot_pk = format!("EMAIL#{}", s(token, "email_key"));
            let slot_sk = format!(
                "SLOT#{}",
                token.get("slot").and_then(|v| v.as_n().ok()).expect("slot")
            );
            let slot = items
                .iter()
                .find(|i| s(i, "pk") == slot_pk && s(i, "sk") == slot_sk);
            assert!(
                slot.is_some_and(|slot| s(slot, "token") == hash),
                "a token item without the slot that holds it"
            );
        }
        let codes = self.known_codes();
        let users = self.scan(&self.config.store.users.table).await;
        for item in items.iter().chain(&users) {
            for (name, value) in item {
                let mut values = vec![name.clone()];
                moto::strings_in(value, &mut values);
                for v in &values {
                    assert!(
                        !codes.iter().any(|c| v.contains(c.expose())),
                        "an item of kind {} holds a reset code",
                        s(item, "sk")
                    );
                    assert!(
                        ResetCode::parse(v).is_none(),
                        "an item of kind {} holds a code-shaped value",
                        s(item, "sk")
                    );
                }
            }
        }
        let hash = self.password_hash().await;
        if changed {
            assert_ne!(hash, OLD_HASH, "the password was changed");
            assert!(shared::hashing::verify(NEW_PASSWORD, &hash));
        } else {
            assert_eq!(hash, OLD_HASH, "the password is unchanged");
        }
    }

    fn known_codes(&self) -> Vec<ResetCode> {
        let mut codes = self.codes.lock().expect("codes").clone();
        for mail in self.inbox.sent() {
            if let Some(link) = mail.link.as_deref() {
                codes.push(app::code_in(link));
            }
        }
        codes
    }
}

fn s<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// A 503 `SERVICE_UNAVAILABLE` with a `Retry-After` header that matches the body.
fn assert_503(r: &Response) {
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], "SERVICE_UNAVAILABLE");
    let retry_after = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After");
    assert_eq!(r.body["retry_after"].as_u64(), retry_after);
}

fn assert_502(r: &Response) {
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.body["code"], "EMAIL_DELIVERY_FAILED");
}

/// The server caller's request that mails Ada's link.
async fn server_request(rig: &Rig) -> Response {
    rig.call_as_server(Operation::Request, json!({"email": rig.email}))
        .await
}

mod bounds;
mod ip_limiter;
mod ses;
mod store;
