//! Round trips per operation, counted by an SDK interceptor on the real DynamoDB adapter (moto):
//! public request <= 2 sequential DynamoDB round trips, check = 1, consume <= 3 (with the
//! breached-password check on: it runs beside the first wave); and the connections are primed
//! during init, before the first invocation. Events and the session version add none: the
//! version moves inside the consume transaction, and each event is put beside the mail, in the
//! mail's wave.
//!
//! "Sequential round trips" are waves: a call that starts while no other call is in flight
//! opens a new wave; calls started while another is in flight share its wave.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::json;

use integration_tests::app::{Backend, Dynamo};
use integration_tests::fake_api::{FakeApi, Reply};
use integration_tests::moto;
use shared::http::{ApiRequest, handle};
use shared::service::{Operation, ResetService};

#[derive(Debug, Default)]
struct Tally {
    in_flight: usize,
    waves: usize,
    calls: Vec<String>,
}

/// Counts calls and waves; shared by the DynamoDB and SES clients of one service.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<Tally>>);

impl Counter {
    fn take(&self) -> (usize, Vec<String>) {
        let mut t = self.0.lock().unwrap();
        let mut calls = std::mem::take(&mut t.calls);
        calls.sort();
        (std::mem::take(&mut t.waves), calls)
    }

    /// Since the last take: at most `max_waves` waves, and exactly `expected` calls (sorted).
    fn expect(&self, what: &str, max_waves: usize, expected: &[&str]) {
        let (waves, calls) = self.take();
        assert!(waves <= max_waves, "{what} took {waves} waves: {calls:?}");
        assert_eq!(calls, expected, "{what}");
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RoundTripCounter"
    }

    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let meta = cfg.load::<Metadata>().expect("operation metadata");
        let mut t = self.0.lock().unwrap();
        if t.in_flight == 0 {
            t.waves += 1;
        }
        t.in_flight += 1;
        t.calls.push(format!(
            "{}:{}",
            meta.service().to_ascii_lowercase(),
            meta.name()
        ));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut t = self.0.lock().unwrap();
        t.in_flight = t.in_flight.saturating_sub(1);
        Ok(())
    }
}

/// The production wiring (`service_from_clients`) on moto, with counting clients; with `bus`,
/// events go there through an EventBridge client counted with SES (the calls beside the mail).
async fn counted_service_on(
    op: Operation,
    backend: &Dynamo,
    bus: Option<&str>,
) -> (ResetService, Counter, Counter) {
    let db_counter = Counter::default();
    let ses_counter = Counter::default();
    let dynamodb = moto::dynamodb();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        dynamodb
            .config()
            .to_builder()
            .interceptor(db_counter.clone())
            .build(),
    );
    let ses = moto::sesv2();
    ses.create_email_identity()
        .email_identity(backend.config().mail.from.address().as_str())
        .send()
        .await
        .expect("verify the sender on moto");
    let ses = aws_sdk_sesv2::Client::from_conf(
        ses.config()
            .to_builder()
            .interceptor(ses_counter.clone())
            .build(),
    );
    let events = bus.map(|_| {
        let sdk = moto::sdk_config(&moto::endpoint());
        let events = shared::wiring::events_client(&sdk);
        let conf = events
            .config()
            .to_builder()
            .interceptor(ses_counter.clone());
        aws_sdk_eventbridge::Client::from_conf(conf.build())
    });
    let mut config = backend.config();
    config.observe.event_bus = bus.map(str::to_owned);
    let service = shared::wiring::service_from_clients(config, dynamodb, ses, events, op).await;
    (service, db_counter, ses_counter)
}

/// [`counted_service_on`] with events off.
async fn counted_service(op: Operation, backend: &Dynamo) -> (ResetService, Counter, Counter) {
    counted_service_on(op, backend, None).await
}

async fn post(service: &ResetService, op: Operation, body: serde_json::Value) -> serde_json::Value {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    let response = handle(
        service,
        op,
        ApiRequest {
            method: http::Method::POST,
            path: String::new(),
            headers,
            body: body.to_string().into(),
            client_ip: Some("203.0.113.50".parse().unwrap()),
        },
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.body());
    serde_json::from_str(response.body()).unwrap()
}

