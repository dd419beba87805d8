//! A Lambda Runtime API stand-in on 127.0.0.1 and the real function binaries run against it as
//! child processes, so a test drives `lambda_runtime`'s own loop (event polling, tracing,
//! response posting) end to end, as Lambda would: [`RuntimeApi`] serves
//! `GET /2018-06-01/runtime/invocation/next` one queued event at a time (long-polling until the
//! test queues one) and records what the function posts to `…/{id}/response`, `…/{id}/error`
//! and `/runtime/init/error`; [`Function`] is the bootstrap process with its stdout and stderr
//! captured whole.
//!
//! The binaries are the workspace's own (`functions/*`), built once per test binary with the
//! same cargo and profile as the tests (`cargo build -p request -p check -p consume`): cargo
//! only gives `CARGO_BIN_EXE_*` to the package that owns a binary.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /invocation/{id}/response`: the handler's result (an API Gateway v2 response).
    Response(Value),
    /// `POST /invocation/{id}/error`: the invocation failed.
    Error(Value),
}

struct Invocation {
    request_id: String,
    event: Bytes,
}

#[derive(Default)]
struct Shared {
    /// Answers awaited by [`RuntimeApi::invoke`], by request id.
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// Bodies posted to `/runtime/init/error`.
    init_errors: Mutex<Vec<String>>,
    /// Requests to paths this stand-in does not serve.
    unexpected: Mutex<Vec<String>>,
}

/// The stand-in. Stops serving (and drops every connection) when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    next_id: Mutex<u64>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API stand-in");
        let addr = listener.local_addr().expect("its address");
        let (queue, events) = mpsc::unbounded_channel();
        let events = Arc::new(tokio::sync::Mutex::new(events));
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let server = tokio::spawn(async move {
            // Dropping the set (when the accept loop is aborted) aborts every connection.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (events, state) = (events.clone(), state.clone());
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (events, state) = (events.clone(), state.clone());
                        async move { Ok::<_, Infallible>(serve(req, &events, &state).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            queue,
            shared,
            next_id: Mutex::new(0),
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues `event` for the function's next poll and waits (at most `within`) for what it
    /// posts back. `None`: nothing came in time (see [`RuntimeApi::init_errors`]).
    pub async fn invoke(&self, event: &Value, within: Duration) -> Option<Answer> {
        let request_id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("00000000-0000-4000-8000-{:012}", *n)
        };
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), tx);
        self.queue
            .send(Invocation {
                request_id,
                event: Bytes::from(event.to_string()),
            })
            .expect("the stand-in is serving");
        tokio::time::timeout(within, rx).await.ok()?.ok()
    }

    /// Bodies the function posted to `/runtime/init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        self.shared.init_errors.lock().unwrap().clone()
    }

    /// `METHOD path` of every request to a route this stand-in does not serve.
    pub fn unexpected_requests(&self) -> Vec<String> {
        self.shared.unexpected.lock().unwrap().clone()
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a valid response")
}

fn accepted() -> Response<Full<Bytes>> {
    reply(
        StatusCode::ACCEPTED,
        Bytes::from_static(br#"{"status":"OK"}"#),
    )
}

async fn serve(
    req: Request<Incoming>,
    events: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    state: &Shared,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    match (&parts.method, rest) {
        (&Method::GET, "/invocation/next") => {
            // Long poll, as Lambda does: answer when the test queues an event.
            let Some(invocation) = events.lock().await.recv().await else {
                return reply(StatusCode::GONE, Bytes::new());
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis()
                + 30_000;
            let mut response = reply(StatusCode::OK, invocation.event);
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: String| {
                headers.insert(name, value.parse().expect("a header value"));
            };
            set("lambda-runtime-aws-request-id", invocation.request_id);
            set("lambda-runtime-deadline-ms", deadline.to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:tests".into(),
            );
            set(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            );
            response
        }
        (&Method::POST, "/init/error") => {
            let text = String::from_utf8_lossy(&body).into_owned();
            state.init_errors.lock().unwrap().push(text);
            accepted()
        }
        (&Method::POST, rest) if rest.starts_with("/invocation/") => {
            let tail = &rest["/invocation/".len()..];
            let (id, kind) = tail.split_once('/').unwrap_or((tail, ""));
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let answer = match kind {
                "response" => Answer::Response(value),
                "error" => Answer::Error(value),
                _ => {
                    state
                        .unexpected
                        .lock()
                        .unwrap()
                        .push(format!("POST {path}"));
                    return reply(StatusCode::NOT_FOUND, Bytes::new());
                }
            };
            if let Some(tx) = state.waiting.lock().unwrap().remove(id) {
                let _ = tx.send(answer);
            } else {
                state
                    .unexpected
                    .lock()
                    .unwrap()
                    .push(format!("POST {path}"));
            }
            accepted()
        }
        _ => {
            state
                .unexpected
                .lock()
                .unwrap()
                .push(format!("{} {path}", parts.method));
            reply(StatusCode::NOT_FOUND, Bytes::new())
        }
    }
}

/// `target/<profile>` of this test binary (`target/<profile>/deps/<test>-<hash>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf()
}

/// The path of a function's debug (or, under `cargo test --release`, release) binary, built
/// once per test process with the tests' own cargo.
pub fn function_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = profile_dir();
    BUILT.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .args([
                "build", "--quiet", "-p", "request", "-p", "check", "-p", "consume",
            ]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build for the functions");
        assert!(status.success(), "cargo build of the functions failed");
    });
    let path = dir.join(name);
    assert!(path.exists(), "no function binary at {}", path.display());
    path
}

/// What Lambda hands every function process, before the function's own settings: the Runtime
/// API's address (`api`), the function's name, memory, version, log group and stream, the
/// region, dummy credentials and `AWS_ENDPOINT_URL` (moto, or a closed port).
pub fn lambda_env(function: &str, api: &str, endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "tests".into()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", crate::moto::REGION.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ]
}

/// A function's bootstrap process, its stdout and stderr captured whole. Killed on drop.
pub struct Function {
    child: Child,
    readers: Vec<JoinHandle<Vec<u8>>>,
}

/// Spawns `binary` with exactly `env` (nothing inherited), stdin closed, stdout and stderr
/// piped: how every test starts a function's bootstrap.
pub fn spawn_function(binary: &Path, env: &[(&str, String)]) -> Child {
    Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
}

impl Function {
    /// Starts `binary` with exactly `env` (nothing inherited).
    pub fn start(binary: &Path, env: &[(&str, String)]) -> Self {
        let mut child = spawn_function(binary, env);
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut all = Vec::new();
                let _ = pipe.read_to_end(&mut all);
                all
            })
        };
        let out = Box::new(child.stdout.take().expect("piped stdout"));
        let err = Box::new(child.stderr.take().expect("piped stderr"));
        Self {
            readers: vec![drain(out), drain(err)],
            child,
        }
    }

    /// Kills the process and returns everything it wrote: stdout, then stderr.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut all = Vec::new();
        for reader in std::mem::take(&mut self.readers) {
            all.extend(reader.join().expect("the pipe reader"));
        }
        String::from_utf8_lossy(&all).into_owned()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
