//! Rotating the token key (issue 20, finding 6): codes are issued under the current key and
//! found under the current or the previous one, so a rotation (current = B, previous = A) keeps
//! every live code working until it expires, and dropping A afterwards kills what is left of
//! them. The same tests run on both adapters (memory, DynamoDB on moto).
//!
//! The deployed functions read the keys from the Secrets Manager secret named by
//! `TOKEN_HMAC_KEY_SECRET_ARN`, once at init: tested here on moto, the secret created through
//! the SDK, both in-process (`shared::wiring::config_with_secret`) and through the real `check`
//! binary under a Runtime API stand-in. A missing or malformed secret stops init with an error
//! that names the setting and never the value.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::app::{
    ALLOWED_ORIGIN, Backend, CALLBACK, Dynamo, T0, TOKEN_KEY, TTL, TestApp, config, password,
};
use integration_tests::gate::{Gate, GatedStore, Held};
use integration_tests::moto;
use integration_tests::runtime_api::{
    Answer, Function, RuntimeApi, function_binary, spawn_function,
};
use serde_json::{Value, json};
use shared::config::{ConfigError, TOKEN_KEY_SECRET_VAR};
use shared::domain::{Locale, ResetCode};
use shared::service::{CheckOutcome, ClientIp, ConsumeReset, ResetService, ServiceError};
use shared::wiring::Adapters;

const ADA: &str = "ada@example.com";
/// Key A is the test apps' own key ([`TOKEN_KEY`]); B is the one rotated to.
const KEY_B: &str = "key-rotation-tests-new-key-B-0123456789abcdef";
const NEW_PASSWORD: &str = "correct horse battery staple";

/// A service on the app's backend, clock and inbox with other token-key settings.
fn service_with<B: Backend>(app: &TestApp<B>, keys: &[(&str, &str)]) -> ResetService {
    let base = app.backend.config();
    Adapters::new(app.backend.adapter(), app.inbox.clone())
        .with_clock(app.clock.clone())
        .service(config(
            &base.store.reset_table,
            &base.store.users.table,
            keys,
        ))
}

/// current = B, previous = A: the rotation's first TTL.
fn rotated<B: Backend>(app: &TestApp<B>) -> ResetService {
    service_with(
        app,
        &[
            ("TOKEN_HMAC_KEY", KEY_B),
            ("TOKEN_HMAC_KEY_PREVIOUS", TOKEN_KEY),
        ],
    )
}

/// current = B alone: A dropped after one TTL.
fn dropped<B: Backend>(app: &TestApp<B>) -> ResetService {
    service_with(app, &[("TOKEN_HMAC_KEY", KEY_B)])
}

/// A public request for `email` through `service` (the app's own helper, its service swapped).
async fn request_with<B: Backend>(
    app: &mut TestApp<B>,
    service: ResetService,
    email: &str,
) -> Result<(), ServiceError> {
    let own = std::mem::replace(&mut app.service, service);
    let result = app.request(email).await.map(|_| ());
    app.service = own;
    result
}

async fn check(service: &ResetService, code: &ResetCode) -> CheckOutcome {
    service
        .check(Some(code.clone()), ClientIp::Exempt)
        .await
        .expect("check answers")
}

async fn consume(service: &ResetService, code: &ResetCode) -> Result<(), ServiceError> {
    service
        .consume(ConsumeReset {
            code: Some(code.clone()).into(),
            password: password(NEW_PASSWORD),
            locale: Locale::default(),
            client_ip: ClientIp::Exempt,
        })
        .await
}

async fn app_with_ada<B: Backend>(label: &str) -> TestApp<B> {
    let app = TestApp::<B>::start(label).await;
    app.backend.put_user("user-ada", ADA).await;
    app
}

const VALID: CheckOutcome = CheckOutcome::Valid {
    expires_at: T0.plus_secs(TTL),
};

async fn a_code_issued_under_the_old_key_works_after_the_rotation_and_dies_with_the_old_key<
    B: Backend,
>() {
    let app = app_with_ada::<B>("rotate-old").await;
    app.request(ADA).await.expect("request under key A");
    let code = app.last_code();

    let (rotated, dropped) = (rotated(&app), dropped(&app));
    assert_eq!(
        check(&rotated, &code).await,
        VALID,
        "found under previous A"
    );
    assert_eq!(
        check(&dropped, &code).await,
        CheckOutcome::Invalid,
        "A dropped: the code is dead"
    );
    assert!(matches!(
        consume(&dropped, &code).await,
        Err(ServiceError::InvalidCode)
    ));
    assert_eq!(app.backend.password_hash("user-ada").await, None);

    consume(&rotated, &code)
        .await
        .expect("consumed under previous A");
    assert!(app.backend.password_hash("user-ada").await.is_some());
    assert_eq!(check(&rotated, &code).await, CheckOutcome::Invalid, "spent");
}

