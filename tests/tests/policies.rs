//! The edge's policies, forced and asserted on BOTH adapters (memory and DynamoDB on moto):
//! exact address lookup, which callback URLs a stranger may send, the server caller's own slots and its opaque mode, the
//! code in the link's fragment, the response-time floor, and the CloudFront viewer address.
//! (The account-state and race guarantees are in hardening.rs, the per-IP limit's keys in
//! ip_limits.rs.)

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use integration_tests::app::{Backend, Memory, T0, TestApp, call};
use integration_tests::gate::HookedStore;
use serde_json::json;
use shared::clock::{Clock, FixedClock};
use shared::mail::recording::RecordingMailer;
use shared::service::{CheckOutcome, Operation, ServiceError};
use shared::wiring::Adapters;

const ADA: &str = "ada@example.com";
const FIRST: &str = "the first new password";

async fn app_with_ada<B: Backend>(label: &str, overrides: &[(&str, &str)]) -> TestApp<B> {
    TestApp::with_user(label, overrides, ADA).await
}

async fn an_address_is_found_lowercase_or_exactly_as_typed_never_by_folding_the_table<
    B: Backend,
>() {
    let app = TestApp::<B>::start("lookup").await;
    app.backend
        .put_user("user-mixed", "Mixed@Example.com")
        .await;
    app.backend.put_user("user-ada", ADA).await;

    let not_found = app.request("mixed@example.com").await.expect("answered");
    assert!(
        not_found.is_none(),
        "a mixed-case table entry is not found by folding"
    );
    let found = app.request("Mixed@Example.com").await.expect("answered");
    assert_eq!(
        found.expect("found as typed").user_id.as_str(),
        "user-mixed"
    );
    assert_eq!(
        app.inbox.sent().last().unwrap().to.as_str(),
        "Mixed@Example.com"
    );

    let found = app.request("ADA@example.COM").await.expect("answered");
    assert_eq!(found.expect("found lowercase").user_id.as_str(), "user-ada");
    assert_eq!(
        app.inbox.sent().last().unwrap().to.as_str(),
        ADA,
        "mail goes to the stored address"
    );
}

async fn two_accounts_matching_one_address_count_as_none<B: Backend>() {
    let app = TestApp::<B>::start("ambiguous").await;
    app.backend.put_user("user-upper", "Dup@Example.com").await;
    app.backend.put_user("user-lower", "dup@example.com").await;

    let ambiguous = app.request("Dup@Example.com").await.expect("answered");
    assert!(
        ambiguous.is_none(),
        "two matching accounts: no code for either"
    );
    assert!(app.inbox.sent().is_empty());
    let exact = app.request("dup@example.com").await.expect("answered");
    assert_eq!(exact.expect("one match").user_id.as_str(), "user-lower");
}

