//! Zitadel's error shape: `{"code": <gRPC code>, "message", "details": []}` with the native
//! status and `Retry-After` / `Allow` headers.

use http::{StatusCode, header};
use serde::Serialize;

use super::super::super::{ApiError, MAX_ERROR_BODY_BYTES, json_response};

/// Every error a Zitadel route answers. Each variant's doc names its status and gRPC code.
#[derive(Debug)]
pub enum ZitadelError {
    /// 400, `3` (INVALID_ARGUMENT): `sendLink.notificationType` asks for SMS; this service
    /// mails only.
    SmsNotSupported,
    /// 400, `3`: `newPassword.changeRequired: true`; this service has no such flag to set.
    ChangeRequiredNotSupported,
    /// Everything the shared edge and use cases refuse, in Zitadel's shape (see
    /// [`ZitadelError::grpc_code`]).
    Api(ApiError),
}

impl From<ApiError> for ZitadelError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

#[derive(Serialize)]
struct ErrorBody {
    code: i32,
    message: String,
    details: [(); 0],
}

impl ZitadelError {
    /// HTTP status: the native one.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::SmsNotSupported | Self::ChangeRequiredNotSupported => StatusCode::BAD_REQUEST,
            Self::Api(e) => e.status(),
        }
    }

    /// The gRPC status code Zitadel's gateway sends for the HTTP status.
    pub fn grpc_code(&self) -> i32 {
        match self.status().as_u16() {
            400 | 413 | 415 => 3, // INVALID_ARGUMENT
            401 => 16,            // UNAUTHENTICATED
            403 => 7,             // PERMISSION_DENIED
            404 => 5,             // NOT_FOUND
            405 => 12,            // UNIMPLEMENTED
            429 => 8,             // RESOURCE_EXHAUSTED
            502 | 503 => 14,      // UNAVAILABLE
            _ => 13,              // INTERNAL
        }
    }

    fn message(&self) -> String {
        match self {
            Self::SmsNotSupported => "sendLink.notificationType: NOTIFICATION_TYPE_SMS is not supported: this service has no SMS channel; send NOTIFICATION_TYPE_Email or returnCode".to_owned(),
            Self::ChangeRequiredNotSupported => "newPassword.changeRequired: true is not supported: this service cannot require a change at the next sign-in".to_owned(),
            Self::Api(ApiError::NotFound) => "User could not be found".to_owned(),
            Self::Api(ApiError::Unauthorized) => {
                "Authorization: Bearer <server key> is missing or wrong".to_owned()
            }
            Self::Api(ApiError::InvalidCode) => "Code is invalid or has expired".to_owned(),
            Self::Api(e @ (ApiError::Validation(fields) | ApiError::Forbidden(fields))) => {
                let mut text = e.to_string();
                for (field, problem) in fields {
                    text.push_str(&format!(" {field}: {problem};"));
                }
                // Field names come from the caller: bounded whatever the body held.
                text.chars().take(MAX_ERROR_BODY_BYTES / 2).collect()
            }
            Self::Api(e) => e.to_string(),
        }
    }

    /// The response: status, `{"code", "message", "details": []}`, and `Retry-After` /
    /// `Allow` where the native answer has them.
    pub fn into_response(self) -> http::Response<String> {
        let body = serde_json::to_string(&ErrorBody {
            code: self.grpc_code(),
            message: self.message(),
            details: [],
        })
        .unwrap_or_else(|_| r#"{"code":13,"message":"Internal error","details":[]}"#.to_owned());
        let status = self.status();
        let mut response = json_response(status, body);
        if let Self::Api(e) = self {
            // Only the headers of the native answer: its body is replaced.
            let native = e.into_response();
            for name in [header::RETRY_AFTER, header::ALLOW] {
                if let Some(v) = native.headers().get(&name) {
                    response.headers_mut().insert(name, v.clone());
                }
            }
        }
        response
    }
}
