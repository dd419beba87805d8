//! Zitadel's request bodies -> the native bodies the shared parsers take (`user_id`,
//! `url_template`, `return_code`, `send_email`; `code`, `password`), and the native field names
//! of their errors -> Zitadel's.

use serde_json::{Map, Value};

use super::super::super::{ApiError, FieldErrors, MAX_LISTED_UNKNOWN_FIELDS};
use super::ZitadelError;
use crate::domain::UserId;

/// Native field -> Zitadel field, for the errors of `password_reset`.
pub(super) const REQUEST_NAMES: &[(&str, &str)] = &[
    ("user_id", "userId"),
    ("url_template", "sendLink.urlTemplate"),
    ("callback_url", "sendLink.urlTemplate"),
];
/// Native field -> Zitadel field, for the errors of `password`.
pub(super) const CONSUME_NAMES: &[(&str, &str)] = &[
    ("code", "verificationCode"),
    ("password", "newPassword.password"),
];

pub(super) fn rename(e: ApiError, names: &[(&str, &str)]) -> ApiError {
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
        .take(MAX_LISTED_UNKNOWN_FIELDS)
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
pub(super) fn password_reset_body(
    mut obj: Map<String, Value>,
    user: &UserId,
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
                // `{{.OrgID}}` stays: the use case fills it with the user's organisation
                // (`USERS_ORG_ATTRIBUTE`), else `ZITADEL_ORG_ID` (the template's default), and
                // refuses a template it cannot fill before anything is written.
                Some(Value::String(t)) => {
                    native.insert("url_template".to_owned(), Value::String(t));
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

/// `{"newPassword": {"password", "changeRequired"}, "verificationCode"}` -> the native
/// consume body.
pub(super) fn password_body(
    mut obj: Map<String, Value>,
) -> Result<Map<String, Value>, ZitadelError> {
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
