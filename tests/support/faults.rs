//! A deterministic fault injector: an HTTP proxy on 127.0.0.1 (a free port) that forwards to
//! an upstream (moto) and, when told, answers a given call of an operation with a fault
//! instead: an AWS error (status and JSON body as DynamoDB or SES v2 send them), added
//! latency, no answer at all, or a dropped connection. It counts every call per operation, so
//! tests assert how often the SDK and the adapters tried.
//!
//! An operation is named by what is on the wire: DynamoDB's `X-Amz-Target` header (see
//! [`dynamodb`]), SES v2's method and path ([`SES_SEND`]). Rules count from the proxy's start
//! and match exactly, so a test that says "fail the 3rd TransactWriteItems" gets exactly that,
//! whatever the timing. The proxy and every connection it holds stop when it is dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// SES v2 `SendEmail`.
pub const SES_SEND: &str = "POST /v2/email/outbound-emails";
/// Matches every operation.
pub const ANY: &str = "*";

/// The `X-Amz-Target` of a DynamoDB operation, e.g. `dynamodb("TransactWriteItems")`.
pub fn dynamodb(operation: &str) -> String {
    format!("DynamoDB_20120810.{operation}")
}

/// What the proxy does with a matched call.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this instead of forwarding.
    Error {
        /// HTTP status.
        status: u16,
        /// Extra headers (SES's `x-amzn-ErrorType`).
        headers: Vec<(&'static str, String)>,
        /// Content type of the body.
        content_type: &'static str,
        /// The JSON error body.
        body: String,
    },
    /// Wait this long, then forward.
    Latency(Duration),
    /// Accept the request and never answer.
    Hang,
    /// Hold the request at this gate until the test opens it, then forward it: forces an
    /// interleaving between what the held call read and what it writes.
    Held(std::sync::Arc<crate::gate::Gate>),
    /// Close the connection without answering.
    Drop,
}

impl Fault {
    /// A DynamoDB error (`awsJson1_0`): `{"__type": "com.amazonaws.dynamodb.v20120810#<kind>"}`.
    pub fn dynamodb_error(status: u16, kind: &str, message: &str) -> Self {
        Self::dynamodb_body(
            status,
            json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
                "message": message,
            }),
        )
    }

    fn dynamodb_body(status: u16, body: serde_json::Value) -> Self {
        Self::Error {
            status,
            headers: Vec::new(),
            content_type: "application/x-amz-json-1.0",
            body: body.to_string(),
        }
    }

    /// 400 `ThrottlingException`.
    pub fn throttling() -> Self {
        Self::dynamodb_error(
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        )
    }

    /// 400 `ProvisionedThroughputExceededException`.
    pub fn provisioned_throughput_exceeded() -> Self {
        Self::dynamodb_error(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )
    }

    /// 500 `InternalServerError`.
    pub fn internal_server_error() -> Self {
        Self::dynamodb_error(500, "InternalServerError", "Internal server error")
    }

    /// 400 `TransactionCanceledException` with one reason per item of the transaction, in
    /// order: `None` for an item that was fine, else its code (`TransactionConflict`,
    /// `ProvisionedThroughputExceeded`, `ConditionalCheckFailed`, `ThrottlingError`).
    pub fn transaction_canceled(reasons: &[Option<&str>]) -> Self {
        let codes: Vec<&str> = reasons.iter().map(|r| r.unwrap_or("None")).collect();
        let reasons: Vec<serde_json::Value> = codes
            .iter()
            .map(|code| match *code {
                "None" => json!({"Code": "None"}),
                code => json!({"Code": code, "Message": format!("{code} (injected)")}),
            })
            .collect();
        Self::dynamodb_body(
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                ),
                "CancellationReasons": reasons,
            }),
        )
    }

    /// An SES v2 error (`restJson1`): the code in `x-amzn-ErrorType`, `{"message": ...}`.
    pub fn ses_error(status: u16, code: &str, message: &str) -> Self {
        Self::Error {
            status,
            headers: vec![("x-amzn-errortype", code.to_owned())],
            content_type: "application/json",
            body: json!({"message": message}).to_string(),
        }
    }

    /// 429 `TooManyRequestsException` (SES throttling).
    pub fn ses_too_many_requests() -> Self {
        Self::ses_error(
            429,
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
        )
    }

    /// 500 from SES (an outage; SES v2 models no 5xx error of its own).
    pub fn ses_internal_error() -> Self {
        Self::ses_error(500, "InternalFailure", "The request processing has failed.")
    }

    /// 400 `MessageRejected` (e.g. the sender is not verified).
    pub fn ses_message_rejected() -> Self {
        Self::ses_error(400, "MessageRejected", "Email address is not verified.")
    }
}

#[derive(Debug, Clone, Copy)]
enum When {
    /// Exactly the nth call (1-based).
    Nth(u32),
    /// The nth call and every later one.
    From(u32),
}

