//! The guarantees that used to hold only on the happy path, each forced and asserted on BOTH
//! adapters (memory and DynamoDB on moto): codes bound to the account's state (a password
//! change, ours or the app's, an address change or a disabled account kills every code issued
//! before it, whatever the interleaving), races that really interleave, exact address lookup,
//! and the per-IP limit failing closed and keying IPv6 by prefix.

use std::sync::Arc;

use http::StatusCode;
use integration_tests::app::{Backend, T0, TestApp, call};
use integration_tests::gate::{Gate, GatedStore, Held};
use serde_json::json;
use shared::clock::FixedClock;
use shared::hashing;
use shared::mail::recording::RecordingMailer;
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
    TestApp::with_user(label, overrides, ADA).await
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
    assert!(hashing::verify(FIRST, &hash), "the first password stays");
}

async fn a_code_issued_before_the_app_set_a_password_itself_is_dead_after_it<B: Backend>() {
    let app = app_with_ada::<B>("app-changed", &[]).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();

    app.backend
        .update_user("user-ada", None, Some(T0.plus_secs(5)), None)
        .await;

    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert_invalid(app.consume(&code, FIRST).await);
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0.plus_secs(5))
    );

    // A code issued after the app's change works, and moves the mark strictly forward even
    // within the same second.
    app.request(ADA).await.expect("accepted");
    app.consume(&app.last_code(), FIRST)
        .await
        .expect("consumed");
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0.plus_secs(6))
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
        .update_user("user-ada", None, Some(T0.plus_secs(1)), None)
        .await;
    gate.open();

    assert_invalid(consuming.await.unwrap());
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0.plus_secs(1))
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
    let codes = app.sent_codes();
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
    the_app_can_revoke_every_code_of_a_user,
);

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
        config.store.reset_table.clone(),
        config.store.users.clone(),
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
