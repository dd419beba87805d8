//! Typed settings, read once from the environment at init. Every variable has a default
//! (except the token key on Lambda), written once in [`SETTINGS`], which the docs tests hold
//! against README.md and template.yaml.

use std::time::Duration;

use crate::domain::{
    AllowedOrigins, CallbackUrl, CodePlacement, EmailAddress, TokenKey, TokenKeys,
};
use crate::password::Argon2Settings;

/// The setting that names the Secrets Manager secret holding the token key (the deployed
/// functions get only this ARN; [`crate::wiring::lambda_config`] reads the secret at init).
pub const TOKEN_KEY_SECRET_VAR: &str = "TOKEN_HMAC_KEY_SECRET_ARN";

/// One environment variable the service reads, and the value it has when unset or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// Its value when unset; `None` for a setting that is off, required, or whose default
    /// depends on the profile or on another setting (README's table says which).
    pub default: Option<&'static str>,
}

impl Setting {
    const fn new(name: &'static str, default: Option<&'static str>) -> Self {
        Self { name, default }
    }
}

/// Every environment variable the service reads, with its default: the one place a default is
/// written. [`Config::from_lookup`] reads through it, and the docs tests hold README.md's
/// configuration table and template.yaml against it.
pub const SETTINGS: &[Setting] = &[
    Setting::new("TOKEN_HMAC_KEY", None),
    Setting::new("TOKEN_HMAC_KEY_PREVIOUS", None),
    Setting::new("TOKEN_HMAC_KEY_SECRET_ARN", None),
    Setting::new("TOKEN_TTL_SECONDS", Some("3600")),
    Setting::new("MAX_CONCURRENT_REQUESTS", Some("3")),
    Setting::new("ALLOWED_CALLBACK_ORIGINS", None),
    Setting::new("DEFAULT_CALLBACK_URL", None),
    Setting::new("ALLOWED_CALLBACK_URLS", None),
    Setting::new("LINK_CODE_IN", Some("query")),
    Setting::new("APP_NAME", Some("Example App")),
    Setting::new("NOTIFY_PASSWORD_CHANGED", Some("true")),
    Setting::new("RESET_TABLE_NAME", Some("password-reset")),
    Setting::new("USERS_TABLE_NAME", Some("users")),
    Setting::new("USERS_KEY_ATTRIBUTE", Some("id")),
    Setting::new("USERS_EMAIL_ATTRIBUTE", Some("email")),
    Setting::new("USERS_EMAIL_INDEX", None),
    Setting::new("USERS_PASSWORD_ATTRIBUTE", Some("password_hash")),
    Setting::new(
        "USERS_PASSWORD_CHANGED_ATTRIBUTE",
        Some("password_changed_at"),
    ),
    Setting::new("USERS_ENABLED_ATTRIBUTE", None),
    Setting::new("MAIL_FROM", Some("no-reply@example.com")),
    Setting::new("SES_CONFIGURATION_SET", None),
    Setting::new("SERVER_KEY_SHA256", None),
    Setting::new("RATE_LIMIT_REQUEST", Some("20/600")),
    Setting::new("RATE_LIMIT_CHECK", Some("60/600")),
    Setting::new("RATE_LIMIT_CONSUME", Some("60/600")),
    Setting::new("RATE_LIMIT_IPV6_PREFIX", Some("64")),
    Setting::new("CLOUDFRONT_ORIGIN_SECRET", None),
    Setting::new("MIN_REQUEST_RESPONSE_MS", Some("400")),
    Setting::new("DYNAMODB_TIMEOUT_MS", Some("2000")),
    Setting::new("DYNAMODB_ATTEMPT_TIMEOUT_MS", Some("700")),
    Setting::new("DYNAMODB_MAX_ATTEMPTS", Some("3")),
    Setting::new("SES_TIMEOUT_MS", Some("2500")),
    Setting::new("SES_ATTEMPT_TIMEOUT_MS", Some("1200")),
    Setting::new("SES_MAX_ATTEMPTS", Some("2")),
    Setting::new("ARGON2_MEMORY_KIB", Some("19456")),
    Setting::new("ARGON2_ITERATIONS", Some("2")),
    Setting::new("ARGON2_PARALLELISM", Some("1")),
];

