//! The guarantees that used to hold only on the happy path, each forced and asserted on BOTH
//! adapters (memory and DynamoDB on moto): codes bound to the account's state (a password
//! change, ours or the app's, an address change or a disabled account kills every code issued
//! before it, whatever the interleaving), races that really interleave, exact address lookup,
//! and the per-IP limit failing closed and keying IPv6 by prefix.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use integration_tests::app::{Backend, Memory, T0, TestApp, call};
use integration_tests::gate::{Gate, GatedStore, Held, HookedStore};
use serde_json::json;
use shared::clock::{Clock, FixedClock};
use shared::mail::recording::RecordingMailer;
use shared::password;
use shared::service::{CheckOutcome, Operation, ServiceError};
use shared::wiring::{Adapters, Store};

const ADA: &str = "ada@example.com";
const FIRST: &str = "the first new password";
const SECOND: &str = "the second new password";

/// An app whose reset store holds `held` at a gate, with Ada as a user.
async fn gated_app<B: Backend>(
    label: &str,
    overrides: &[(&str, &str)],
    held: Held,
    gate: Arc<Gate>,
) -> Arc<TestApp<B>> {
    let backend = B::start(label, overrides).await;
    backend.put_user("user-ada", ADA).await;
    let store = GatedStore::new(backend.store(), held, gate);
    let inbox = Arc::new(RecordingMailer::new());
    Arc::new(TestApp::with_store(backend, store, inbox.clone(), inbox))
}

async fn app_with_ada<B: Backend>(label: &str, overrides: &[(&str, &str)]) -> TestApp<B> {
    let app = TestApp::<B>::start_with(label, overrides).await;
    app.backend.put_user("user-ada", ADA).await;
    app
}

/// Consumes `code` in a task of its own (held wherever the app's store gate says).
fn spawn_consume<B: Backend>(
    app: &Arc<TestApp<B>>,
    code: &shared::domain::ResetCode,
    password: &'static str,
) -> tokio::task::JoinHandle<Result<(), ServiceError>> {
    let (app, code) = (app.clone(), code.clone());
    tokio::spawn(async move { app.consume(&code, password).await })
}

fn assert_invalid(result: Result<(), ServiceError>) {
    assert!(
        matches!(result, Err(ServiceError::InvalidCode)),
        "expected an invalid code, got {result:?}"
    );
}

async fn a_code_issued_while_a_consume_is_in_flight_never_works_after_it<B: Backend>() {
    let gate = Gate::closed();
    let app = gated_app::<B>("race-revoke", &[], Held::ChangePassword, gate.clone()).await;
    app.request(ADA).await.expect("first request");
    let first = app.last_code();

    // Consume the first code, and hold it after its reads, before its transaction.
    let consuming = spawn_consume(&app, &first, FIRST);
    gate.until_arrived(1).await;
    // Now a second code is issued: consume has already read the slots, so it is not among
    // the codes that transaction deletes.
    app.request(ADA).await.expect("second request");
    let second = app.last_code();
    assert!(matches!(
        app.check(&second).await,
        CheckOutcome::Valid { .. }
    ));
    gate.open();
    consuming.await.unwrap().expect("the first consume wins");

    assert_eq!(
        app.check(&second).await,
        CheckOutcome::Invalid,
        "a code issued before the change does not check as valid after it"
    );
    assert_invalid(app.consume(&second, SECOND).await);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(password::verify(FIRST, &hash), "the first password stays");
}

async fn a_code_issued_before_the_app_set_a_password_itself_is_dead_after_it<B: Backend>() {
    let app = app_with_ada::<B>("app-changed", &[]).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();

    app.backend
        .update_user("user-ada", None, Some(T0 + 5), None)
        .await;

    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert_invalid(app.consume(&code, FIRST).await);
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0 + 5)
    );

    // A code issued after the app's change works, and moves the mark strictly forward even
    // within the same second.
    app.request(ADA).await.expect("accepted");
    app.consume(&app.last_code(), FIRST)
        .await
        .expect("consumed");
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0 + 6)
    );
}

