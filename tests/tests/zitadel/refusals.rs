//! What the Zitadel routes refuse and how: the key before anything is read, an unknown user,
//! SMS, templates off the allowed origins, bad bodies, the cap, another user's code, and the
//! dialect switch; each refusal writes and mails nothing.

use super::*;

fn add_bob(app: &EdgeApp) {
    app.store.put_user(
        UserId::parse("user-bob").unwrap(),
        EmailAddress::parse("bob@example.com").unwrap(),
        None,
    );
}

#[tokio::test]
async fn an_unknown_user_is_a_404_in_zitadels_shape_and_nothing_is_written_or_mailed() {
    let app = app();
    let before = app.snapshot();
    for body in [json!({"returnCode": {}}), json!({})] {
        let r = post(&app, &reset_path("user-nobody"), body).await;
        assert_zitadel_error(&r, StatusCode::NOT_FOUND, 5);
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn no_or_a_wrong_key_is_a_401_before_any_lookup_on_both_routes() {
    let app = app();
    let before = app.snapshot();
    let wrong = "Bearer not-the-server-key".to_owned();
    let raw_key = SERVER_KEY.to_owned();
    for path in [reset_path(ADA_ID), password_path(ADA_ID)] {
        for auth in [None, Some(&wrong), Some(&raw_key)] {
            // Even a body that is not JSON: the key is judged first.
            for body in [r#"{"returnCode":{}}"#, "not json"] {
                let mut req = EdgeApp::request(body);
                if let Some(a) = auth {
                    req.headers
                        .insert("authorization", HeaderValue::from_str(a).unwrap());
                }
                let r = app.send_path(&path, req).await;
                assert_zitadel_error(&r, StatusCode::UNAUTHORIZED, 16);
                assert!(!r.raw.contains(SERVER_KEY), "no key echoed");
            }
        }
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.events.events().is_empty());
}

#[tokio::test]
async fn sms_is_a_clear_400_and_nothing_is_written_or_mailed() {
    let app = app();
    let before = app.snapshot();
    for kind in [json!("NOTIFICATION_TYPE_SMS"), json!(2)] {
        let body = json!({"sendLink": {"notificationType": kind, "urlTemplate": SEED_TEMPLATE}});
        let r = post(&app, &reset_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(
            r.json["message"]
                .as_str()
                .unwrap()
                .contains("no SMS channel"),
            "{}",
            r.raw
        );
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn a_template_off_the_allowed_origins_or_without_its_org_is_a_400_and_changes_nothing() {
    let app = app();
    let no_org = EdgeApp::with_env(&[ENV[0], ENV[1], ENV[2]]);
    let before = (app.snapshot(), no_org.snapshot());
    for (app, template, says) in [
        (
            &app,
            "https://evil.example.net/r?c={{.Code}}",
            "origin is not allowed",
        ),
        (
            &app,
            "https://{{.UserID}}.example.com/r?c={{.Code}}",
            "origin is not allowed",
        ),
        (&app, "https://example.com/r?user={{.UserID}}", "{{.Code}}"),
        (&app, "javascript:alert('{{.Code}}')", "https"),
        (&no_org, SEED_TEMPLATE, "ZITADEL_ORG_ID"),
    ] {
        let body = json!({"sendLink": {"urlTemplate": template}});
        let r = post(app, &reset_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        let message = r.json["message"].as_str().unwrap();
        assert!(
            message.contains("sendLink.urlTemplate"),
            "{template}: {message}"
        );
        assert!(message.contains(says), "{template}: {message}");
    }
    assert_eq!((app.snapshot(), no_org.snapshot()), before);
}

#[tokio::test]
async fn bad_bodies_are_400s_in_zitadels_shape_and_change_nothing() {
    let app = app();
    let before = app.snapshot();
    for (path, body) in [
        (reset_path(ADA_ID), json!({"email": ADA})),
        (reset_path(ADA_ID), json!({"returnCode": true})),
        (reset_path(ADA_ID), json!({"returnCode": {"x": 1}})),
        (reset_path(ADA_ID), json!({"sendLink": {"urlTemplate": 7}})),
        (
            reset_path(ADA_ID),
            json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Fax"}}),
        ),
        (
            reset_path(ADA_ID),
            json!({"returnCode": {}, "return_code": {}}),
        ),
        (password_path(ADA_ID), json!({})),
        (
            password_path(ADA_ID),
            json!({"newPassword": {"password": NEW_PASSWORD}}),
        ),
        (password_path(ADA_ID), json!({"verificationCode": "x"})),
        (
            password_path(ADA_ID),
            json!({"newPassword": "x", "verificationCode": "x"}),
        ),
    ] {
        let r = post(&app, &path, body.clone()).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(!r.raw.contains(NEW_PASSWORD), "no password echoed");
        let _ = body;
    }
    let r = post(&app, &reset_path("%ZZ"), json!({})).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    let mut req = EdgeApp::request("{}");
    req.headers
        .insert("authorization", HeaderValue::from_str(&bearer()).unwrap());
    req.method = Method::GET;
    let r = app.send_path(&reset_path(ADA_ID), req).await;
    assert_zitadel_error(&r, StatusCode::METHOD_NOT_ALLOWED, 12);
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn the_cap_is_a_429_with_retry_after_in_zitadels_shape() {
    let app = EdgeApp::with_env(&[
        ENV[0],
        ENV[1],
        ENV[2],
        ENV[3],
        ("MAX_CONCURRENT_REQUESTS", "1"),
    ]);
    returned_code(&app).await;
    let r = post(&app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
    assert_zitadel_error(&r, StatusCode::TOO_MANY_REQUESTS, 8);
    assert_eq!(r.headers["retry-after"], "3600");
}

#[tokio::test]
async fn another_users_code_is_refused_and_stays_usable_by_its_owner() {
    let app = app();
    add_bob(&app);
    let ada_code = returned_code(&app).await;
    let before = app.snapshot();
    let body =
        |code: &str| json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let r = post(&app, &password_path("user-bob"), body(&ada_code)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert!(!r.raw.contains(&ada_code), "no code echoed");
    let r = post(&app, &password_path("user-nobody"), body(&ada_code)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert_eq!(app.snapshot(), before, "nothing written");
    // Ada's code still works, for Ada.
    assert_eq!(app.check(&ada_code).await.json["is_valid"], true);
    let r = post(&app, &password_path(ADA_ID), body(&ada_code)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
}

#[tokio::test]
async fn change_required_and_weak_passwords_are_refused_and_the_code_stays_valid() {
    let app = app();
    let code = returned_code(&app).await;
    let before = app.snapshot();
    for (password, change_required, says) in [
        (NEW_PASSWORD, true, "changeRequired"),
        ("short", false, "newPassword.password"),
        ("ada@example.com1", false, "newPassword.password"),
    ] {
        let body = json!({
            "newPassword": {"password": password, "changeRequired": change_required},
            "verificationCode": code
        });
        let r = post(&app, &password_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(
            r.json["message"].as_str().unwrap().contains(says),
            "{}",
            r.raw
        );
        assert!(!r.raw.contains(&code) && !r.raw.contains(password));
    }
    assert_eq!(app.snapshot(), before);
    assert_eq!(app.check(&code).await.json["is_valid"], true);
}

#[tokio::test]
async fn without_api_dialects_zitadel_or_the_server_key_the_routes_are_not_there() {
    for app in [
        EdgeApp::with_env(&[("API_DIALECTS", "native")]),
        EdgeApp::with_env(&[ENV[0], ("SERVER_KEY_SHA256", "")]),
    ] {
        let r = post(&app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
        assert!(app.mailer.sent().is_empty());
    }
}

#[tokio::test]
async fn a_mailed_short_code_is_a_verification_code_for_its_own_user_only() {
    let app = app();
    add_bob(&app);
    let body = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email"}});
    let r = post(&app, &reset_path(ADA_ID), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let otp = app
        .mailer
        .sent()
        .pop()
        .and_then(|m| m.otp)
        .expect("RESET_METHOD=both mails a short code");
    let set =
        |code: &str| json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    // Bob's account: the code is looked up under Bob's address, where it is no code.
    let r = post(&app, &password_path("user-bob"), set(&otp)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert!(!r.raw.contains(&otp), "no code echoed");
    let r = post(&app, &password_path("user-nobody"), set(&otp)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    // Ada's: it sets her password and is spent.
    let r = post(&app, &password_path(ADA_ID), set(&otp)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert!(shared::hashing::verify(
        NEW_PASSWORD,
        &app.ada_hash().unwrap()
    ));
    let r = post(&app, &password_path(ADA_ID), set(&otp)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
}
