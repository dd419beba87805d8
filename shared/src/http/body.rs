//! Request bodies -> commands. Every field is checked here, all problems are collected into
//! one `field_errors` map, and nothing reaches a use case until the whole body is valid.

use serde_json::{Map, Value};

use super::error::{ApiError, FieldErrors};
use crate::captcha::CaptchaToken;
use crate::config::LinkSettings;
use crate::domain::{
    CallbackUrl, EmailAddress, Locale, PasswordPolicy, ResetCode, ShortCode, UrlTemplate, UserId,
};
use crate::service::{Caller, ClientIp, ConsumeReset, LinkTarget, Proof, RequestReset, Target};

/// Fields anyone may send to `request`; with [`SERVER_ONLY_FIELDS`], all it accepts. Exported so
/// the OpenAPI test compares the spec with the lists the edge really uses.
pub const PUBLIC_REQUEST_FIELDS: &[&str] = &["email", "callback_url", "locale", "captcha_token"];
/// Every field `check` accepts: `code`, or `email` and `otp`.
pub const CHECK_FIELDS: &[&str] = &["code", "email", "otp"];
/// Every field `consume` accepts: as `check`, and the password.
pub const CONSUME_FIELDS: &[&str] = &["code", "email", "otp", "password"];

/// Which codes a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// Only `{"code"}`: `RESET_METHOD=link` (no short code is ever issued, so a typed one
    /// would only spend tries), or a dialect whose seed has no short code.
    LinkOnly,
    /// `{"code"}` or `{"email", "otp"}` with an `otp` of this many digits.
    WithShort {
        /// `OTP_LENGTH`.
        otp_length: usize,
    },
}

impl Codes {
    /// What the native routes take under `policy`.
    pub fn native(policy: &crate::config::PolicySettings) -> Self {
        if policy.method.short_code() {
            Codes::WithShort {
                otp_length: policy.otp_length,
            }
        } else {
            Codes::LinkOnly
        }
    }

    /// The fields of `all` this route accepts.
    fn fields(self, all: &'static [&'static str]) -> Vec<&'static str> {
        all.iter()
            .copied()
            .filter(|f| self != Codes::LinkOnly || !matches!(*f, "email" | "otp"))
            .collect()
    }
}
/// Every field `revoke` accepts.
pub const REVOKE_FIELDS: &[&str] = &["user_id"];

/// Fields only a server caller may send to `request`.
pub const SERVER_ONLY_FIELDS: &[&str] = &[
    "user_id",
    "url_template",
    "return_code",
    "send_email",
    "max_concurrent_requests",
    "opaque",
];

/// At most this many unknown fields are named in one error.
pub const MAX_LISTED_UNKNOWN_FIELDS: usize = 10;

