//! Short codes (issue 15) through the HTTP edge, on BOTH stores (memory, DynamoDB on moto): the
//! mail carries an `OTP_LENGTH`-digit code; `check` and `consume` take `{"email", "otp"}`; every
//! compared try counts against `OTP_MAX_ATTEMPTS`, and the try after the last one fails even
//! with the right code; unknown addresses get the answers a wrong code gets. The races (50
//! concurrent guesses, 20 concurrent consumes) are forced at the store in `conformance`.

use http::StatusCode;
use integration_tests::app::{Backend, TestApp, code_in};
use serde_json::{Value, json};
use shared::hashing;
use shared::mail::Mail;
use shared::service::Operation;

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "correct horse battery staple";

/// The newest reset mail (the "changed" notice is not one: it has no code).
fn reset_mail<B>(app: &TestApp<B>) -> Mail {
    app.inbox
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.otp.is_some() || m.link.is_some())
        .expect("a reset mail was sent")
}

/// A code of the same length that is not `otp`.
fn wrong(otp: &str) -> String {
    otp.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

/// Whether a dump of the reset table (DynamoDB items, or the memory store's records) holds a
/// short code's hash.
fn holds_a_short_code(dump: &str) -> bool {
    dump.contains("\"otp\"") || dump.contains("short_code: Some")
}

async fn ask<B: Backend>(app: &TestApp<B>) -> Mail {
    let r = app.call(Operation::Request, json!({"email": ADA})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    reset_mail(app)
}

async fn check_otp<B: Backend>(app: &TestApp<B>, email: &str, otp: &str) -> Value {
    let r = app
        .call(Operation::Check, json!({"email": email, "otp": otp}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn consume_otp<B: Backend>(
    app: &TestApp<B>,
    email: &str,
    otp: &str,
) -> integration_tests::app::Response {
    app.call(
        Operation::Consume,
        json!({"email": email, "otp": otp, "password": NEW_PASSWORD}),
    )
    .await
}

fn assert_invalid_code(r: &integration_tests::app::Response) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], "INVALID_CODE", "{}", r.body);
}

async fn the_mailed_short_code_checks_and_sets_the_password_once<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-flow", &[], ADA).await;
    let mail = ask(&app).await;
    let otp = mail
        .otp
        .clone()
        .expect("RESET_METHOD=both mails a short code");
    assert_eq!(otp.len(), 8, "OTP_LENGTH's default");
    assert!(otp.bytes().all(|b| b.is_ascii_digit()), "{otp}");
    assert!(mail.text.contains(&otp) && mail.html.contains(&otp));
    let link = mail.link.clone().expect("and the link");

    let checked = check_otp(&app, ADA, &otp).await;
    assert_eq!(checked["is_valid"], true, "{checked}");
    assert!(checked["expires_at"].is_string(), "{checked}");
    // The address is found as typed, whatever its case.
    let checked = check_otp(&app, "ADA@Example.com", &otp).await;
    assert_eq!(checked["is_valid"], true, "{checked}");

    let r = consume_otp(&app, ADA, &otp).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"ok": true}));
    let stored = app.backend.password_hash("user-ada").await.expect("set");
    assert!(hashing::verify(NEW_PASSWORD, &stored), "signs in with it");

    // Spent: the short code and the link of the same mail are one token.
    assert_invalid_code(&consume_otp(&app, ADA, &otp).await);
    let r = app
        .call(Operation::Check, json!({"code": code_in(&link).expose()}))
        .await;
    assert_eq!(r.body, json!({"is_valid": false}));
    assert!(
        !app.backend.reset_table_dump().await.contains(&otp),
        "the table never holds the digits"
    );
}

async fn the_try_after_the_maximum_fails_even_with_the_right_code_and_the_link_still_works<
    B: Backend,
