//! Stack Auth (seeds 000, 001): `POST /api/v1/auth/password/send-reset-code`,
//! `.../reset/check-code` and `.../reset`, checked against `STACK_PROJECT_ID` and
//! `STACK_PUBLISHABLE_CLIENT_KEYS` before the body is even read, answered in Stack's shapes:
//! `{"success": ...}`, `{"is_valid": ...}`, and errors `{"code", "error"}` with the
//! `X-Stack-Known-Error` header. The bodies become the native commands
//! ([`super::super::body`]) and run through the same use cases, so every rule (enumeration,
//! cap, IP limit, response floor, CAPTCHA, password policy) is the native one.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::super::{
    ApiError, ApiRequest, MAX_ERROR_BODY_BYTES, body, client_ip, failed, json_object,
    json_response, reply,
};
use crate::config::{Dialect, StackSettings};
use crate::domain::PasswordError;
use crate::invocation::Invocation;
use crate::metrics::Metric;
use crate::service::{Caller, CheckOutcome, ClientIp, LinkTarget, Operation, ResetService};

/// `send-reset-code`'s route.
pub const SEND_RESET_CODE_PATH: &str = "/api/v1/auth/password/send-reset-code";
/// `check-code`'s route.
pub const CHECK_CODE_PATH: &str = "/api/v1/auth/password/reset/check-code";
/// The completing call's route.
pub const RESET_PATH: &str = "/api/v1/auth/password/reset";

/// The `success` of every accepted `send-reset-code`, whether or not the account exists:
/// Stack Auth's own sentence, so a client comparing it keeps working.
pub const SEND_RESET_CODE_SUCCESS: &str = "maybe, only if user with e-mail exists";

/// Fields `send-reset-code` accepts: the seed's two, plus the native `captcha_token` when a
/// CAPTCHA is configured (Stack's clients send none: with `CAPTCHA_PROVIDER` set, a page must
/// add it).
pub const SEND_RESET_CODE_FIELDS: &[&str] = &["email", "callback_url", "captcha_token"];

/// The Stack operation of `path`.
pub fn route(path: &str) -> Option<Operation> {
    match path.trim_end_matches('/') {
        SEND_RESET_CODE_PATH => Some(Operation::Request),
        CHECK_CODE_PATH => Some(Operation::Check),
        RESET_PATH => Some(Operation::Consume),
        _ => None,
    }
}

/// Every error a Stack route answers, in Stack's shape. Each variant's doc names its status
/// and `code` (Stack's `KnownErrors` where Stack has one; the seed names none).
#[derive(Debug)]
pub enum StackError {
    /// 400 `CURRENT_PROJECT_NOT_FOUND`: `X-Stack-Project-Id` missing or not `STACK_PROJECT_ID`.
    ProjectNotFound,
    /// 401 `CLIENT_AUTHENTICATION_REQUIRED`: no `X-Stack-Publishable-Client-Key`.
    ClientKeyRequired,
    /// 401 `INVALID_PUBLISHABLE_CLIENT_KEY`: a key that is none of
    /// `STACK_PUBLISHABLE_CLIENT_KEYS`.
    InvalidClientKey,
    /// 400 `PASSWORD_TOO_SHORT` / `PASSWORD_TOO_LONG` / `PASSWORD_REQUIREMENTS_NOT_MET`.
    Password(PasswordError),
    /// 400 `PASSWORD_REQUIREMENTS_NOT_MET`: the new password is in known breaches.
    BreachedPassword,
    /// Everything the shared edge and use cases refuse, in Stack's shape (see
    /// [`StackError::code`]).
    Api(ApiError),
}

impl From<ApiError> for StackError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    error: String,
}

