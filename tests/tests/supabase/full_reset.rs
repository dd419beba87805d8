//! The whole reset asked on the Supabase-style route (and finished on the native routes the
//! reset page calls), on the memory store, on DynamoDB on moto and with SES on moto.

use super::*;

/// Ask on the Supabase route, take the mailed code, finish on the native routes the reset
/// page calls, then sign in with the new password (the stored hash verifies it).
async fn the_full_reset_asked_on_the_supabase_route_sets_the_password<B: Backend>() {
    let app = TestApp::<B>::with_user("supabase-flow", &ENV, "ada@example.com").await;
    let ip = Some("203.0.113.9".parse().unwrap());
    let r = app
        .call_path(
            PATH,
            json!({"email": "Ada@Example.com", "callback_origin": "https://app.example.com"}),
            &[],
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"ok": true, "message": REQUEST_ACCEPTED_MESSAGE})
    );
    let code = app.last_code();
    assert_eq!(
        app.call(Operation::Check, json!({"code": code.expose()}))
            .await
            .body["is_valid"],
        true
    );
    let r = app
        .call(
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(
        hashing::verify(NEW_PASSWORD, &hash),
        "signs in with the new password"
    );
}

mod memory {
    #[tokio::test]
    async fn the_full_reset_asked_on_the_supabase_route_sets_the_password() {
        super::the_full_reset_asked_on_the_supabase_route_sets_the_password::<
            integration_tests::app::Memory,
        >()
        .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_reset_asked_on_the_supabase_route_sets_the_password() {
        super::the_full_reset_asked_on_the_supabase_route_sets_the_password::<
            integration_tests::app::Dynamo,
        >()
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_request_mails_through_ses_on_moto_to_the_stored_address_and_the_code_works() {
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("supabase-ses", "Example App", &ENV).await;
    let r = app
        .call_path(
            PATH,
            json!({"email": stored.to_ascii_uppercase(), "callback_origin": "https://admin.example.com"}),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"ok": true, "message": REQUEST_ACCEPTED_MESSAGE})
    );
    let link = crate::ses::the_one_link_mailed_to(&stored).await;
    assert!(
        link.starts_with("https://admin.example.com/reset?from=mail&code="),
        "{link}"
    );
    let code = code_in(&link);
    let r = app
        .call(
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));
}