async fn a_code_mailed_to_an_address_the_account_has_left_is_dead<B: Backend>() {
    let app = app_with_ada::<B>("moved", &[]).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();

    app.backend
        .update_user("user-ada", Some("ada.new@example.com"), None, None)
        .await;

    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert_invalid(app.consume(&code, FIRST).await);
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    app.request("ada.new@example.com").await.expect("accepted");
    assert_eq!(
        app.inbox.sent().last().unwrap().to.as_str(),
        "ada.new@example.com"
    );
    app.consume(&app.last_code(), FIRST)
        .await
        .expect("consumed");
}

async fn a_disabled_account_gets_no_code_and_its_earlier_codes_die<B: Backend>() {
    let app = app_with_ada::<B>("disabled", &[("USERS_ENABLED_ATTRIBUTE", "enabled")]).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();

    app.backend
        .update_user("user-ada", None, None, Some(false))
        .await;

    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert_invalid(app.consume(&code, FIRST).await);
    let again = app
        .request(ADA)
        .await
        .expect("answered like an unknown address");
    assert!(again.is_none(), "no code for a disabled account");
    assert_eq!(app.inbox.sent().len(), 1, "no second mail");
    assert_eq!(app.backend.password_hash("user-ada").await, None);
}

async fn an_account_change_between_consumes_reads_and_its_write_spends_nothing<B: Backend>() {
    let gate = Gate::closed();
    let app = gated_app::<B>("race-app-change", &[], Held::ChangePassword, gate.clone()).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();
    let consuming = spawn_consume(&app, &code, FIRST);
    gate.until_arrived(1).await;
    app.backend
        .update_user("user-ada", None, Some(T0 + 1), None)
        .await;
    gate.open();

    assert_invalid(consuming.await.unwrap());
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0 + 1)
    );
    assert_eq!(app.backend.token_items().await, 1, "the token is not spent");
}

async fn fifty_requests_that_all_read_the_slots_before_any_claims_issue_exactly_three_codes<
    B: Backend,
>() {
    // Every request waits at its first claim until all fifty have read the (empty) slots: the
    // worst interleaving for a read-then-write cap, which only conditions settle.
    let gate = Gate::opens_after(50);
    let app = gated_app::<B>("race-cap", &[], Held::Claim, gate.clone()).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.request(ADA).await })
        })
        .collect();
    let (mut issued, mut capped) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(_)) => issued += 1,
            // The use-case helpers are exempt from the IP limit: a 429 here is the cap's.
            Err(ServiceError::TooManyRequests { .. }) => capped += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(gate.arrived() >= 50, "all fifty reached the claim");
    assert_eq!((issued, capped), (3, 47));
    assert_eq!(app.backend.token_items().await, 3);
    assert_eq!(app.inbox.sent().len(), 3);
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

