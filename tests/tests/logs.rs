//! No secret reaches the logs: every line the service emits at TRACE level during full flows
//! (success, refusals, failures, server callers), on the memory store and on the real
//! DynamoDB and SES adapters on moto, is captured and searched for codes, passwords, hashes,
//! the token key and the server key. The subscriber is the functions' own
//! (`shared::logging::subscriber`, with `AWS_LAMBDA_LOG_LEVEL=TRACE` and `RUST_LOG` asking for
//! the SDK's TRACE lines), so a change that lifts its cap on the SDK fails here. Its own test
//! binary, because it installs a global subscriber. (tests/tests/runtime_logs.rs does the same
//! through the real `lambda_runtime` loop and function binaries.)

use std::sync::{Arc, OnceLock};

use http::{HeaderValue, StatusCode};
use integration_tests::app::{self as moto_app, Backend, Dynamo};
use integration_tests::edge::*;
use integration_tests::moto;
use serde_json::json;
use shared::logging::{Capture, Settings};
use shared::mail::recording::RecordingMailer;
use shared::mail::ses::SesMailer;
use shared::service::Operation::{Check, Consume, Request};

/// The functions' subscriber at TRACE, installed once for this binary, writing here.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let settings = Settings::from_lookup(|k| match k {
            "AWS_LAMBDA_LOG_LEVEL" => Some("TRACE".into()),
            "RUST_LOG" => Some("trace,aws_smithy_runtime=trace,aws_sigv4=trace,hyper=trace".into()),
            _ => None,
        });
        tracing::subscriber::set_global_default(shared::logging::subscriber(
            &settings,
            capture.clone(),
        ))
        .expect("the only subscriber of this binary");
        capture
    })
}

/// Everything logged so far, by every test of this binary.
fn logs() -> String {
    capture().text()
}

