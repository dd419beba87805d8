//! Where reset links may point: callback URLs and URL templates, checked against the
//! configured allowed origins before anything else happens (no reset poisoning).

use url::Url;

use super::ResetCode;

mod template;
#[cfg(test)]
mod tests;

pub use template::UrlTemplate;

/// Why a callback URL or URL template was refused. Messages are safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Not an absolute URL (relative paths, garbage).
    #[error("must be an absolute URL")]
    NotAbsolute,
    /// Not http(s) (`javascript:`, `data:`, `file:` ...), or plain http to a non-loopback host.
    #[error("must use https (http is allowed only for localhost and 127.0.0.1)")]
    InsecureScheme,
    /// Contains `user:password@`, a classic way to disguise a link's real host.
    #[error("must not contain credentials")]
    Credentials,
    /// The origin (scheme, host, port) is not in `ALLOWED_CALLBACK_ORIGINS`.
    #[error("origin is not allowed")]
    OriginNotAllowed,
    /// Over 2048 characters.
    #[error("must be at most 2048 characters")]
    TooLong,
    /// A URL template without the `{{.Code}}` placeholder cannot carry the code.
    #[error("must contain the {{{{.Code}}}} placeholder")]
    MissingCodePlaceholder,
    /// Whitespace, control characters or `\` in a URL template: URL parsers drop, keep or
    /// turn them into `/` differently, so the link a mail client follows could differ from the
    /// one we checked.
    #[error("must not contain whitespace, control characters or backslashes")]
    UnsafeCharacter,
    /// The template uses `{{.OrgID}}` and neither the user's organisation attribute
    /// (`USERS_ORG_ATTRIBUTE`) nor a default (`ZITADEL_ORG_ID`) gives it a value.
    #[error(
        "uses {{{{.OrgID}}}}, and the user has no organisation (USERS_ORG_ATTRIBUTE) and no ZITADEL_ORG_ID is configured"
    )]
    MissingOrg,
}

/// Why an `ALLOWED_CALLBACK_ORIGINS` entry was refused (the entry is configuration, not a
/// secret, so it is quoted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Not parseable as a URL.
    #[error("{0:?} is not a URL")]
    NotAUrl(String),
    /// Not https, nor http on a loopback host.
    #[error("{0:?}: {insecure}", insecure = CallbackError::InsecureScheme)]
    Insecure(String),
    /// Has a path, query or fragment: origins are not prefixes.
    #[error("{0:?} must be an origin without a path")]
    NotAnOrigin(String),
}

/// The origins a reset link may point at (`ALLOWED_CALLBACK_ORIGINS`), as ASCII-serialized
/// origins like `https://app.example.com` or `http://localhost:3000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Parses a comma-separated list. Each entry must itself be an allowed-looking origin: https,
    /// or http on a loopback host; a path other than `/` is refused so nobody mistakes this
    /// for a prefix list.
    pub fn parse(list: &str) -> Result<Self, OriginError> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let url = Url::parse(entry).map_err(|_| OriginError::NotAUrl(entry.to_owned()))?;
            check_scheme(&url).map_err(|_| OriginError::Insecure(entry.to_owned()))?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(OriginError::NotAnOrigin(entry.to_owned()));
            }
            origins.push(url.origin().ascii_serialization());
        }
        Ok(Self(origins))
    }

    /// The origins, for CORS configuration and docs.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    fn allows(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.0.contains(&origin)
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_scheme(url: &Url) -> Result<(), CallbackError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        _ => Err(CallbackError::InsecureScheme),
    }
}

fn parse_allowed(raw: &str, allowed: &AllowedOrigins) -> Result<Url, CallbackError> {
    if raw.len() > 2048 {
        return Err(CallbackError::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| CallbackError::NotAbsolute)?;
    check_scheme(&url)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CallbackError::Credentials);
    }
    if !allowed.allows(&url) {
        return Err(CallbackError::OriginNotAllowed);
    }
    Ok(url)
}

/// A page of the app on an allowed origin; the reset link is this URL plus `code=<code>`
/// (Stack Auth style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(Url);

impl CallbackUrl {
    /// Parses and checks against the allowed origins.
    pub fn parse(raw: &str, allowed: &AllowedOrigins) -> Result<Self, CallbackError> {
        parse_allowed(raw, allowed).map(Self)
    }

    /// The link for a code with the code in the fragment (`#code=<code>`), the query kept as
    /// given: browsers never send a fragment, so the code stays out of the app's access logs,
    /// proxies and `Referer` headers. The page reads it from `location.hash`.
    pub fn with_code_in_fragment(&self, code: &ResetCode) -> Url {
        let mut url = self.0.clone();
        url.set_fragment(Some(&format!("code={}", code.expose())));
        url
    }

    /// The link for a code: every query parameter kept except an existing `code`, which is
    /// replaced.
    pub fn with_code(&self, code: &ResetCode) -> Url {
        let mut url = self.0.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "code")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("code", code.expose());
        url
    }

    /// The URL as given (after parsing).
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}
