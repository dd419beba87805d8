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
    let db = shared::wiring::dynamodb_client(&sdk, &config.dynamodb_timeouts);
    let db = aws_sdk_dynamodb::Client::from_conf(
        db.config()
            .to_builder()
            .retry_partition(RetryPartition::new(format!("{partition}-dynamodb")))
            .build(),
    );
    let ses = shared::wiring::ses_client(&sdk, &config.ses_timeouts);
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
        Store::dynamodb(&config, direct.clone())
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
        self.scan(&self.config.reset_table).await
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
        let users = self.scan(&self.config.users.table).await;
        let ada = users
            .iter()
            .find(|u| s(u, &self.config.users.key_attribute) == USER)
            .expect("Ada's item");
        s(ada, &self.config.users.password_attribute).to_owned()
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
        let users = self.scan(&self.config.users.table).await;
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
            assert!(shared::password::verify(NEW_PASSWORD, &hash));
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

// ------------------------------------------------------------------ request: the slot claim

#[tokio::test]
async fn a_slot_claim_throttled_once_is_retried_by_the_sdk_and_the_request_succeeds() {
    let rig = Rig::start("claim-throttled-once", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(transact(), Fault::throttling());
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rig.proxy.calls(&transact()),
        2,
        "one throttled try, one retry"
    );
    assert_eq!(rig.tokens().await.len(), 1);
    assert_eq!(rig.inbox.sent().len(), 1, "the link was mailed");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_throttled_on_every_attempt_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-throttled", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(transact(), Fault::throttling());
    let r = rig.request().await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()),
        rig.config.dynamodb_timeouts.max_attempts,
        "the SDK's bounded attempts, then the answer"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    assert!(rig.inbox.sent().is_empty(), "no mail for an unstored code");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_cancelled_for_provisioned_throughput_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-pte", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[Some("ProvisionedThroughputExceeded"), None]),
    );
    let r = rig.request().await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()),
        1,
        "a cancelled transaction is not retried by the SDK"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_cancelled_by_a_conflict_takes_the_next_free_slot() {
    let rig = Rig::start("claim-conflict", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[Some("TransactionConflict"), None]),
    );
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let slots = rig.slots().await;
    assert_eq!(slots.len(), 1);
    assert_eq!(
        s(&slots[0], "sk"),
        "SLOT#1",
        "slot 0 counted as taken by the concurrent claim"
    );
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_whose_connection_drops_is_retried_and_the_request_succeeds() {
    let rig = Rig::start("claim-drop", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(transact(), Fault::Drop);
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(&transact()), 2);
    assert_eq!(rig.tokens().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_whose_connection_always_drops_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-drops", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(transact(), Fault::Drop);
    let r = rig.request().await;
    assert_503(&r);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slow_but_answering_store_within_the_timeouts_still_succeeds() {
    let rig = Rig::start("claim-latency", Mail::Recorded, &[]).await;
    rig.proxy
        .fail_next(transact(), Fault::Latency(Duration::from_millis(100)));
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(&transact()), 1, "no retry was needed");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn an_unknown_address_whose_slot_put_is_throttled_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-unknown", Mail::Recorded, &[]).await;
    let put = faults::dynamodb("PutItem");
    rig.proxy.fail_from_now(put.clone(), Fault::throttling());
    let r = rig
        .call(Operation::Request, json!({"email": "ghost@example.com"}))
        .await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&put),
        rig.config.dynamodb_timeouts.max_attempts
    );
    assert!(rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

// ------------------------------------------------------------ consume: the one transaction

#[tokio::test]
async fn a_consume_transaction_conflict_is_retried_and_the_password_changes() {
    let rig = Rig::start("consume-conflict-once", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[None, Some("TransactionConflict"), None]),
    );
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        2,
        "one conflict, one retry"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    assert!(!rig.is_valid(&code).await, "the code is spent");
    rig.assert_nothing_half_written(true).await;
}