/// Lines the SDK writes at TRACE or DEBUG when they are not capped (request and response
/// bodies among them).
const SDK_TRACE_LINES: &[&str] = &[
    "transmitting request",
    "received response from service",
    "read HTTP response body",
    "signing request",
    "resolving endpoint",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_password_or_key_reaches_the_logs() {
    capture();
    let app = EdgeApp::new();
    let mut secrets = vec![
        TOKEN_KEY.to_owned(),
        SERVER_KEY.to_owned(),
        ADA_OLD_PASSWORD.to_owned(),
    ];

    // Success path, with the notice mail.
    let code = app.code_for_ada().await;
    secrets.push(code.clone());
    app.check(&code).await;
    app.consume(&code, "weak").await;
    secrets.push("weak".to_owned());
    let new_password = "the new secret passphrase";
    secrets.push(new_password.to_owned());
    assert_eq!(
        app.consume(&code, new_password).await.status,
        StatusCode::OK
    );
    // Spent code, unknown email, cap.
    app.consume(&code, "another secret passphrase").await;
    secrets.push("another secret passphrase".to_owned());
    for _ in 0..4 {
        app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    }
    // Server caller with return_code, then a failing mailer (error logs).
    let r = app
        .post_as_server(
            Request,
            &json!({"email": ADA, "return_code": true}).to_string(),
        )
        .await;
    secrets.push(r.json["code"].as_str().unwrap().to_owned());
    app.mailer.fail_with(Some("MessageRejected"));
    let r = app
        .post_as_server(
            Request,
            &json!({"email": ADA, "return_code": true}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    app.post(Request, &json!({"email": ADA}).to_string()).await;
    // A wrong server key.
    let mut req = EdgeApp::request(r#"{"email":"ada@example.com"}"#);
    let wrong_key = "Bearer a-wrong-but-secret-server-key";
    req.headers
        .insert("authorization", HeaderValue::from_static(wrong_key));
    app.send(Request, req).await;
    secrets.push("a-wrong-but-secret-server-key".to_owned());
    app.post(
        Consume,
        &json!({"code": code, "password": new_password}).to_string(),
    )
    .await;
    app.post(Check, &json!({"code": code}).to_string()).await;

    let logs = logs();
    assert!(
        logs.contains("password changed by reset"),
        "logs were captured"
    );
    assert!(
        logs.contains("reset mail not sent"),
        "error paths were logged"
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !logs.contains(secret.as_str()),
            "secret #{i} appears in the logs"
        );
    }
    // Debug output of the configuration redacts the key too.
    let config = format!("{:?}", app.service.config());
    assert!(
        !config.contains(TOKEN_KEY),
        "config Debug shows the token key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_and_ses_adapters_on_moto_log_no_secret_at_trace() {
    capture();
    let prefix = moto::unique_prefix("logs-moto");
    let sender = format!("reset.{prefix}@example.com");
    moto::verify_sender(&sender).await;
    let backend = Dynamo::start("logs-moto", &[("MAIL_FROM", &sender)]).await;
    let stored = format!("ada.{prefix}@example.com");
    backend.put_user("user-ada", &stored).await;
    let config = backend.config();
    let mailer = SesMailer::new(moto::sesv2(), config.mail.from.clone(), None);
    let app =
        moto_app::TestApp::with_mailer(backend, Arc::new(mailer), Arc::new(RecordingMailer::new()));

    // A server caller's request: the link goes out through SES (SendEmail on moto).
    let r = app.call_as_server(Request, json!({"email": stored})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mail = moto::mail_to(&stored).await;
    assert_eq!(mail.len(), 1, "one mail");
    let link = mail[0]
        .body
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link in the mail")
        .replace("&amp;", "&");
    let code = url::Url::parse(&link)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code in the link");

    // Check, a refused password, then consume: the argon2id hash goes out in the transaction.
    assert_eq!(
        app.call(Check, json!({"code": code})).await.status,
        StatusCode::OK
    );
    let weak = "weak";
    app.call(Consume, json!({"code": code, "password": weak}))
        .await;
    let new_password = "moto logs brand new passphrase";
    let r = app
        .call(Consume, json!({"code": code, "password": new_password}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = app
        .backend
        .password_hash("user-ada")
        .await
        .expect("a password hash was written");
    assert!(hash.starts_with("$argon2id$"));
    // A spent code, and a server caller that gets the code back (not in the logs either).
    app.call(
        Consume,
        json!({"code": code, "password": "another passphrase"}),
    )
    .await;
    let r = app
        .call_as_server(
            Request,
            json!({"email": stored, "return_code": true, "send_email": false}),
        )
        .await;
    let returned = r.body["code"]
        .as_str()
        .expect("the code is returned")
        .to_owned();

    let logs = logs();
    assert!(
        logs.contains("password changed by reset"),
        "logs were captured"
    );
    for line in SDK_TRACE_LINES {
        assert!(
            !logs.contains(line),
            "the SDK logged below INFO ({line:?}): the cap was lifted"
        );
    }
    for (name, secret) in [
        ("the code", code.as_str()),
        ("the returned code", returned.as_str()),
        ("the new password", new_password),
        ("the hash", hash.as_str()),
        ("the PHC prefix", "$argon2id$"),
        ("the token key", moto_app::TOKEN_KEY),
        ("the server key", moto_app::SERVER_KEY),
    ] {
        let leak = logs.lines().find(|l| l.contains(secret));
        assert!(
            leak.is_none(),
            "{name} reached the logs: {}",
            leak.unwrap_or_default()
        );
    }
}

/// The EMF lines of `namespace` in the captured logs: each parses as JSON on its own line and
/// declares the metric it carries. Returns (metric, operation) -> count.
fn emf_counts(namespace: &str) -> std::collections::BTreeMap<(String, String), u64> {
    let mut counts = std::collections::BTreeMap::new();
    let lines = logs();
    let objects = lines.lines().filter_map(|l| {
        serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .map(|v| (l, v))
    });
    for (line, emf) in objects.filter(|(_, v)| v.get("_aws").is_some()) {
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        if directive["Namespace"] != namespace {
            continue;
        }
        assert_eq!(directive["Dimensions"], json!([["operation", "dialect"]]));
        assert_eq!(emf["dialect"], "native");
        let name = directive["Metrics"][0]["Name"].as_str().unwrap().to_owned();
        assert_eq!(emf[&name], 1, "{line}");
        let operation = emf["operation"].as_str().unwrap().to_owned();
        *counts.entry((name, operation)).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metric_lines_are_emf_objects_that_carry_every_count() {
    capture();
    let namespace = "EmfCountsTest";
    let app = EdgeApp::with_env(&[
        ("METRICS_NAMESPACE", namespace),
        ("RATE_LIMIT_CHECK", "1/600"),
    ]);
    let code = app.code_for_ada().await; // issued
    for _ in 0..4 {
        // unknown address x3, then the cap's 429
        app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    }
    let ip = "192.0.2.77".parse().unwrap();
    let check = json!({"code": "x".repeat(43)}).to_string();
    app.post_from(Check, &check, ip).await; // invalid code
    app.post_from(Check, &check, ip).await; // the IP limit's 429
    app.events.fail_with(Some("InternalException"));
    assert_eq!(
        app.consume(&code, "a fine new passphrase").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.consume(&code, "a fine new passphrase").await.status,
        StatusCode::BAD_REQUEST
    );
    app.events.fail_with(None);
    app.mailer.fail_with(Some("MessageRejected"));
    app.post(Request, &json!({"email": ADA}).to_string()).await;

    let counts = emf_counts(namespace);
    let count = |metric: &str, op: &str| {
        counts
            .get(&(metric.to_owned(), op.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("CodesIssued", "request"), 2, "{counts:?}");
    assert_eq!(count("UnknownAddress", "request"), 3, "{counts:?}");
    assert_eq!(count("CapLimited", "request"), 1, "{counts:?}");
    assert_eq!(count("IpLimited", "check"), 1, "{counts:?}");
    assert_eq!(count("InvalidCode", "check"), 1, "{counts:?}");
    assert_eq!(count("PasswordsReset", "consume"), 1, "{counts:?}");
    assert_eq!(count("InvalidCode", "consume"), 1, "{counts:?}");
    assert_eq!(count("EventPutFailed", "consume"), 1, "{counts:?}");
    assert_eq!(count("MailFailed", "request"), 1, "{counts:?}");
    assert_eq!(counts.values().sum::<u64>(), 12, "nothing else: {counts:?}");
    assert!(
        !logs().lines().any(|l| l.contains("emf=")),
        "a metric is never also an ordinary log line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_that_does_not_answer_is_a_503_but_not_counted_as_the_store() {
    capture();
    let namespace = "EmfThirdPartyTest";
    // A port nothing listens on: the connection is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    let captcha = EdgeApp::with_env(&[
        ("METRICS_NAMESPACE", namespace),
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SECRET", "a-captcha-secret"),
        ("CAPTCHA_VERIFY_URL", &format!("{closed}/siteverify")),
    ]);
    let body = json!({"email": ADA, "captcha_token": "a-token"}).to_string();
    assert_eq!(
        captcha.post(Request, &body).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let breach = EdgeApp::with_env(&[
        ("METRICS_NAMESPACE", namespace),
        ("PWNED_PASSWORDS_URL", &closed),
        ("PWNED_PASSWORDS_FAIL_CLOSED", "true"),
    ]);
    let code = breach.code_for_ada().await; // issued
    assert_eq!(
        breach.consume(&code, "a fine new passphrase").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let counts = emf_counts(namespace);
    let expected = [(("CodesIssued".to_owned(), "request".to_owned()), 1)];
    assert_eq!(
        counts,
        expected.into_iter().collect(),
        "neither 503 is StoreUnavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_does_not_answer_is_a_503_counted_as_store_unavailable() {
    capture();
    let namespace = "EmfStoreTest";
    // DynamoDB at a port nothing listens on: every call is refused at once, the SDK's
    // dispatch failure, which the store answers as unavailable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = moto_app::config(
        "emf-store-reset",
        "emf-store-users",
        &[("METRICS_NAMESPACE", namespace)],
    );
    let db = moto::dynamodb_client_at(&format!("http://127.0.0.1:{port}"), 1);
    let service = shared::wiring::Adapters::aws(&config, db, moto::sesv2()).service(config);
    let check = json!({"code": "x".repeat(43)});
    let r = moto_app::call(&service, Check, check, &[], None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);

    let counts = emf_counts(namespace);
    let expected = [(("StoreUnavailable".to_owned(), "check".to_owned()), 1)];
    assert_eq!(counts, expected.into_iter().collect());
}

/// The Stack Auth dialect (issue 12): its routes log no code, password or publishable key, and
/// a dialect listed without its settings says so in one line at init.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_routes_log_no_secret_and_an_off_dialect_says_so_in_one_line() {
    use shared::http::dialect::stack::{CHECK_CODE_PATH, RESET_PATH, SEND_RESET_CODE_PATH};
    capture();
    let key: &'static str = "pck_stack_logs_secretish_0123";
    let namespace = "EmfStackTest";
    let app = EdgeApp::with_env(&[
        ("STACK_PROJECT_ID", "logs-project"),
        ("STACK_PUBLISHABLE_CLIENT_KEYS", key),
        ("METRICS_NAMESPACE", namespace),
    ]);
    let stack = |body: serde_json::Value, key: &'static str| {
        let mut req = EdgeApp::request(&body.to_string());
        req.headers.insert(
            "x-stack-project-id",
            HeaderValue::from_static("logs-project"),
        );
        req.headers.insert(
            "x-stack-publishable-client-key",
            HeaderValue::from_static(key),
        );
        req
    };
    let r = app
        .send_path(
            SEND_RESET_CODE_PATH,
            stack(
                json!({"email": ADA, "callback_url": "http://127.0.0.1:3000/reset"}),
                key,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let link = app.mailer.sent().pop().unwrap().link.unwrap();
    let code = moto_app::code_in(&link).expose().to_owned();
    app.send_path(CHECK_CODE_PATH, stack(json!({"code": code}), key))
        .await;
    let password = "a stack secret passphrase";
    let r = app
        .send_path(
            RESET_PATH,
            stack(json!({"code": code, "password": password}), key),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let wrong = "pck_wrong_but_secretish_4567";
    app.send_path(CHECK_CODE_PATH, stack(json!({"code": code}), wrong))
        .await;

    let config = moto_app::TestConfig::new()
        .set("API_DIALECTS", "native,stack")
        .set("STACK_PROJECT_ID", "only-the-project")
        .build();
    config.dialects.log_off();

    let logs = logs();
    assert!(
        logs.contains("password changed by reset"),
        "logs were captured"
    );
    for secret in [key, wrong, code.as_str(), password] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
    let off: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("API_DIALECTS: stack is off"))
        .collect();
    assert_eq!(off.len(), 1, "one line: {off:?}");
    // The counts of the Stack routes carry dialect stack.
    let stack_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == namespace)
        .collect();
    assert!(
        stack_lines
            .iter()
            .any(|v| v["PasswordsReset"] == 1 && v["operation"] == "consume"),
        "{stack_lines:?}"
    );
    assert!(
        stack_lines.iter().all(|v| v["dialect"] == "stack"),
        "{stack_lines:?}"
    );
    assert!(
        off[0].contains("STACK_PUBLISHABLE_CLIENT_KEYS"),
        "{}",
        off[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_codes_and_their_tries_log_no_digits_and_exhaustion_logs_one_warning() {
    capture();
    let app = EdgeApp::with_env(&[("OTP_MAX_ATTEMPTS", "3")]);
    let reply = app.post(Request, &json!({"email": ADA}).to_string()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    let otp = app
        .mailer
        .sent()
        .last()
        .unwrap()
        .otp
        .clone()
        .expect("a short code");
    // Another code of the same length: each digit moved by one.
    let wrong: String = otp
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect();
    let password = "a short-code secret passphrase";
    let check = |code: &str| json!({"email": ADA, "otp": code}).to_string();
    assert_eq!(app.post(Check, &check(&otp)).await.json["is_valid"], true);
    app.post(Check, &check(&wrong)).await;
    app.post(Check, &check(&wrong)).await;
    let body = json!({"email": ADA, "otp": otp, "password": password}).to_string();
    let reply = app.post(Consume, &body).await;
    assert_eq!(
        reply.json["code"], "INVALID_CODE",
        "the 4th try: {}",
        reply.raw
    );

    let logs = logs();
    assert!(
        logs.contains("short-code tries exhausted"),
        "the exhaustion is logged"
    );
    for secret in [otp.as_str(), wrong.as_str(), password] {
        let leak = logs.lines().find(|l| l.contains(secret));
        assert!(
            leak.is_none(),
            "a short code or password in the logs: {leak:?}"
        );
    }
}

/// The ProductFlame dialect (issue 12): its route logs no activation (the code), no server key,
/// no wrong key and no password; its counts carry dialect productflame; listed without a server
/// key it says so in one line at init.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_productflame_route_logs_no_secret_and_off_says_so_in_one_line() {
    use shared::http::dialect::productflame::RESET_PASSWORD_PATH;
    capture();
    let namespace = "EmfProductFlameTest";
    let app = EdgeApp::with_env(&[("METRICS_NAMESPACE", namespace)]);
    let pf = |body: serde_json::Value, key: &str| {
        let mut req = EdgeApp::request(&body.to_string());
        req.headers
            .insert("authorization", HeaderValue::from_str(key).unwrap());
        req
    };
    let r = app
        .send_path(
            RESET_PASSWORD_PATH,
            pf(
                json!({"email": ADA, "maxRequests": 3, "preventEmailSending": false}),
                SERVER_KEY,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let activation = r.json["activation"].as_str().unwrap().to_owned();
    let r = app
        .send_path(
            RESET_PASSWORD_PATH,
            pf(
                json!({"email": "nobody@example.com", "preventEmailSending": true}),
                SERVER_KEY,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let wrong = "sk_wrong_but_secretish_8910";
    let r = app
        .send_path(RESET_PASSWORD_PATH, pf(json!({"email": ADA}), wrong))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let password = "a productflame secret passphrase";
    let r = app.consume(&activation, password).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);

    let config = moto_app::TestConfig::new()
        .set("API_DIALECTS", "native,productflame")
        .unset("SERVER_KEY_SHA256")
        .build();
    config.dialects.log_off();

    let logs = logs();
    assert!(logs.contains("reset code issued"), "logs were captured");
    for secret in [SERVER_KEY, wrong, activation.as_str(), password] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
    let off: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("API_DIALECTS: productflame is off"))
        .collect();
    assert_eq!(off.len(), 1, "one line: {off:?}");
    assert!(off[0].contains("SERVER_KEY_SHA256"), "{}", off[0]);
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == namespace)
        .filter(|v| v["operation"] == "request")
        .collect();
    assert!(!lines.is_empty(), "the request was counted");
    assert!(
        lines.iter().all(|v| v["dialect"] == "productflame"),
        "{lines:?}"
    );
}

/// The Supabase-style and Zitadel v2 dialects (issue 12): their routes log no code, password or
/// server key (refusals included: a wrong key, another user's code, a weak password), their
/// counts carry their dialect, and each listed without its settings says so in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supabase_and_zitadel_routes_log_no_secret() {
    use shared::http::dialect::supabase::SEND_PASSWORD_RESET_PATH;
    capture();
    let namespace = "EmfSupabaseZitadelTest";
    let app = EdgeApp::with_env(&[
        ("API_DIALECTS", "native,supabase,zitadel"),
        ("ZITADEL_ORG_ID", "org-logs"),
        ("METRICS_NAMESPACE", namespace),
    ]);
    let bearer = |req: &mut shared::http::ApiRequest, key: &str| {
        req.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
    };
    // Supabase-style: known and unknown, then the link's code spent on the native route.
    for email in [ADA, "nobody@example.com"] {
        let body = json!({"email": email, "callback_origin": "http://127.0.0.1:3000"});
        let r = app
            .send_path(
                SEND_PASSWORD_RESET_PATH,
                EdgeApp::request(&body.to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    }
    let link = app.mailer.sent().pop().unwrap().link.unwrap();
    let mailed = moto_app::code_in(&link).expose().to_owned();

    // Zitadel: returnCode, a wrong key, another user's code, a weak password, the real reset.
    let reset = format!("/v2/users/{ADA_ID}/password_reset");
    let mut req = EdgeApp::request(&json!({"returnCode": {}}).to_string());
    bearer(&mut req, SERVER_KEY);
    let r = app.send_path(&reset, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let returned = r.json["verificationCode"].as_str().unwrap().to_owned();
    let wrong_key = "zitadel-wrong-key-secretish-890";
    let mut req = EdgeApp::request(&json!({"returnCode": {}}).to_string());
    bearer(&mut req, wrong_key);
    assert_eq!(
        app.send_path(&reset, req).await.status,
        StatusCode::UNAUTHORIZED
    );
    let weak = "weakpw1";
    let password = "a zitadel secret passphrase";
    for (user, pw) in [("user-other", password), (ADA_ID, weak), (ADA_ID, password)] {
        let body = json!({"newPassword": {"password": pw}, "verificationCode": returned});
        let mut req = EdgeApp::request(&body.to_string());
        bearer(&mut req, SERVER_KEY);
        app.send_path(&format!("/v2/users/{user}/password"), req)
            .await;
    }
    assert!(hashing_ok(&app, password), "the last call set the password");

    let config = moto_app::TestConfig::new()
        .set("API_DIALECTS", "native,zitadel")
        .unset("SERVER_KEY_SHA256")
        .build();
    config.dialects.log_off();

    let logs = logs();
    for secret in [
        SERVER_KEY,
        wrong_key,
        mailed.as_str(),
        returned.as_str(),
        weak,
        password,
    ] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
    let off: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("API_DIALECTS: zitadel is off"))
        .collect();
    assert_eq!(off.len(), 1, "one line: {off:?}");
    assert!(off[0].contains("SERVER_KEY_SHA256"), "{}", off[0]);
    let counted: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == namespace)
        .collect();
    let dialect_of = |metric: &str, op: &str| -> Vec<String> {
        counted
            .iter()
            .filter(|v| v[metric] == 1 && v["operation"] == op)
            .map(|v| v["dialect"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(
        dialect_of("UnknownAddress", "request").contains(&"supabase".to_owned()),
        "{counted:?}"
    );
    assert!(
        dialect_of("PasswordsReset", "consume").contains(&"zitadel".to_owned()),
        "{counted:?}"
    );
}

fn hashing_ok(app: &EdgeApp, password: &str) -> bool {
    shared::hashing::verify(password, &app.ada_hash().unwrap())
}
