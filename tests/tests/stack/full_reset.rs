//! The whole reset through the Stack routes alone, on the memory store, on DynamoDB on moto and
//! with SES on moto, and the response floor on `send-reset-code`.

use super::*;

/// `check-code` says the code is valid, then `reset` with it and [`NEW_PASSWORD`] succeeds, both
/// with the Stack headers, from `ip`.
async fn check_then_reset<B: Backend>(
    app: &TestApp<B>,
    code: &shared::domain::ResetCode,
    ip: Option<std::net::IpAddr>,
) {
    let r = app
        .call_path(
            CHECK_CODE_PATH,
            json!({"code": code.expose()}),
            &HEADERS,
            ip,
        )
        .await;
    assert_eq!(r.body, json!({"is_valid": true}));
    let body = json!({"code": code.expose(), "password": NEW_PASSWORD});
    let r = app.call_path(RESET_PATH, body, &HEADERS, ip).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"success": true}))
    );
}

/// The full reset through the Stack routes on a store backend (memory, DynamoDB on moto):
/// send -> mail -> check-code -> reset -> the stored hash changed.
async fn the_full_stack_reset_changes_the_stored_hash<B: Backend>() {
    let overrides = ONE_KEY;
    let app = TestApp::<B>::with_user("stack-flow", &overrides, "ada@example.com").await;
    let headers = HEADERS;
    let ip = Some("203.0.113.9".parse().unwrap());
    let r = app
        .call_path(
            SEND_RESET_CODE_PATH,
            json!({"email": "Ada@Example.com", "callback_url": "https://app.example.com/reset"}),
            &headers,
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"success": SEND_RESET_CODE_SUCCESS}));
    let code = app.last_code();
    let before = app.backend.password_hash("user-ada").await;
    check_then_reset(&app, &code, ip).await;
    let after = app.backend.password_hash("user-ada").await.expect("a hash");
    assert_ne!(Some(&after), before.as_ref());
    assert!(hashing::verify(NEW_PASSWORD, &after));
}

mod memory {
    #[tokio::test]
    async fn the_full_stack_reset_changes_the_stored_hash() {
        super::the_full_stack_reset_changes_the_stored_hash::<integration_tests::app::Memory>()
            .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_stack_reset_changes_the_stored_hash() {
        super::the_full_stack_reset_changes_the_stored_hash::<integration_tests::app::Dynamo>()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_stack_reset_mails_through_ses_on_moto_to_the_stored_address() {
    let overrides = ONE_KEY;
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("stack-ses", "Example App", &overrides).await;
    let headers = HEADERS;
    let r = app
        .call_path(
            SEND_RESET_CODE_PATH,
            json!({"email": stored.to_ascii_uppercase(), "callback_url": "https://app.example.com/reset"}),
            &headers,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let link = crate::ses::the_one_link_mailed_to(&stored).await;
    let code = code_in(&link);
    check_then_reset(&app, &code, None).await;
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));
    assert_eq!(
        crate::ses::mail_to_any_case(&stored).await.len(),
        2,
        "and the changed mail"
    );
}

#[tokio::test]
async fn send_reset_code_answers_no_sooner_than_the_floor_for_known_and_unknown_addresses() {
    use shared::clock::Clock;
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("MIN_REQUEST_RESPONSE_MS", "400"),
    ]);
    for email in [ADA, "nobody@example.com"] {
        let started = app.clock.now_ms();
        let r = post(
            &app,
            SEND_RESET_CODE_PATH,
            json!({"email": email, "callback_url": SEED_CALLBACK}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        // The fixed clock moves only by the service's own wait: exactly the floor, both times.
        assert_eq!(app.clock.now_ms() - started, 400, "{email}");
    }
}
