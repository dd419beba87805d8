//! Typed settings, read once from the environment at init. Every variable has a default
//! (except the token key on Lambda), written once in [`SETTINGS`], which the docs tests hold
//! against README.md, template.yaml and the CDK settings.
//!
//! [`Config`] is a set of sections ([`PolicySettings`], [`LinkSettings`], [`EdgeSettings`],
//! [`StoreSettings`], [`MailSettings`], [`PasswordSettings`], [`CaptchaSettings`],
//! [`ObserveSettings`], [`DialectSettings`]) plus the token keys; each section is read by its own `read` and handed to
//! the code that needs it, so a new setting has one obvious home.

mod credentials;
mod dialects;
mod env;
mod keys;
mod observe;
mod sections;
mod settings;
mod timeouts;

pub use credentials::{
    BreachSettings, CAPTCHA_SECRET_VAR, CaptchaProvider, CaptchaSettings, PasswordSettings,
};
pub use dialects::{
    API_DIALECTS_VAR, Dialect, DialectSettings, ProductFlameSettings, StackSettings,
    ZitadelSettings,
};
pub use observe::ObserveSettings;
pub use sections::{
    EdgeSettings, LinkSettings, MailSettings, PolicySettings, RateLimit, RateLimitError,
    RateLimits, StoreSettings, UsersTable,
};
pub use settings::{SETTINGS, Setting, TOKEN_KEY_SECRET_VAR, default_of};
pub use timeouts::{SdkTimeoutVars, SdkTimeouts, argon2_settings};

use crate::domain::{TokenKey, TokenKeys};
use env::Env;

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

impl ConfigError {
    fn new(var: &'static str, reason: impl Into<String>) -> Self {
        Self {
            var,
            reason: reason.into(),
        }
    }
}

/// All settings, by section.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC keys for codes, email keys and IP keys: everything is issued under `current`;
    /// codes issued under `previous` (the key before the last rotation) are still found, and
    /// checked against the email key made under it, until they expire. Slots and IP windows
    /// are keyed under `current` only (README, "Rotating the token key").
    pub keys: TokenKeys,
    /// Code lifetime, cap, response floor, hashing cost.
    pub policy: PolicySettings,
    /// Callback origins and URLs, and where a link carries its code.
    pub links: LinkSettings,
    /// Server key, CloudFront secret, per-IP limits.
    pub edge: EdgeSettings,
    /// Tables and DynamoDB time bounds.
    pub store: StoreSettings,
    /// Sender, reply-to, product name, mail templates, SES time bounds.
    pub mail: MailSettings,
    /// The new-password policy and the breached-password check.
    pub password: PasswordSettings,
    /// The CAPTCHA public requests must pass; `None`: none (`CAPTCHA_PROVIDER` unset).
    pub captcha: Option<CaptchaSettings>,
    /// Event bus and source, metrics namespace.
    pub observe: ObserveSettings,
    /// Which wire contracts the edge answers (`API_DIALECTS`), with their settings.
    pub dialects: DialectSettings,
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
        let env = Env::new(profile, &lookup);
        let keys = keys::token_keys(&env, secret)?;
        let policy = PolicySettings::read(&env, &lookup)?;
        let links = LinkSettings::read(&env)?;
        let edge = EdgeSettings::read(&env)?;
        Ok(Self {
            keys,
            mail: MailSettings::read(&env, policy.method)?,
            policy,
            store: StoreSettings::read(&env)?,
            password: PasswordSettings::read(&env)?,
            captcha: CaptchaSettings::read(&env)?,
            observe: ObserveSettings::read(&env)?,
            dialects: DialectSettings::read(&env, &edge, &links)?,
            links,
            edge,
        })
    }

    /// The keys a code is looked up under: the current one, then the previous one if set.
    pub fn verifying_keys(&self) -> impl Iterator<Item = &TokenKey> {
        self.keys.verifying()
    }
}

#[cfg(test)]
mod tests;
