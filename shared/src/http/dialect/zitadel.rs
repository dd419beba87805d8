//! Zitadel v2 (seed 004): `POST /v2/users/{userId}/password_reset` and
//! `POST /v2/users/{userId}/password`, for the app's backend only: `Authorization: Bearer
//! <server key>`, checked as on the native server routes (`SERVER_KEY_SHA256`) before the body
//! is read. Answers `{"details": {...}, "verificationCode"?}`; errors in Zitadel's (gRPC
//! gateway's) shape `{"code": <gRPC code>, "message", "details": []}`.
//!
//! The bodies become the native server commands (`user_id`, `url_template`, `return_code`,
//! `send_email: false`; `code`, `password`) and run through the same use cases: the mail goes
//! to the address stored on the account, the template must stay on an allowed origin, the cap
//! and the password policy are the native ones. `/password` consumes only a code of the user
//! the path names ([`ResetService::consume_for_user`]).

use http::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::{
    ApiError, ApiRequest, FieldErrors, MAX_ERROR_BODY_BYTES, authenticate, body, failed,
    json_object, json_response, reply,
};
use crate::config::{Dialect, ZitadelSettings};
use crate::domain::UserId;
use crate::invocation::Invocation;
use crate::metrics::Metric;
use crate::service::{Caller, ClientIp, Operation, ResetService, ServiceError, rfc3339};

/// `password_reset`'s route, as API Gateway and the docs write it.
pub const PASSWORD_RESET_ROUTE: &str = "/v2/users/{userId}/password_reset";
/// `password`'s route.
pub const PASSWORD_ROUTE: &str = "/v2/users/{userId}/password";

/// The placeholder for the organisation in a `urlTemplate` (filled from `ZITADEL_ORG_ID`).
pub const ORG_ID_PLACEHOLDER: &str = "{{.OrgID}}";

const PREFIX: &str = "/v2/users/";

/// The Zitadel operation of `path`.
pub fn route(path: &str) -> Option<Operation> {
    split(path).map(|(_, op)| op)
}

/// The raw (percent-encoded) user id segment and the operation of `path`.
fn split(path: &str) -> Option<(&str, Operation)> {
    let rest = path.trim_end_matches('/').strip_prefix(PREFIX)?;
    let (user, tail) = rest.split_once('/')?;
    let op = match tail {
        "password_reset" => Operation::Request,
        "password" => Operation::Consume,
        _ => return None,
    };
    // An empty id is still this route: refused with a Zitadel 400, not a native 404.
    Some((user, op))
}

/// The user id of a Zitadel path: percent-decoded, then a [`UserId`].
fn user_of(path: &str) -> Result<UserId, ApiError> {
    let raw = split(path).map(|(u, _)| u).ok_or(ApiError::NotFound)?;
    let decoded = percent_decode(raw)
        .ok_or_else(|| ApiError::field("userId", "must be percent-encoded UTF-8"))?;
    UserId::parse(&decoded).map_err(|e| ApiError::field("userId", e))
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

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

/// Zitadel's `details` of a change (`sequence`, `changeDate`, `creationDate`,
/// `resourceOwner`). This service keeps no event sequence: `sequence` is the change's time in
/// epoch seconds, as a string (it only grows), and `resourceOwner` is `ZITADEL_ORG_ID`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Details {
    sequence: String,
    change_date: String,
    resource_owner: String,
    creation_date: String,
}

/// `200` of `password_reset` (and, without the code, of `password`).
///
/// No `Debug`: it may hold a live code.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    details: Details,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_code: Option<&'a str>,
}

/// Answers one Zitadel route. Never fails: every problem is a Zitadel error response.
pub async fn handle(
    service: &ResetService,
    settings: &ZitadelSettings,
    op: Operation,
    req: ApiRequest,
) -> http::Response<String> {
    let route = match op {
        Operation::Request => PASSWORD_RESET_ROUTE,
        _ => PASSWORD_ROUTE,
    };
    let invocation = Invocation::current().in_dialect(Dialect::Zitadel.name(), route);
    invocation
        .scope(async {
            match dispatch(service, settings, op, &req).await {
                Ok(body) => json_response(StatusCode::OK, body),
                Err(e) => {
                    if matches!(e, ZitadelError::Api(ApiError::InvalidCode)) {
                        service.count(Metric::InvalidCode, op);
                    }
                    e.into_response()
                }
            }
        })
        .await
}

/// The server key, as on the native server routes; no header is a 401 here (there is no
/// public caller of Zitadel's user API).
fn server_only(service: &ResetService, headers: &HeaderMap) -> Result<(), ApiError> {
    match authenticate(&service.config().edge, headers)? {
        Caller::Server => Ok(()),
        Caller::Public => Err(ApiError::Unauthorized),
    }
}

