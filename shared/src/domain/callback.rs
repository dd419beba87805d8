//! Where reset links may point: callback URLs and URL templates, checked against the
//! configured allowed origins before anything else happens (no reset poisoning).

use url::Url;

use super::{ResetCode, UserId};

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
}

/// The origins a reset link may point at (`ALLOWED_CALLBACK_ORIGINS`), as ASCII-serialized
/// origins like `https://app.example.com` or `http://localhost:3000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Parses a comma-separated list. Each entry must itself be an allowed-looking origin: https,
    /// or http on a loopback host; a path other than `/` is refused so nobody mistakes this
    /// for a prefix list.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let url = Url::parse(entry).map_err(|_| format!("{entry:?} is not a URL"))?;
            check_scheme(&url).map_err(|e| format!("{entry:?}: {e}"))?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(format!("{entry:?} must be an origin without a path"));
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

/// A Zitadel-style link template such as `https://app.example.com/reset/{{.UserID}}?c={{.Code}}`.
/// Only server callers may send one; the rendered URL must still be on an allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(String);

impl UrlTemplate {
    const CODE: &'static str = "{{.Code}}";
    const USER_ID: &'static str = "{{.UserID}}";

    /// Checks the template by rendering it with sample values: the placeholders may only sit
    /// where they cannot change the origin, because the result must stay on an allowed origin
    /// whatever the values are (they are percent-encoded, so they cannot add `/`, `@` or `:`).
    pub fn parse(raw: &str, allowed: &AllowedOrigins) -> Result<Self, CallbackError> {
        if raw.len() > 2048 {
            return Err(CallbackError::TooLong);
        }
        if !raw.contains(Self::CODE) {
            return Err(CallbackError::MissingCodePlaceholder);
        }
        let template = Self(raw.to_owned());
        let sample = template.fill("sample-code", "sample-user");
        let url = parse_allowed(&sample, allowed)?;
        // A placeholder in the host would let the value pick the origin.
        let probe = template.fill("probe-a", "probe-b");
        let probe_url = parse_allowed(&probe, allowed)?;
        if probe_url.origin() != url.origin() {
            return Err(CallbackError::OriginNotAllowed);
        }
        Ok(template)
    }

    fn fill(&self, code: &str, user_id: &str) -> String {
        self.0
            .replace(Self::CODE, &encode(code))
            .replace(Self::USER_ID, &encode(user_id))
    }

    /// The link for a code and user: placeholders replaced by the percent-encoded values.
    pub fn render(&self, code: &ResetCode, user_id: &UserId) -> String {
        self.fill(code.expose(), user_id.as_str())
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(value: &str) -> String {
    use std::fmt::Write;
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn allowed() -> AllowedOrigins {
        AllowedOrigins::parse("https://app.example.com, http://localhost:3000").unwrap()
    }

    #[test]
    fn the_link_keeps_other_parameters_and_replaces_an_existing_code() {
        let cb = CallbackUrl::parse(
            "https://app.example.com/reset?lang=de&code=stale&x=1#top",
            &allowed(),
        )
        .unwrap();
        let code = ResetCode::generate();
        let link = cb.with_code(&code);
        let pairs: Vec<(String, String)> = link.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("lang".into(), "de".into()),
                ("x".into(), "1".into()),
                ("code".into(), code.expose().into()),
            ]
        );
        assert_eq!(link.path(), "/reset");
    }

    #[test]
    fn each_unsafe_callback_is_refused_with_its_reason() {
        let cases = [
            ("/reset", CallbackError::NotAbsolute, "relative"),
            (
                "javascript:alert(1)",
                CallbackError::InsecureScheme,
                "javascript",
            ),
            ("data:text/html,hi", CallbackError::InsecureScheme, "data"),
            (
                "http://app.example.com/reset",
                CallbackError::InsecureScheme,
                "http to a public host",
            ),
            (
                "https://evil.example.net/reset",
                CallbackError::OriginNotAllowed,
                "other origin",
            ),
            (
                "https://app.example.com:8443/reset",
                CallbackError::OriginNotAllowed,
                "other port",
            ),
            (
                "https://app.example.com.evil.net/",
                CallbackError::OriginNotAllowed,
                "suffix trick",
            ),
            (
                "https://user:pw@app.example.com/",
                CallbackError::Credentials,
                "credentials",
            ),
            (
                "http://localhost:4000/reset",
                CallbackError::OriginNotAllowed,
                "other local port",
            ),
        ];
        for (input, want, why) in cases {
            assert_eq!(CallbackUrl::parse(input, &allowed()), Err(want), "{why}");
        }
        assert!(CallbackUrl::parse("http://localhost:3000/reset", &allowed()).is_ok());
        assert!(CallbackUrl::parse("https://APP.example.com/r", &allowed()).is_ok());
    }

    #[test]
    fn templates_encode_their_values_and_stay_on_an_allowed_origin() {
        let t = UrlTemplate::parse(
            "https://app.example.com/users/{{.UserID}}/reset?c={{.Code}}",
            &allowed(),
        )
        .unwrap();
        let code = ResetCode::generate();
        let user = UserId::parse("a/b?c=d&e f").unwrap();
        let rendered = t.render(&code, &user);
        assert_eq!(
            rendered,
            format!(
                "https://app.example.com/users/a%2Fb%3Fc%3Dd%26e%20f/reset?c={}",
                code.expose()
            )
        );
        assert_eq!(
            UrlTemplate::parse("https://app.example.com/reset", &allowed()),
            Err(CallbackError::MissingCodePlaceholder)
        );
        assert_eq!(
            UrlTemplate::parse("https://{{.UserID}}.example.com/?c={{.Code}}", &allowed()),
            Err(CallbackError::OriginNotAllowed)
        );
        assert_eq!(
            UrlTemplate::parse("https://evil.example.net/?c={{.Code}}", &allowed()),
            Err(CallbackError::OriginNotAllowed)
        );
    }

    #[test]
    fn allowed_origins_must_be_safe_origins() {
        assert!(AllowedOrigins::parse("http://example.com").is_err());
        assert!(AllowedOrigins::parse("https://example.com/path").is_err());
        assert!(AllowedOrigins::parse("not a url").is_err());
        assert_eq!(
            AllowedOrigins::parse("https://A.example.com/")
                .unwrap()
                .as_slice(),
            ["https://a.example.com"]
        );
    }

    proptest! {
        #[test]
        fn accepted_callbacks_are_always_on_an_allowed_origin(s in "(https?://)?[a-zA-Z0-9.:/@?#&=%-]{0,60}") {
            if let Ok(cb) = CallbackUrl::parse(&s, &allowed()) {
                let origin = cb.as_url().origin().ascii_serialization();
                prop_assert!(allowed().as_slice().contains(&origin));
            }
        }

        #[test]
        fn accepted_templates_render_on_an_allowed_origin(
            s in "https://app\\.example\\.com[a-zA-Z0-9./?&=-]{0,20}\\{\\{\\.Code\\}\\}[a-zA-Z0-9./?&=-]{0,20}",
            user in "\\PC{1,20}",
        ) {
            if let (Ok(t), Ok(user)) = (UrlTemplate::parse(&s, &allowed()), UserId::parse(&user)) {
                let url = Url::parse(&t.render(&ResetCode::generate(), &user)).unwrap();
                prop_assert_eq!(url.origin().ascii_serialization(), "https://app.example.com");
            }
        }
    }
}