impl StackError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ProjectNotFound | Self::Password(_) | Self::BreachedPassword => {
                StatusCode::BAD_REQUEST
            }
            Self::ClientKeyRequired | Self::InvalidClientKey => StatusCode::UNAUTHORIZED,
            // Stack answers an unknown code 404 on the completing call.
            Self::Api(ApiError::InvalidCode) => StatusCode::NOT_FOUND,
            Self::Api(e) => e.status(),
        }
    }

    /// Stack's machine-readable code (also sent as `X-Stack-Known-Error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ProjectNotFound => "CURRENT_PROJECT_NOT_FOUND",
            Self::ClientKeyRequired => "CLIENT_AUTHENTICATION_REQUIRED",
            Self::InvalidClientKey => "INVALID_PUBLISHABLE_CLIENT_KEY",
            Self::Password(PasswordError::TooShort { .. }) => "PASSWORD_TOO_SHORT",
            Self::Password(PasswordError::TooLong { .. }) => "PASSWORD_TOO_LONG",
            Self::Password(_) | Self::BreachedPassword => "PASSWORD_REQUIREMENTS_NOT_MET",
            Self::Api(ApiError::MalformedJson | ApiError::NotAnObject) => "BODY_PARSING_ERROR",
            Self::Api(ApiError::Validation(_) | ApiError::Forbidden(_)) => "SCHEMA_ERROR",
            Self::Api(ApiError::InvalidCode) => "VERIFICATION_CODE_NOT_FOUND",
            Self::Api(e) => e.code(),
        }
    }

    /// The human sentence: Stack's where it has one; for a schema error, each field's problem.
    fn message(&self) -> String {
        match self {
            Self::ProjectNotFound => "The current project was not found. Please check the value of the x-stack-project-id header.".to_owned(),
            Self::ClientKeyRequired => "The publishable client key must be provided.".to_owned(),
            Self::InvalidClientKey => "The publishable key is not valid for the project. Does the project and/or the key exist?".to_owned(),
            Self::Password(PasswordError::TooShort { min }) => {
                format!("Password too short. Minimum length is {min}.")
            }
            Self::Password(PasswordError::TooLong { max }) => {
                format!("Password too long. Maximum length is {max}.")
            }
            Self::Password(e) => format!("Password requirements not met: the password {e}."),
            Self::BreachedPassword => format!(
                "Password requirements not met: the password {}.",
                super::super::BREACHED_PASSWORD_MESSAGE
            ),
            Self::Api(ApiError::InvalidCode) => {
                "The verification code does not exist for this project.".to_owned()
            }
            Self::Api(ApiError::Validation(fields) | ApiError::Forbidden(fields)) => {
                let mut text = String::from("Request validation failed:");
                for (field, problem) in fields {
                    text.push_str(&format!("\n  - body.{field} {problem}"));
                }
                // Field names come from the caller: bounded whatever the body held.
                text.chars().take(MAX_ERROR_BODY_BYTES / 2).collect()
            }
            Self::Api(e) => e.to_string(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Api(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The response: status, `{"code", "error"}`, `X-Stack-Known-Error`, and `Retry-After` /
    /// `Allow` where they apply.
    pub fn into_response(self) -> http::Response<String> {
        let code = self.code();
        let body = serde_json::to_string(&ErrorBody {
            code,
            error: self.message(),
        })
        .unwrap_or_else(|_| {
            r#"{"code":"INTERNAL_ERROR","error":"Something went wrong on our side."}"#.to_owned()
        });
        let mut response = json_response(self.status(), body);
        let headers = response.headers_mut();
        headers.insert("x-stack-known-error", HeaderValue::from_static(code));
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Self::Api(ApiError::MethodNotAllowed)) {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// `200` of `send-reset-code` (a sentence) and of `reset` (`true`).
#[derive(Serialize)]
struct Success<T: Serialize> {
    success: T,
}

/// `200` of `check-code`: the seed's one field, no expiry.
#[derive(Serialize)]
struct IsValid {
    is_valid: bool,
}

/// Answers one Stack route. Never fails: every problem is a Stack error response.
pub async fn handle(
    service: &ResetService,
    settings: &StackSettings,
    op: Operation,
    req: ApiRequest,
) -> http::Response<String> {
    // The metrics' `dialect` dimension and the events' `dialect` and `route` say Stack.
    let invocation = Invocation::current().in_dialect(Dialect::Stack.name(), path_of(op));
    invocation
        .scope(async {
            match dispatch(service, settings, op, &req).await {
                Ok(body) => json_response(StatusCode::OK, body),
                Err(e) => {
                    if matches!(e, StackError::Api(ApiError::InvalidCode)) {
                        service.count(Metric::InvalidCode, op);
                    }
                    e.into_response()
                }
            }
        })
        .await
}

/// The Stack route of `op` (revoke has none: its calls are refused before any use case).
fn path_of(op: Operation) -> &'static str {
    match op {
        Operation::Request => SEND_RESET_CODE_PATH,
        Operation::Check => CHECK_CODE_PATH,
        Operation::Consume | Operation::Revoke => RESET_PATH,
    }
}

/// The project and one of its publishable keys, before the body is read: a caller without
/// them learns nothing and changes nothing (no lookup, no IP window, no slot).
fn authenticate(settings: &StackSettings, headers: &HeaderMap) -> Result<(), StackError> {
    let project = headers
        .get("x-stack-project-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if project != Some(settings.project_id.as_str()) {
        return Err(StackError::ProjectNotFound);
    }
    let key = headers
        .get("x-stack-publishable-client-key")
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|k| !k.is_empty())
        .ok_or(StackError::ClientKeyRequired)?;
    let digest = Sha256::digest(key);
    let known = settings
        .publishable_client_keys_sha256
        .iter()
        .fold(0u8, |any, expected| {
            any | digest.as_slice().ct_eq(expected).unwrap_u8()
        });
    if known == 1 {
        Ok(())
    } else {
        Err(StackError::InvalidClientKey)
    }
}

async fn dispatch(
    service: &ResetService,
    settings: &StackSettings,
    op: Operation,
    req: &ApiRequest,
) -> Result<String, StackError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed.into());
    }
    authenticate(settings, &req.headers)?;
    let obj = json_object(req)?;
    // Stack's client calls are the public's: the IP limit counts them, as on the native API.
    let ip = ClientIp::public(client_ip(&service.config().edge, req));
    let accept_language = req
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let config = service.config();
    match op {
        Operation::Request => {
            let obj = send_reset_code_body(obj)?;
            let mut cmd = body::request_command(
                obj,
                Caller::Public,
                &config.links,
                config.policy.max_concurrent,
                config.captcha.is_some(),
                accept_language,
                ip,
            )?;
            // Stack's contract: "A query parameter `code` ... will be appended".
            if let LinkTarget::Callback(url) = cmd.link {
                cmd.link = LinkTarget::CallbackQuery(url);
            }
            service.request(cmd).await.map_err(failed(service, op))?;
            Ok(reply::render(&Success {
                success: SEND_RESET_CODE_SUCCESS,
            })?)
        }
        Operation::Check => {
            // Stack's seeds know only the link's code.
            let code = body::check_command(obj, body::Codes::LinkOnly)?;
            let outcome = service
                .check_proof(code, ip)
                .await
                .map_err(failed(service, op))?;
            if outcome == CheckOutcome::Invalid {
                service.count(Metric::InvalidCode, op);
            }
            Ok(reply::render(&IsValid {
                is_valid: outcome != CheckOutcome::Invalid,
            })?)
        }
        Operation::Consume => {
            let policy = &config.password.policy;
            // Stack names the password's problem in its code: the policy is asked first (it
            // is the same policy `consume_command` applies next).
            if let Some(Value::String(raw)) = obj.get("password")
                && let Err(e) = policy.parse(raw)
            {
                return Err(StackError::Password(e));
            }
            let cmd =
                body::consume_command(obj, body::Codes::LinkOnly, policy, accept_language, ip)?;
            service.consume(cmd).await.map_err(|e| match e {
                crate::service::ServiceError::WeakPassword(e) => StackError::Password(e),
                crate::service::ServiceError::BreachedPassword => StackError::BreachedPassword,
                other => failed(service, op)(other).into(),
            })?;
            Ok(reply::render(&Success { success: true })?)
        }
        Operation::Revoke => Err(ApiError::NotFound.into()),
    }
}

