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

mod bodies;
mod error;

use http::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;

pub use error::ZitadelError;

use super::super::{
    ApiError, ApiRequest, authenticate, body, failed, json_object, json_response, reply,
};
use crate::config::{Dialect, ZitadelSettings};
use crate::domain::{ShortCode, UserId};
use crate::invocation::Invocation;
use crate::metrics::Metric;
use crate::service::{
    Caller, ClientIp, LinkTarget, Operation, Proof, ResetService, ServiceError, rfc3339,
};
use bodies::{CONSUME_NAMES, REQUEST_NAMES, password_body, password_reset_body, rename};

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
    // `resourceOwner`: the user's organisation (`USERS_ORG_ATTRIBUTE`), else `ZITADEL_ORG_ID`.
    let details = |user_org: Option<String>| {
        let now = rfc3339(service.now());
        Details {
            sequence: service.now().get().to_string(),
            change_date: now.clone(),
            creation_date: now,
            resource_owner: user_org
                .or_else(|| settings.org_id.clone())
                .unwrap_or_default(),
        }
    };
    match op {
        Operation::Request => {
            let native = password_reset_body(obj, &user)?;
            let return_code = native.contains_key("return_code");
            let mut cmd = body::request_command(
                native,
                Caller::Server,
                &config.links,
                config.policy.max_concurrent,
                false,
                accept_language,
                ClientIp::Exempt,
            )
            .map_err(|e| rename(e, REQUEST_NAMES))?;
            if let LinkTarget::Template(t) = cmd.link {
                cmd.link = LinkTarget::Template(t.with_default_org(settings.org_id.clone()));
            }
            let issued = service.request(cmd).await.map_err(|e| match e {
                ServiceError::LinkTemplate(_) => rename(ApiError::from(e), REQUEST_NAMES),
                other => failed(service, op)(other),
            })?;
            let code = issued
                .as_ref()
                .filter(|_| return_code)
                .map(|i| i.code.expose());
            Ok(reply::render(&Answer {
                details: details(issued.as_ref().and_then(|i| i.org_id.clone())),
                verification_code: code,
            })?)
        }
        Operation::Consume => {
            let native = password_body(obj)?;
            // A short code (RESET_METHOD code or both: OTP_LENGTH digits) is Zitadel's kind of
            // verification code: it names the user's slots through the account's address.
            let short = native
                .get("code")
                .and_then(serde_json::Value::as_str)
                .filter(|_| config.policy.method.short_code())
                .and_then(|raw| ShortCode::parse(raw, config.policy.otp_length));
            let mut cmd = body::consume_command(
                native,
                body::Codes::LinkOnly,
                &config.password.policy,
                accept_language,
                ClientIp::Exempt,
            )
            .map_err(|e| rename(e, CONSUME_NAMES))?;
            if let Some(otp) = short {
                cmd.code = Proof::ShortOf {
                    user: user.clone(),
                    otp,
                };
            }
            let org = service
                .consume_for_user(cmd, &user)
                .await
                .map_err(|e| match e {
                    ServiceError::WeakPassword(_) | ServiceError::BreachedPassword => {
                        rename(ApiError::from(e), CONSUME_NAMES)
                    }
                    other => failed(service, op)(other),
                })?;
            Ok(reply::render(&Answer {
                details: details(org),
                verification_code: None,
            })?)
        }
        Operation::Check | Operation::Revoke => Err(ApiError::NotFound.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