async fn public_callers_may_send_only_the_listed_callback_urls<B: Backend>() {
    let listed = "https://app.example.com/account/reset?from=mail";
    let app = app_with_ada::<B>(
        "callback-list",
        &[(
            "ALLOWED_CALLBACK_URLS",
            &format!("{listed}, https://app.example.com/other"),
        )],
    )
    .await;
    let dead = json!({"email": ADA, "callback_url": "https://app.example.com/nowhere"});
    let r = app.call(Operation::Request, dead.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "VALIDATION_FAILED");
    assert!(r.body["field_errors"]["callback_url"].is_string());
    assert_eq!(app.backend.token_items().await, 0, "nothing taken");
    assert!(app.inbox.sent().is_empty());

    let r = app
        .call(
            Operation::Request,
            json!({"email": ADA, "callback_url": listed}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let link = app.inbox.sent().last().unwrap().link.clone().unwrap();
    assert!(link.starts_with(&format!("{listed}&code=")), "{link}");
    // The default callback is always allowed.
    let r = app.call(Operation::Request, json!({"email": ADA})).await;
    assert_eq!(r.status, StatusCode::OK);
    // The app's backend may still point anywhere on an allowed origin.
    let r = app.call_as_server(Operation::Request, dead).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn strangers_filling_the_public_slots_do_not_block_the_apps_backend<B: Backend>() {
    let app = app_with_ada::<B>("server-slots", &[]).await;
    for _ in 0..3 {
        app.request(ADA).await.expect("public request");
    }
    assert!(matches!(
        app.request(ADA).await,
        Err(ServiceError::TooManyRequests { .. })
    ));
    for _ in 0..3 {
        let r = app
            .call_as_server(Operation::Request, json!({"user_id": "user-ada"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "the backend has slots of its own");
    }
    let r = app
        .call_as_server(Operation::Request, json!({"user_id": "user-ada"}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "and its own cap");
    assert_eq!(app.backend.token_items().await, 6);

    // Consuming any code revokes every other, public and server alike.
    let codes = app.sent_codes();
    app.consume(&codes[4], FIRST).await.expect("consumed");
    for (i, code) in codes.iter().enumerate() {
        assert_eq!(app.check(code).await, CheckOutcome::Invalid, "code {i}");
    }
    assert_eq!(app.backend.token_items().await, 0);
    app.request(ADA)
        .await
        .expect("the public cap is free again");
}

async fn a_server_caller_proxying_public_input_gets_the_public_answers<B: Backend>() {
    let app = app_with_ada::<B>("opaque", &[("MIN_REQUEST_RESPONSE_MS", "400")]).await;
    let mut answers = Vec::new();
    for email in [ADA, "nobody@example.com"] {
        let slept = app.clock.slept();
        let r = app
            .call_as_server(Operation::Request, json!({"email": email, "opaque": true}))
            .await;
        assert_eq!(
            app.clock.slept() - slept,
            Duration::from_millis(400),
            "floored"
        );
        answers.push((r.status, format!("{:?}", r.headers), r.body.to_string()));
    }
    assert_eq!(answers[0], answers[1], "no 404 for an unknown address");
    assert_eq!(answers[0].0, StatusCode::OK);
    assert!(!answers[0].2.contains("expires_at"), "no code comes back");

    // A failed mail is not a 502 either, and keeps its slot like the public's.
    app.inbox.fail_with(Some("MessageRejected"));
    let tokens = app.backend.token_items().await;
    let r = app
        .call_as_server(Operation::Request, json!({"email": ADA, "opaque": true}))
        .await;
    assert_eq!(
        (r.status, r.body.to_string()),
        (answers[1].0, answers[1].2.clone())
    );
    assert_eq!(app.backend.token_items().await, tokens + 1);
    app.inbox.fail_with(None);

    for (body, field) in [
        (
            json!({"email": ADA, "opaque": true, "return_code": true}),
            "return_code",
        ),
        (json!({"user_id": "user-ada", "opaque": true}), "opaque"),
    ] {
        let r = app.call_as_server(Operation::Request, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body["field_errors"][field].is_string(), "{}", r.body);
    }
    let r = app
        .call(Operation::Request, json!({"email": ADA, "opaque": true}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "server-only");
}

async fn the_code_can_travel_in_the_links_fragment<B: Backend>() {
    let app = app_with_ada::<B>("fragment", &[("LINK_CODE_IN", "fragment")]).await;
    let r = app
        .call(
            Operation::Request,
            json!({"email": ADA, "callback_url": "https://app.example.com/reset?from=mail"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let link = app.inbox.sent().last().unwrap().link.clone().unwrap();
    let url = url::Url::parse(&link).unwrap();
    assert_eq!(
        url.query(),
        Some("from=mail"),
        "the query as given, no code in it"
    );
    assert!(
        url.fragment().is_some_and(|f| f.starts_with("code=")),
        "{link}"
    );
    let code = app.last_code();
    assert!(matches!(app.check(&code).await, CheckOutcome::Valid { .. }));
    app.consume(&code, FIRST)
        .await
        .expect("the fragment's code works");
}

integration_tests::on_both_stores!(
    an_address_is_found_lowercase_or_exactly_as_typed_never_by_folding_the_table,
    two_accounts_matching_one_address_count_as_none,
    public_callers_may_send_only_the_listed_callback_urls,
    strangers_filling_the_public_slots_do_not_block_the_apps_backend,
    a_server_caller_proxying_public_input_gets_the_public_answers,
    the_code_can_travel_in_the_links_fragment,
);

#[tokio::test]
async fn the_floor_is_measured_from_the_start_so_slow_work_and_fast_work_answer_at_the_same_time() {
    let backend = Memory::start("floor", &[("MIN_REQUEST_RESPONSE_MS", "400")]).await;
    backend.put_user("user-ada", ADA).await;
    let clock = Arc::new(FixedClock::at(T0));
    let service = Adapters::new(backend.adapter(), Arc::new(RecordingMailer::new()))
        .with_clock(clock.clone())
        // Every store call takes 90 ms on the app's clock: the work the floor must hide.
        .map_reset_store(|store| {
            let clock = clock.clone();
            HookedStore::new(
                store,
                Box::new(move |_| {
                    clock.advance(Duration::from_millis(90));
                    Box::pin(async {})
                }),
            )
        })
        .service(backend.config());
    for email in [ADA, "nobody@example.com"] {
        let (start, slept) = (clock.now_ms(), clock.slept());
        let r = call(
            &service,
            Operation::Request,
            json!({"email": email}),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let waited = clock.slept() - slept;
        assert_eq!(
            clock.now_ms() - start,
            400,
            "{email}: the answer comes exactly at the floor, work included"
        );
        assert!(
            waited < Duration::from_millis(400),
            "{email}: the wait is what the work left of the floor, not the whole floor ({waited:?})"
        );
    }
    // Server callers do not wait.
    let slept = clock.slept();
    let bearer = format!("Bearer {}", integration_tests::app::SERVER_KEY);
    let r = call(
        &service,
        Operation::Request,
        json!({"email": ADA}),
        &[("authorization", bearer.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(clock.slept(), slept);
}