>() {
    let app = TestApp::<B>::with_user("otp-max", &[("OTP_MAX_ATTEMPTS", "3")], ADA).await;
    let mail = ask(&app).await;
    let otp = mail.otp.clone().unwrap();
    assert!(holds_a_short_code(&app.backend.reset_table_dump().await));
    for _ in 0..3 {
        let checked = check_otp(&app, ADA, &wrong(&otp)).await;
        assert_eq!(checked, json!({"is_valid": false}));
    }
    assert_eq!(
        check_otp(&app, ADA, &otp).await,
        json!({"is_valid": false}),
        "the 4th try, right code"
    );
    assert_invalid_code(&consume_otp(&app, ADA, &otp).await);
    assert_eq!(app.backend.password_hash("user-ada").await, None);
    let dump = app.backend.reset_table_dump().await;
    assert!(
        !holds_a_short_code(&dump),
        "the address's short codes are revoked: {dump}"
    );

    // RESET_METHOD=both: the link in the same mail still works.
    let code = code_in(mail.link.as_deref().unwrap());
    let r = app
        .call(
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn a_right_code_does_not_reset_the_tries<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-right", &[("OTP_MAX_ATTEMPTS", "3")], ADA).await;
    let otp = ask(&app).await.otp.unwrap();
    assert_eq!(check_otp(&app, ADA, &wrong(&otp)).await["is_valid"], false);
    assert_eq!(check_otp(&app, ADA, &otp).await["is_valid"], true);
    assert_eq!(check_otp(&app, ADA, &wrong(&otp)).await["is_valid"], false);
    assert_invalid_code(&consume_otp(&app, ADA, &otp).await);
}

async fn an_unknown_address_gets_the_answers_a_wrong_code_gets<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-enum", &[], ADA).await;
    let otp = ask(&app).await.otp.unwrap();
    let bad = wrong(&otp);
    for (op, body) in [
        (Operation::Check, json!({"otp": bad})),
        (
            Operation::Consume,
            json!({"otp": bad, "password": NEW_PASSWORD}),
        ),
    ] {
        let with = |email: &str| {
            let mut b = body.clone();
            b["email"] = json!(email);
            b
        };
        let known = app.call(op, with(ADA)).await;
        let unknown = app.call(op, with("nobody@example.com")).await;
        assert_eq!(known.status, unknown.status, "{op:?}");
        assert_eq!(known.body, unknown.body, "{op:?}");
        let names = |r: &integration_tests::app::Response| {
            let mut n: Vec<_> = r.headers.keys().map(|k| k.as_str().to_owned()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&known), names(&unknown), "{op:?}");
    }
    // That an address with no account runs out of tries like one with an account is held at
    // the store, on both: conformance::short_code_tries_stop_at_the_maximum_until_their_window_ends.
}

async fn an_otp_that_cannot_be_a_code_spends_no_try<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-shape", &[("OTP_MAX_ATTEMPTS", "1")], ADA).await;
    let otp = ask(&app).await.otp.unwrap();
    for junk in [
        "",
        "1234567",
        "123456789",
        "12ab5678",
        "１２３４５６７８",
        " 12345678",
    ] {
        assert_eq!(
            check_otp(&app, ADA, junk).await,
            json!({"is_valid": false}),
            "{junk:?}"
        );
    }
    assert_eq!(
        check_otp(&app, ADA, &otp).await["is_valid"],
        true,
        "the one try is still there"
    );
}

