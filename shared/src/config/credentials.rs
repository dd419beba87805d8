//! The credential-hygiene sections of [`Config`](super::Config): the new-password policy and the
//! breached-password check (consume), and the CAPTCHA public requests must pass (request), each
//! read by its own `read`.

use super::{ConfigError, Profile, env::Env};
use crate::domain::PasswordPolicy;

/// What a new password must pass: the policy the edge parses with and the consume use case
/// checks the account's address against, and the breach check consume runs beside the code
/// lookup.
#[derive(Debug, Clone)]
pub struct PasswordSettings {
    /// `PASSWORD_MIN_LENGTH`, `PASSWORD_MAX_LENGTH`, and `APP_NAME` as a context word.
    pub policy: PasswordPolicy,
    /// `PWNED_PASSWORDS_*`.
    pub breach: BreachSettings,
}

impl PasswordSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let min = env.number("PASSWORD_MIN_LENGTH", 8..=64)? as usize;
        let max = env.number("PASSWORD_MAX_LENGTH", 8..=256)? as usize;
        let app_name = env.text("APP_NAME");
        let policy = PasswordPolicy::new(min, max, [app_name.as_str()]).map_err(|_| {
            ConfigError::new(
                "PASSWORD_MAX_LENGTH",
                "must be at least PASSWORD_MIN_LENGTH",
            )
        })?;
        Ok(Self {
            policy,
            breach: BreachSettings::read(env)?,
        })
    }
}

/// The breached-password check.
#[derive(Debug, Clone)]
pub struct BreachSettings {
    /// Base of the range API (`GET {url}/range/{prefix}`); `None`: no check
    /// (`PWNED_PASSWORDS_URL=off`, the local API's default).
    pub url: Option<url::Url>,
    /// On a timeout or an error: `false` accepts the password (logged), `true` answers 503.
    pub fail_closed: bool,
    /// A password seen at least this many times is refused.
    pub min_count: u64,
}

impl BreachSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        const URL: &str = "PWNED_PASSWORDS_URL";
        // The local API is a development server: it calls no third party unless told to.
        let raw = match (env.get(URL), env.profile) {
            (Some(v), _) => Some(v),
            (None, Profile::Local { .. }) => None,
            (None, Profile::Lambda) => env.value(URL),
        };
        let url = raw
            .filter(|v| !v.eq_ignore_ascii_case("off"))
            .map(|v| provider_url(URL, &v))
            .transpose()?;
        Ok(Self {
            url,
            fail_closed: env.flag("PWNED_PASSWORDS_FAIL_CLOSED")?,
            min_count: env.number("PWNED_PASSWORDS_MIN_COUNT", 1..=1_000_000_000)?,
        })
    }
}

/// A third-party API's URL: `https`, or `http` on this machine only (tests' fakes).
pub(super) fn provider_url(var: &'static str, raw: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(raw).map_err(|_| ConfigError::new(var, "must be a URL or off"))?;
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        _ => Err(ConfigError::new(
            var,
            "must be https (http only on 127.0.0.1 or localhost)",
        )),
    }
}

/// The CAPTCHA providers whose siteverify protocol the service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaProvider {
    /// Cloudflare Turnstile.
    Turnstile,
    /// hCaptcha.
    Hcaptcha,
    /// Google reCAPTCHA (v2, or v3 without a score threshold).
    Recaptcha,
}

impl CaptchaProvider {
    /// `CAPTCHA_PROVIDER`'s value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Turnstile => "turnstile",
            Self::Hcaptcha => "hcaptcha",
            Self::Recaptcha => "recaptcha",
        }
    }

    /// The provider's own siteverify endpoint (`CAPTCHA_VERIFY_URL` overrides it).
    pub fn siteverify_url(self) -> &'static str {
        match self {
            Self::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            Self::Hcaptcha => "https://api.hcaptcha.com/siteverify",
            Self::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
        }
    }
}

/// The CAPTCHA public requests must pass (`CAPTCHA_*`); the section is `None` when
/// `CAPTCHA_PROVIDER` is unset. Server callers never need one.
#[derive(Clone)]
pub struct CaptchaSettings {
    /// Which provider.
    pub provider: CaptchaProvider,
    /// The app's secret for siteverify (`CAPTCHA_SECRET`, or the secret `CAPTCHA_SECRET_ARN`
    /// names, read at init by [`crate::wiring::lambda_config`]).
    pub secret: zeroize::Zeroizing<String>,
    /// The siteverify endpoint.
    pub verify_url: url::Url,
}

impl std::fmt::Debug for CaptchaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaSettings")
            .field("provider", &self.provider)
            .field("secret", &"<redacted>")
            .field("verify_url", &self.verify_url.as_str())
            .finish()
    }
}

/// The setting naming the Secrets Manager secret that holds the CAPTCHA secret.
pub const CAPTCHA_SECRET_VAR: &str = "CAPTCHA_SECRET_ARN";

impl CaptchaSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        const PROVIDER: &str = "CAPTCHA_PROVIDER";
        let provider = match env.get(PROVIDER).map(|p| p.to_ascii_lowercase()).as_deref() {
            None | Some("off") => return Ok(None),
            Some("turnstile") => CaptchaProvider::Turnstile,
            Some("hcaptcha") => CaptchaProvider::Hcaptcha,
            Some("recaptcha") => CaptchaProvider::Recaptcha,
            Some(_) => {
                return Err(ConfigError::new(
                    PROVIDER,
                    "must be turnstile, hcaptcha or recaptcha (or unset)",
                ));
            }
        };
        let secret = env.get("CAPTCHA_SECRET").ok_or_else(|| {
            let reason = if env.get(CAPTCHA_SECRET_VAR).is_some() {
                "names a secret nobody read: the functions read it at init \
                 (shared::wiring::lambda_config); elsewhere set CAPTCHA_SECRET"
            } else {
                "is required with CAPTCHA_PROVIDER (or CAPTCHA_SECRET_ARN, as the template sets)"
            };
            let var = if env.get(CAPTCHA_SECRET_VAR).is_some() {
                CAPTCHA_SECRET_VAR
            } else {
                "CAPTCHA_SECRET"
            };
            ConfigError::new(var, reason)
        })?;
        let verify_url = match env.get("CAPTCHA_VERIFY_URL") {
            Some(raw) => provider_url("CAPTCHA_VERIFY_URL", &raw)?,
            None => url::Url::parse(provider.siteverify_url())
                .map_err(|_| ConfigError::new("CAPTCHA_VERIFY_URL", "must be a URL"))?,
        };
        Ok(Some(Self {
            provider,
            secret: zeroize::Zeroizing::new(secret),
            verify_url,
        }))
    }
}