async fn dispatch(
    service: &ResetService,
    settings: &ZitadelSettings,
    op: Operation,
    req: &ApiRequest,
) -> Result<String, ZitadelError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed.into());
    }
    server_only(service, &req.headers)?;
    let user = user_of(&req.path)?;
    let obj = json_object(req)?;
    let accept_language = req
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let config = service.config();
    let details = || {
        let now = rfc3339(service.now());
        Details {
            sequence: service.now().get().to_string(),
            change_date: now.clone(),
            creation_date: now,
            resource_owner: settings.org_id.clone().unwrap_or_default(),
        }
    };
    match op {
        Operation::Request => {
            let native = password_reset_body(obj, &user, settings)?;
            let return_code = native.contains_key("return_code");
            let cmd = body::request_command(
                native,
                Caller::Server,
                &config.links,
                config.policy.max_concurrent,
                false,
                accept_language,
                ClientIp::Exempt,
            )
            .map_err(|e| rename(e, REQUEST_NAMES))?;
            let issued = service.request(cmd).await.map_err(failed(service, op))?;
            let code = issued
                .as_ref()
                .filter(|_| return_code)
                .map(|i| i.code.expose());
            Ok(reply::render(&Answer {
                details: details(),
                verification_code: code,
            })?)
        }
        Operation::Consume => {
            let native = password_body(obj)?;
            let cmd = body::consume_command(
                native,
                &config.password.policy,
                accept_language,
                ClientIp::Exempt,
            )
            .map_err(|e| rename(e, CONSUME_NAMES))?;
            service
                .consume_for_user(cmd, &user)
                .await
                .map_err(|e| match e {
                    ServiceError::WeakPassword(_) | ServiceError::BreachedPassword => {
                        rename(ApiError::from(e), CONSUME_NAMES)
                    }
                    other => failed(service, op)(other),
                })?;
            Ok(reply::render(&Answer {
                details: details(),
                verification_code: None,
            })?)
        }
        Operation::Check | Operation::Revoke => Err(ApiError::NotFound.into()),
    }
}

/// Native field -> Zitadel field, for the errors of `password_reset`.
const REQUEST_NAMES: &[(&str, &str)] = &[
    ("user_id", "userId"),
    ("url_template", "sendLink.urlTemplate"),
    ("callback_url", "sendLink.urlTemplate"),
];
/// Native field -> Zitadel field, for the errors of `password`.
const CONSUME_NAMES: &[(&str, &str)] = &[
    ("code", "verificationCode"),
    ("password", "newPassword.password"),
];

fn rename(e: ApiError, names: &[(&str, &str)]) -> ApiError {
    let rename = |fields: FieldErrors| {
        fields
            .into_iter()
            .map(|(k, v)| match names.iter().find(|(from, _)| *from == k) {
                Some((_, to)) => ((*to).to_owned(), v),
                None => (k, v),
            })
            .collect()
    };
    match e {
        ApiError::Validation(f) => ApiError::Validation(rename(f)),
        ApiError::Forbidden(f) => ApiError::Forbidden(rename(f)),
        other => other,
    }
}

/// A field by its JSON name or, as protobuf's JSON parser also accepts, its proto name.
fn take(obj: &mut Map<String, Value>, json: &str, proto: &str) -> Result<Option<Value>, ApiError> {
    match (obj.remove(json), obj.remove(proto)) {
        (Some(_), Some(_)) => Err(ApiError::field(
            json,
            format!("is given twice (as {json} and as {proto})"),
        )),
        (Some(Value::Null), None) | (None, Some(Value::Null)) | (None, None) => Ok(None),
        (Some(v), None) | (None, Some(v)) => Ok(Some(v)),
    }
}

fn refuse_unknown(obj: &Map<String, Value>, prefix: &str) -> Result<(), ApiError> {
    let unknown: FieldErrors = obj
        .keys()
        .take(super::super::MAX_LISTED_UNKNOWN_FIELDS)
        .map(|k| {
            (
                format!("{prefix}{}", k.chars().take(64).collect::<String>()),
                "is not a known field".to_owned(),
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(unknown))
    }
}

fn object(v: Value, field: &str) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::field(field, "must be an object")),
    }
}

