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
    /// Whitespace, control characters or `\` in a URL template: URL parsers drop, keep or
    /// turn them into `/` differently, so the link a mail client follows could differ from the
    /// one we checked.
    #[error("must not contain whitespace, control characters or backslashes")]
    UnsafeCharacter,
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

/// A Zitadel-style link template such as `https://app.example.com/reset/{{.UserID}}?c={{.Code}}`.
/// Only server callers may send one; the rendered URL must still be on an allowed origin.
///
/// The template is checked with sample values when parsed, and every rendered link is parsed
/// again and re-checked against the origin that check found (itself an allowed origin); the
/// mail carries the re-serialised URL, never the raw string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    raw: String,
    /// The allowed origin the sample rendering landed on (ASCII serialization).
    origin: String,
}

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
        if raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return Err(CallbackError::UnsafeCharacter);
        }
        if !raw.contains(Self::CODE) {
            return Err(CallbackError::MissingCodePlaceholder);
        }
        let fill = |code: &str, user_id: &str| Self::fill(raw, code, user_id);
        let url = parse_allowed(&fill("sample-code", "sample-user"), allowed)?;
        // A placeholder in the host would let the value pick the origin.
        let probe_url = parse_allowed(&fill("probe-a", "probe-b"), allowed)?;
        if probe_url.origin() != url.origin() {
            return Err(CallbackError::OriginNotAllowed);
        }
        Ok(Self {
            raw: raw.to_owned(),
            origin: url.origin().ascii_serialization(),
        })
    }

    fn fill(raw: &str, code: &str, user_id: &str) -> String {
        raw.replace(Self::CODE, &encode(code))
            .replace(Self::USER_ID, &encode(user_id))
    }

    /// The link for a code and user: placeholders replaced by the percent-encoded values, the
    /// result parsed again, re-checked (scheme, no credentials, the template's allowed origin)
    /// and re-serialised. `Err` means the values moved the link off its origin, which the
    /// checks in [`UrlTemplate::parse`] are meant to make impossible: no mail is sent then.
    pub fn render(&self, code: &ResetCode, user_id: &UserId) -> Result<String, CallbackError> {
        let url = Url::parse(&Self::fill(&self.raw, code.expose(), user_id.as_str()))
            .map_err(|_| CallbackError::NotAbsolute)?;
        check_scheme(&url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CallbackError::Credentials);
        }
        if url.origin().ascii_serialization() != self.origin {
            return Err(CallbackError::OriginNotAllowed);
        }
        Ok(url.into())
    }

    /// A template as if it had passed [`UrlTemplate::parse`], to test that
    /// [`UrlTemplate::render`] re-checks what it renders.
    #[cfg(test)]
    fn unchecked(raw: &str, origin: &str) -> Self {
        Self {
            raw: raw.to_owned(),
            origin: origin.to_owned(),
        }
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
    use crate::domain::branches::{Branch, run_counting};
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
        let rendered = t.render(&code, &user).unwrap();
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
    fn templates_with_whitespace_control_characters_or_backslashes_are_refused() {
        for (raw, why) in [
            ("https://app.example.com/reset?c={{.Code}}&x=a b", "space"),
            ("https://app.example.com/reset?c={{.Code}}\t", "tab"),
            ("https://app.example.com/re\nset?c={{.Code}}", "newline"),
            ("https://app.example.com/reset?c={{.Code}}\u{0}", "NUL"),
            (
                "https://app.example.com/reset?c={{.Code}}\u{85}",
                "C1 control",
            ),
            (
                "https://app.example.com/reset?c={{.Code}}\u{3000}",
                "ideographic space",
            ),
            (
                "https://app.example.com\\@evil.example.net/?c={{.Code}}",
                "backslash",
            ),
            (
                "https:\\\\app.example.com/?c={{.Code}}",
                "backslashes as slashes",
            ),
        ] {
            assert_eq!(
                UrlTemplate::parse(raw, &allowed()),
                Err(CallbackError::UnsafeCharacter),
                "{why}"
            );
        }
    }

    #[test]
    fn a_rendered_template_is_the_reserialised_url_on_its_origin() {
        let t = UrlTemplate::parse(
            "HTTPS://App.Example.COM:443/a/./b/../reset?c={{.Code}}#frag",
            &allowed(),
        )
        .unwrap();
        let code = ResetCode::generate();
        let user = UserId::parse("u").unwrap();
        assert_eq!(
            t.render(&code, &user).unwrap(),
            format!("https://app.example.com/a/reset?c={}#frag", code.expose())
        );
    }

    #[test]
    fn rendering_refuses_a_link_that_left_the_templates_origin() {
        let code = ResetCode::generate();
        let user = UserId::parse("u").unwrap();
        let off_origin = UrlTemplate::unchecked(
            "https://evil.example.net/?c={{.Code}}",
            "https://app.example.com",
        );
        assert_eq!(
            off_origin.render(&code, &user),
            Err(CallbackError::OriginNotAllowed)
        );
        let credentials = UrlTemplate::unchecked(
            "https://x@app.example.com/?c={{.Code}}",
            "https://app.example.com",
        );
        assert_eq!(
            credentials.render(&code, &user),
            Err(CallbackError::Credentials)
        );
        let insecure = UrlTemplate::unchecked(
            "http://app.example.com/?c={{.Code}}",
            "http://app.example.com",
        );
        assert_eq!(
            insecure.render(&code, &user),
            Err(CallbackError::InsecureScheme)
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

    /// An allowed origin as a caller may spell it (case, explicit default port).
    fn allowed_origin_spelling() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("https://app.example.com".to_owned()),
            Just("https://APP.Example.com".to_owned()),
            Just("https://app.example.com:443".to_owned()),
            Just("http://localhost:3000".to_owned()),
            Just("http://LOCALHOST:3000".to_owned()),
        ]
    }

    /// Path, query and fragment from the URL grammar (unreserved characters, sub-delims and
    /// percent-escapes), which never change the origin.
    fn path_query_fragment() -> impl Strategy<Value = String> {
        (
            "(/[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,12}|/%[0-9A-F]{2}){0,4}",
            "(\\?[a-zA-Z0-9._~=&%/-]{0,20})?",
            "(#[a-zA-Z0-9._~/-]{0,10})?",
        )
            .prop_map(|(p, q, f)| format!("{p}{q}{f}"))
    }

    fn valid_callback() -> impl Strategy<Value = String> {
        (allowed_origin_spelling(), path_query_fragment())
            .prop_map(|(o, rest)| format!("{o}{rest}"))
    }

    #[test]
    fn accepted_callbacks_are_always_on_an_allowed_origin_and_both_branches_are_reached() {
        let strategy = prop_oneof![
            2 => valid_callback(),
            2 => "(https?://)?[a-zA-Z0-9.:/@?#&=%-]{0,60}",
            1 => "\\PC{0,60}",
        ];
        run_counting("callback", strategy, 0.25, |s| {
            Ok(match CallbackUrl::parse(&s, &allowed()) {
                Ok(cb) => {
                    let origin = cb.as_url().origin().ascii_serialization();
                    prop_assert!(allowed().as_slice().contains(&origin));
                    prop_assert!(cb.as_url().username().is_empty());
                    let link = Url::parse(cb.with_code(&ResetCode::generate()).as_str()).unwrap();
                    prop_assert_eq!(link.origin().ascii_serialization(), origin);
                    Branch::Accepted
                }
                Err(_) => Branch::Refused,
            })
        });
    }

    /// Templates from the grammar: an allowed origin, then path/query with `{{.Code}}` and
    /// maybe `{{.UserID}}` where values cannot move the origin.
    fn valid_template() -> impl Strategy<Value = String> {
        (
            allowed_origin_spelling(),
            "(/[a-zA-Z0-9._~-]{1,8}){0,3}",
            prop_oneof![
                Just("/{{.UserID}}/reset?c={{.Code}}"),
                Just("/reset?code={{.Code}}"),
                Just("/r/{{.Code}}"),
                Just("/reset?u={{.UserID}}&c={{.Code}}#x"),
                Just("/reset#code={{.Code}}"),
            ],
        )
            .prop_map(|(o, p, tail)| format!("{o}{p}{tail}"))
    }

    /// A valid template with one hostile character put somewhere in it.
    fn template_with_unsafe_character() -> impl Strategy<Value = String> {
        (
            valid_template(),
            "[ \\t\\r\\n\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{2028}\\u{3000}\\\\]",
            any::<prop::sample::Index>(),
        )
            .prop_map(|(t, c, at)| {
                let mut chars: Vec<char> = t.chars().collect();
                let at = at.index(chars.len() + 1);
                chars.insert(at, c.chars().next().unwrap_or(' '));
                chars.into_iter().collect()
            })
    }

    #[test]
    fn accepted_templates_render_on_an_allowed_origin_and_both_branches_are_reached() {
        let strategy = (
            prop_oneof![
                2 => valid_template(),
                1 => template_with_unsafe_character(),
                1 => "https://app\\.example\\.com[a-zA-Z0-9./?&=-]{0,20}\\{\\{\\.Code\\}\\}[a-zA-Z0-9./?&=-]{0,20}",
            ],
            "\\PC{1,20}",
        );
        run_counting("url_template", strategy, 0.25, |(s, user)| {
            let Ok(user) = UserId::parse(&user) else {
                return Ok(Branch::Refused);
            };
            Ok(match UrlTemplate::parse(&s, &allowed()) {
                Ok(t) => {
                    prop_assert!(
                        !s.chars()
                            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
                    );
                    let rendered = t.render(&ResetCode::generate(), &user).unwrap();
                    let url = Url::parse(&rendered).unwrap();
                    prop_assert_eq!(url.as_str(), rendered.as_str(), "mailed as re-serialised");
                    prop_assert!(
                        allowed()
                            .as_slice()
                            .contains(&url.origin().ascii_serialization())
                    );
                    Branch::Accepted
                }
                Err(_) => Branch::Refused,
            })
        });
    }

    proptest! {
        #[test]
        fn templates_with_a_hostile_character_are_refused(s in template_with_unsafe_character()) {
            prop_assert_eq!(UrlTemplate::parse(&s, &allowed()), Err(CallbackError::UnsafeCharacter));
        }

        #[test]
        fn templates_from_the_grammar_are_accepted(s in valid_template()) {
            prop_assert!(UrlTemplate::parse(&s, &allowed()).is_ok(), "{:?}", s);
        }

        #[test]
        fn callbacks_from_the_grammar_are_accepted(s in valid_callback()) {
            prop_assert!(CallbackUrl::parse(&s, &allowed()).is_ok(), "{:?}", s);
        }
    }
}
