//! [`ApiError`]: the one place that decides an error's status, code and body.

use std::collections::BTreeMap;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::logging::error_chain;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Largest error body: field names come from the caller, so the answer is bounded whatever
/// the request holds.
pub const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;

/// The message on `password` for a password found in known breaches.
pub const BREACHED_PASSWORD_MESSAGE: &str =
    "appears in a known data breach, so attackers try it first: choose another";

/// The message on `captcha_token` when the provider refused it.
pub const CAPTCHA_REFUSED_MESSAGE: &str =
    "was not accepted by the CAPTCHA provider: solve the challenge again";

/// `Retry-After` when a third-party check (breached passwords, CAPTCHA) did not answer: such
/// outages are usually short, and the caller's retry costs us nothing.
pub const THIRD_PARTY_RETRY_AFTER_SECS: u64 = 5;

/// Field name -> message, for `field_errors` (and `issues`).
pub type FieldErrors = BTreeMap<String, String>;

/// Every error the API answers. Each variant's doc names its status and `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `MALFORMED_JSON`: the body does not parse as JSON.
    #[error("The request body is not valid JSON.")]
    MalformedJson,
    /// 400 `INVALID_BODY`: the body is JSON but not an object.
    #[error("The request body must be a JSON object.")]
    NotAnObject,
    /// 400 `VALIDATION_FAILED`: one message per offending field.
    #[error("The request has invalid fields.")]
    Validation(FieldErrors),
    /// 400 `INVALID_CODE`: unknown, used, revoked, expired or malformed code.
    #[error("This reset code is invalid or has expired. Ask for a new one.")]
    InvalidCode,
    /// 401 `UNAUTHORIZED`: an `Authorization` header that is not the server key.
    #[error("The server key is missing or wrong.")]
    Unauthorized,
    /// 403 `FORBIDDEN`: a public caller used server-only fields (named).
    #[error("These fields are only for server callers.")]
    Forbidden(FieldErrors),
    /// 404 `NOT_FOUND`: no such user (server callers) or no such route.
    #[error("Not found.")]
    NotFound,
    /// 405 `METHOD_NOT_ALLOWED`: only POST is served.
    #[error("Only POST is allowed here.")]
    MethodNotAllowed,
    /// 413 `PAYLOAD_TOO_LARGE`: over [`super::MAX_BODY_BYTES`].
    #[error("The request body is too large (16 KiB at most).")]
    PayloadTooLarge,
    /// 415 `UNSUPPORTED_MEDIA_TYPE`: content-type missing or not JSON.
    #[error("The request body must be sent as application/json.")]
    UnsupportedMediaType,
    /// 429 `TOO_MANY_REQUESTS`, with `Retry-After`.
    #[error("Too many requests. Try again later.")]
    TooManyRequests {
        /// Seconds.
        retry_after: u64,
    },
    /// 502 `EMAIL_DELIVERY_FAILED` (server callers only).
    #[error("The email could not be sent.")]
    EmailDeliveryFailed,
    /// 503 `SERVICE_UNAVAILABLE`, with `Retry-After`: the store is throttled or unreachable,
    /// or a third-party check that must answer (fail-closed breach check, CAPTCHA) did not.
    #[error("The service is temporarily unavailable. Try again later.")]
    ServiceUnavailable {
        /// Seconds.
        retry_after: u64,
    },
    /// 500 `INTERNAL_ERROR`: says nothing more; the cause is logged.
    #[error("Something went wrong on our side.")]
    Internal,
}

#[derive(Serialize)]
struct Issue<'a> {
    path: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_errors: Option<&'a FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issues: Option<Vec<Issue<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(name.to_owned(), message.into())]))
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::NotAnObject | Self::Validation(_) | Self::InvalidCode => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailDeliveryFailed => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson => "MALFORMED_JSON",
            Self::NotAnObject => "INVALID_BODY",
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::InvalidCode => "INVALID_CODE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::EmailDeliveryFailed => "EMAIL_DELIVERY_FAILED",
            Self::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL_ERROR",
        }
    }

    /// The seconds a 429 or 503 asks the caller to wait (`Retry-After`): every dialect's
    /// error shape keeps it.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } | Self::ServiceUnavailable { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The JSON body, at most [`MAX_ERROR_BODY_BYTES`]: when the field messages would make it
    /// longer, the last fields are left out until it fits (the first stay named).
    fn body_json(&self, fields: Option<&FieldErrors>) -> String {
        let render = |fields: Option<&FieldErrors>| {
            let body = ErrorBody {
                error: self.to_string(),
                code: self.code(),
                field_errors: fields,
                issues: fields.map(|f| {
                    f.iter()
                        .map(|(path, message)| Issue { path, message })
                        .collect()
                }),
                retry_after: self.retry_after(),
            };
            serde_json::to_string(&body).unwrap_or_else(|_| {
                r#"{"error":"Something went wrong on our side.","code":"INTERNAL_ERROR"}"#
                    .to_owned()
            })
        };
        let json = render(fields);
        let Some(fields) = fields.filter(|_| json.len() > MAX_ERROR_BODY_BYTES) else {
            return json;
        };
        let mut kept = fields.clone();
        while kept.len() > 1 {
            kept.pop_last();
            let json = render(Some(&kept));
            if json.len() <= MAX_ERROR_BODY_BYTES {
                return json;
            }
        }
        render(None)
    }

    /// The response: status, JSON body, and `Retry-After` / `Allow` where they apply.
    pub fn into_response(self) -> http::Response<String> {
        let fields = match &self {
            Self::Validation(f) | Self::Forbidden(f) => Some(f),
            _ => None,
        };
        let json = self.body_json(fields);
        let mut response = super::json_response(self.status(), json);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Self::MethodNotAllowed) {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidCode => Self::InvalidCode,
            ServiceError::TooManyRequests { retry_after } => Self::TooManyRequests { retry_after },
            ServiceError::UserNotFound => Self::NotFound,
            // Logged once, where it happened, with the user it was for (service::request).
            ServiceError::EmailDeliveryFailed(_) => Self::EmailDeliveryFailed,
            ServiceError::WeakPassword(e) => Self::field("password", e.to_string()),
            ServiceError::BreachedPassword => Self::field("password", BREACHED_PASSWORD_MESSAGE),
            ServiceError::CaptchaRefused => Self::field("captcha_token", CAPTCHA_REFUSED_MESSAGE),
            ServiceError::LinkTemplate(e) => Self::field("url_template", e.to_string()),
            // Logged where they happened (service::consume, service::captcha).
            ServiceError::BreachCheckUnavailable | ServiceError::CaptchaUnavailable => {
                Self::ServiceUnavailable {
                    retry_after: THIRD_PARTY_RETRY_AFTER_SECS,
                }
            }
            ServiceError::Store(StoreError::Unavailable {
                retry_after,
                source,
            }) => {
                tracing::error!(error = %error_chain(source.as_ref()), "store unavailable");
                Self::ServiceUnavailable {
                    retry_after: retry_after.as_secs().max(1),
                }
            }
            other => {
                tracing::error!(error = %error_chain(&other), "internal error");
                Self::Internal
            }
        }
    }
}
