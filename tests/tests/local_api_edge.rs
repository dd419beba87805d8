//! The local API's own edge, over raw HTTP/1.1 on a free 127.0.0.1 port: it answers only to
//! its loopback names (DNS rebinding), `/_dev/sign-in` takes JSON only, and a body that cannot
//! be read is a 400 while only an oversized one is a 413. Every refusal has the API's error
//! shape and changes nothing.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use local_api::{LocalApi, Options, serve};
use shared::config::{Config, Profile};

struct Server {
    port: u16,
    api: Arc<LocalApi>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Server::start`] with more settings.
    async fn start_with(settings: &[(&str, &str)]) -> Self {
        let options = Options::parse(Vec::new()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config::from_lookup(Profile::Local { port }, |k| {
            if k == "MIN_REQUEST_RESPONSE_MS" {
                return Some("0".to_owned());
            }
            settings
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let api = Arc::new(
            LocalApi::build_with_sdk(&options, config, None)
                .await
                .unwrap(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(listener, api.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            port,
            api,
            stop: Some(stop),
            task,
        }
    }

    /// Writes `head` + `body` (and then closes the write side), reads the whole answer.
    async fn raw(&self, head: &str, body: &[u8]) -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut raw = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut raw),
        )
        .await;
        assert!(read.is_ok(), "the server answers in bounded time");
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("an HTTP answer: {raw:?}"));
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    async fn post(&self, host: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        self.raw(&head, body.as_bytes()).await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

fn assert_error_shape(reply: &Value, code: &str, why: &str) {
    assert_eq!(reply["code"], code, "{why}: {reply}");
    assert!(
        reply["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{why}: {reply}"
    );
}

#[tokio::test]
async fn a_foreign_host_header_is_refused_and_changes_nothing() {
    let server = Server::start().await;
    let port = server.port;
    let request = json!({"email": "demo@example.com"}).to_string();
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("[::1]:{}", port.wrapping_add(1)),
        String::new(),
    ] {
        for path in ["/password-reset/request", "/_dev/sign-in"] {
            let (status, reply) = server.post(&host, path, "application/json", &request).await;
            assert_eq!(status, 421, "{host:?} {path}: {reply}");
            assert_error_shape(&reply, "MISDIRECTED_REQUEST", &host);
        }
    }
    assert!(server.api.mailbox().is_empty(), "no request went through");
    for (i, host) in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        "127.0.0.1".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        // One address each: the cap (3 per address) is not what this test is about.
        let request = json!({"email": format!("user{i}@example.com")}).to_string();
        let (status, reply) = server
            .post(
                &host,
                "/password-reset/request",
                "application/json",
                &request,
            )
            .await;
        assert_eq!(status, 200, "{host}: {reply}");
    }
    server.stop().await;
}

#[tokio::test]
async fn dev_sign_in_takes_only_json() {
    let server = Server::start().await;
    let host = format!("127.0.0.1:{}", server.port);
    let body = json!({"email": "demo@example.com", "password": "demo-password-1"}).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, reply) = server
            .post(&host, "/_dev/sign-in", content_type, &body)
            .await;
        assert_eq!(status, 415, "{content_type}: {reply}");
        assert_error_shape(&reply, "UNSUPPORTED_MEDIA_TYPE", content_type);
    }
    let (status, reply) = server
        .post(&host, "/_dev/sign-in", "application/json", &body)
        .await;
    assert_eq!((status, &reply), (200, &json!({"ok": true})));
    server.stop().await;
}

#[tokio::test]
async fn only_an_oversized_body_is_413_and_a_broken_one_is_400() {
    let server = Server::start().await;
    let host = format!("127.0.0.1:{}", server.port);
    let head = |framing: &str| {
        format!(
            "POST /password-reset/request HTTP/1.1\r\nhost: {host}\r\n\
             content-type: application/json\r\n{framing}connection: close\r\n\r\n"
        )
    };
    let cases: [(String, Vec<u8>, u16, &str, &str); 4] = [
        (
            head("content-length: 100\r\n"),
            br#"{"email":"#.to_vec(),
            400,
            "MALFORMED_JSON",
            "body cut off before its content-length",
        ),
        (
            head("transfer-encoding: chunked\r\n"),
            b"zz\r\n{}\r\n0\r\n\r\n".to_vec(),
            400,
            "MALFORMED_JSON",
            "bad chunk size",
        ),
        (
            head("transfer-encoding: chunked\r\n"),
            b"5\r\n{\"ema".to_vec(),
            400,
            "MALFORMED_JSON",
            "chunked body cut off",
        ),
        (
            head(&format!("content-length: {}\r\n", 20_000)),
            vec![b' '; 20_000],
            413,
            "PAYLOAD_TOO_LARGE",
            "oversized",
        ),
    ];
    for (head, body, status, code, why) in cases {
        let (got, reply) = server.raw(&head, &body).await;
        assert_eq!(got, status, "{why}: {reply}");
        assert_error_shape(&reply, code, why);
    }
    assert!(server.api.mailbox().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_or_broken_body_on_a_dialect_route_is_answered_in_that_dialects_shape() {
    let key = integration_tests::app::SERVER_KEY;
    let digest = integration_tests::app::server_key_sha256();
    let server = Server::start_with(&[("SERVER_KEY_SHA256", digest.as_str())]).await;
    let host = format!("127.0.0.1:{}", server.port);
    let head = |auth: &str, framing: &str| {
        format!(
            "POST /v2/users/user-1/password_reset HTTP/1.1\r\nhost: {host}\r\n\
             content-type: application/json\r\n{auth}{framing}connection: close\r\n\r\n"
        )
    };
    let bearer = format!("authorization: Bearer {key}\r\n");
    let oversized = format!("content-length: {}\r\n", 20_000);
    let cases: [(String, Vec<u8>, u16, i64, &str); 3] = [
        // The key is judged first, as for a body that was read.
        (
            head("", &oversized),
            vec![b' '; 20_000],
            401,
            16,
            "no key, oversized",
        ),
        (
            head(&bearer, &oversized),
            vec![b' '; 20_000],
            413,
            3,
            "oversized",
        ),
        (
            head(&bearer, "content-length: 100\r\n"),
            br#"{"returnCode":"#.to_vec(),
            400,
            3,
            "cut off",
        ),
    ];
    for (head, body, status, grpc, why) in cases {
        let (got, reply) = server.raw(&head, &body).await;
        assert_eq!(got, status, "{why}: {reply}");
        assert_eq!(reply["code"], grpc, "{why}: Zitadel's shape: {reply}");
        assert_eq!(reply["details"], json!([]), "{why}");
    }
    server.stop().await;
}
