//! The HTTP edge shared by the Lambda functions and the local API: checks method, server key,
//! size and content type, turns the body into a command, runs the use case and renders the
//! answer. Errors are rendered by [`ApiError`] alone.

mod body;
pub mod dialect;
mod error;
pub mod lambda;
mod reply;
mod strict;

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use body::{
    CHECK_FIELDS, CONSUME_FIELDS, MAX_LISTED_UNKNOWN_FIELDS, PUBLIC_REQUEST_FIELDS, REVOKE_FIELDS,
    SERVER_ONLY_FIELDS,
};
pub use error::{
    ApiError, BREACHED_PASSWORD_MESSAGE, CAPTCHA_REFUSED_MESSAGE, FieldErrors,
    MAX_ERROR_BODY_BYTES, THIRD_PARTY_RETRY_AFTER_SECS,
};

use crate::config::{Dialect, EdgeSettings};
use crate::metrics::Metric;
use crate::service::{Caller, CheckOutcome, ClientIp, Operation, ResetService, ServiceError};
use crate::store::StoreError;
pub use dialect::Route;

/// Largest body accepted: a reset request is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The public reply to every accepted `request`, whether or not the account exists.
pub const REQUEST_ACCEPTED_MESSAGE: &str =
    "If an account exists for this address, a link to reset its password is on its way.";

/// What the edge needs of an HTTP request, whoever delivered it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// The path as received (still percent-encoded): the routes with path parameters
    /// (Zitadel's `/v2/users/{userId}/...`) read them from it.
    pub path: String,
    /// Headers (names lowercase).
    pub headers: HeaderMap,
    /// Raw body, already base64-decoded if the event said so.
    pub body: Bytes,
    /// The client address as seen by API Gateway (or the local socket), never from a header.
    pub client_ip: Option<IpAddr>,
}

/// The routes, by path.
pub fn route(path: &str) -> Option<Operation> {
    match path.trim_end_matches('/') {
        "/password-reset/request" => Some(Operation::Request),
        "/password-reset/check" => Some(Operation::Check),
        "/password-reset/consume" => Some(Operation::Consume),
        "/password-reset/revoke" => Some(Operation::Revoke),
        _ => None,
    }
}

/// Answers one call on any dialect's route, in that dialect's shapes: a dialect that
/// `API_DIALECTS` leaves off is not there (404, as any unknown path).
pub async fn handle_route(
    service: &ResetService,
    route: Route,
    req: ApiRequest,
) -> http::Response<String> {
    let dialects = &service.config().dialects;
    match route.dialect {
        Dialect::Native if dialects.native => handle(service, route.op, req).await,
        Dialect::Stack => match &dialects.stack {
            Some(settings) => dialect::stack::handle(service, settings, route.op, req).await,
            None => ApiError::NotFound.into_response(),
        },
        Dialect::ProductFlame => match &dialects.productflame {
            Some(settings) => dialect::productflame::handle(service, settings, req).await,
            None => ApiError::NotFound.into_response(),
        },
        Dialect::Supabase if dialects.supabase => dialect::supabase::handle(service, req).await,
        Dialect::Zitadel => match &dialects.zitadel {
            Some(settings) => dialect::zitadel::handle(service, settings, route.op, req).await,
            None => ApiError::NotFound.into_response(),
        },
        _ => ApiError::NotFound.into_response(),
    }
}

/// Answers one call on a native route, whatever `API_DIALECTS` says ([`handle_route`] asks
/// it). Never fails: every problem is a JSON error response.
pub async fn handle(
    service: &ResetService,
    op: Operation,
    req: ApiRequest,
) -> http::Response<String> {
    match dispatch(service, op, &req).await {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => {
            if matches!(e, ApiError::InvalidCode) {
                service.count(Metric::InvalidCode, op);
            }
            e.into_response()
        }
    }
}

/// The answer to a use case's error, counting a store outage as [`Metric::StoreUnavailable`].
/// Counted here, before the error becomes an [`ApiError`]: a CAPTCHA provider or a fail-closed
/// breach check that does not answer is the same 503 to the caller, but not the store's doing,
/// and the store's alarm and dashboard must not count it.
fn failed(service: &ResetService, op: Operation) -> impl Fn(ServiceError) -> ApiError + '_ {
    move |e| {
        if matches!(e, ServiceError::Store(StoreError::Unavailable { .. })) {
            service.count(Metric::StoreUnavailable, op);
        }
        ApiError::from(e)
    }
}

