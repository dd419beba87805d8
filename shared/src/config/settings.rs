//! The one table of environment variables and their defaults: [`Config::from_lookup`]
//! (super::Config) reads through it, and the docs tests hold README.md, template.yaml and the
//! CDK settings against it.

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
    Setting::new("RESET_METHOD", Some("both")),
    Setting::new("OTP_LENGTH", Some("8")),
    Setting::new("OTP_MAX_ATTEMPTS", Some("5")),
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
    Setting::new("USERS_SESSION_VERSION_ATTRIBUTE", None),
    Setting::new("USERS_ORG_ATTRIBUTE", None),
    Setting::new("MAIL_FROM", Some("no-reply@example.com")),
    Setting::new("MAIL_REPLY_TO", None),
    Setting::new("MAIL_TEMPLATE_DIR", None),
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
    Setting::new("PASSWORD_MIN_LENGTH", Some("8")),
    Setting::new("PASSWORD_MAX_LENGTH", Some("128")),
    Setting::new(
        "PWNED_PASSWORDS_URL",
        Some("https://api.pwnedpasswords.com"),
    ),
    Setting::new("PWNED_PASSWORDS_FAIL_CLOSED", Some("false")),
    Setting::new("PWNED_PASSWORDS_MIN_COUNT", Some("1")),
    Setting::new("CAPTCHA_PROVIDER", None),
    Setting::new("CAPTCHA_SECRET", None),
    Setting::new("CAPTCHA_SECRET_ARN", None),
    Setting::new("CAPTCHA_VERIFY_URL", None),
    Setting::new("EVENT_BUS_NAME", None),
    Setting::new("EVENT_SOURCE", Some("password-reset")),
    Setting::new("METRICS_NAMESPACE", Some("PasswordReset")),
    Setting::new("API_DIALECTS", Some("native")),
    Setting::new("STACK_PROJECT_ID", None),
    Setting::new("STACK_PUBLISHABLE_CLIENT_KEYS", None),
    Setting::new("ZITADEL_ORG_ID", None),
];

/// The default of `name` in [`SETTINGS`].
pub fn default_of(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.default)
}