#[tokio::test]
async fn a_persistent_transaction_conflict_answers_503_after_three_tries_and_changes_nothing() {
    let rig = Rig::start("consume-conflict", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before_items = (rig.tokens().await, rig.slots().await);
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[None, Some("TransactionConflict"), None]),
    );
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        3,
        "bounded: three tries of the transaction"
    );
    rig.proxy.heal();
    assert_eq!(
        (rig.tokens().await, rig.slots().await),
        before_items,
        "no token and no slot was touched"
    );
    assert!(rig.is_valid(&code).await, "the code still works");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn provisioned_throughput_exceeded_inside_the_consume_transaction_answers_503() {
    let rig = Rig::start("consume-pte", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[None, Some("ProvisionedThroughputExceeded"), None]),
    );
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(rig.proxy.calls(&transact()) - before, 1);
    rig.proxy.heal();
    assert!(rig.is_valid(&code).await, "the code still works");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_consume_transaction_throttled_on_every_attempt_answers_503_and_changes_nothing() {
    let rig = Rig::start("consume-throttled", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(transact(), Fault::throttling());
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        rig.config.dynamodb_timeouts.max_attempts
    );
    rig.proxy.heal();
    assert!(rig.is_valid(&code).await);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_consume_transaction_failing_once_with_a_dynamodb_500_is_retried_and_succeeds() {
    let rig = Rig::start("consume-500", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    rig.proxy
        .fail_next(transact(), Fault::internal_server_error());
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    rig.assert_nothing_half_written(true).await;
}

#[tokio::test]
async fn a_consume_whose_token_condition_fails_answers_invalid_code_and_changes_nothing() {
    let rig = Rig::start("consume-condition", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[Some("ConditionalCheckFailed"), None, None]),
    );
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "INVALID_CODE");
    assert_eq!(rig.tokens().await.len(), 1, "nothing was deleted");
    rig.assert_nothing_half_written(false).await;
}

// --------------------------------------------------------------------------- SES faults

/// The server caller's request that mails Ada's link.
async fn server_request(rig: &Rig) -> Response {
    rig.call_as_server(Operation::Request, json!({"email": rig.email}))
        .await
}

