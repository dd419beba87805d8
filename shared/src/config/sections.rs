//! The sections of [`Config`](super::Config), each read by its own `read` and handed only to
//! the code that needs it: the use cases take the policy and the links, the edge its guards,
//! the store adapter its tables, the mailer its sender.

use std::sync::Arc;
use std::time::Duration;

use super::{ConfigError, Profile, SdkTimeouts, argon2_settings, env::Env};
use crate::domain::{AllowedOrigins, CallbackUrl, CodePlacement, Mailbox, ResetMethod};
use crate::hashing::Argon2Settings;
use crate::mail::templates::Templates;

/// What a reset allows: how long a code lives, how many may be outstanding, how slowly a
/// public request answers, how costly the new password's hash is.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// How long a code (and its slot) lives.
    pub token_ttl: Duration,
    /// Unexpired codes allowed per normalized email.
    pub max_concurrent: u32,
    /// Public `request` answers no sooner than this after it started.
    pub min_request_response: Duration,
    /// What the reset mail carries (`RESET_METHOD`).
    pub method: ResetMethod,
    /// Digits of a short code (`OTP_LENGTH`, 6..=10).
    pub otp_length: usize,
    /// Short-code tries per address per attempt window (`OTP_MAX_ATTEMPTS`, 1..=10).
    pub otp_max_attempts: u32,
    /// argon2id cost (`ARGON2_*`). The hasher reads the same variables from the process
    /// environment ([`crate::hashing::global`]); this copy validates them at init.
    pub argon2: Argon2Settings,
}

impl PolicySettings {
    pub(super) fn read(
        env: &Env<'_>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            token_ttl: Duration::from_secs(env.number("TOKEN_TTL_SECONDS", 60..=86_400)?),
            max_concurrent: env.number("MAX_CONCURRENT_REQUESTS", 1..=10)? as u32,
            min_request_response: env.millis("MIN_REQUEST_RESPONSE_MS", 0..=10_000)?,
            method: match env.value("RESET_METHOD").as_deref() {
                Some("link") => ResetMethod::Link,
                Some("code") => ResetMethod::Code,
                Some("both") => ResetMethod::Both,
                _ => {
                    return Err(ConfigError::new(
                        "RESET_METHOD",
                        "must be link, code or both",
                    ));
                }
            },
            otp_length: env.number("OTP_LENGTH", 6..=10)? as usize,
            otp_max_attempts: env.number("OTP_MAX_ATTEMPTS", 1..=10)? as u32,
            argon2: argon2_settings(lookup)?,
        })
    }
}

/// Where reset links may point and how they carry the code.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Origins a reset link may point at.
    pub allowed_origins: AllowedOrigins,
    /// Callback used when the request names none.
    pub default_callback: Option<CallbackUrl>,
    /// When set, the only `callback_url`s a public caller may send (exact match after parsing;
    /// the default callback is always allowed). Stops an attacker from pointing a victim's
    /// reset mails at a dead page of an allowed origin. `None`: any URL on an allowed origin.
    pub allowed_callback_urls: Option<Vec<CallbackUrl>>,
    /// Where a callback link carries the code: its query (default) or its fragment.
    pub code_in: CodePlacement,
}

impl LinkSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let local = match env.profile {
            Profile::Local { port } => Some(port),
            Profile::Lambda => None,
        };
        let origins_raw = env.get("ALLOWED_CALLBACK_ORIGINS").unwrap_or_else(|| {
            local.map_or_else(String::new, |port| {
                format!("http://127.0.0.1:{port},http://localhost:{port}")
            })
        });
        let allowed_origins = AllowedOrigins::parse(&origins_raw)
            .map_err(|e| ConfigError::new("ALLOWED_CALLBACK_ORIGINS", e.to_string()))?;
        let on_origins = |var: &'static str, raw: &str, what: &str| {
            CallbackUrl::parse(raw, &allowed_origins).map_err(|e| {
                ConfigError::new(var, format!("{e} ({what} be on ALLOWED_CALLBACK_ORIGINS)"))
            })
        };
        let default_callback = env
            .get("DEFAULT_CALLBACK_URL")
            .or_else(|| local.map(|port| format!("http://127.0.0.1:{port}/reset")))
            .map(|raw| on_origins("DEFAULT_CALLBACK_URL", &raw, "must"))
            .transpose()?;
        let allowed_callback_urls = env
            .get("ALLOWED_CALLBACK_URLS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| on_origins("ALLOWED_CALLBACK_URLS", u, "each must"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let code_in = match env.value("LINK_CODE_IN").as_deref() {
            Some("query") => CodePlacement::Query,
            Some("fragment") => CodePlacement::Fragment,
            _ => {
                return Err(ConfigError::new(
                    "LINK_CODE_IN",
                    "must be query or fragment",
                ));
            }
        };
        Ok(Self {
            allowed_origins,
            default_callback,
            allowed_callback_urls,
            code_in,
        })
    }
}