/// A JSON object being taken apart field by field, collecting errors.
struct Fields {
    obj: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    /// Refuses unknown fields, naming the first [`MAX_LISTED_UNKNOWN_FIELDS`] (each cut to 64
    /// characters): a 16 KiB body of short names must not become a 100 KiB answer.
    fn new(obj: Map<String, Value>, allowed: &[&str]) -> Result<Self, ApiError> {
        let unknown: FieldErrors = obj
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .take(MAX_LISTED_UNKNOWN_FIELDS)
            .map(|k| (truncate(k), "is not a known field".to_owned()))
            .collect();
        if unknown.is_empty() {
            Ok(Self {
                obj,
                errors: FieldErrors::new(),
            })
        } else {
            Err(ApiError::Validation(unknown))
        }
    }

    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_insert(message.into());
    }

    fn has(&self, field: &str) -> bool {
        self.obj.get(field).is_some_and(|v| !v.is_null())
    }

    /// An optional string; `null` counts as absent.
    fn opt_str(&mut self, field: &str) -> Option<String> {
        match self.obj.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn req_str(&mut self, field: &str) -> Option<String> {
        let present = self.has(field);
        let v = self.opt_str(field);
        if !present {
            self.fail(field, "is required");
        }
        v
    }

    fn opt_bool(&mut self, field: &str) -> Option<bool> {
        match self.obj.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                self.fail(field, "must be true or false");
                None
            }
        }
    }

    fn opt_u32(&mut self, field: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
        match self.obj.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(v) if range.contains(&v) => Some(v),
                _ => {
                    self.fail(
                        field,
                        format!(
                            "must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(field, "must be a number");
                None
            }
        }
    }

    /// All problems at once, or nothing. A value a valid body must have produced but did not
    /// is a bug: answered 500 (and logged), never a panic.
    fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// Field names come from the caller: keep error bodies small.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Whether a public caller may have its mail point at `url`: any URL on an allowed origin,
/// unless `ALLOWED_CALLBACK_URLS` lists the exact ones (the default callback always counts).
fn public_callback_allowed(links: &LinkSettings, url: &CallbackUrl) -> bool {
    match &links.allowed_callback_urls {
        None => true,
        Some(list) => list.contains(url) || links.default_callback.as_ref() == Some(url),
    }
}

/// `POST /password-reset/request`.
pub fn request_command(
    obj: Map<String, Value>,
    caller: Caller,
    links: &LinkSettings,
    max_concurrent_cap: u32,
    captcha_required: bool,
    accept_language: Option<&str>,
    client_ip: ClientIp,
) -> Result<RequestReset, ApiError> {
    let mut allowed = PUBLIC_REQUEST_FIELDS.to_vec();
    allowed.extend_from_slice(SERVER_ONLY_FIELDS);
    let mut f = Fields::new(obj, &allowed)?;
    if caller == Caller::Public {
        let forbidden: FieldErrors = SERVER_ONLY_FIELDS
            .iter()
            .filter(|k| f.obj.contains_key(**k))
            .map(|k| {
                (
                    (*k).to_owned(),
                    "only server callers may set this field".to_owned(),
                )
            })
            .collect();
        if !forbidden.is_empty() {
            return Err(ApiError::Forbidden(forbidden));
        }
    }

    let email = f.opt_str("email");
    let user_id = f.opt_str("user_id");
    let target = match (email, user_id) {
        (Some(e), None) => EmailAddress::parse(&e)
            .map(Target::Email)
            .map_err(|err| f.fail("email", err.to_string()))
            .ok(),
        (None, Some(id)) => UserId::parse(&id)
            .map(Target::UserId)
            .map_err(|err| f.fail("user_id", err))
            .ok(),
        (Some(_), Some(_)) => {
            f.fail("user_id", "send either email or user_id, not both");
            None
        }
        (None, None) => {
            if !f.errors.contains_key("email") {
                f.fail("email", "is required");
            }
            None
        }
    };

    let callback = f.opt_str("callback_url");
    let template = f.opt_str("url_template");
    let origins = &links.allowed_origins;
    let link = match (callback, template) {
        (Some(cb), None) => match CallbackUrl::parse(&cb, origins) {
            Ok(url) if caller == Caller::Public && !public_callback_allowed(links, &url) => {
                f.fail(
                    "callback_url",
                    "must be one of the allowed callback URLs (ALLOWED_CALLBACK_URLS)",
                );
                None
            }
            Ok(url) => Some(LinkTarget::Callback(url)),
            Err(e) => {
                f.fail("callback_url", e.to_string());
                None
            }
        },
        (None, Some(t)) => UrlTemplate::parse(&t, origins)
            .map(LinkTarget::Template)
            .map_err(|e| f.fail("url_template", e.to_string()))
            .ok(),
        (Some(_), Some(_)) => {
            f.fail(
                "url_template",
                "send either callback_url or url_template, not both",
            );
            None
        }
        (None, None) => match &links.default_callback {
            Some(cb) => Some(LinkTarget::Callback(cb.clone())),
            None => {
                f.fail(
                    "callback_url",
                    "is required (no default callback is configured)",
                );
                None
            }
        },
    };

    // A server caller needs no CAPTCHA; a token it sends anyway is not looked at.
    let captcha = match f.opt_str("captcha_token") {
        _ if caller == Caller::Server => None,
        Some(raw) => CaptchaToken::parse(&raw)
            .map_err(|e| f.fail("captcha_token", e))
            .ok(),
        None => {
            if captcha_required {
                f.fail(
                    "captcha_token",
                    "is required: solve the challenge on the page",
                );
            }
            None
        }
    };

    let locale = f.opt_str("locale");
    if let Some(l) = &locale
        && !Locale::is_well_formed(l)
    {
        f.fail("locale", "must be a language tag such as en or de-CH");
    }
    let return_code = f.opt_bool("return_code").unwrap_or(false);
    let send_email = f.opt_bool("send_email").unwrap_or(true);
    if !send_email && !return_code {
        f.fail(
            "send_email",
            "send_email: false needs return_code: true, or the code is lost",
        );
    }
    let max_concurrent = f.opt_u32("max_concurrent_requests", 1..=max_concurrent_cap);
    let opaque = f.opt_bool("opaque").unwrap_or(false);
    if opaque && matches!(target, Some(Target::UserId(_))) {
        f.fail(
            "opaque",
            "opaque: true is for an address a member of the public typed: send email, not user_id",
        );
    }
    if opaque && return_code {
        f.fail(
            "return_code",
            "opaque: true answers alike for every address, so it cannot return a code",
        );
    }

    f.finish()?;
    let (Some(target), Some(link)) = (target, link) else {
        tracing::error!("a valid request body produced no target or link");
        return Err(ApiError::Internal);
    };
    Ok(RequestReset {
        caller,
        target,
        link,
        locale: Locale::negotiate(locale.as_deref(), accept_language),
        return_code,
        send_email,
        max_concurrent,
        opaque,
        client_ip,
        captcha,
    })
}

/// `POST /password-reset/revoke` (server callers): whose codes.
pub fn revoke_command(obj: Map<String, Value>) -> Result<UserId, ApiError> {
    let mut f = Fields::new(obj, REVOKE_FIELDS)?;
    let id = f.req_str("user_id");
    let id = id.and_then(|raw| UserId::parse(&raw).map_err(|e| f.fail("user_id", e)).ok());
    f.finish()?;
    id.ok_or_else(|| {
        tracing::error!("a valid revoke body produced no user id");
        ApiError::Internal
    })
}

/// `{"code"}` or `{"email", "otp"}`, exactly one of the two. A string that cannot be a code
/// (of the link's shape, or `OTP_LENGTH` digits) is no error: it is answered like a wrong
/// code, so the answer does not depend on how close a guess was.
fn proof(f: &mut Fields, codes: Codes) -> Option<Proof> {
    let otp_length = match codes {
        Codes::WithShort { otp_length } if f.has("email") || f.has("otp") => otp_length,
        _ => {
            let code = f.req_str("code");
            return Some(Proof::Link(code.as_deref().and_then(ResetCode::parse)));
        }
    };
    if f.has("code") {
        f.fail("code", "send either code, or email and otp, not both");
        return None;
    }
    let email = f.req_str("email");
    let otp = f.req_str("otp");
    let email = email.and_then(|e| {
        EmailAddress::parse(&e)
            .map_err(|err| f.fail("email", err.to_string()))
            .ok()
    })?;
    Some(Proof::Short {
        email,
        otp: otp.as_deref().and_then(|o| ShortCode::parse(o, otp_length)),
    })
}

/// `POST /password-reset/check`.
pub fn check_command(obj: Map<String, Value>, codes: Codes) -> Result<Proof, ApiError> {
    let mut f = Fields::new(obj, &codes.fields(CHECK_FIELDS))?;
    let proof = proof(&mut f, codes);
    f.finish()?;
    proof.ok_or_else(|| {
        tracing::error!("a valid check body produced no code");
        ApiError::Internal
    })
}

/// `POST /password-reset/consume`. The password is judged before the code is even parsed.
pub fn consume_command(
    obj: Map<String, Value>,
    codes: Codes,
    policy: &PasswordPolicy,
    accept_language: Option<&str>,
    client_ip: ClientIp,
) -> Result<ConsumeReset, ApiError> {
    let mut f = Fields::new(obj, &codes.fields(CONSUME_FIELDS))?;
    let code = proof(&mut f, codes);
    let raw_password = f.req_str("password").map(zeroize::Zeroizing::new);
    let password = raw_password.as_ref().and_then(|p| {
        policy
            .parse(p)
            .map_err(|e| f.fail("password", e.to_string()))
            .ok()
    });
    f.finish()?;
    let (Some(password), Some(code)) = (password, code) else {
        tracing::error!("a valid consume body produced no password or no code");
        return Err(ApiError::Internal);
    };
    Ok(ConsumeReset {
        code,
        password,
        locale: Locale::negotiate(None, accept_language),
        client_ip,
    })
}