#[tokio::test]
async fn a_server_request_whose_mail_is_throttled_on_every_attempt_answers_502_and_gives_the_slot_back()
 {
    let rig = Rig::start("ses-throttled", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_too_many_requests());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(
        rig.proxy.calls(SES_SEND),
        rig.config.ses_timeouts.max_attempts,
        "throttling is retried, within the bound"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;

    rig.proxy.heal();
    let r = server_request(&rig).await;
    assert_eq!(r.status, 200, "SES is back: {}", r.body);
    assert_eq!(moto::mail_to(&rig.email).await.len(), 1);
}

#[tokio::test]
async fn a_server_request_whose_mail_fails_with_an_ses_500_answers_502_and_gives_the_slot_back() {
    let rig = Rig::start("ses-500", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_rejected_mail_is_not_retried_and_the_server_caller_gets_502() {
    let rig = Rig::start("ses-rejected", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_message_rejected());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(rig.proxy.calls(SES_SEND), 1, "a refusal is final");
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_mail_throttled_once_is_retried_and_delivered() {
    let rig = Rig::start("ses-throttled-once", Mail::Ses, &[]).await;
    rig.proxy
        .fail_next(SES_SEND, Fault::ses_too_many_requests());
    let r = server_request(&rig).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(SES_SEND), 2);
    assert_eq!(moto::mail_to(&rig.email).await.len(), 1);
    assert_eq!(rig.tokens().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn when_the_release_fails_after_a_failed_mail_the_answer_stays_502_and_no_token_is_left_without_its_slot()
 {
    let rig = Rig::start("ses-release-fails", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    // The claim is the next transaction; the release, every one after it, is throttled.
    let claim = rig.proxy.calls(&transact()) + 1;
    rig.proxy
        .fail_from(transact(), claim + 1, Fault::throttling());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - claim,
        rig.config.dynamodb_timeouts.max_attempts,
        "the release was tried, within the bound"
    );
    // All or nothing: the token and its slot stay together until the code expires.
    assert_eq!(rig.tokens().await.len(), 1);
    assert_eq!(rig.slots().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_public_request_whose_mail_fails_answers_the_opaque_200_and_leaves_nothing_half_written()
{
    let rig = Rig::start("ses-public", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    let failed = rig.request().await;
    rig.proxy.heal();
    let ghost = rig
        .call(Operation::Request, json!({"email": "ghost@example.com"}))
        .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.body, ghost.body, "the same answer as for no account");
    rig.assert_nothing_half_written(false).await;
}

// ------------------------------------------------------------------------------ timeouts

/// Settings that make a hanging service cost well under a second.
const SHORT_TIMEOUTS: &[(&str, &str)] = &[
    ("DYNAMODB_TIMEOUT_MS", "400"),
    ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "150"),
    ("DYNAMODB_MAX_ATTEMPTS", "2"),
    ("SES_TIMEOUT_MS", "400"),
    ("SES_ATTEMPT_TIMEOUT_MS", "150"),
    ("SES_MAX_ATTEMPTS", "2"),
];

/// A guard far above any bound: a missing timeout fails the test instead of hanging it.
const NEVER: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_store_that_accepts_connections_and_never_answers_gets_503_with_retry_after_in_bounded_time()
 {
    // Nothing upstream: every call hangs before it would be forwarded.
    let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], 9))).await;
    proxy.fail_from(ANY, 1, Fault::Hang);
    let config = app::config("reset", "users", SHORT_TIMEOUTS);
    let (db, ses) = clients(&proxy.endpoint(), &config, "hang");
    let timeouts = db.config().timeout_config().expect("timeouts are set");
    assert_eq!(
        timeouts.operation_timeout(),
        Some(Duration::from_millis(400))
    );
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_millis(150))
    );
    let service = Adapters::aws(&config, db, ses)
        .with_clock(Arc::new(FixedClock::at(T0)))
        .service(config.clone());
    let code = ResetCode::generate();
    let ip = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
    for (op, body) in [
        (Operation::Request, json!({"email": "ada@example.com"})),
        (Operation::Check, json!({"code": code.expose()})),
        (
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        ),
    ] {
        let started = Instant::now();
        let r = tokio::time::timeout(NEVER, app::call(&service, op, body, &[], ip))
            .await
            .unwrap_or_else(|_| panic!("{} hung past {NEVER:?}", op.name()));
        assert_503(&r);
        // Each operation fails on its first wave: one 400 ms bound. Loose on purpose.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} took {:?}",
            op.name(),
            started.elapsed()
        );
    }
    assert!(proxy.calls(ANY) >= 3, "every operation reached the store");
}

#[tokio::test]
async fn an_ses_that_never_answers_costs_the_server_caller_a_502_in_bounded_time_and_its_slot_back()
{
    let rig = Rig::start("ses-hang", Mail::Ses, SHORT_TIMEOUTS).await;
    rig.proxy.fail_from_now(SES_SEND, Fault::Hang);
    let r = tokio::time::timeout(NEVER, server_request(&rig))
        .await
        .expect("the mail timed out");
    assert_502(&r);
    assert!(rig.proxy.calls(SES_SEND) >= 1);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[test]
fn the_lambda_clients_carry_the_configured_timeouts_and_attempts() {
    let config = app::config("reset", "users", &[]);
    let sdk = moto::sdk_config("http://127.0.0.1:9");
    let db = shared::wiring::dynamodb_client(&sdk, &config.dynamodb_timeouts);
    let t = db.config().timeout_config().expect("timeouts");
    let d = config.dynamodb_timeouts;
    assert_eq!(t.operation_timeout(), Some(d.operation));
    assert_eq!(t.operation_attempt_timeout(), Some(d.attempt));
    assert_eq!(t.connect_timeout(), Some(d.attempt));
    let retry = db.config().retry_config().expect("retries");
    assert_eq!(retry.max_attempts(), d.max_attempts);

    let ses = shared::wiring::ses_client(&sdk, &config.ses_timeouts);
    let t = ses.config().timeout_config().expect("timeouts");
    assert_eq!(t.operation_timeout(), Some(config.ses_timeouts.operation));
    assert_eq!(
        ses.config().retry_config().map(|r| r.max_attempts()),
        Some(config.ses_timeouts.max_attempts)
    );
}

/// The value `template.yaml` hands to the functions for `var` (a quoted literal).
fn template_value(template: &str, var: &str) -> u64 {
    template
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{var}:")))
        .map(|v| v.trim().trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("template.yaml sets {var} to a number"))
}

#[test]
fn the_time_bounds_the_template_sets_fit_inside_every_function_timeout() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template = std::fs::read_to_string(path).expect("template.yaml");
    let shortest_timeout_ms = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Timeout:"))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .min()
        .expect("a Lambda timeout")
        * 1000;
    let dynamodb = template_value(&template, "DYNAMODB_TIMEOUT_MS");
    let ses = template_value(&template, "SES_TIMEOUT_MS");
    // The failure path of request: lookup wave, claim, mail, release; of consume: token wave,
    // slots wave, transaction, notice. Three DynamoDB calls and one SES call in sequence, plus
    // a second of headroom for hashing, the conflict backoff and the runtime.
    let worst = 3 * dynamodb + ses + 1000;
    assert!(
        worst <= shortest_timeout_ms,
        "3 x {dynamodb} + {ses} + 1000 ms exceeds the {shortest_timeout_ms} ms Lambda timeout"
    );
    let defaults = app::config("reset", "users", &[]);
    assert_eq!(
        dynamodb,
        defaults.dynamodb_timeouts.operation.as_millis() as u64
    );
    assert_eq!(ses, defaults.ses_timeouts.operation.as_millis() as u64);
}