async fn bad_short_code_bodies_are_structured_400s_that_change_nothing<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-bodies", &[("OTP_MAX_ATTEMPTS", "1")], ADA).await;
    let mail = ask(&app).await;
    let otp = mail.otp.clone().unwrap();
    let code = code_in(mail.link.as_deref().unwrap());
    let tokens = app.backend.token_items().await;
    for (body, field) in [
        (
            json!({"code": code.expose(), "email": ADA, "otp": otp}),
            "code",
        ),
        (json!({"code": code.expose(), "otp": otp}), "code"),
        (json!({"otp": otp}), "email"),
        (json!({"email": ADA}), "otp"),
        (json!({"email": "not an address", "otp": otp}), "email"),
        (json!({"email": ADA, "otp": 12345678}), "otp"),
        (json!({"email": ["ada@example.com"], "otp": otp}), "email"),
    ] {
        for op in [Operation::Check, Operation::Consume] {
            let mut body = body.clone();
            if op == Operation::Consume {
                body["password"] = json!(NEW_PASSWORD);
            }
            let r = app.call(op, body.clone()).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{op:?} {body}: {}",
                r.body
            );
            assert_eq!(r.body["code"], "VALIDATION_FAILED", "{body}: {}", r.body);
            assert!(
                r.body["field_errors"][field].is_string(),
                "{op:?} {body}: {}",
                r.body
            );
        }
    }
    assert_eq!(app.backend.token_items().await, tokens);
    assert!(
        !app.backend.reset_table_dump().await.contains("ATTEMPTS"),
        "no try counted"
    );
    assert_eq!(check_otp(&app, ADA, &otp).await["is_valid"], true);
}

async fn reset_method_link_mails_no_short_code_and_takes_none<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-link", &[("RESET_METHOD", "link")], ADA).await;
    let mail = ask(&app).await;
    assert_eq!(mail.otp, None);
    assert!(mail.link.is_some());
    assert!(!holds_a_short_code(&app.backend.reset_table_dump().await));
    let r = app
        .call(Operation::Check, json!({"email": ADA, "otp": "12345678"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["field_errors"]["otp"], "is not a known field");
}

async fn reset_method_code_mails_the_short_code_without_the_link<B: Backend>() {
    let overrides = [("RESET_METHOD", "code"), ("OTP_LENGTH", "6")];
    let app = TestApp::<B>::with_user("otp-code", &overrides, ADA).await;
    let mail = ask(&app).await;
    assert_eq!(mail.link, None);
    let otp = mail.otp.clone().expect("a short code");
    assert_eq!(otp.len(), 6);
    assert!(!mail.text.contains("code=") && !mail.html.contains("code="));
    assert!(mail.text.contains("This code works once"), "{}", mail.text);
    let r = consume_otp(&app, ADA, &otp).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn a_code_issued_during_a_window_meets_no_fresh_window_while_it_lives<B: Backend>() {
    let app = TestApp::<B>::with_user("otp-stretch", &[("OTP_MAX_ATTEMPTS", "3")], ADA).await;
    let first = ask(&app).await.otp.unwrap();
    // Two wrong tries open a window that would end one TTL from now.
    for _ in 0..2 {
        assert_eq!(
            check_otp(&app, ADA, &wrong(&first)).await["is_valid"],
            false
        );
    }
    // Half a TTL later a second code is mailed: it lives half a TTL past that window.
    app.advance(integration_tests::app::TTL / 2);
    let second = ask(&app).await.otp.unwrap();
    // Past the window's first end: the third try is still in the same window, and the last.
    app.advance(integration_tests::app::TTL / 2 + 1);
    assert_eq!(
        check_otp(&app, ADA, &wrong(&second)).await["is_valid"],
        false
    );
    assert_eq!(
        check_otp(&app, ADA, &second).await["is_valid"],
        false,
        "no fresh tries for a code that lived through the window"
    );
}

integration_tests::on_both_stores!(
    the_mailed_short_code_checks_and_sets_the_password_once,
    the_try_after_the_maximum_fails_even_with_the_right_code_and_the_link_still_works,
    a_right_code_does_not_reset_the_tries,
    an_unknown_address_gets_the_answers_a_wrong_code_gets,
    an_otp_that_cannot_be_a_code_spends_no_try,
    bad_short_code_bodies_are_structured_400s_that_change_nothing,
    reset_method_link_mails_no_short_code_and_takes_none,
    reset_method_code_mails_the_short_code_without_the_link,
    a_code_issued_during_a_window_meets_no_fresh_window_while_it_lives,
);
