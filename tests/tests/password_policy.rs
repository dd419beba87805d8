//! The configured password policy at the HTTP edge and in consume: the length bounds follow
//! `PASSWORD_MIN_LENGTH` / `PASSWORD_MAX_LENGTH`, and a password built on the app's name (known
//! when the body is parsed) or on the account's address (known once the code's user is read)
//! is refused without spending the code.

use http::StatusCode;

use integration_tests::edge::{ADA_STORED, EdgeApp};

#[tokio::test]
async fn the_length_bounds_follow_the_settings() {
    let app = EdgeApp::with_env(&[("PASSWORD_MIN_LENGTH", "12"), ("PASSWORD_MAX_LENGTH", "20")]);
    let code = app.code_for_ada().await;
    for (password, message) in [
        ("eleven char", "must be at least 12 characters"),
        ("twenty-one characters", "must be at most 20 characters"),
    ] {
        let refused = app.consume(&code, password).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.raw);
        assert_eq!(refused.json["field_errors"]["password"], message);
    }
    assert_eq!(app.check(&code).await.json["is_valid"], true);
    let set = app.consume(&code, "twelve chars").await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);

    let defaults = EdgeApp::new();
    let code = defaults.code_for_ada().await;
    let refused = defaults.consume(&code, &"x".repeat(129)).await;
    assert_eq!(
        refused.json["field_errors"]["password"],
        "must be at most 128 characters"
    );
}

#[tokio::test]
async fn a_password_built_on_the_accounts_address_or_the_app_name_is_refused_and_the_code_stays_valid()
 {
    let app = EdgeApp::with_env(&[("APP_NAME", "Acme Widgets")]);
    let code = app.code_for_ada().await;
    let before = app.ada_hash();
    let local = ADA_STORED.split('@').next().unwrap();
    for password in [
        ADA_STORED.to_owned(),
        format!("{}!2024", ADA_STORED.to_uppercase()),
        "AcmeWidgets2024".to_owned(),
        "acme widgets 1".to_owned(),
        // The local part `ada` is too short to count; the address with a year is not.
        format!("{local}@example.com-1815"),
    ] {
        let refused = app.consume(&code, &password).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{password}: {}",
            refused.raw
        );
        assert_eq!(
            refused.json["field_errors"]["password"],
            "must not be built on your email address or the app's name",
            "{password}"
        );
        assert!(
            !refused.raw.contains(&password),
            "the answer never repeats it"
        );
    }
    assert_eq!(app.ada_hash(), before);
    assert_eq!(app.check(&code).await.json["is_valid"], true, "not spent");

    let set = app.consume(&code, "ada's acme widgets were the best").await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);
}

#[tokio::test]
async fn a_context_word_password_with_a_wrong_code_says_only_that_the_code_is_invalid() {
    // The address is known only through a valid code: a wrong code learns nothing about it.
    let app = EdgeApp::new();
    app.code_for_ada().await;
    let reply = app.consume(&"x".repeat(43), ADA_STORED).await;
    assert_eq!(reply.code(), "INVALID_CODE", "{}", reply.raw);
}