/// Who may call, and how often: the guards the HTTP edge applies before any use case runs.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// SHA-256 of the server key; `None` disables server callers.
    pub server_key_sha256: Option<[u8; 32]>,
    /// SHA-256 of the secret CloudFront adds as `X-Origin-Verify` when the optional
    /// distribution is in front (template `EnableCloudFront`). Only a request carrying it may
    /// name its client with `X-Viewer-Address`; `None`: API Gateway's `sourceIp` alone.
    pub cloudfront_origin_secret_sha256: Option<[u8; 32]>,
    /// Per-IP limits.
    pub rate_limits: RateLimits,
}

impl EdgeSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let limit = |var: &'static str| env.parsed(var, RateLimit::parse);
        Ok(Self {
            server_key_sha256: env
                .get("SERVER_KEY_SHA256")
                .map(|hex| {
                    parse_sha256_hex(&hex).ok_or_else(|| {
                        ConfigError::new("SERVER_KEY_SHA256", "must be 64 hex characters")
                    })
                })
                .transpose()?,
            cloudfront_origin_secret_sha256: env.get("CLOUDFRONT_ORIGIN_SECRET").map(|secret| {
                use sha2::Digest;
                sha2::Sha256::digest(secret.as_bytes()).into()
            }),
            rate_limits: RateLimits {
                request: limit("RATE_LIMIT_REQUEST")?,
                check: limit("RATE_LIMIT_CHECK")?,
                consume: limit("RATE_LIMIT_CONSUME")?,
                ipv6_prefix: env.number("RATE_LIMIT_IPV6_PREFIX", 32..=128)? as u8,
            },
        })
    }
}

/// A fixed-window limit: `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed per window; 0 turns the limit off.
    pub max: u32,
    /// Window length.
    pub window: Duration,
}

/// Why a `MAX/SECONDS` limit was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// No `/`.
    #[error("expected MAX/SECONDS, e.g. 20/600")]
    Shape,
    /// `MAX` is not a whole number.
    #[error("MAX must be a number")]
    Max,
    /// `SECONDS` is not a whole number.
    #[error("SECONDS must be a number")]
    Seconds,
    /// A window outside one second to one day.
    #[error("SECONDS must be between 1 and 86400")]
    Window,
}

impl RateLimit {
    /// Parses `MAX/SECONDS`; the window is 1 s to one day.
    pub fn parse(raw: &str) -> Result<Self, RateLimitError> {
        let (max, secs) = raw.split_once('/').ok_or(RateLimitError::Shape)?;
        let max: u32 = max.trim().parse().map_err(|_| RateLimitError::Max)?;
        let secs: u64 = secs.trim().parse().map_err(|_| RateLimitError::Seconds)?;
        if !(1..=86_400).contains(&secs) {
            return Err(RateLimitError::Window);
        }
        Ok(Self {
            max,
            window: Duration::from_secs(secs),
        })
    }
}

/// Per-route IP limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `POST /password-reset/request`.
    pub request: RateLimit,
    /// `POST /password-reset/check`.
    pub check: RateLimit,
    /// `POST /password-reset/consume`.
    pub consume: RateLimit,
    /// IPv6 clients are counted by this prefix (a /64 is one subscriber's network; a single
    /// host can use billions of its addresses).
    pub ipv6_prefix: u8,
}

/// The tables and how long DynamoDB may take.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The reset table.
    pub reset_table: String,
    /// The app's users table.
    pub users: UsersTable,
    /// Time bounds of every DynamoDB call.
    pub timeouts: SdkTimeouts,
}