async fn dispatch(
    service: &ResetService,
    op: Operation,
    req: &ApiRequest,
) -> Result<String, ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let caller = authenticate(&service.config().edge, &req.headers)?;
    // Revoking is the app's decision, never a stranger's: no key, no look at the body.
    if op == Operation::Revoke && caller != Caller::Server {
        return Err(ApiError::Unauthorized);
    }
    let obj = json_object(req)?;
    // The IP limit counts only well-formed calls (bad input changes nothing), and never the
    // app's own backend, which calls from a handful of addresses.
    let public_ip = match caller {
        Caller::Public => ClientIp::public(client_ip(&service.config().edge, req)),
        Caller::Server => ClientIp::Exempt,
    };
    let accept_language = req
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    match op {
        Operation::Request => {
            let config = service.config();
            let cmd = body::request_command(
                obj,
                caller,
                &config.links,
                config.policy.max_concurrent,
                config.captcha.is_some(),
                accept_language,
                public_ip,
            )?;
            let return_code = cmd.return_code;
            let issued = service
                .request(cmd)
                .await
                .map_err(failed(service, op))?
                .filter(|_| return_code);
            reply::render(&reply::RequestAccepted::new(issued.as_ref()))
        }
        Operation::Check => {
            let codes = body::Codes::native(&service.config().policy);
            let code = body::check_command(obj, codes)?;
            let outcome = service
                .check_proof(code, public_ip)
                .await
                .map_err(failed(service, op))?;
            if outcome == CheckOutcome::Invalid {
                service.count(Metric::InvalidCode, op);
            }
            reply::render(&reply::CheckReply::from(outcome))
        }
        Operation::Revoke => {
            let user = body::revoke_command(obj)?;
            let revoked = service.revoke(&user).await.map_err(failed(service, op))?;
            reply::render(&reply::Done {
                ok: true,
                revoked: Some(revoked),
            })
        }
        Operation::Consume => {
            let policy = &service.config().password.policy;
            let cmd = body::consume_command(
                obj,
                body::Codes::native(&service.config().policy),
                policy,
                accept_language,
                public_ip,
            )?;
            service.consume(cmd).await.map_err(failed(service, op))?;
            reply::render(&reply::Done {
                ok: true,
                revoked: None,
            })
        }
    }
}

/// The token of `Bearer <token>`; the scheme name is case-insensitive (RFC 9110, 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The client's address: API Gateway's `sourceIp`, unless the request came through the
/// optional CloudFront distribution, proven by its `X-Origin-Verify` secret (compared by
/// SHA-256 in constant time), in which case CloudFront's `X-Viewer-Address` (set by its viewer
/// function, overwriting whatever the client sent) names the viewer. Without the secret the
/// header is ignored, so no client can choose its own rate-limit bucket.
fn client_ip(edge: &EdgeSettings, req: &ApiRequest) -> Option<IpAddr> {
    let Some(expected) = edge.cloudfront_origin_secret_sha256 else {
        return req.client_ip;
    };
    let proven = req
        .headers
        .get("x-origin-verify")
        .map(|v| Sha256::digest(v.as_bytes()))
        .is_some_and(|got| bool::from(got.as_slice().ct_eq(&expected)));
    if !proven {
        return req.client_ip;
    }
    req.headers
        .get("x-viewer-address")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(req.client_ip)
}

/// No `Authorization` header: a public caller. `Bearer <key>` whose SHA-256 equals
/// `SERVER_KEY_SHA256` (compared in constant time): a server caller. Anything else: 401.
fn authenticate(edge: &EdgeSettings, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Public);
    };
    let expected = edge.server_key_sha256.ok_or(ApiError::Unauthorized)?;
    let key = value
        .to_str()
        .ok()
        .and_then(bearer_token)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let digest = Sha256::digest(key.as_bytes());
    if bool::from(digest.as_slice().ct_eq(&expected)) {
        Ok(Caller::Server)
    } else {
        Err(ApiError::Unauthorized)
    }
}

fn json_object(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if !is_json(&req.headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    match strict::from_slice(&req.body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(ApiError::NotAnObject),
        Err(strict::Error::Syntax) => Err(ApiError::MalformedJson),
        Err(strict::Error::Duplicate { field, nested }) => Err(ApiError::field(
            &field,
            if nested {
                "contains a key given more than once"
            } else {
                "is given more than once"
            },
        )),
    }
}

/// `content-type` is `application/json` or `application/*+json` (parameters ignored).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// A JSON response with the headers every answer carries.
pub fn json_response(status: StatusCode, body: String) -> http::Response<String> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