/// The seed's body, checked for its own fields: `callback_url` is required (Stack has no
/// default callback); what is left is a native public request body.
fn send_reset_code_body(obj: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut problems = super::super::FieldErrors::new();
    for field in obj
        .keys()
        .filter(|k| !SEND_RESET_CODE_FIELDS.contains(&k.as_str()))
    {
        if problems.len() == super::super::MAX_LISTED_UNKNOWN_FIELDS {
            break;
        }
        problems.insert(
            field.chars().take(64).collect(),
            "is not a known field".to_owned(),
        );
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    if obj.get("callback_url").is_none_or(Value::is_null) {
        let mut problems = super::super::FieldErrors::new();
        problems.insert("callback_url".to_owned(), "is required".to_owned());
        if obj.get("email").is_none_or(Value::is_null) {
            problems.insert("email".to_owned(), "is required".to_owned());
        }
        return Err(ApiError::Validation(problems));
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(e: StackError) -> (StatusCode, HeaderMap, serde_json::Value) {
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
    fn limits_and_outages_keep_retry_after_in_stacks_shape() {
        for (e, status, code) in [
            (
                ApiError::TooManyRequests { retry_after: 42 },
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
            ),
            (
                ApiError::ServiceUnavailable { retry_after: 42 },
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
            ),
        ] {
            let (got, headers, json) = body(StackError::Api(e));
            assert_eq!(got, status);
            assert_eq!(headers[header::RETRY_AFTER], "42");
            assert_eq!(headers["x-stack-known-error"], code);
            assert_eq!(json["code"], code);
            assert_eq!(json.as_object().unwrap().len(), 2, "code and error only");
        }
    }

    #[test]
    fn a_500_says_nothing_more_than_stack_would() {
        let (status, _, json) = body(StackError::Api(ApiError::Internal));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["code"], "INTERNAL_ERROR");
        assert_eq!(json["error"], "Something went wrong on our side.");
    }

    #[test]
    fn schema_errors_are_bounded_whatever_the_field_names() {
        let fields = (0..10)
            .map(|i| (format!("{i}{}", "x".repeat(63)), "y".repeat(500)))
            .collect();
        let (_, _, json) = body(StackError::Api(ApiError::Validation(fields)));
        assert!(json["error"].as_str().unwrap().len() <= MAX_ERROR_BODY_BYTES / 2);
    }

    #[test]
    fn routes_are_matched_with_or_without_a_trailing_slash_and_nothing_else() {
        assert_eq!(route(SEND_RESET_CODE_PATH), Some(Operation::Request));
        assert_eq!(
            route("/api/v1/auth/password/reset/"),
            Some(Operation::Consume)
        );
        assert_eq!(route(CHECK_CODE_PATH), Some(Operation::Check));
        assert_eq!(route("/api/v1/auth/password/reset/other"), None);
    }
}
