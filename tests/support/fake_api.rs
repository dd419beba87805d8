//! A stand-in for a third-party API the service calls itself (the Pwned Passwords range API, a
//! CAPTCHA provider's siteverify): a real HTTP/1.1 server on 127.0.0.1 (a free port) that
//! answers every request with one configured [`Reply`] and records what it received, so tests
//! assert on exactly what left the process. It and every connection it holds stop when it is
//! dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET`, `POST`...
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Received {
    /// The request line, headers and body as one string: what a search for a secret covers.
    pub fn everything(&self) -> String {
        let headers: String = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        format!(
            "{} {}\n{headers}\n{}",
            self.method,
            self.path,
            String::from_utf8_lossy(&self.body)
        )
    }

    /// The form field `name` of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status and body (`text/plain` unless it starts with `{`).
    Body(u16, String),
    /// Wait this long, then answer this status and body.
    Slow(Duration, u16, String),
}

struct State {
    received: Vec<Received>,
    reply: Reply,
}

/// The running fake. Dropping it stops it.
pub struct FakeApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: watch::Sender<()>,
}

impl FakeApi {
    /// Starts on a free port of 127.0.0.1, answering `reply`.
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake API");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            received: Vec::new(),
            reply,
        }));
        let shared = state.clone();
        let stop = crate::serve::until_dropped(listener, move |req| answer(shared.clone(), req));
        Self {
            addr,
            state,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:<port>`, the base URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer `reply` from now on.
    pub fn reply_with(&self, reply: Reply) {
        self.state.lock().unwrap().reply = reply;
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let reply = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(ToString::to_string)
                .unwrap_or_default(),
            headers: parts.headers,
            body,
        });
        state.reply.clone()
    };
    let (status, text) = match reply {
        Reply::Body(status, text) => (status, text),
        Reply::Slow(wait, status, text) => {
            tokio::time::sleep(wait).await;
            (status, text)
        }
    };
    let content_type = if text.starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(text)))
        .expect("a valid response"))
}
