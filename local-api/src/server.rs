//! The HTTP/1 server around [`LocalApi`]: the accept loop, body limits and the loopback-only
//! `Host` check. Routing is in `api.rs`, the dev endpoints in `dev.rs`, seeding in `seed.rs`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use shared::http::{ApiError, MAX_BODY_BYTES, json_response};

use crate::api::LocalApi;

/// The body, or the error answer: 413 only when it is over the limit; a body that breaks off,
/// or whose chunked framing is wrong, is a 400 like any body that is not JSON.
async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    Limited::new(body, MAX_BODY_BYTES + 1)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                ApiError::PayloadTooLarge
            } else {
                tracing::debug!(error = %e, "request body could not be read");
                ApiError::MalformedJson
            }
        })
}

/// A route of a dialect other than the native one (Stack, Supabase-style, Zitadel).
fn is_dialect_route(path: &str) -> bool {
    shared::http::dialect::route(path).is_some_and(|r| r.dialect != shared::config::Dialect::Native)
}

/// DNS rebinding: a page on another site whose name resolves to 127.0.0.1 reaches this server
/// with its own name in `Host`. Only the loopback names are served: `127.0.0.1`, `localhost`
/// and `[::1]`, with the listening port (or none, as some clients send it).
pub fn host_is_local(headers: &http::HeaderMap, port: u16) -> bool {
    let Some(host) = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let (name, given_port) = match host.rsplit_once(':') {
        Some((name, p)) if !name.is_empty() && (name.ends_with(']') || !name.contains(':')) => {
            (name, Some(p))
        }
        _ => (host, None),
    };
    let name_ok = name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]";
    let port_ok = given_port.is_none_or(|p| p.parse::<u16>() == Ok(port));
    name_ok && port_ok
}

/// 421 for a request whose `Host` is not this server's loopback name, in the API's error shape.
fn misdirected() -> http::Response<String> {
    json_response(
        StatusCode::MISDIRECTED_REQUEST,
        json!({
            "error": "This development server answers only to 127.0.0.1, localhost or [::1].",
            "code": "MISDIRECTED_REQUEST",
        })
        .to_string(),
    )
}

/// Serves `api` on `listener` until `shutdown` completes. Connections are HTTP/1.1.
pub async fn serve(listener: TcpListener, api: Arc<LocalApi>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let local_port = listener.local_addr().ok().map(|a| a.port());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let api = api.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let response = if !local_port.is_some_and(|p| host_is_local(&parts.headers, p))
                    {
                        misdirected()
                    } else {
                        match read_body(body).await {
                            Ok(bytes) => {
                                api.respond(http::Request::from_parts(parts, bytes), peer)
                                    .await
                            }
                            // A dialect's route answers in its own shape, after its own checks
                            // (keys, headers): it gets a body it refuses for the same reason.
                            Err(e) if is_dialect_route(parts.uri.path()) => {
                                let stand_in = match e {
                                    ApiError::PayloadTooLarge => {
                                        Bytes::from(vec![b' '; MAX_BODY_BYTES + 1])
                                    }
                                    _ => Bytes::new(),
                                };
                                api.respond(http::Request::from_parts(parts, stand_in), peer)
                                    .await
                            }
                            Err(e) => e.into_response(),
                        }
                    };
                    Ok::<_, Infallible>(response.map(|b| Full::new(Bytes::from(b))))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}
