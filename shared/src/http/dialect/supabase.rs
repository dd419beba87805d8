//! The Supabase-style edge function (seed 003): `POST /auth/send-password-reset`
//! `{email, callback_origin?}`, public (no key), answered `200 {"ok": true, "message": ...}`
//! whatever happened to the account, errors `{error, code, fieldErrors, issues, retryAfter}`
//! (camelCase, as the seed) with `Retry-After` on 429.
//!
//! The body becomes the native public request body and runs through the same use case, so
//! every rule (enumeration, cap, IP limit, response floor, CAPTCHA, allowed callbacks) is the
//! native one. `callback_origin` picks the origin of the link, never its path: the link is
//! `DEFAULT_CALLBACK_URL` (the app's reset page) moved to that origin, which must be on
//! `ALLOWED_CALLBACK_ORIGINS` (and, with `ALLOWED_CALLBACK_URLS`, the result one of those).

use http::{Method, StatusCode, header};
use serde_json::{Map, Value};
use url::Url;

use super::super::{
    ApiError, ApiRequest, FieldErrors, MAX_LISTED_UNKNOWN_FIELDS, body, client_ip, failed,
    json_object, json_response, reply,
};
use crate::config::{Dialect, LinkSettings};
use crate::invocation::Invocation;
use crate::service::{Caller, ClientIp, Operation, ResetService};

/// The route.
pub const SEND_PASSWORD_RESET_PATH: &str = "/auth/send-password-reset";

/// Fields the route accepts: the seed's two, plus the native `captcha_token` when a CAPTCHA is
/// configured (and `locale`, the mail's language, as on the native route).
pub const SEND_PASSWORD_RESET_FIELDS: &[&str] =
    &["email", "callback_origin", "captcha_token", "locale"];

/// The Supabase-style operation of `path`.
pub fn route(path: &str) -> Option<Operation> {
    (path.trim_end_matches('/') == SEND_PASSWORD_RESET_PATH).then_some(Operation::Request)
}

/// Answers the route. Never fails: every problem is an error response in the seed's shape.
pub async fn handle(service: &ResetService, req: ApiRequest) -> http::Response<String> {
    let invocation =
        Invocation::current().in_dialect(Dialect::Supabase.name(), SEND_PASSWORD_RESET_PATH);
    invocation
        .scope(async {
            match dispatch(service, &req).await {
                Ok(body) => json_response(StatusCode::OK, body),
                Err(e) => error_response(e),
            }
        })
        .await
}

async fn dispatch(service: &ResetService, req: &ApiRequest) -> Result<String, ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let obj = json_object(req)?;
    let config = service.config();
    let obj = native_body(obj, &config.links)?;
    let ip = ClientIp::public(client_ip(&config.edge, req));
    let accept_language = req
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let cmd = body::request_command(
        obj,
        Caller::Public,
        &config.links,
        config.policy.max_concurrent,
        config.captcha.is_some(),
        accept_language,
        ip,
    )
    .map_err(|e| rename_field(e, "callback_url", "callback_origin"))?;
    service
        .request(cmd)
        .await
        .map_err(failed(service, Operation::Request))?;
    // The native public reply: `{"message", "ok"}`, the same for every address.
    reply::render(&reply::RequestAccepted::new(None))
}

