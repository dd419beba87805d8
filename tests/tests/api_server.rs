//! Server callers at the HTTP edge (the server key as bearer), on the memory store with a fixed
//! clock: the key check, the code handed back, templated links, a lower cap and the answer for
//! an unknown user.

use http::{HeaderValue, StatusCode};
use integration_tests::edge::*;
use serde_json::json;
use shared::service::Operation::Request;

#[tokio::test]
async fn a_templated_link_is_mailed_re_serialised() {
    let app = EdgeApp::new();
    let body = json!({"user_id": ADA_ID, "url_template": "HTTPS://App.Example.com:443/a/../u/{{.UserID}}/reset?c={{.Code}}"});
    let r = app.post_as_server(Request, &body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let link = app.mailer.sent()[0].link.clone().unwrap();
    assert!(
        link.starts_with("https://app.example.com/u/user-ada/reset?c="),
        "the URL as parsed, not the raw template: {}",
        link.len()
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let app = EdgeApp::new();
        let mut req = EdgeApp::request(
            &json!({"user_id": ADA_ID, "return_code": true, "send_email": false}).to_string(),
        );
        req.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("{scheme} {SERVER_KEY}")).unwrap(),
        );
        let r = app.send(Request, req).await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.raw);
        assert!(r.json["code"].is_string(), "{scheme}: a server caller");
    }
}

#[tokio::test]
async fn wrong_missing_or_short_server_keys_are_401() {
    let app = EdgeApp::new();
    for auth in [
        "Bearer wrong-key-wrong-key-wrong-key",
        "Bearer ",
        "Bearer x",
        "Basic abc",
        SERVER_KEY,
        format!("Bearer{SERVER_KEY}").as_str(),
    ] {
        let mut req = EdgeApp::request(r#"{"email":"ada@example.com"}"#);
        req.headers
            .insert("authorization", HeaderValue::from_str(auth).unwrap());
        let r = app.send(Request, req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{auth}"
        );
    }
    let unconfigured = EdgeApp::with_env(&[("SERVER_KEY_SHA256", "")]);
    let mut req = EdgeApp::request(r#"{"email":"ada@example.com"}"#);
    req.headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {SERVER_KEY}")).unwrap(),
    );
    assert_eq!(
        unconfigured.send(Request, req).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(app.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_server_caller_can_get_the_code_back_without_any_mail() {
    let app = EdgeApp::new();
    let r = app
        .post_as_server(
            Request,
            &json!({"user_id": ADA_ID, "return_code": true, "send_email": false}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.json["user_id"], ADA_ID);
    assert_eq!(r.json["expires_at"], "2027-01-15T09:00:00Z");
    let code = r.json["code"].as_str().unwrap().to_owned();
    assert!(app.mailer.sent().is_empty());
    assert_eq!(app.check(&code).await.json["is_valid"], true);
    assert_eq!(
        app.consume(&code, "set by the app").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_server_caller_can_template_the_link_and_lower_the_cap() {
    let app = EdgeApp::new();
    let body = json!({"email": ADA, "url_template": "https://app.example.com/u/{{.UserID}}/reset?c={{.Code}}", "max_concurrent_requests": 1});
    assert_eq!(
        app.post_as_server(Request, &body.to_string()).await.status,
        StatusCode::OK
    );
    let link = app.mailer.sent()[0].link.clone().unwrap();
    assert!(
        link.starts_with("https://app.example.com/u/user-ada/reset?c="),
        "{}",
        link.len()
    );
    assert_eq!(
        app.post_as_server(Request, &body.to_string()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let bad = json!({"email": ADA, "url_template": "https://evil.example.net/?c={{.Code}}"});
    let r = app.post_as_server(Request, &bad.to_string()).await;
    assert!(
        r.json["field_errors"]["url_template"].is_string(),
        "{}",
        r.raw
    );
}

#[tokio::test]
async fn a_server_caller_learns_that_a_user_does_not_exist() {
    let app = EdgeApp::new();
    for body in [
        json!({"user_id": "user-nobody"}),
        json!({"email": "nobody@example.com"}),
    ] {
        let r = app.post_as_server(Request, &body.to_string()).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    }
}