#[tokio::test]
async fn init_primes_dynamodb_and_ses_before_the_first_invocation() {
    let backend = Dynamo::start("prime", &[]).await;
    let (_service, db, ses) = counted_service(Operation::Request, &backend).await;
    assert_eq!(db.take(), (1, vec!["dynamodb:GetItem".to_owned()]));
    assert_eq!(ses.take(), (1, vec!["sesv2:GetAccount".to_owned()]));

    let (_service, db, ses) = counted_service(Operation::Check, &backend).await;
    assert_eq!(db.take(), (1, vec!["dynamodb:GetItem".to_owned()]));
    assert_eq!(
        ses.take(),
        (0, vec![]),
        "check sends no mail, so primes no SES connection"
    );
}

#[tokio::test]
async fn each_operation_stays_within_its_round_trip_budget() {
    // Consume asks the breached-password API (a fake that knows no password) beside its first
    // DynamoDB wave: the counts below hold with the check on.
    let range_api = FakeApi::start(Reply::Body(200, String::new())).await;
    let backend = Dynamo::start("trips", &[("PWNED_PASSWORDS_URL", &range_api.url())]).await;
    backend.put_user("user-ada", "ada@example.com").await;
    let (service, db, _) = counted_service(Operation::Request, &backend).await;
    db.take();

    post(
        &service,
        Operation::Request,
        json!({"email": "ada@example.com"}),
    )
    .await;
    // Wave 1: the index query (then the user's item, for the state a code is bound to)
    // alongside the slot read and the IP window; wave 3: the claim, and beside it the short
    // code's stretch of a live attempt window (an UpdateItem that changes nothing here).
    db.expect(
        "known-email request",
        3,
        &[
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Query",
            "dynamodb:TransactWriteItems",
            "dynamodb:UpdateItem",
            "dynamodb:UpdateItem",
        ],
    );

    post(
        &service,
        Operation::Request,
        json!({"email": "nobody@example.com"}),
    )
    .await;
    // The same reads as for a known address (an absent user item is read too).
    db.expect(
        "unknown-email request",
        3,
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
    );

    let mails = moto::mail_to("ada@example.com").await;
    let body = &mails.last().expect("a reset mail").body;
    let at = body.find("code=").expect("a link with a code") + "code=".len();
    let code = shared::domain::ResetCode::parse(&body[at..at + 43]).expect("a well-formed code");

    let checked = post(&service, Operation::Check, json!({"code": code.expose()})).await;
    assert_eq!(checked["is_valid"], true);
    // The token with the IP window, then its user: a code is valid only while the account
    // holds the address and password-change mark it was issued for.
    db.expect(
        "check",
        2,
        &[
            "dynamodb:GetItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
        ],
    );

    post(
        &service,
        Operation::Consume,
        json!({"code": code.expose(), "password": "a new passphrase"}),
    )
    .await;
    assert_eq!(
        range_api.received().len(),
        1,
        "consume asked the range API once"
    );
    db.expect(
        "consume",
        3,
        &[
            "dynamodb:GetItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:TransactWriteItems",
            "dynamodb:UpdateItem",
        ],
    );
}

/// The short code in the newest mail moto holds for `to` (moto keeps the HTML part, where
/// the code is the `<strong>` text).
async fn short_code_mailed_to(to: &str) -> String {
    let mails = moto::mail_to(to).await;
    let body = &mails.last().expect("a reset mail").body;
    let at = body.find("<strong>").expect("a short code in the mail") + "<strong>".len();
    let otp = &body[at..at + 8];
    assert!(otp.bytes().all(|b| b.is_ascii_digit()), "{body}");
    otp.to_owned()
}