/// The default of `name` in [`SETTINGS`].
pub fn default_of(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.default)
}

/// Where the settings are for: Lambda insists on explicit secrets; the local API invents
/// development defaults so it runs with no configuration at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A deployed function: `TOKEN_HMAC_KEY_SECRET_ARN` (or `TOKEN_HMAC_KEY`) is required.
    Lambda,
    /// The local API on `port`: random token key, callbacks to itself.
    Local {
        /// Port the local API listens on, for its own callback URL.
        port: u16,
    },
}

/// A setting was missing or malformed. Names the variable; never echoes a secret's value.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
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
}

/// A fixed-window limit: `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed per window; 0 turns the limit off.
    pub max: u32,
    /// Window length.
    pub window: Duration,
}

impl RateLimit {
    fn parse(raw: &str) -> Result<Self, String> {
        let (max, secs) = raw
            .split_once('/')
            .ok_or_else(|| "expected MAX/SECONDS, e.g. 20/600".to_owned())?;
        let max: u32 = max
            .trim()
            .parse()
            .map_err(|_| "MAX must be a number".to_owned())?;
        let secs: u64 = secs
            .trim()
            .parse()
            .map_err(|_| "SECONDS must be a number".to_owned())?;
        if !(1..=86_400).contains(&secs) {
            return Err("SECONDS must be between 1 and 86400".into());
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

/// All settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC key for codes, email keys and IP keys: everything is issued under it.
    pub token_key: TokenKey,
    /// The key before the last rotation: codes issued under it are still found (and checked
    /// against the email key made under it) until they expire. Slots and IP windows are keyed
    /// under `token_key` only (README, "Rotating the token key").
    pub previous_token_key: Option<TokenKey>,
    /// How long a code (and its slot) lives.
    pub token_ttl: Duration,
    /// Unexpired codes allowed per normalized email.
    pub max_concurrent: u32,
    /// Origins a reset link may point at.
    pub allowed_origins: AllowedOrigins,
    /// Callback used when the request names none.
    pub default_callback: Option<CallbackUrl>,
    /// When set, the only `callback_url`s a public caller may send (exact match after parsing;
    /// the default callback is always allowed). Stops an attacker from pointing a victim's
    /// reset mails at a dead page of an allowed origin. `None`: any URL on an allowed origin.
    pub allowed_callback_urls: Option<Vec<CallbackUrl>>,
    /// Where a callback link carries the code: its query (default) or its fragment.
    pub link_code_in: CodePlacement,
    /// Product name shown in mails.
    pub app_name: String,
    /// Send "your password was changed" after a consume.
    pub notify_password_changed: bool,
    /// The reset table.
    pub reset_table: String,
    /// The app's users table.
    pub users: UsersTable,
    /// SES sender identity.
    pub mail_from: EmailAddress,
    /// SES configuration set, if any.
    pub ses_configuration_set: Option<String>,
    /// SHA-256 of the server key; `None` disables server callers.
    pub server_key_sha256: Option<[u8; 32]>,
    /// Per-IP limits.
    pub rate_limits: RateLimits,
    /// SHA-256 of the secret CloudFront adds as `X-Origin-Verify` when the optional
    /// distribution is in front (template `EnableCloudFront`). Only a request carrying it may
    /// name its client with `X-Viewer-Address`; `None`: API Gateway's `sourceIp` alone.
    pub cloudfront_origin_secret_sha256: Option<[u8; 32]>,
    /// Public `request` answers no sooner than this after it started.
    pub min_request_response: Duration,
    /// Time bounds of every DynamoDB call.
    pub dynamodb_timeouts: SdkTimeouts,
    /// Time bounds of every SES call.
    pub ses_timeouts: SdkTimeouts,
    /// argon2id cost (`ARGON2_*`). The hasher reads the same variables from the process
    /// environment ([`crate::password::global`]); this copy validates them at init.
    pub argon2: Argon2Settings,
}

impl Config {
    /// Reads the process environment with the Lambda profile, the token key from
    /// `TOKEN_HMAC_KEY`. The functions use [`crate::wiring::lambda_config`], which also reads
    /// the secret `TOKEN_HMAC_KEY_SECRET_ARN` names.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(Profile::Lambda, |k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values count
    /// as unset. A `TOKEN_HMAC_KEY_SECRET_ARN` is refused here (nothing read the secret): see
    /// [`Config::from_lookup_with_secret`].
    pub fn from_lookup(
        profile: Profile,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_lookup_with_secret(profile, lookup, None)
    }

    /// As [`Config::from_lookup`], with `secret`: the value of the secret that
    /// `TOKEN_HMAC_KEY_SECRET_ARN` names, already read (the key itself, or
    /// `{"current": "...", "previous": "..."}`). Errors name the setting, never the value.
    pub fn from_lookup_with_secret(
        profile: Profile,
        lookup: impl Fn(&str) -> Option<String>,
        secret: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let err = |var: &'static str, reason: String| ConfigError { var, reason };

        let TokenKeys {
            current: token_key,
            previous: previous_token_key,
        } = token_keys(profile, &get, secret)?;
        // Unset or empty: the default from SETTINGS, the one place defaults are written.
        let value = |var: &str| get(var).or_else(|| default_of(var).map(str::to_owned));
        let number = |var: &'static str, range: std::ops::RangeInclusive<u64>| {
            let v = value(var)
                .ok_or_else(|| err(var, "is required".into()))?
                .parse::<u64>()
                .map_err(|_| err(var, "must be a whole number".into()))?;
            if range.contains(&v) {
                Ok(v)
            } else {
                Err(err(
                    var,
                    format!("must be between {} and {}", range.start(), range.end()),
                ))
            }
        };
        let flag = |var: &'static str| match value(var).as_deref() {
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            _ => Err(err(var, "must be true or false".into())),
        };
        let text = |var: &str| value(var).unwrap_or_default();
        let limit = |var: &'static str| RateLimit::parse(&text(var)).map_err(|r| err(var, r));

        let local_origins = |port: u16| format!("http://127.0.0.1:{port},http://localhost:{port}");
        let origins_raw = match (get("ALLOWED_CALLBACK_ORIGINS"), profile) {
            (Some(v), _) => v,
            (None, Profile::Local { port }) => local_origins(port),
            (None, Profile::Lambda) => String::new(),
        };
        let allowed_origins =
            AllowedOrigins::parse(&origins_raw).map_err(|r| err("ALLOWED_CALLBACK_ORIGINS", r))?;
        let default_callback_raw = match (get("DEFAULT_CALLBACK_URL"), profile) {
            (Some(v), _) => Some(v),
            (None, Profile::Local { port }) => Some(format!("http://127.0.0.1:{port}/reset")),
            (None, Profile::Lambda) => None,
        };
        let default_callback = default_callback_raw
            .map(|raw| {
                CallbackUrl::parse(&raw, &allowed_origins).map_err(|e| {
                    err(
                        "DEFAULT_CALLBACK_URL",
                        format!("{e} (must be on ALLOWED_CALLBACK_ORIGINS)"),
                    )
                })
            })
            .transpose()?;
        let server_key_sha256 = get("SERVER_KEY_SHA256")
            .map(|hex| {
                parse_sha256_hex(&hex)
                    .ok_or_else(|| err("SERVER_KEY_SHA256", "must be 64 hex characters".into()))
            })
            .transpose()?;
        let allowed_callback_urls = get("ALLOWED_CALLBACK_URLS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| {
                        CallbackUrl::parse(u, &allowed_origins).map_err(|e| {
                            err(
                                "ALLOWED_CALLBACK_URLS",
                                format!("{e} (each must be on ALLOWED_CALLBACK_ORIGINS)"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let mail_from =
            EmailAddress::parse(&text("MAIL_FROM")).map_err(|e| err("MAIL_FROM", e.to_string()))?;
        let key_attribute = text("USERS_KEY_ATTRIBUTE");
        let email_attribute = text("USERS_EMAIL_ATTRIBUTE");
        let email_index = match get("USERS_EMAIL_INDEX").as_deref() {
            Some("-" | "none") => None,
            Some(name) => Some(name.to_owned()),
            None if key_attribute == email_attribute => None,
            None => Some("email-index".to_owned()),
        };

        Ok(Self {
            token_key,
            previous_token_key,
            token_ttl: Duration::from_secs(number("TOKEN_TTL_SECONDS", 60..=86_400)?),
            max_concurrent: number("MAX_CONCURRENT_REQUESTS", 1..=10)? as u32,
            allowed_origins,
            default_callback,
            allowed_callback_urls,
            link_code_in: match value("LINK_CODE_IN").as_deref() {
                Some("query") => CodePlacement::Query,
                Some("fragment") => CodePlacement::Fragment,
                _ => return Err(err("LINK_CODE_IN", "must be query or fragment".into())),
            },
            app_name: text("APP_NAME"),
            notify_password_changed: flag("NOTIFY_PASSWORD_CHANGED")?,
            reset_table: text("RESET_TABLE_NAME"),
            users: UsersTable {
                table: text("USERS_TABLE_NAME"),
                key_attribute,
                email_attribute,
                email_index,
                password_attribute: text("USERS_PASSWORD_ATTRIBUTE"),
                password_changed_attribute: text("USERS_PASSWORD_CHANGED_ATTRIBUTE"),
                enabled_attribute: get("USERS_ENABLED_ATTRIBUTE"),
            },
            mail_from,
            ses_configuration_set: get("SES_CONFIGURATION_SET"),
            server_key_sha256,
            rate_limits: RateLimits {
                request: limit("RATE_LIMIT_REQUEST")?,
                check: limit("RATE_LIMIT_CHECK")?,
                consume: limit("RATE_LIMIT_CONSUME")?,
                ipv6_prefix: number("RATE_LIMIT_IPV6_PREFIX", 32..=128)? as u8,
            },
            cloudfront_origin_secret_sha256: get("CLOUDFRONT_ORIGIN_SECRET").map(|secret| {
                use sha2::Digest;
                sha2::Sha256::digest(secret.as_bytes()).into()
            }),
            min_request_response: Duration::from_millis(number(
                "MIN_REQUEST_RESPONSE_MS",
                0..=10_000,
            )?),
            dynamodb_timeouts: SdkTimeouts::read(&number, SdkTimeouts::DYNAMODB)?,
            ses_timeouts: SdkTimeouts::read(&number, SdkTimeouts::SES)?,
            argon2: argon2_settings(&lookup)?,
        })
    }
}

impl Config {
    /// The keys a code is looked up under: the current one, then the previous one if set.
    pub fn verifying_keys(&self) -> impl Iterator<Item = &TokenKey> {
        std::iter::once(&self.token_key).chain(self.previous_token_key.as_ref())
    }
}

/// The token keys from, in this order: the secret `TOKEN_HMAC_KEY_SECRET_ARN` names (its value
/// read by the caller), or `TOKEN_HMAC_KEY` (+ `TOKEN_HMAC_KEY_PREVIOUS`), or, for the local
/// API only, a random key. Setting both sources is refused, so it is always clear which one is
/// in force.
fn token_keys(
    profile: Profile,
    get: &impl Fn(&str) -> Option<String>,
    secret: Option<&str>,
) -> Result<TokenKeys, ConfigError> {
    const KEY: &str = "TOKEN_HMAC_KEY";
    const PREVIOUS: &str = "TOKEN_HMAC_KEY_PREVIOUS";
    let err = |var: &'static str, reason: &str| ConfigError {
        var,
        reason: reason.to_owned(),
    };
    let (key, previous) = (get(KEY), get(PREVIOUS));
    if get(TOKEN_KEY_SECRET_VAR).is_some() {
        if key.is_some() || previous.is_some() {
            return Err(err(
                TOKEN_KEY_SECRET_VAR,
                "set either it or TOKEN_HMAC_KEY (+ TOKEN_HMAC_KEY_PREVIOUS), not both",
            ));
        }
        let secret = secret.ok_or_else(|| {
            err(
                TOKEN_KEY_SECRET_VAR,
                "names a secret nobody read: the functions read it at init \
                 (shared::wiring::lambda_config); elsewhere set TOKEN_HMAC_KEY",
            )
        })?;
        return TokenKeys::from_secret(secret).map_err(|e| ConfigError {
            var: TOKEN_KEY_SECRET_VAR,
            reason: format!("the secret's value is refused: {e}"),
        });
    }
    match key {
        Some(key) => {
            let current = TokenKey::new(&key).map_err(|e| err(KEY, &e.to_string()))?;
            let previous = previous
                .map(|p| TokenKey::new(&p).map_err(|e| err(PREVIOUS, &e.to_string())))
                .transpose()?;
            Ok(TokenKeys { current, previous })
        }
        None if previous.is_some() => Err(err(PREVIOUS, "needs TOKEN_HMAC_KEY (the current key)")),
        None => match profile {
            Profile::Local { .. } => Ok(TokenKeys {
                current: TokenKey::random(),
                previous: None,
            }),
            Profile::Lambda => Err(err(
                KEY,
                "is required (or TOKEN_HMAC_KEY_SECRET_ARN, as the template sets)",
            )),
        },
    }
}

/// How long one AWS service may take to answer, so a service that accepts the connection and
/// never replies costs a bounded time (then 503 or 502), not the whole Lambda timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    /// The whole call: every attempt and the backoff between them.
    pub operation: Duration,
    /// One attempt, connecting included.
    pub attempt: Duration,
    /// Attempts per call, the first included (the SDK retries throttling, 5xx, timeouts).
    pub max_attempts: u32,
}

/// The variables of one service's [`SdkTimeouts`] (their defaults are in [`SETTINGS`]).
pub struct SdkTimeoutVars {
    operation: &'static str,
    attempt: &'static str,
    max_attempts: &'static str,
}

impl SdkTimeouts {
    /// DynamoDB answers in milliseconds: 700 ms is a very slow attempt, three attempts cover a
    /// throttle or a dropped connection, and 2 s bounds the call. Three sequential calls (the
    /// most an invocation makes on its failure path) plus SES fit the 10 s Lambda timeout.
    pub const DYNAMODB: SdkTimeoutVars = SdkTimeoutVars {
        operation: "DYNAMODB_TIMEOUT_MS",
        attempt: "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        max_attempts: "DYNAMODB_MAX_ATTEMPTS",
    };
    /// SES's SendEmail usually takes 50-300 ms: two attempts of 1.2 s within 2.5 s.
    pub const SES: SdkTimeoutVars = SdkTimeoutVars {
        operation: "SES_TIMEOUT_MS",
        attempt: "SES_ATTEMPT_TIMEOUT_MS",
        max_attempts: "SES_MAX_ATTEMPTS",
    };

    fn read(
        number: &impl Fn(&'static str, std::ops::RangeInclusive<u64>) -> Result<u64, ConfigError>,
        vars: SdkTimeoutVars,
    ) -> Result<Self, ConfigError> {
        let (op_var, attempt_var, attempts_var) = (vars.operation, vars.attempt, vars.max_attempts);
        let operation = number(op_var, 100..=10_000)?;
        let attempt = number(attempt_var, 50..=10_000)?;
        if attempt > operation {
            return Err(ConfigError {
                var: attempt_var,
                reason: format!("must not exceed {op_var} ({operation})"),
            });
        }
        Ok(Self {
            operation: Duration::from_millis(operation),
            attempt: Duration::from_millis(attempt),
            max_attempts: number(attempts_var, 1..=5)? as u32,
        })
    }
}

/// The `ARGON2_*` settings through `lookup` (unset or empty: their [`SETTINGS`] default, which
/// is [`Argon2Settings::OWASP`]'s value), validated by [`Argon2Settings::validate`].
pub fn argon2_settings(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Argon2Settings, ConfigError> {
    let number = |var: &'static str| {
        let set = lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        set.as_deref()
            .or(default_of(var))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| ConfigError {
                var,
                reason: "must be a whole number".into(),
            })
    };
    Argon2Settings {
        memory_kib: number("ARGON2_MEMORY_KIB")?,
        iterations: number("ARGON2_ITERATIONS")?,
        parallelism: number("ARGON2_PARALLELISM")?,
    }
    .validate()
    .map_err(|(var, reason)| ConfigError { var, reason })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn rate_limits_parse_only_bounded_windows(s in "\\PC{0,20}", max in 0u32..1000, secs in 0u64..100_000) {
            if let Ok(limit) = RateLimit::parse(&s) {
                prop_assert!((1..=86_400).contains(&limit.window.as_secs()));
            }
            let parsed = RateLimit::parse(&format!("{max}/{secs}"));
            prop_assert_eq!(parsed.is_ok(), (1..=86_400).contains(&secs));
        }
    }

    fn cfg(profile: Profile, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(profile, |k| map.get(k).cloned())
    }

    #[test]
    fn lambda_requires_a_token_key_and_never_echoes_it() {
        let e = cfg(Profile::Lambda, &[]).unwrap_err();
        assert_eq!(e.var, "TOKEN_HMAC_KEY");
        let e = cfg(Profile::Lambda, &[("TOKEN_HMAC_KEY", "tiny-secret")]).unwrap_err();
        assert!(!e.to_string().contains("tiny-secret"));
    }

    #[test]
    fn the_token_keys_come_from_exactly_one_source_and_errors_never_echo_them() {
        let a = "a-current-key-0123456789abcdef-0123456789";
        let b = "b-previous-key-0123456789abcdef-012345678";
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf";
        let code = crate::domain::ResetCode::generate();
        let hashes = |c: &Config| {
            c.verifying_keys()
                .map(|k| k.code_hash(&code))
                .collect::<Vec<_>>()
        };
        let key = |s: &str| TokenKey::new(s).unwrap().code_hash(&code);

        let c = cfg(Profile::Lambda, &[("TOKEN_HMAC_KEY", a)]).unwrap();
        assert_eq!(hashes(&c), vec![key(a)]);
        let c = cfg(
            Profile::Lambda,
            &[("TOKEN_HMAC_KEY", a), ("TOKEN_HMAC_KEY_PREVIOUS", b)],
        )
        .unwrap();
        assert_eq!(hashes(&c), vec![key(a), key(b)]);

        let vars = [(TOKEN_KEY_SECRET_VAR, arn)];
        let from_secret = |secret: &str| {
            Config::from_lookup_with_secret(
                Profile::Lambda,
                |k| {
                    vars.iter()
                        .find(|(v, _)| *v == k)
                        .map(|(_, x)| (*x).to_owned())
                },
                Some(secret),
            )
        };
        assert_eq!(hashes(&from_secret(a).unwrap()), vec![key(a)]);
        let pair = format!(r#"{{"current": "{a}", "previous": "{b}"}}"#);
        assert_eq!(hashes(&from_secret(&pair).unwrap()), vec![key(a), key(b)]);

        for (vars, secret, var) in [
            // The ARN without its value read (Config::from_env cannot read it).
            (
                &[(TOKEN_KEY_SECRET_VAR, arn)][..],
                None,
                TOKEN_KEY_SECRET_VAR,
            ),
            // Two sources.
            (
                &[(TOKEN_KEY_SECRET_VAR, arn), ("TOKEN_HMAC_KEY", a)][..],
                Some(b),
                TOKEN_KEY_SECRET_VAR,
            ),
            (
                &[(TOKEN_KEY_SECRET_VAR, arn), ("TOKEN_HMAC_KEY_PREVIOUS", a)][..],
                Some(b),
                TOKEN_KEY_SECRET_VAR,
            ),
            // Malformed or short secrets.
            (
                &[(TOKEN_KEY_SECRET_VAR, arn)][..],
                Some("{\"current\": \"tiny-s3cr3t\"}"),
                TOKEN_KEY_SECRET_VAR,
            ),
            (
                &[(TOKEN_KEY_SECRET_VAR, arn)][..],
                Some("{\"current\": \"long-enough-s3cr3t-0123456789abcdef\""),
                TOKEN_KEY_SECRET_VAR,
            ),
            (
                &[(TOKEN_KEY_SECRET_VAR, arn)][..],
                Some("tiny-s3cr3t"),
                TOKEN_KEY_SECRET_VAR,
            ),
            // A previous key without a current one, or too short.
            (
                &[("TOKEN_HMAC_KEY_PREVIOUS", a)][..],
                None,
                "TOKEN_HMAC_KEY_PREVIOUS",
            ),
            (
                &[
                    ("TOKEN_HMAC_KEY", a),
                    ("TOKEN_HMAC_KEY_PREVIOUS", "tiny-s3cr3t"),
                ][..],
                None,
                "TOKEN_HMAC_KEY_PREVIOUS",
            ),
        ] {
            let e = Config::from_lookup_with_secret(
                Profile::Lambda,
                |k| {
                    vars.iter()
                        .find(|(v, _)| *v == k)
                        .map(|(_, x)| (*x).to_owned())
                },
                secret,
            )
            .unwrap_err();
            assert_eq!(e.var, var, "{vars:?}");
            let shown = format!("{e} {e:?}");
            for secret in [a, b, "s3cr3t"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }

    #[test]
    fn local_profile_runs_with_no_configuration() {
        let c = cfg(Profile::Local { port: 3000 }, &[]).unwrap();
        assert_eq!(c.max_concurrent, 3);
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(
            c.default_callback.unwrap().as_url().as_str(),
            "http://127.0.0.1:3000/reset"
        );
        assert_eq!(c.users.email_index.as_deref(), Some("email-index"));
    }

    #[test]
    fn malformed_settings_name_their_variable() {
        let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
        for (var, value) in [
            ("TOKEN_TTL_SECONDS", "ten"),
            ("TOKEN_TTL_SECONDS", "5"),
            ("MAX_CONCURRENT_REQUESTS", "0"),
            ("ALLOWED_CALLBACK_ORIGINS", "http://example.com"),
            ("NOTIFY_PASSWORD_CHANGED", "maybe"),
            ("SERVER_KEY_SHA256", "abc"),
            ("RATE_LIMIT_REQUEST", "20"),
            ("MIN_REQUEST_RESPONSE_MS", "-1"),
            ("MAIL_FROM", "not-an-address"),
            (
                "ALLOWED_CALLBACK_URLS",
                "https://elsewhere.example.org/reset",
            ),
            ("LINK_CODE_IN", "hash"),
            ("RATE_LIMIT_IPV6_PREFIX", "16"),
            ("RATE_LIMIT_IPV6_PREFIX", "129"),
        ] {
            let e = cfg(Profile::Lambda, &[key, (var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{value}");
        }
        let e = cfg(
            Profile::Lambda,
            &[
                key,
                ("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"),
                ("DEFAULT_CALLBACK_URL", "https://other.example.com/reset"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.var, "DEFAULT_CALLBACK_URL");
    }

    #[test]
    fn sdk_timeouts_default_to_bounds_inside_the_lambda_timeout_and_refuse_nonsense() {
        let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
        let c = cfg(Profile::Lambda, &[key]).unwrap();
        let d = c.dynamodb_timeouts;
        assert_eq!(
            (d.operation, d.attempt, d.max_attempts),
            (Duration::from_millis(2_000), Duration::from_millis(700), 3)
        );
        let s = c.ses_timeouts;
        assert_eq!(
            (s.operation, s.attempt, s.max_attempts),
            (
                Duration::from_millis(2_500),
                Duration::from_millis(1_200),
                2
            )
        );
        let c = cfg(
            Profile::Lambda,
            &[
                key,
                ("SES_TIMEOUT_MS", "900"),
                ("SES_ATTEMPT_TIMEOUT_MS", "300"),
            ],
        )
        .unwrap();
        assert_eq!(c.ses_timeouts.operation, Duration::from_millis(900));
        for (vars, bad) in [
            (&[("DYNAMODB_TIMEOUT_MS", "0")][..], "DYNAMODB_TIMEOUT_MS"),
            (
                &[("DYNAMODB_TIMEOUT_MS", "soon")][..],
                "DYNAMODB_TIMEOUT_MS",
            ),
            (
                &[("DYNAMODB_MAX_ATTEMPTS", "0")][..],
                "DYNAMODB_MAX_ATTEMPTS",
            ),
            (&[("SES_MAX_ATTEMPTS", "6")][..], "SES_MAX_ATTEMPTS"),
            (
                &[("DYNAMODB_ATTEMPT_TIMEOUT_MS", "3000")][..],
                "DYNAMODB_ATTEMPT_TIMEOUT_MS",
            ),
            (
                &[("SES_TIMEOUT_MS", "500"), ("SES_ATTEMPT_TIMEOUT_MS", "600")][..],
                "SES_ATTEMPT_TIMEOUT_MS",
            ),
        ] {
            let mut all = vec![key];
            all.extend_from_slice(vars);
            assert_eq!(cfg(Profile::Lambda, &all).unwrap_err().var, bad, "{vars:?}");
        }
    }

    #[test]
    fn argon2_settings_default_to_owasp_and_refuse_weaker_or_malformed_values() {
        let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
        let c = cfg(Profile::Lambda, &[key]).unwrap();
        assert_eq!(c.argon2, Argon2Settings::OWASP);
        let c = cfg(
            Profile::Lambda,
            &[
                key,
                ("ARGON2_MEMORY_KIB", "65536"),
                ("ARGON2_ITERATIONS", "3"),
                ("ARGON2_PARALLELISM", "4"),
            ],
        )
        .unwrap();
        assert_eq!(c.argon2, Argon2Settings::RFC9106_SECOND);
        for (vars, bad) in [
            (&[("ARGON2_MEMORY_KIB", "lots")][..], "ARGON2_MEMORY_KIB"),
            (&[("ARGON2_MEMORY_KIB", "1024")][..], "ARGON2_MEMORY_KIB"),
            (&[("ARGON2_MEMORY_KIB", "1048576")][..], "ARGON2_MEMORY_KIB"),
            (&[("ARGON2_ITERATIONS", "0")][..], "ARGON2_ITERATIONS"),
            (&[("ARGON2_ITERATIONS", "1")][..], "ARGON2_ITERATIONS"),
            (&[("ARGON2_PARALLELISM", "-1")][..], "ARGON2_PARALLELISM"),
            (&[("ARGON2_PARALLELISM", "64")][..], "ARGON2_PARALLELISM"),
        ] {
            let mut all = vec![key];
            all.extend_from_slice(vars);
            assert_eq!(cfg(Profile::Lambda, &all).unwrap_err().var, bad, "{vars:?}");
        }
    }
}