/// `{"sendLink": {"notificationType", "urlTemplate"}}`, `{"returnCode": {}}` or `{}` (a
/// link by mail, as Zitadel does) -> the native server request body for `user`.
fn password_reset_body(
    mut obj: Map<String, Value>,
    user: &UserId,
    settings: &ZitadelSettings,
) -> Result<Map<String, Value>, ZitadelError> {
    let send_link = take(&mut obj, "sendLink", "send_link")?;
    let return_code = take(&mut obj, "returnCode", "return_code")?;
    refuse_unknown(&obj, "")?;
    let mut native = Map::new();
    native.insert(
        "user_id".to_owned(),
        Value::String(user.as_str().to_owned()),
    );
    match (send_link, return_code) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "returnCode",
                "send either sendLink or returnCode, not both (they are one choice of medium)",
            )
            .into());
        }
        (None, Some(rc)) => {
            refuse_unknown(&object(rc, "returnCode")?, "returnCode.")?;
            // Zitadel's returnCode: the code in the answer, no mail.
            native.insert("return_code".to_owned(), Value::Bool(true));
            native.insert("send_email".to_owned(), Value::Bool(false));
        }
        (Some(link), None) => {
            let mut link = object(link, "sendLink")?;
            let kind = take(&mut link, "notificationType", "notification_type")?;
            let template = take(&mut link, "urlTemplate", "url_template")?;
            refuse_unknown(&link, "sendLink.")?;
            match kind {
                None => {}
                Some(Value::String(s))
                    if s == "NOTIFICATION_TYPE_Email" || s == "NOTIFICATION_TYPE_Unspecified" => {}
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {}
                Some(Value::String(s)) if s == "NOTIFICATION_TYPE_SMS" => {
                    return Err(ZitadelError::SmsNotSupported);
                }
                Some(Value::Number(n)) if n.as_u64() == Some(2) => {
                    return Err(ZitadelError::SmsNotSupported);
                }
                Some(_) => {
                    return Err(ApiError::field(
                        "sendLink.notificationType",
                        "must be NOTIFICATION_TYPE_Email (or NOTIFICATION_TYPE_Unspecified)",
                    )
                    .into());
                }
            }
            match template {
                None => {}
                Some(Value::String(t)) => {
                    let filled = fill_org(&t, settings)?;
                    native.insert("url_template".to_owned(), Value::String(filled));
                }
                Some(_) => {
                    return Err(ApiError::field("sendLink.urlTemplate", "must be a string").into());
                }
            }
        }
        (None, None) => {}
    }
    Ok(native)
}

/// `{{.OrgID}}` filled with `ZITADEL_ORG_ID` (letters, digits, `-_.` only: checked at init);
/// without it a template using the placeholder is refused rather than filled with nothing.
fn fill_org(template: &str, settings: &ZitadelSettings) -> Result<String, ApiError> {
    if !template.contains(ORG_ID_PLACEHOLDER) {
        return Ok(template.to_owned());
    }
    match &settings.org_id {
        Some(org) => Ok(template.replace(ORG_ID_PLACEHOLDER, org)),
        None => Err(ApiError::field(
            "sendLink.urlTemplate",
            "uses {{.OrgID}}, but no ZITADEL_ORG_ID is configured",
        )),
    }
}

/// `{"newPassword": {"password", "changeRequired"}, "verificationCode"}` -> the native
/// consume body.
fn password_body(mut obj: Map<String, Value>) -> Result<Map<String, Value>, ZitadelError> {
    let new_password = take(&mut obj, "newPassword", "new_password")?;
    let code = take(&mut obj, "verificationCode", "verification_code")?;
    refuse_unknown(&obj, "")?;
    let mut problems = FieldErrors::new();
    let mut native = Map::new();
    match new_password {
        None => {
            problems.insert("newPassword".to_owned(), "is required".to_owned());
        }
        Some(v) => {
            let mut np = object(v, "newPassword")?;
            let password = take(&mut np, "password", "password")?;
            let change_required = take(&mut np, "changeRequired", "change_required")?;
            refuse_unknown(&np, "newPassword.")?;
            match change_required {
                None | Some(Value::Bool(false)) => {}
                Some(Value::Bool(true)) => return Err(ZitadelError::ChangeRequiredNotSupported),
                Some(_) => {
                    problems.insert(
                        "newPassword.changeRequired".to_owned(),
                        "must be true or false".to_owned(),
                    );
                }
            }
            if let Some(p) = password {
                native.insert("password".to_owned(), p);
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems).into());
    }
    if let Some(c) = code {
        native.insert("code".to_owned(), c);
    }
    Ok(native)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_name_the_operation_and_keep_the_user_segment() {
        assert_eq!(
            route("/v2/users/u-1/password_reset"),
            Some(Operation::Request)
        );
        assert_eq!(route("/v2/users/u-1/password/"), Some(Operation::Consume));
        assert_eq!(route("/v2/users//password"), Some(Operation::Consume));
        assert!(user_of("/v2/users//password").is_err());
        assert_eq!(route("/v2/users/u-1/email"), None);
        assert_eq!(route("/v2/users/u-1/password/x"), None);
        assert_eq!(
            user_of("/v2/users/a%40b%2Fc/password").unwrap().as_str(),
            "a@b/c"
        );
        assert!(user_of("/v2/users/%ZZ/password").is_err());
        assert!(user_of("/v2/users/%0A/password").is_err());
    }

    #[test]
    fn errors_carry_the_grpc_code_for_their_status_and_empty_details() {
        for (e, status, code) in [
            (ZitadelError::Api(ApiError::Unauthorized), 401, 16),
            (ZitadelError::Api(ApiError::NotFound), 404, 5),
            (ZitadelError::SmsNotSupported, 400, 3),
            (
                ZitadelError::Api(ApiError::TooManyRequests { retry_after: 7 }),
                429,
                8,
            ),
            (ZitadelError::Api(ApiError::Internal), 500, 13),
        ] {
            let r = e.into_response();
            assert_eq!(r.status().as_u16(), status);
            let json: Value = serde_json::from_str(r.body()).unwrap();
            assert_eq!(json["code"], code);
            assert_eq!(json["details"], json!([]));
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(json.as_object().unwrap().len(), 3);
            if status == 429 {
                assert_eq!(r.headers()[header::RETRY_AFTER], "7");
            }
        }
    }
}