async fn a_code_issued_under_the_new_key_works_during_and_after_the_rotation<B: Backend>() {
    let mut app = app_with_ada::<B>("rotate-new").await;
    let service = rotated(&app);
    request_with(&mut app, service, ADA)
        .await
        .expect("request under key B");
    let code = app.last_code();
    let rotated = rotated(&app);

    assert_eq!(check(&rotated, &code).await, VALID);
    assert_eq!(
        check(&app.service, &code).await,
        CheckOutcome::Invalid,
        "issued under B, not A"
    );
    let dropped = dropped(&app);
    assert_eq!(check(&dropped, &code).await, VALID);
    consume(&dropped, &code).await.expect("consumed under B");
    assert!(app.backend.password_hash("user-ada").await.is_some());
}

async fn a_code_found_under_the_previous_key_is_still_bound_to_its_address<B: Backend>() {
    let app = app_with_ada::<B>("rotate-bound").await;
    app.request(ADA).await.expect("request under key A");
    let code = app.last_code();
    let rotated = rotated(&app);
    assert_eq!(check(&rotated, &code).await, VALID);

    app.backend
        .update_user("user-ada", Some("ada.new@example.com"), None, None)
        .await;
    assert_eq!(check(&rotated, &code).await, CheckOutcome::Invalid);
    assert!(matches!(
        consume(&rotated, &code).await,
        Err(ServiceError::InvalidCode)
    ));
}

/// Documented in README ("Rotating the token key"): slots are keyed under the current key,
/// so the first TTL after a rotation allows up to twice the cap per address, once.
async fn a_rotation_starts_the_per_email_cap_afresh_once<B: Backend>() {
    let mut app = app_with_ada::<B>("rotate-cap").await;
    for _ in 0..3 {
        app.request(ADA).await.expect("a slot under A");
    }
    assert!(matches!(
        app.request(ADA).await,
        Err(ServiceError::TooManyRequests { .. })
    ));
    for _ in 0..3 {
        let service = rotated(&app);
        request_with(&mut app, service, ADA)
            .await
            .expect("a slot under B");
    }
    let service = rotated(&app);
    assert!(matches!(
        request_with(&mut app, service, ADA).await,
        Err(ServiceError::TooManyRequests { .. })
    ));
}

/// The lookups under the two keys run concurrently (no extra round trip): each waits at a gate
/// that opens only once both have arrived, so lookups made one after the other never finish.
async fn during_a_rotation_a_code_is_looked_up_under_both_keys_at_once<B: Backend>() {
    let app = app_with_ada::<B>("rotate-at-once").await;
    app.request(ADA).await.expect("request under key A");
    let code = app.last_code();
    let gated = |gate: &Arc<Gate>| {
        let base = app.backend.config();
        Adapters::new(app.backend.adapter(), app.inbox.clone())
            .with_clock(app.clock.clone())
            .map_reset_store(|store| GatedStore::new(store, Held::Token, gate.clone()))
            .service(config(
                &base.store.reset_table,
                &base.store.users.table,
                &[
                    ("TOKEN_HMAC_KEY", KEY_B),
                    ("TOKEN_HMAC_KEY_PREVIOUS", TOKEN_KEY),
                ],
            ))
    };
    let within = Duration::from_secs(20);
    let sequential = "the two lookups waited for each other: they ran one after the other";

    let gate = Gate::opens_after(2);
    let checked = tokio::time::timeout(within, check(&gated(&gate), &code)).await;
    assert_eq!(checked.expect(sequential), VALID);
    assert_eq!(gate.arrived(), 2, "one lookup per key");

    let gate = Gate::opens_after(2);
    let consumed = tokio::time::timeout(within, consume(&gated(&gate), &code)).await;
    consumed
        .expect(sequential)
        .expect("consumed under previous A");
    assert_eq!(gate.arrived(), 2, "one lookup per key");
}

integration_tests::on_both_stores!(
    a_code_issued_under_the_old_key_works_after_the_rotation_and_dies_with_the_old_key,
    a_code_issued_under_the_new_key_works_during_and_after_the_rotation,
    a_code_found_under_the_previous_key_is_still_bound_to_its_address,
    a_rotation_starts_the_per_email_cap_afresh_once,
    during_a_rotation_a_code_is_looked_up_under_both_keys_at_once,
);

mod secret;
