//! ProductFlame (seed 002): `POST /v1/auth/reset-password` with `Authorization: <secret key>`
//! (the raw server key, no `Bearer`, checked against the same `SERVER_KEY_SHA256` as the native
//! server key, in constant time, before the body is read) and `{email, maxRequests?,
//! preventEmailSending?}`. It is a server call: the body becomes the native server request body
//! (`return_code: true`, `send_email: !preventEmailSending`, `max_concurrent_requests`) and runs
//! through the same use case, so the cap, the mail, the events and the logs are the native ones.
//!
//! Answers, as the seed documents them: `200 {"activation": "<code>"}` (the activation id IS the
//! reset code: `consume`, native or any dialect, accepts it), `200 {"message": "ok"}` for an
//! unknown user (never 404), and errors `{"error": "BAD_REQUEST" | "TOO_MANY_REQUESTS" |
//! "UNKNOWN_ERROR", "message": "<the seed's sentence>"}`, 429 with `Retry-After`. What the seed
//! has no error for (a missing or wrong key, another method, a body too large or not JSON, an
//! outage) keeps the native status and code, in the seed's two-field shape.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::super::{ApiError, ApiRequest, body, failed, json_object, json_response, reply};
use crate::config::{Dialect, ProductFlameSettings};
use crate::invocation::Invocation;
use crate::service::{Caller, ClientIp, Operation, ResetService, ServiceError};

/// The route.
pub const RESET_PASSWORD_PATH: &str = "/v1/auth/reset-password";

/// Every field the body accepts: the seed's three.
pub const RESET_PASSWORD_FIELDS: &[&str] = &["email", "maxRequests", "preventEmailSending"];

/// The `message` of `200` for a user that does not exist (the seed's).
pub const USER_NOT_FOUND_MESSAGE: &str = "ok";

/// The seed's sentence for `BAD_REQUEST`.
pub const BAD_REQUEST_MESSAGE: &str = "One or more body params are invalid.";
/// The seed's sentence for `TOO_MANY_REQUESTS`, its spelling kept (a client may compare it).
pub const TOO_MANY_REQUESTS_MESSAGE: &str =
    "It seems that you send too much requests. Please check your inbox to reset your pasword.";
/// The seed's sentence for `UNKNOWN_ERROR`.
pub const UNKNOWN_ERROR_MESSAGE: &str = "An unknown error has occured.";

/// The ProductFlame operation of `path`: the one route runs `request`.
pub fn route(path: &str) -> Option<Operation> {
    (path.trim_end_matches('/') == RESET_PASSWORD_PATH).then_some(Operation::Request)
}

/// Every error the route answers, in the seed's shape `{"error", "message"}`. Each variant's doc
/// names its status and `error`.
#[derive(Debug)]
pub enum ProductFlameError {
    /// 401 `UNAUTHORIZED`: no `Authorization`, or not the server key (the seed names no error
    /// for it; the native status and code).
    Unauthorized,
    /// 400 `BAD_REQUEST` for every invalid body; 429 `TOO_MANY_REQUESTS`; 500 `UNKNOWN_ERROR`;
    /// anything else the native status and code (see [`ProductFlameError::error`]).
    Api(ApiError),
}

