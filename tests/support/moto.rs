//! moto, the AWS emulator, for the tests: one single-threaded server per test binary
//! (`tests/moto/server.py`), started on first use and gone when the test binary exits, plus SDK
//! clients pointed at it. Every module of the one test binary (`tests/tests/main.rs`) shares
//! it, so a test finds its tables and mail by its own names, never by listing them all.
//!
//! The launcher serves until its stdin closes. The pipe's write end lives in a `static` here, so
//! it closes when the test process exits however it exits (statics are never dropped, so a
//! `kill_on_drop` child would outlive the tests).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The region every test client uses.
pub const REGION: &str = "us-east-1";

/// The running launcher. Never dropped: holding `stdin` keeps the server alive exactly as long
/// as this process.
struct Server {
    port: u16,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

fn python() -> PathBuf {
    match std::env::var_os("MOTO_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv/test/bin/python"),
    }
}

fn start() -> Server {
    let python = python();
    assert!(
        python.exists(),
        "no Python with moto at {}: run `scripts/setup` (it installs tests/python/requirements.txt \
         into .venv/test), or set MOTO_PYTHON to a Python that has moto[server] installed",
        python.display()
    );
    let script = workspace_root().join("tests/moto/server.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} {}: {e}; run `scripts/setup`",
                python.display(),
                script.display()
            )
        });
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the moto port");
    let port = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "the moto launcher printed no port (got {line:?}); is moto[server] installed? \
             run `scripts/setup`"
        )
    });
    Server {
        port,
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    }
}

/// The port of this test binary's moto server, started on first call.
pub fn port() -> u16 {
    SERVER.get_or_init(start).port
}

/// `http://127.0.0.1:<port>` of the moto server.
pub fn endpoint() -> String {
    format!("http://127.0.0.1:{}", port())
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// Creates the reset table and the users table `config` names, as the template would.
pub async fn create_tables(client: &aws_sdk_dynamodb::Client, config: &shared::config::Config) {
    use shared::store::dynamodb::schema::{create_reset_table, create_users_table};
    create_reset_table(client, &config.store.reset_table)
        .await
        .expect("create the reset table");
    create_users_table(client, &config.store.users)
        .await
        .expect("create the users table");
}

/// Creates (in moto, that is verifies) the SES identity `sender`, so mail from it is accepted.
pub async fn verify_sender(sender: &str) {
    sesv2()
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await
        .expect("verify the sender");
}

/// SDK settings for `endpoint` (moto, or a fault proxy in front of it) with moto's test
/// credentials: what the Lambdas' own client builders (`shared::wiring`) take.
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            credentials(),
        ))
        .endpoint_url(endpoint)
        .build()
}

/// Every item of `table` (strongly consistent scan, all pages).
pub async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(out.items().iter().cloned());
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

/// Every string an attribute value holds (names of maps included), for scanning a table for
/// values that must never be stored.
pub fn strings_in(value: &aws_sdk_dynamodb::types::AttributeValue, out: &mut Vec<String>) {
    use aws_sdk_dynamodb::types::AttributeValue;
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
        AttributeValue::Ss(v) | AttributeValue::Ns(v) => out.extend(v.iter().cloned()),
        AttributeValue::L(v) => v.iter().for_each(|v| strings_in(v, out)),
        AttributeValue::M(m) => {
            for (k, v) in m {
                out.push(k.clone());
                strings_in(v, out);
            }
        }
        AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
        _ => {}
    }
}

/// A DynamoDB client for `endpoint` with at most `attempts` tries per call.
pub fn dynamodb_client_at(endpoint: &str, attempts: u32) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB client for the moto server. Build one per test: an SDK client's connection pool
/// belongs to the tokio runtime it was first used on, and every `#[tokio::test]` has its own.
pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    dynamodb_client_at(&endpoint(), 3)
}

/// An SES v2 client for the moto server.
pub fn sesv2() -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new(REGION))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// A name prefix no other test in this binary uses, so tests can run in parallel on one
/// server: `<label>-<process>-<n>`. Valid in DynamoDB table names and email local parts.
pub fn unique_prefix(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{}-{n}", std::process::id())
}

/// moto's internal state (`GET /moto-api/data.json`): `ses` -> `Message` holds sent mail.
pub async fn data() -> Value {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port()))
        .await
        .expect("connect to moto");
    stream
        .write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .expect("read the response");
    let text = String::from_utf8(raw).expect("moto answers UTF-8");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("an HTTP response with a body");
    assert!(head.starts_with("HTTP/1.0 200"), "moto-api answered {head}");
    serde_json::from_str(body).expect("moto-api answers JSON")
}

/// A mail moto's SES accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    /// `From`.
    pub source: String,
    /// `To` addresses.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The body moto kept (the HTML part when there is one).
    pub body: String,
}

impl SentMail {
    /// The one `href` of the mail's HTML body, unescaped (asserts there is exactly one).
    pub fn link(&self) -> String {
        let hrefs: Vec<&str> = self
            .body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(hrefs.len(), 1, "exactly one link in the mail");
        hrefs[0]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }
}

/// Every mail moto's SES accepted, oldest first, from every test of this binary.
pub async fn sent_mail() -> Vec<SentMail> {
    let data = data().await;
    let Some(messages) = data.pointer("/ses/Message").and_then(Value::as_array) else {
        return Vec::new();
    };
    messages
        .iter()
        .map(|m| SentMail {
            source: m["source"].as_str().unwrap_or_default().to_owned(),
            to: m
                .pointer("/destinations/ToAddresses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The mails moto's SES accepted for `address` (exact spelling).
pub async fn mail_to(address: &str) -> Vec<SentMail> {
    sent_mail()
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .collect()
}