// -------------------------------------------------------- the IP limiter at its limit

/// The real service on DynamoDB on moto (no proxy) with `RATE_LIMIT_CHECK` = `limit`.
async fn limited_service(label: &str, limit: &str) -> (Arc<ResetService>, Arc<FixedClock>) {
    let prefix = moto::unique_prefix(label);
    let config = app::config(
        &format!("{prefix}-reset"),
        &format!("{prefix}-users"),
        &[("RATE_LIMIT_CHECK", limit)],
    );
    let client = moto::dynamodb();
    moto::create_tables(&client, &config).await;
    let clock = Arc::new(FixedClock::at(T0));
    let service = Adapters::new(
        Store::dynamodb(&config, client),
        Arc::new(RecordingMailer::new()),
    )
    .with_clock(clock.clone())
    .service(config);
    (Arc::new(service), clock)
}

/// `n` concurrent checks from `ip`: (admitted, limited). Every limited answer is the IP
/// limit's 429 with `Retry-After`.
async fn burst(service: &Arc<ResetService>, ip: IpAddr, n: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let code = ResetCode::generate();
                app::call(
                    &service,
                    Operation::Check,
                    json!({"code": code.expose()}),
                    &[],
                    Some(ip),
                )
                .await
            })
        })
        .collect();
    let (mut admitted, mut limited) = (0, 0);
    for task in tasks {
        let r = task.await.expect("task ran");
        match r.status.as_u16() {
            200 => {
                assert_eq!(r.body["is_valid"], false);
                admitted += 1;
            }
            429 => {
                assert_eq!(r.body["code"], "TOO_MANY_REQUESTS");
                assert!(r.headers.contains_key("retry-after"));
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    (admitted, limited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_from_one_address_admits_exactly_the_limit_on_dynamodb() {
    let (service, _) = limited_service("ip-burst", "7/600").await;
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));
    assert_eq!(burst(&service, ip, 30).await, (7, 23));
    let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 21));
    assert_eq!(
        burst(&service, other, 3).await,
        (3, 0),
        "another address has its own window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_window_admits_the_limit_again_on_dynamodb() {
    let (service, clock) = limited_service("ip-rollover", "4/600").await;
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 30));
    assert_eq!(burst(&service, ip, 6).await, (4, 2), "the first window");
    clock.advance(Duration::from_secs(300));
    assert_eq!(
        burst(&service, ip, 2).await,
        (0, 2),
        "same window, still full"
    );
    // T0 is a multiple of 600, so T0 + 600 starts the next window.
    assert_eq!(T0 % 600, 0);
    clock.advance(Duration::from_secs(300));
    assert_eq!(burst(&service, ip, 6).await, (4, 2), "the next window");
}