impl From<ApiError> for ProductFlameError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ProductFlameError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            _ if self.is_bad_request() => StatusCode::BAD_REQUEST,
            Self::Api(e) => e.status(),
        }
    }

    /// Everything the seed calls "one or more body params are invalid".
    fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::Api(
                ApiError::MalformedJson
                    | ApiError::NotAnObject
                    | ApiError::Validation(_)
                    | ApiError::Forbidden(_)
            )
        )
    }

    /// The `error` field: the seed's three codes, else the native code.
    pub fn error(&self) -> &'static str {
        match self {
            Self::Unauthorized => "UNAUTHORIZED",
            _ if self.is_bad_request() => "BAD_REQUEST",
            Self::Api(ApiError::TooManyRequests { .. }) => "TOO_MANY_REQUESTS",
            Self::Api(ApiError::Internal) => "UNKNOWN_ERROR",
            Self::Api(e) => e.code(),
        }
    }

    /// The `message` field: the seed's sentence for its three codes, else the native one.
    /// Never names a value the caller sent.
    fn message(&self) -> String {
        match self {
            Self::Unauthorized => {
                "The secret API key in Authorization is missing or wrong.".to_owned()
            }
            _ if self.is_bad_request() => BAD_REQUEST_MESSAGE.to_owned(),
            Self::Api(ApiError::TooManyRequests { .. }) => TOO_MANY_REQUESTS_MESSAGE.to_owned(),
            Self::Api(ApiError::Internal) => UNKNOWN_ERROR_MESSAGE.to_owned(),
            Self::Api(e) => e.to_string(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Api(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The response: status, `{"error", "message"}`, and `Retry-After` / `Allow` where they
    /// apply.
    pub fn into_response(self) -> http::Response<String> {
        let body = serde_json::to_string(&ErrorBody {
            error: self.error(),
            message: self.message(),
        })
        .unwrap_or_else(|_| {
            format!(r#"{{"error":"UNKNOWN_ERROR","message":"{UNKNOWN_ERROR_MESSAGE}"}}"#)
        });
        let mut response = json_response(self.status(), body);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Self::Api(ApiError::MethodNotAllowed)) {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// `200` for a known user: the activation id, which is the reset code.
///
/// No `Debug`: it holds a live code.
#[derive(Serialize)]
struct Activation<'a> {
    activation: &'a str,
}

/// `200` for an unknown user.
#[derive(Serialize)]
struct UserNotFound {
    message: &'static str,
}

/// Answers the ProductFlame route. Never fails: every problem is an error response in the seed's
/// shape.
pub async fn handle(
    service: &ResetService,
    settings: &ProductFlameSettings,
    req: ApiRequest,
) -> http::Response<String> {
    // The metrics' `dialect` dimension and the events' `dialect` and `route` say ProductFlame.
    let invocation =
        Invocation::current().in_dialect(Dialect::ProductFlame.name(), RESET_PASSWORD_PATH);
    invocation
        .scope(async {
            match dispatch(service, settings, &req).await {
                Ok(body) => json_response(StatusCode::OK, body),
                Err(e) => e.into_response(),
            }
        })
        .await
}

/// The raw key of `Authorization` against the server key's digest, in constant time, before the
/// body is read: a caller without it learns nothing and changes nothing.
fn authenticate(
    settings: &ProductFlameSettings,
    headers: &HeaderMap,
) -> Result<(), ProductFlameError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|k| !k.is_empty())
        .ok_or(ProductFlameError::Unauthorized)?;
    let digest = Sha256::digest(key);
    if bool::from(digest.as_slice().ct_eq(&settings.server_key_sha256)) {
        Ok(())
    } else {
        Err(ProductFlameError::Unauthorized)
    }
}

async fn dispatch(
    service: &ResetService,
    settings: &ProductFlameSettings,
    req: &ApiRequest,
) -> Result<String, ProductFlameError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed.into());
    }
    authenticate(settings, &req.headers)?;
    let obj = json_object(req)?;
    let config = service.config();
    let native = native_body(obj, config.policy.max_concurrent)?;
    let accept_language = req
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    // The server key's caller: the app's backend, not IP-limited, as on the native API.
    let cmd = body::request_command(
        native,
        Caller::Server,
        &config.links,
        config.policy.max_concurrent,
        config.captcha.is_some(),
        accept_language,
        ClientIp::Exempt,
    )?;
    match service.request(cmd).await {
        Ok(Some(issued)) => Ok(reply::render(&Activation {
            activation: issued.code.expose(),
        })?),
        // The seed: an unknown user is "ok", never 404.
        Ok(None) | Err(ServiceError::UserNotFound) => Ok(reply::render(&UserNotFound {
            message: USER_NOT_FOUND_MESSAGE,
        })?),
        Err(e) => Err(failed(service, Operation::Request)(e).into()),
    }
}