#[tokio::test]
async fn short_codes_cost_the_round_trips_of_links() {
    let backend = Dynamo::start("trips-otp", &[]).await;
    backend.put_user("user-ada", "ada@example.com").await;
    let (service, db, _) = counted_service(Operation::Request, &backend).await;
    post(
        &service,
        Operation::Request,
        json!({"email": "ada@example.com"}),
    )
    .await;
    let otp = short_code_mailed_to("ada@example.com").await;
    db.take();

    let body = json!({"email": "ada@example.com", "otp": otp});
    let checked = post(&service, Operation::Check, body).await;
    assert_eq!(checked["is_valid"], true);
    // Wave 1: the try (a new window: PutItem), the slots, the IP window and the account's
    // index query; wave 2: the token the matching slot names, beside the account's item.
    db.expect(
        "check by short code",
        2,
        &[
            "dynamodb:GetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
    );

    let body = json!({"email": "ada@example.com", "otp": otp, "password": "a new passphrase"});
    post(&service, Operation::Consume, body).await;
    // As check, then the transaction. The window is live now, so the try's PutItem fails its
    // condition and an UpdateItem counts it: two calls in a row, beside the account's two
    // (index query, then item), so still one wave.
    db.expect(
        "consume by short code",
        3,
        &[
            "dynamodb:GetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Query",
            "dynamodb:TransactWriteItems",
            "dynamodb:UpdateItem",
            "dynamodb:UpdateItem",
        ],
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_any_store_call() {
    let backend = Dynamo::start("refused", &[]).await;
    backend.put_user("user-ada", "ada@example.com").await;
    let (service, db, ses) = counted_service(Operation::Request, &backend).await;
    db.take();
    ses.take();
    for (op, body) in [
        (
            Operation::Request,
            json!({"email": "ada@example.com", "callback_url": "https://evil.example.net/reset"}),
        ),
        (
            Operation::Request,
            json!({"email": "ada@example.com", "callback_url": "http://app.example.com/reset"}),
        ),
        (Operation::Request, json!({"email": "not an email"})),
        (
            Operation::Request,
            json!({"email": "ada@example.com", "user_id": "user-ada"}),
        ),
        (
            Operation::Consume,
            json!({"code": "x".repeat(43), "password": "short"}),
        ),
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        let request = ApiRequest {
            method: http::Method::POST,
            path: String::new(),
            headers,
            body: body.to_string().into(),
            client_ip: Some("203.0.113.51".parse().unwrap()),
        };
        let status = handle(&service, op, request).await.status();
        assert!(status.is_client_error(), "{body}: {status}");
        assert_eq!(db.take(), (0, vec![]), "{body}: no DynamoDB call");
        assert_eq!(ses.take(), (0, vec![]), "{body}: no mail");
    }
}

#[tokio::test]
async fn events_and_the_session_version_add_no_round_trip() {
    let backend = Dynamo::start(
        "trips-events",
        &[("USERS_SESSION_VERSION_ATTRIBUTE", "session_version")],
    )
    .await;
    backend.put_user("user-ada", "ada.events@example.com").await;
    let bus = format!("{}-bus", moto::unique_prefix("trips"));
    let sdk = moto::sdk_config(&moto::endpoint());
    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("create the bus");
    let (service, db, mail) = counted_service_on(Operation::Request, &backend, Some(&bus)).await;
    let one_wave = |calls: [&str; 2]| (1, calls.map(str::to_owned).to_vec());
    assert_eq!(
        mail.take(),
        one_wave(["eventbridge:PutEvents", "sesv2:GetAccount"]),
        "init primes the bus's connection beside SES's"
    );
    db.take();

    post(
        &service,
        Operation::Request,
        json!({"email": "ada.events@example.com"}),
    )
    .await;
    let (waves, _) = db.take();
    assert!(waves <= 3, "request took {waves} DynamoDB waves");
    let beside_the_mail = one_wave(["eventbridge:PutEvents", "sesv2:SendEmail"]);
    assert_eq!(
        mail.take(),
        beside_the_mail,
        "the event goes out beside the mail"
    );

    let mails = moto::mail_to("ada.events@example.com").await;
    let code = integration_tests::app::code_in(&mails.last().expect("a reset mail").link());
    post(
        &service,
        Operation::Consume,
        json!({"code": code.expose(), "password": "a new passphrase"}),
    )
    .await;
    let (waves, calls) = db.take();
    assert!(waves <= 3, "consume took {waves} waves: {calls:?}");
    assert_eq!(
        mail.take(),
        beside_the_mail,
        "the event goes out beside the notice"
    );
    assert_eq!(backend.session_version("user-ada").await, Some(1));
}
