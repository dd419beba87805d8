//! The README's walk-through, over real HTTP against the local API started in-process on
//! 127.0.0.1 and a free port: request, mailbox, check, consume, sign-in.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use local_api::{LocalApi, Options, serve};
use shared::config::{Config, Profile};

struct Server {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(args: &[&str]) -> Self {
        Self::start_with(args, &[], None).await
    }

    /// `env` are service settings; `sdk` points the AWS adapters somewhere (the emulator).
    async fn start_with(
        args: &[&str],
        env: &[(&str, &str)],
        sdk: Option<aws_config::SdkConfig>,
    ) -> Self {
        let options = Options::parse(args.iter().map(|s| (*s).to_owned())).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config::from_lookup(Profile::Local { port }, |k| match k {
            "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
            _ => env
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned()),
        })
        .unwrap();
        let api = Arc::new(
            LocalApi::build_with_sdk(&options, config, sdk)
                .await
                .unwrap(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(listener, api, async {
            let _ = stopped.await;
        }));
        Self {
            port,
            stop: Some(stop),
            task,
        }
    }

    /// One HTTP/1.1 request on a fresh connection; returns status, raw head and body.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{payload}",
            payload.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    async fn json(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) = self.call(method, path, body).await;
        (status, serde_json::from_str(&body).unwrap())
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

#[tokio::test]
async fn the_readme_walkthrough_works_over_http() {
    let server = Server::start(&[]).await;
    let (status, reply) = server
        .json(
            "POST",
            "/password-reset/request",
            Some(json!({"email": "demo@example.com"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["ok"], true);

    let (status, mailbox) = server.json("GET", "/_dev/mailbox", None).await;
    assert_eq!(status, 200);
    let mail = mailbox.as_array().unwrap().last().unwrap().clone();
    assert_eq!(mail["to"], "demo@example.com");
    for field in ["subject", "text", "html", "link"] {
        assert!(mail[field].is_string(), "mailbox entry has {field}");
    }
    let link = mail["link"].as_str().unwrap();
    let prefix = format!("http://127.0.0.1:{}/reset?code=", server.port);
    assert!(
        link.starts_with(&prefix),
        "default callback is the local /reset page"
    );
    let code = &link[prefix.len()..];

    let (_, check) = server
        .json("POST", "/password-reset/check", Some(json!({"code": code})))
        .await;
    assert_eq!(check["is_valid"], true);
    let (status, _) = server
        .json(
            "POST",
            "/password-reset/consume",
            Some(json!({"code": code, "password": "my new passphrase"})),
        )
        .await;
    assert_eq!(status, 200);

    let sign_in = |password: &str| json!({"email": "demo@example.com", "password": password});
    let (new_ok, _) = server
        .json("POST", "/_dev/sign-in", Some(sign_in("my new passphrase")))
        .await;
    let (old_ok, _) = server
        .json("POST", "/_dev/sign-in", Some(sign_in("demo-password-1")))
        .await;
    assert_eq!((new_ok, old_ok), (200, 401));

    let (status, head, _) = server.call("GET", "/password-reset/request", None).await;
    assert_eq!(status, 405);
    assert!(head.to_ascii_lowercase().contains("allow: post"));
    let (status, not_found) = server.json("POST", "/nope", Some(json!({}))).await;
    assert_eq!(
        (status, not_found["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    server.stop().await;
}

#[tokio::test]
async fn seeded_users_and_an_oversized_body_over_http() {
    let server = Server::start(&["--user", "grace@example.com:grace-password-1"]).await;
    let (_, mailbox) = server.json("GET", "/_dev/mailbox", None).await;
    assert_eq!(mailbox, json!([]));
    server
        .json(
            "POST",
            "/password-reset/request",
            Some(json!({"email": "demo@example.com"})),
        )
        .await;
    let (_, mailbox) = server.json("GET", "/_dev/mailbox", None).await;
    assert_eq!(mailbox, json!([]), "the demo user is replaced by --user");
    server
        .json(
            "POST",
            "/password-reset/request",
            Some(json!({"email": "GRACE@example.com"})),
        )
        .await;
    let (_, mailbox) = server.json("GET", "/_dev/mailbox", None).await;
    assert_eq!(mailbox[0]["to"], "grace@example.com");

    let huge = json!({"email": "x".repeat(20_000)});
    let (status, reply) = server
        .json("POST", "/password-reset/request", Some(huge))
        .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    server.stop().await;
}

/// SDK settings for the moto emulator this test binary runs.
fn emulator_sdk() -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .endpoint_url(integration_tests::moto::endpoint())
        .build()
}

#[tokio::test]
async fn the_local_api_runs_on_the_emulator_with_dynamodb_and_ses() {
    let prefix = integration_tests::moto::unique_prefix("local-api");
    let (reset, users) = (format!("{prefix}-reset"), format!("{prefix}-users"));
    let user = format!("{prefix}@example.com");
    let seed = format!("{user}:first-password-1");
    let server = Server::start_with(
        &[
            "--store",
            "dynamodb",
            "--create-tables",
            "--mailer",
            "ses",
            "--verify-sender",
            "--user",
            &seed,
        ],
        &[("RESET_TABLE_NAME", &reset), ("USERS_TABLE_NAME", &users)],
        Some(emulator_sdk()),
    )
    .await;
    let (status, _) = server
        .json(
            "POST",
            "/password-reset/request",
            Some(json!({"email": user.to_uppercase()})),
        )
        .await;
    assert_eq!(status, 200);
    let sent = integration_tests::moto::mail_to(&user).await;
    assert_eq!(sent.len(), 1, "one mail through SES, to the stored address");
    let at = sent[0].body.find("code=").unwrap() + "code=".len();
    let code = &sent[0].body[at..at + 43];
    let (status, reply) = server
        .json(
            "POST",
            "/password-reset/consume",
            Some(json!({"code": code, "password": "second-password-2"})),
        )
        .await;
    // The reply names the failure (INVALID_CODE, a field of VALIDATION_FAILED) if this fails.
    assert_eq!(status, 200, "{reply}");
    let sign_in = |password: &str| json!({"email": user, "password": password});
    let (new_ok, _) = server
        .json("POST", "/_dev/sign-in", Some(sign_in("second-password-2")))
        .await;
    let (old_ok, _) = server
        .json("POST", "/_dev/sign-in", Some(sign_in("first-password-1")))
        .await;
    assert_eq!(
        (new_ok, old_ok),
        (200, 401),
        "the password in DynamoDB changed"
    );
    // DescribeTable, not ListTables: one page lists 100 tables, and this process's moto holds
    // every test's tables.
    let described = integration_tests::moto::dynamodb()
        .describe_table()
        .table_name(&reset)
        .send()
        .await;
    assert!(described.is_ok(), "--create-tables made the reset table");
    server.stop().await;
}