/// The seed's body as the native server request body. Only the seed's own fields are judged
/// here (`maxRequests`, `preventEmailSending`); `email` goes through as sent, to the native
/// parser. `maxRequests` is any whole number from 1 and is clamped to `MAX_CONCURRENT_REQUESTS`
/// (`cap`): the seed's client sends its default, 3, whatever the service allows, and the
/// operator's ceiling wins (README, "Drop-in for ProductFlame").
fn native_body(mut obj: Map<String, Value>, cap: u32) -> Result<Map<String, Value>, ApiError> {
    let mut problems = super::super::FieldErrors::new();
    for field in obj
        .keys()
        .filter(|k| !RESET_PASSWORD_FIELDS.contains(&k.as_str()))
        .take(super::super::MAX_LISTED_UNKNOWN_FIELDS)
    {
        problems.insert(
            field.chars().take(64).collect(),
            "is not a known field".to_owned(),
        );
    }
    let max_requests = match obj.remove("maxRequests") {
        None | Some(Value::Null) => None,
        // A whole number written as a float (`3.0`, `1e30`) is a whole number too.
        Some(Value::Number(n)) => match n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 1.0)
                    .map(|f| f.min(u64::MAX as f64) as u64)
            })
            .filter(|n| *n >= 1)
        {
            Some(n) => Some(u32::try_from(n).unwrap_or(u32::MAX).min(cap)),
            None => {
                problems.insert(
                    "maxRequests".to_owned(),
                    "must be a whole number from 1".to_owned(),
                );
                None
            }
        },
        Some(_) => {
            problems.insert("maxRequests".to_owned(), "must be a number".to_owned());
            None
        }
    };
    let prevent = match obj.remove("preventEmailSending") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            problems.insert(
                "preventEmailSending".to_owned(),
                "must be true or false".to_owned(),
            );
            false
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let mut native = Map::new();
    if let Some(email) = obj.remove("email") {
        native.insert("email".to_owned(), email);
    }
    native.insert("return_code".to_owned(), Value::Bool(true));
    native.insert("send_email".to_owned(), Value::Bool(!prevent));
    if let Some(n) = max_requests {
        native.insert("max_concurrent_requests".to_owned(), Value::from(n));
    }
    Ok(native)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(e: ProductFlameError) -> (StatusCode, HeaderMap, Value) {
        let response = e.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            serde_json::from_str(response.body()).unwrap(),
        )
    }

    #[test]
    fn the_seeds_three_errors_are_answered_with_its_codes_and_sentences() {
        for (e, status, error, message) in [
            (
                ApiError::field("email", "is required"),
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                BAD_REQUEST_MESSAGE,
            ),
            (
                ApiError::MalformedJson,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                BAD_REQUEST_MESSAGE,
            ),
            (
                ApiError::TooManyRequests { retry_after: 42 },
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                TOO_MANY_REQUESTS_MESSAGE,
            ),
            (
                ApiError::Internal,
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN_ERROR",
                UNKNOWN_ERROR_MESSAGE,
            ),
        ] {
            let (got, _, json) = parts(ProductFlameError::Api(e));
            assert_eq!(got, status);
            assert_eq!(
                json,
                serde_json::json!({"error": error, "message": message})
            );
        }
    }

    #[test]
    fn a_429_and_a_503_keep_retry_after() {
        for e in [
            ApiError::TooManyRequests { retry_after: 42 },
            ApiError::ServiceUnavailable { retry_after: 42 },
        ] {
            let (_, headers, json) = parts(ProductFlameError::Api(e));
            assert_eq!(headers[header::RETRY_AFTER], "42");
            assert_eq!(json.as_object().unwrap().len(), 2, "error and message only");
        }
    }

    #[test]
    fn max_requests_is_clamped_to_the_configured_cap_and_refused_below_one() {
        let body = |v: Value| {
            let Value::Object(obj) =
                serde_json::json!({"email": "a@example.com", "maxRequests": v})
            else {
                unreachable!()
            };
            native_body(obj, 3)
        };
        assert_eq!(body(Value::from(2)).unwrap()["max_concurrent_requests"], 2);
        assert_eq!(body(Value::from(50)).unwrap()["max_concurrent_requests"], 3);
        assert_eq!(
            body(Value::from(u64::MAX)).unwrap()["max_concurrent_requests"],
            3
        );
        assert_eq!(
            body(Value::from(2.0)).unwrap()["max_concurrent_requests"],
            2
        );
        assert_eq!(
            body(Value::from(1e30)).unwrap()["max_concurrent_requests"],
            3
        );
        for bad in [
            Value::from(0),
            Value::from(-1),
            Value::from(2.5),
            Value::from("3"),
            Value::Bool(true),
        ] {
            assert!(body(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_route_is_matched_with_or_without_a_trailing_slash_and_nothing_else() {
        assert_eq!(route(RESET_PASSWORD_PATH), Some(Operation::Request));
        assert_eq!(route("/v1/auth/reset-password/"), Some(Operation::Request));
        assert_eq!(route("/v1/auth/reset-password/x"), None);
        assert_eq!(route("/v1/auth"), None);
    }
}
