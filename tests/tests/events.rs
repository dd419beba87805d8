//! Every API Gateway v2 event in `tests/events/` (the files `sam local invoke -e` and
//! `cargo lambda invoke --data-file` take) through the real Lambda handler, with the status
//! tests/events/README.md documents. Also: base64-encoded bodies are decoded, and the client
//! IP comes from `requestContext.http.sourceIp`, never from `X-Forwarded-For`.

use std::path::PathBuf;

use base64::Engine;
use integration_tests::edge::{self, EdgeApp};
use serde_json::Value;
use shared::http::lambda::{handle_event, source_ip};
use shared::service::Operation;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

fn operation_of(event: &Value) -> Operation {
    let path = event["rawPath"].as_str().expect("rawPath");
    shared::http::route(path).expect("a served route")
}

async fn invoke(app: &EdgeApp, event: &Value) -> (u16, Value) {
    let op = operation_of(event);
    let request = lambda_http::request::from_str(&event.to_string()).expect("a v2 event");
    let response = handle_event(&app.service, op, request)
        .await
        .expect("Ok response");
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("JSON body");
    (status, body)
}

/// (file, status, `code` of the error body or None for a success)
pub(crate) const DOCUMENTED: &[(&str, u16, Option<&str>)] = &[
    ("request-ok.json", 200, None),
    ("request-bad-email.json", 400, Some("VALIDATION_FAILED")),
    ("check-ok.json", 200, None),
    ("check-bad-body.json", 400, Some("VALIDATION_FAILED")),
    ("consume-invalid-code.json", 400, Some("INVALID_CODE")),
    ("consume-weak-password.json", 400, Some("VALIDATION_FAILED")),
    ("revoke-without-server-key.json", 401, Some("UNAUTHORIZED")),
];

#[tokio::test]
async fn the_consume_function_also_answers_revoke_events() {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
    let app = EdgeApp::new();
    let raw = std::fs::read_to_string(events_dir().join("revoke-without-server-key.json")).unwrap();
    let event: ApiGatewayV2httpRequest = serde_json::from_str(&raw).unwrap();
    // The consume function's handler, as functions/consume runs it.
    let response =
        shared::http::lambda::handle_v2_event(&app.service, Operation::Consume, event).await;
    assert_eq!(
        response.status_code, 401,
        "routed to revoke, not to consume"
    );
    let body = match response.body {
        Some(lambda_http::aws_lambda_events::encodings::Body::Text(t)) => t,
        other => panic!("a text body, got {other:?}"),
    };
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn every_event_file_answers_the_status_its_readme_documents() {
    let readme = std::fs::read_to_string(events_dir().join("README.md")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut documented: Vec<String> = DOCUMENTED.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    documented.sort();
    assert_eq!(
        files, documented,
        "every event file has an expected status here"
    );

    for (file, status, code) in DOCUMENTED {
        let row = readme
            .lines()
            .find(|l| l.contains(&format!("`{file}`")))
            .unwrap_or_else(|| panic!("{file} is in tests/events/README.md"));
        assert!(
            row.contains(&format!("| {status} |")),
            "{file}: README says {status}"
        );
        let app = EdgeApp::new();
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(events_dir().join(file)).unwrap())
                .unwrap();
        assert_eq!(
            event["headers"]["content-type"], "application/json",
            "{file}"
        );
        let (got, body) = invoke(&app, &event).await;
        assert_eq!(got, *status, "{file}: {body}");
        assert_eq!(body["code"].as_str(), *code, "{file}");
        if let Some(code) = code {
            assert!(row.contains(code), "{file}: README names {code}");
        }
    }
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_not_rejected() {
    let app = EdgeApp::new();
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("request-ok.json")).unwrap(),
    )
    .unwrap();
    let body = event["body"]
        .as_str()
        .unwrap()
        .replace("demo@example.com", edge::ADA);
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    event["isBase64Encoded"] = true.into();
    let (status, reply) = invoke(&app, &event).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn the_client_ip_is_the_source_ip_not_a_forwarded_header() {
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("check-ok.json")).unwrap())
            .unwrap();
    event["headers"]["x-forwarded-for"] = "192.0.2.99".into();
    event["requestContext"]["http"]["sourceIp"] = "198.51.100.23".into();
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(source_ip(&request), Some("198.51.100.23".parse().unwrap()));

    // And the limit follows it: three calls allowed, the fourth refused, whatever the header.
    let app = EdgeApp::with_env(&[("RATE_LIMIT_CHECK", "3/600")]);
    for i in 0..4 {
        event["headers"]["x-forwarded-for"] = format!("192.0.2.{i}").into();
        let (status, _) = invoke(&app, &event).await;
        assert_eq!(status, if i < 3 { 200 } else { 429 });
    }
}
