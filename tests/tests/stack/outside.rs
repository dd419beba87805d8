//! The Stack routes with what lies outside the service: the CAPTCHA provider, the Lambda
//! runtime's events, the event sink and the breached-password API.

use super::*;

mod captcha {
    //! The CAPTCHA (issue 14) on the public `send-reset-code`, against a fake provider.

    use super::*;
    use integration_tests::fake_api::{FakeApi, Reply as Fake};

    const TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";

    fn app_against(url: &str) -> EdgeApp {
        EdgeApp::with_env(&[
            STACK_ENV[0],
            STACK_ENV[1],
            STACK_ENV[2],
            ("CAPTCHA_PROVIDER", "turnstile"),
            ("CAPTCHA_SECRET", "captcha-test-secret"),
            ("CAPTCHA_VERIFY_URL", url),
        ])
    }

    fn verdict(success: bool) -> Fake {
        Fake::Body(200, json!({"success": success}).to_string())
    }

    #[tokio::test]
    async fn send_reset_code_without_a_captcha_token_is_a_schema_error_and_asks_nobody() {
        let provider = FakeApi::start(verdict(true)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let before = app.snapshot();
        let r = post(
            &app,
            SEND_RESET_CODE_PATH,
            json!({"email": ADA, "callback_url": SEED_CALLBACK}),
        )
        .await;
        assert_stack_error(&r, StatusCode::BAD_REQUEST, "SCHEMA_ERROR");
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .contains("body.captcha_token ")
        );
        assert!(provider.received().is_empty());
        assert_eq!(app.snapshot(), before);
    }

    #[tokio::test]
    async fn a_refused_captcha_token_is_a_schema_error_and_nothing_is_looked_up() {
        let provider = FakeApi::start(verdict(false)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let before = app.snapshot();
        let body = json!({"email": ADA, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
        let r = post(&app, SEND_RESET_CODE_PATH, body).await;
        assert_stack_error(&r, StatusCode::BAD_REQUEST, "SCHEMA_ERROR");
        assert_eq!(provider.received().len(), 1);
        assert_eq!(app.snapshot(), before);
    }

    #[tokio::test]
    async fn an_accepted_captcha_token_lets_send_reset_code_through_alike_for_every_address() {
        let provider = FakeApi::start(verdict(true)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let mut answers = Vec::new();
        for email in [ADA, "nobody@example.com"] {
            let body =
                json!({"email": email, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
            let r = post(&app, SEND_RESET_CODE_PATH, body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
            answers.push((r.headers, r.raw));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(app.mailer.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_provider_that_does_not_answer_is_a_stack_503_with_retry_after() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let app = app_against(&format!("http://127.0.0.1:{port}/siteverify"));
        let before = app.snapshot();
        let body = json!({"email": ADA, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
        let r = post(&app, SEND_RESET_CODE_PATH, body).await;
        assert_stack_error(&r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
        assert_eq!(
            r.headers["retry-after"],
            shared::http::THIRD_PARTY_RETRY_AFTER_SECS
                .to_string()
                .as_str()
        );
        assert_eq!(app.snapshot(), before);
    }
}

/// An API Gateway v2 event for `path` (the `sam local` fixture, re-pointed), with Stack's headers.
fn v2_event(
    path: &str,
    body: &Value,
    key: &str,
) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["routeKey"] = format!("POST {path}").into();
    event["headers"]["x-stack-project-id"] = PROJECT.into();
    event["headers"]["x-stack-publishable-client-key"] = key.into();
    event["body"] = body.to_string().into();
    event["isBase64Encoded"] = false.into();
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn the_lambda_edge_answers_a_stack_path_in_stacks_dialect_on_the_function_of_its_operation() {
    use lambda_http::aws_lambda_events::encodings::Body;
    use shared::http::lambda::handle_v2_event;
    use shared::service::Operation;
    let app = app();
    let text = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse| match &r.body {
        Some(Body::Text(t)) => serde_json::from_str::<Value>(t).unwrap(),
        other => panic!("a text body, not {other:?}"),
    };
    let ok = handle_v2_event(
        &app.service,
        Operation::Check,
        v2_event(CHECK_CODE_PATH, &json!({"code": "RESET_CODE_HERE"}), KEY),
    )
    .await;
    assert_eq!(ok.status_code, 200);
    assert_eq!(text(&ok), json!({"is_valid": false}));
    let refused = handle_v2_event(
        &app.service,
        Operation::Check,
        v2_event(CHECK_CODE_PATH, &json!({"code": "x"}), "pck_wrong"),
    )
    .await;
    assert_eq!(refused.status_code, 401);
    assert_eq!(text(&refused)["code"], "INVALID_PUBLISHABLE_CLIENT_KEY");
    assert_eq!(
        refused.headers["x-stack-known-error"],
        "INVALID_PUBLISHABLE_CLIENT_KEY"
    );
    // The request function answers send-reset-code in Stack's shape too.
    let sent = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(
            SEND_RESET_CODE_PATH,
            &json!({"email": ADA, "callback_url": SEED_CALLBACK}),
            KEY,
        ),
    )
    .await;
    assert_eq!(sent.status_code, 200);
    assert_eq!(text(&sent), json!({"success": SEND_RESET_CODE_SUCCESS}));
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn events_from_the_stack_routes_name_the_stack_dialect_and_route() {
    let app = app();
    let code = stack_code_for_ada(&app).await;
    post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": NEW_PASSWORD}),
    )
    .await;
    let details: Vec<Value> = app.events.events().iter().map(|e| e.detail()).collect();
    assert_eq!(details.len(), 2, "requested and completed: {details:?}");
    assert_eq!(details[0]["dialect"], "stack");
    assert_eq!(details[0]["route"], SEND_RESET_CODE_PATH);
    assert_eq!(details[1]["dialect"], "stack");
    assert_eq!(details[1]["route"], RESET_PATH);
    // The native route's events stay native.
    app.code_for_ada().await;
    let last = app.events.events().pop().unwrap().detail();
    assert_eq!(
        (last["dialect"].as_str(), last["route"].as_str()),
        (Some("native"), Some("/password-reset/request"))
    );
}

#[tokio::test]
async fn a_breached_password_is_stacks_requirements_not_met_and_the_code_stays_valid() {
    use integration_tests::fake_api::{FakeApi, Reply as Fake};
    use sha1::{Digest, Sha1};
    let breached = "correct horse battery staple";
    let sha1: String = Sha1::digest(breached.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let range = FakeApi::start(Fake::Body(200, format!("{}:42", &sha1[5..]))).await;
    let url = range.url();
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("PWNED_PASSWORDS_URL", url.as_str()),
    ]);
    let code = stack_code_for_ada(&app).await;
    let r = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": breached}),
    )
    .await;
    assert_stack_error(&r, StatusCode::BAD_REQUEST, "PASSWORD_REQUIREMENTS_NOT_MET");
    assert!(
        r.json["error"].as_str().unwrap().contains("breach"),
        "{}",
        r.raw
    );
    assert_eq!(
        post(&app, CHECK_CODE_PATH, json!({"code": code}))
            .await
            .json,
        json!({"is_valid": true})
    );
}
