//! The CAPTCHA port: whether a public caller solved the challenge the app's page showed, asked
//! by the request use case before any lookup (an HTTP API cannot take AWS WAF's CAPTCHA, so the
//! service checks it itself). One adapter, [`SiteVerify`], speaks the siteverify protocol that
//! Cloudflare Turnstile, hCaptcha and Google reCAPTCHA share: a form-encoded POST of `secret`
//! and `response`, answered `{"success": true|false, ...}`.

use crate::outbound::{Outbound, OutboundError};

/// The token the provider's widget put in the page (`captcha_token` in the body). Single use,
/// short-lived; kept out of `Debug` all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct CaptchaToken(String);

impl CaptchaToken {
    /// The longest token accepted: Turnstile's are at most 2048 characters.
    pub const MAX_LEN: usize = 4096;

    /// A non-blank string of at most [`Self::MAX_LEN`] bytes without control characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.trim().is_empty() {
            return Err("must not be empty");
        }
        if raw.len() > Self::MAX_LEN {
            return Err("is too long");
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The token, for the provider only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CaptchaToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaptchaToken(<{} bytes>)", self.0.len())
    }
}

/// Why the provider gave no verdict. The request use case answers 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    /// No answer in time, unreachable, or a non-2xx status.
    #[error("CAPTCHA provider unavailable")]
    Unavailable(#[from] OutboundError),
    /// An answer that is not siteverify JSON.
    #[error("CAPTCHA provider answered something unreadable")]
    Malformed,
}

/// Verifies a solved challenge with the provider.
#[async_trait::async_trait]
pub trait CaptchaVerifier: Send + Sync {
    /// `true` when the provider accepts the token, `false` when it refuses it.
    async fn verify(&self, token: &CaptchaToken) -> Result<bool, CaptchaError>;
}

/// A provider's siteverify endpoint and the app's secret for it.
pub struct SiteVerify {
    url: url::Url,
    secret: zeroize::Zeroizing<String>,
    client: Outbound,
}

impl SiteVerify {
    /// The endpoint at `url`, authenticated with `secret`.
    pub fn new(url: url::Url, secret: zeroize::Zeroizing<String>, client: Outbound) -> Self {
        Self {
            url,
            secret,
            client,
        }
    }
}

#[derive(serde::Deserialize)]
struct Verdict {
    success: bool,
}

#[async_trait::async_trait]
impl CaptchaVerifier for SiteVerify {
    async fn verify(&self, token: &CaptchaToken) -> Result<bool, CaptchaError> {
        let body = self
            .client
            .post_form(
                self.url.as_str(),
                &[
                    ("secret", self.secret.as_str()),
                    ("response", token.expose()),
                ],
            )
            .await?;
        let verdict: Verdict =
            serde_json::from_slice(&body).map_err(|_| CaptchaError::Malformed)?;
        Ok(verdict.success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bounded_and_never_shown() {
        assert!(CaptchaToken::parse("").is_err());
        assert!(CaptchaToken::parse("  ").is_err());
        assert!(CaptchaToken::parse("a\nb").is_err());
        assert!(CaptchaToken::parse(&"x".repeat(CaptchaToken::MAX_LEN + 1)).is_err());
        let t = CaptchaToken::parse("XXXX.DUMMY.TOKEN.XXXX").unwrap();
        assert_eq!(format!("{t:?}"), "CaptchaToken(<21 bytes>)");
    }
}