async fn public_calls_without_a_client_address_share_one_bucket<B: Backend>() {
    let app = app_with_ada::<B>("no-ip", &[("RATE_LIMIT_REQUEST", "3/600")]).await;
    for i in 0..3 {
        let r = app
            .call(
                Operation::Request,
                json!({"email": format!("n{i}@example.com")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app
        .call(Operation::Request, json!({"email": "n9@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "fails closed");
    assert_eq!(r.body["code"], "TOO_MANY_REQUESTS");
    assert!(r.headers.contains_key("retry-after"));
    let known = app
        .call_from(
            "192.0.2.1".parse().unwrap(),
            Operation::Request,
            json!({"email": ADA}),
        )
        .await;
    assert_eq!(
        known.status,
        StatusCode::OK,
        "a known address has its own bucket"
    );
}

async fn ipv6_clients_are_limited_by_their_prefix<B: Backend>() {
    let app = app_with_ada::<B>("ipv6", &[("RATE_LIMIT_REQUEST", "3/600")]).await;
    // A new address each call, so the per-email cap never answers for the IP limit.
    let n = std::sync::atomic::AtomicUsize::new(0);
    let body = || json!({"email": format!("v6.{}@example.com", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed))});
    for host in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
    ] {
        let r = app
            .call_from(host.parse().unwrap(), Operation::Request, body())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{host}");
    }
    let same_64 = app
        .call_from(
            "2001:db8:1:2:ffff::9".parse().unwrap(),
            Operation::Request,
            body(),
        )
        .await;
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS);
    let other_64 = app
        .call_from(
            "2001:db8:1:3::1".parse().unwrap(),
            Operation::Request,
            body(),
        )
        .await;
    assert_eq!(other_64.status, StatusCode::OK);

    let per_host = app_with_ada::<B>(
        "ipv6-128",
        &[
            ("RATE_LIMIT_REQUEST", "3/600"),
            ("RATE_LIMIT_IPV6_PREFIX", "128"),
        ],
    )
    .await;
    for i in 1..=5 {
        let host = format!("2001:db8:1:2::{i}");
        let r = per_host
            .call_from(host.parse().unwrap(), Operation::Request, body())
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "prefix 128 counts each host: {host}"
        );
    }
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
    let codes: Vec<_> = app
        .inbox
        .sent()
        .iter()
        .map(|m| integration_tests::app::code_in(m.link.as_deref().unwrap()))
        .collect();
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

async fn the_app_can_revoke_every_code_of_a_user<B: Backend>() {
    let app = app_with_ada::<B>("revoke", &[]).await;
    for _ in 0..3 {
        app.request(ADA).await.expect("public request");
    }
    for _ in 0..2 {
        let r = app
            .call_as_server(Operation::Request, json!({"user_id": "user-ada"}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let codes: Vec<_> = app
        .inbox
        .sent()
        .iter()
        .map(|m| integration_tests::app::code_in(m.link.as_deref().unwrap()))
        .collect();
    assert_eq!(codes.len(), 5);

    let r = app
        .call(Operation::Revoke, json!({"user_id": "user-ada"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "never a stranger's decision"
    );
    assert_eq!(app.backend.token_items().await, 5);

    let r = app
        .call_as_server(Operation::Revoke, json!({"user_id": "user-ada"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"ok": true, "revoked": 5}));
    for code in &codes {
        assert_eq!(app.check(code).await, CheckOutcome::Invalid);
    }
    assert_eq!(app.backend.token_items().await, 0);
    app.request(ADA).await.expect("the cap is free again");

    let r = app
        .call_as_server(Operation::Revoke, json!({"user_id": "user-nobody"}))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    for body in [
        json!({}),
        json!({"user_id": "user-ada", "all": true}),
        json!({"user_id": ""}),
    ] {
        let tokens = app.backend.token_items().await;
        let r = app.call_as_server(Operation::Revoke, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.body["code"], "VALIDATION_FAILED", "{body}");
        assert_eq!(app.backend.token_items().await, tokens, "changes nothing");
    }
}

integration_tests::on_both_stores!(
    a_code_issued_while_a_consume_is_in_flight_never_works_after_it,
    a_code_issued_before_the_app_set_a_password_itself_is_dead_after_it,
    a_code_mailed_to_an_address_the_account_has_left_is_dead,
    a_disabled_account_gets_no_code_and_its_earlier_codes_die,
    an_account_change_between_consumes_reads_and_its_write_spends_nothing,
    fifty_requests_that_all_read_the_slots_before_any_claims_issue_exactly_three_codes,
    an_address_is_found_lowercase_or_exactly_as_typed_never_by_folding_the_table,
    two_accounts_matching_one_address_count_as_none,
    public_calls_without_a_client_address_share_one_bucket,
    ipv6_clients_are_limited_by_their_prefix,
    public_callers_may_send_only_the_listed_callback_urls,
    strangers_filling_the_public_slots_do_not_block_the_apps_backend,
    a_server_caller_proxying_public_input_gets_the_public_answers,
    the_code_can_travel_in_the_links_fragment,
    the_app_can_revoke_every_code_of_a_user,
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

#[tokio::test]
async fn behind_cloudfront_only_a_request_with_the_origin_secret_names_its_viewer() {
    let secret = "origin-secret-for-tests-0123456789";
    let app = TestApp::<Memory>::start_with(
        "cloudfront",
        &[
            ("RATE_LIMIT_REQUEST", "2/600"),
            ("CLOUDFRONT_ORIGIN_SECRET", secret),
        ],
    )
    .await;
    let edge: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let body = || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        json!({"email": format!("cf.{i}@example.com")})
    };
    let status = |headers: Vec<(&'static str, &'static str)>| {
        let service = &app.service;
        let b = body();
        async move {
            call(service, Operation::Request, b, &headers, Some(edge))
                .await
                .status
        }
    };
    // Three viewers behind one CloudFront edge address: each has its own bucket.
    for viewer in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        for _ in 0..2 {
            let s = status(vec![
                ("x-origin-verify", secret),
                ("x-viewer-address", viewer),
            ])
            .await;
            assert_eq!(s, StatusCode::OK, "{viewer}");
        }
    }
    assert_eq!(
        status(vec![
            ("x-origin-verify", secret),
            ("x-viewer-address", "203.0.113.1")
        ])
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Without the secret (a client calling the API directly, forging the header) the
    // viewer header is ignored: every such call counts against the edge's own address.
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let s = status(vec![
            ("x-origin-verify", "wrong"),
            ("x-viewer-address", "192.0.2.99"),
        ])
        .await;
        assert_eq!(s, expected);
    }
    assert_eq!(
        status(vec![("x-viewer-address", "192.0.2.100")]).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_a_configured_origin_secret_the_viewer_header_is_ignored() {
    let app =
        TestApp::<Memory>::start_with("no-cloudfront", &[("RATE_LIMIT_REQUEST", "1/600")]).await;
    let ip: std::net::IpAddr = "198.51.100.8".parse().unwrap();
    let headers = [("x-origin-verify", ""), ("x-viewer-address", "192.0.2.1")];
    let first = call(
        &app.service,
        Operation::Request,
        json!({"email": "a@example.com"}),
        &headers,
        Some(ip),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let headers = [("x-viewer-address", "192.0.2.2")];
    let second = call(
        &app.service,
        Operation::Request,
        json!({"email": "b@example.com"}),
        &headers,
        Some(ip),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_while_a_revocation_is_in_flight_is_revoked_too() {
    use integration_tests::app::{Dynamo, SERVER_KEY};
    use integration_tests::faults::{self, Fault, FaultProxy};
    use shared::store::dynamodb::DynamoStore;

    let app = app_with_ada::<Dynamo>("race-revoke-all", &[]).await;
    app.request(ADA).await.expect("first code");
    let first = app.last_code();

    // The revocation runs through the fault proxy, which holds its transaction after its
    // read; the second request goes straight to moto in between.
    let proxy = FaultProxy::in_front_of_moto().await;
    let gate = Gate::closed();
    let transact = faults::dynamodb("TransactWriteItems");
    proxy.fail_call(transact.clone(), 1, Fault::Held(gate.clone()));
    let config = app.backend.config();
    let proxied = DynamoStore::new(
        integration_tests::moto::dynamodb_client_at(&proxy.endpoint(), 1),
        config.reset_table.clone(),
        config.users.clone(),
    );
    let revoker = Arc::new(
        Adapters::new(
            Store::Dynamo(Arc::new(proxied)),
            Arc::new(RecordingMailer::new()),
        )
        .with_clock(Arc::new(FixedClock::at(T0)))
        .service(config),
    );
    let revoking = {
        let revoker = revoker.clone();
        tokio::spawn(async move {
            let bearer = format!("Bearer {SERVER_KEY}");
            call(
                &revoker,
                Operation::Revoke,
                json!({"user_id": "user-ada"}),
                &[("authorization", bearer.as_str())],
                None,
            )
            .await
        })
    };
    gate.until_arrived(1).await;
    app.request(ADA)
        .await
        .expect("second code, issued mid-revocation");
    let second = app.last_code();
    gate.open();

    let r = revoking.await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["revoked"], 2,
        "the second code was found on the retry"
    );
    assert_eq!(
        proxy.calls(&transact),
        2,
        "the held write failed its condition and retried"
    );
    assert_eq!(app.check(&first).await, CheckOutcome::Invalid);
    assert_eq!(app.check(&second).await, CheckOutcome::Invalid);
    assert_eq!(app.backend.token_items().await, 0);
}