#[derive(Debug)]
struct Rule {
    operation: String,
    when: When,
    fault: Fault,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<String, u32>,
    rules: Vec<Rule>,
}

impl State {
    /// Counts the call and picks the first rule that matches it.
    fn arrive(&mut self, operation: &str) -> Option<Fault> {
        let n = self.calls.entry(operation.to_owned()).or_default();
        *n += 1;
        let n = *n;
        self.rules
            .iter()
            .find(|r| {
                (r.operation == operation || r.operation == ANY)
                    && match r.when {
                        When::Nth(k) => n == k,
                        When::From(k) => n >= k,
                    }
            })
            .map(|r| r.fault.clone())
    }
}

/// The running proxy. Dropping it stops the listener and closes every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: watch::Sender<()>,
}

/// The proxy was told to drop this connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault injector")
    }
}

impl std::error::Error for Dropped {}

impl FaultProxy {
    /// A proxy in front of this test binary's moto server.
    pub async fn in_front_of_moto() -> Self {
        Self::start(SocketAddr::from(([127, 0, 0, 1], crate::moto::port()))).await
    }

    /// A proxy forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let stop =
            crate::serve::until_dropped(listener, move |req| handle(shared.clone(), upstream, req));
        Self {
            addr,
            state,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:<port>`, for an SDK client's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn rule(&self, operation: impl Into<String>, when: When, fault: Fault) {
        self.state.lock().expect("fault state").rules.push(Rule {
            operation: operation.into(),
            when,
            fault,
        });
    }

    /// Answers the `n`th call (1-based, counted from the proxy's start) of `operation` with
    /// `fault`. Earlier rules win when two match.
    pub fn fail_call(&self, operation: impl Into<String>, n: u32, fault: Fault) {
        self.rule(operation, When::Nth(n), fault);
    }

    /// Answers the next call of `operation` with `fault`; the ones after are forwarded.
    pub fn fail_next(&self, operation: impl Into<String>, fault: Fault) {
        let operation = operation.into();
        let n = self.calls(&operation) + 1;
        self.fail_call(operation, n, fault);
    }

    /// Answers the `n`th call of `operation` and every later one with `fault`.
    pub fn fail_from(&self, operation: impl Into<String>, n: u32, fault: Fault) {
        self.rule(operation, When::From(n), fault);
    }

    /// Answers every call of `operation` from now on with `fault`.
    pub fn fail_from_now(&self, operation: impl Into<String>, fault: Fault) {
        let operation = operation.into();
        let n = self.calls(&operation) + 1;
        self.fail_from(operation, n, fault);
    }

    /// Forgets every rule (the counts stay).
    pub fn heal(&self) {
        self.state.lock().expect("fault state").rules.clear();
    }

    /// How many calls of `operation` arrived (faulted or forwarded).
    pub fn calls(&self, operation: &str) -> u32 {
        let state = self.state.lock().expect("fault state");
        if operation == ANY {
            return state.calls.values().sum();
        }
        state.calls.get(operation).copied().unwrap_or(0)
    }
}

fn operation_of(req: &Request<Incoming>) -> String {
    match req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) => target.to_owned(),
        None => format!("{} {}", req.method(), req.uri().path()),
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    upstream: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let operation = operation_of(&req);
    let fault = state.lock().expect("fault state").arrive(&operation);
    match fault {
        None => {}
        Some(Fault::Latency(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Held(gate)) => gate.pass().await,
        Some(Fault::Drop) => return Err(Dropped),
        Some(Fault::Error {
            status,
            headers,
            content_type,
            body,
        }) => {
            // Read the request fully first, as a server would.
            let _ = req.into_body().collect().await;
            let mut answer = Response::builder()
                .status(status)
                .header("content-type", content_type)
                .header("x-amzn-requestid", "fault-injector");
            for (name, value) in headers {
                answer = answer.header(name, value);
            }
            return Ok(answer
                .body(Full::new(Bytes::from(body)))
                .expect("a valid response"));
        }
    }
    Ok(forward(upstream, req).await)
}

/// Sends the request to `upstream` on a fresh connection and hands its answer back. A failure
/// to reach upstream is a 502 the SDK sees as a server error.
async fn forward(upstream: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let bad_gateway = |why: String| {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(why)))
            .expect("a valid response")
    };
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(format!("reading the request: {e}")),
    };
    let stream = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => return bad_gateway(format!("connecting upstream: {e}")),
    };
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return bad_gateway(format!("handshake upstream: {e}")),
        };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = match sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(r) => r,
        Err(e) => return bad_gateway(format!("upstream: {e}")),
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(b) => Response::from_parts(parts, Full::new(b.to_bytes())),
        Err(e) => bad_gateway(format!("reading upstream's answer: {e}")),
    }
}