/// The seed's body as a native public request body: unknown fields refused, `callback_origin`
/// turned into the `callback_url` it stands for. Everything else is checked by the native
/// parser, so the same input is refused with the same words.
fn native_body(
    mut obj: Map<String, Value>,
    links: &LinkSettings,
) -> Result<Map<String, Value>, ApiError> {
    let unknown: FieldErrors = obj
        .keys()
        .filter(|k| !SEND_PASSWORD_RESET_FIELDS.contains(&k.as_str()))
        .take(MAX_LISTED_UNKNOWN_FIELDS)
        .map(|k| {
            (
                k.chars().take(64).collect(),
                "is not a known field".to_owned(),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    match obj.remove("callback_origin") {
        None | Some(Value::Null) => {}
        Some(Value::String(origin)) => {
            let url = callback_for(&origin, links)
                .map_err(|problem| ApiError::field("callback_origin", problem))?;
            obj.insert("callback_url".to_owned(), Value::String(url));
        }
        Some(_) => return Err(ApiError::field("callback_origin", "must be a string")),
    }
    Ok(obj)
}

/// `DEFAULT_CALLBACK_URL` on `origin`: its path and query kept, its origin replaced. The
/// result is then checked by the native parser like any `callback_url` (allowed origins, and
/// `ALLOWED_CALLBACK_URLS` when set).
fn callback_for(origin: &str, links: &LinkSettings) -> Result<String, &'static str> {
    const NOT_AN_ORIGIN: &str =
        "must be an origin such as https://app.example.com (scheme, host and port; no path)";
    if origin.len() > 2048 {
        return Err("must be at most 2048 characters");
    }
    let parsed = Url::parse(origin).map_err(|_| NOT_AN_ORIGIN)?;
    if parsed.path() != "/"
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || !parsed.origin().is_tuple()
    {
        return Err(NOT_AN_ORIGIN);
    }
    if !links
        .allowed_origins
        .as_slice()
        .contains(&parsed.origin().ascii_serialization())
    {
        return Err("origin is not allowed (ALLOWED_CALLBACK_ORIGINS)");
    }
    let Some(default) = &links.default_callback else {
        // The dialect is off without it (config::dialects); kept as a refusal, not a panic.
        return Err("is not accepted: no DEFAULT_CALLBACK_URL is configured");
    };
    let page = default.as_url();
    let mut url = parsed;
    url.set_path(page.path());
    url.set_query(page.query());
    Ok(url.into())
}

/// A native field error under the seed's field name.
fn rename_field(e: ApiError, from: &str, to: &str) -> ApiError {
    let rename = |fields: FieldErrors| {
        fields
            .into_iter()
            .map(|(k, v)| {
                if k == from {
                    (to.to_owned(), v)
                } else {
                    (k, v)
                }
            })
            .collect()
    };
    match e {
        ApiError::Validation(f) => ApiError::Validation(rename(f)),
        ApiError::Forbidden(f) => ApiError::Forbidden(rename(f)),
        other => other,
    }
}

/// The native error response with the seed's camelCase names: `field_errors` ->
/// `fieldErrors`, `retry_after` -> `retryAfter`. Status, headers (`Retry-After`, `Allow`),
/// `error`, `code`, `issues` and the size bound are the native ones.
pub fn error_response(e: ApiError) -> http::Response<String> {
    let native = e.into_response();
    let (parts, body) = native.into_parts();
    let renamed = match serde_json::from_str::<Map<String, Value>>(&body) {
        Ok(obj) => {
            let obj: Map<String, Value> = obj
                .into_iter()
                .map(|(k, v)| match k.as_str() {
                    "field_errors" => ("fieldErrors".to_owned(), v),
                    "retry_after" => ("retryAfter".to_owned(), v),
                    _ => (k, v),
                })
                .collect();
            serde_json::to_string(&obj).unwrap_or(body)
        }
        Err(_) => body,
    };
    http::Response::from_parts(parts, renamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_use_the_seeds_camel_case_names_and_keep_retry_after() {
        let r = error_response(ApiError::TooManyRequests { retry_after: 42 });
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "42");
        let json: Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(json["retryAfter"], 42);
        assert_eq!(json["code"], "TOO_MANY_REQUESTS");
        assert!(json.get("retry_after").is_none());

        let r = error_response(ApiError::field("callback_origin", "origin is not allowed"));
        let json: Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(
            json["fieldErrors"]["callback_origin"],
            "origin is not allowed"
        );
        assert_eq!(json["issues"][0]["path"], "callback_origin");
        assert!(json.get("field_errors").is_none());
    }

    #[test]
    fn the_route_is_matched_with_or_without_a_trailing_slash_and_nothing_else() {
        assert_eq!(route(SEND_PASSWORD_RESET_PATH), Some(Operation::Request));
        assert_eq!(
            route("/auth/send-password-reset/"),
            Some(Operation::Request)
        );
        assert_eq!(route("/auth/send-password-reset/x"), None);
    }
}