impl StoreSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let key_attribute = env.text("USERS_KEY_ATTRIBUTE");
        let email_attribute = env.text("USERS_EMAIL_ATTRIBUTE");
        let email_index = match env.get("USERS_EMAIL_INDEX").as_deref() {
            Some("-" | "none") => None,
            Some(name) => Some(name.to_owned()),
            None if key_attribute == email_attribute => None,
            None => Some("email-index".to_owned()),
        };
        Ok(Self {
            reset_table: env.text("RESET_TABLE_NAME"),
            users: UsersTable {
                table: env.text("USERS_TABLE_NAME"),
                key_attribute,
                email_attribute,
                email_index,
                password_attribute: env.text("USERS_PASSWORD_ATTRIBUTE"),
                password_changed_attribute: env.text("USERS_PASSWORD_CHANGED_ATTRIBUTE"),
                enabled_attribute: env.get("USERS_ENABLED_ATTRIBUTE"),
                session_version_attribute: env.get("USERS_SESSION_VERSION_ATTRIBUTE"),
                org_attribute: env.get("USERS_ORG_ATTRIBUTE"),
            },
            timeouts: SdkTimeouts::read(env, SdkTimeouts::DYNAMODB)?,
        })
    }
}

/// The users table as configured: the app's, we only read it and write two attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersTable {
    /// Table name.
    pub table: String,
    /// Partition key attribute; its value is the user id.
    pub key_attribute: String,
    /// Attribute holding the account's address.
    pub email_attribute: String,
    /// GSI on the email attribute; `None` when the key attribute is the email itself.
    pub email_index: Option<String>,
    /// Attribute the argon2id PHC string is written to.
    pub password_attribute: String,
    /// Attribute the change time (epoch seconds) is written to, and read: codes are bound to
    /// its value, so an app that sets a password itself must change it too.
    pub password_changed_attribute: String,
    /// Boolean attribute that must be `true` for an account to be reset; `None`: every account.
    pub enabled_attribute: Option<String>,
    /// Number attribute the consume transaction increments (`ADD 1`) with the password, so an
    /// app whose sessions carry it can reject every older one; `None`: not written.
    pub session_version_attribute: Option<String>,
    /// String attribute naming the account's organisation (Zitadel's `{{.OrgID}}` and
    /// `resourceOwner`, before `ZITADEL_ORG_ID`); `None`: not read.
    pub org_attribute: Option<String>,
}

/// What the mails say and who sends them.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Product name shown in mails.
    pub app_name: String,
    /// The sender: an SES-verified address, with the name mail clients show, if any.
    pub from: Mailbox,
    /// Where replies go (`MAIL_REPLY_TO`), if not to the sender.
    pub reply_to: Option<Mailbox>,
    /// The mails' words, compiled once: `MAIL_TEMPLATE_DIR`'s files, else the built-in set.
    pub templates: Arc<Templates>,
    /// SES configuration set, if any.
    pub configuration_set: Option<String>,
    /// Send "your password was changed" after a consume.
    pub notify_password_changed: bool,
    /// Time bounds of every SES call.
    pub timeouts: SdkTimeouts,
}

impl MailSettings {
    /// Reads the mail settings; the templates must show what `method` mails.
    pub(super) fn read(env: &Env<'_>, method: ResetMethod) -> Result<Self, ConfigError> {
        let templates = match env.get("MAIL_TEMPLATE_DIR") {
            None => Templates::built_in(),
            Some(dir) => Arc::new(
                Templates::from_dir(std::path::Path::new(&dir))
                    .map_err(|e| ConfigError::new("MAIL_TEMPLATE_DIR", e.to_string()))?,
            ),
        };
        templates
            .check_method(method)
            .map_err(|e| ConfigError::new("MAIL_TEMPLATE_DIR", e.to_string()))?;
        Ok(Self {
            app_name: env.text("APP_NAME"),
            from: env.parsed("MAIL_FROM", Mailbox::parse)?,
            reply_to: env
                .get("MAIL_REPLY_TO")
                .map(|raw| Mailbox::parse(&raw))
                .transpose()
                .map_err(|e| ConfigError::new("MAIL_REPLY_TO", e.to_string()))?,
            templates,
            configuration_set: env.get("SES_CONFIGURATION_SET"),
            notify_password_changed: env.flag("NOTIFY_PASSWORD_CHANGED")?,
            timeouts: SdkTimeouts::read(env, SdkTimeouts::SES)?,
        })
    }
}

fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
