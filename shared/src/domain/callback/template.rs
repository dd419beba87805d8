//! Zitadel-style link templates (`urlTemplate`): checked with sample values when parsed, and
//! every rendered link re-checked against the origin that check found.

use url::Url;

use super::{AllowedOrigins, CallbackError, check_scheme, parse_allowed};
use crate::domain::{ResetCode, UserId};

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
    /// `{{.OrgID}}` for a user without an organisation of their own (`ZITADEL_ORG_ID`).
    default_org: Option<String>,
}

impl UrlTemplate {
    const CODE: &'static str = "{{.Code}}";
    const USER_ID: &'static str = "{{.UserID}}";
    const ORG_ID: &'static str = "{{.OrgID}}";

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
        let fill = |code: &str, user_id: &str, org: &str| Self::fill(raw, code, user_id, org);
        let url = parse_allowed(&fill("sample-code", "sample-user", "sample-org"), allowed)?;
        // A placeholder in the host would let the value pick the origin.
        let probe_url = parse_allowed(&fill("probe-a", "probe-b", "probe-c"), allowed)?;
        if probe_url.origin() != url.origin() {
            return Err(CallbackError::OriginNotAllowed);
        }
        Ok(Self {
            raw: raw.to_owned(),
            origin: url.origin().ascii_serialization(),
            default_org: None,
        })
    }

    /// The organisation `{{.OrgID}}` takes for a user who has none of their own.
    pub fn with_default_org(mut self, org: Option<String>) -> Self {
        self.default_org = org;
        self
    }

    /// Whether the template has an `{{.OrgID}}` to fill.
    pub fn needs_org(&self) -> bool {
        self.raw.contains(Self::ORG_ID)
    }

    /// The value `{{.OrgID}}` takes for a user whose organisation attribute is `user_org`:
    /// theirs, else the default; `Err` when the template needs one and there is none.
    pub fn org_for<'a>(&'a self, user_org: Option<&'a str>) -> Result<&'a str, CallbackError> {
        match user_org.or(self.default_org.as_deref()) {
            Some(org) => Ok(org),
            None if self.needs_org() => Err(CallbackError::MissingOrg),
            None => Ok(""),
        }
    }

    fn fill(raw: &str, code: &str, user_id: &str, org: &str) -> String {
        raw.replace(Self::CODE, &encode(code))
            .replace(Self::USER_ID, &encode(user_id))
            .replace(Self::ORG_ID, &encode(org))
    }

    /// The link for a code and user: placeholders replaced by the percent-encoded values, the
    /// result parsed again, re-checked (scheme, no credentials, the template's allowed origin)
    /// and re-serialised. `Err` means the values moved the link off its origin, which the
    /// checks in [`UrlTemplate::parse`] are meant to make impossible: no mail is sent then.
    ///
    /// `user_org` is the user's organisation attribute (`USERS_ORG_ATTRIBUTE`), if any.
    pub fn render(
        &self,
        code: &ResetCode,
        user_id: &UserId,
        user_org: Option<&str>,
    ) -> Result<String, CallbackError> {
        let org = self.org_for(user_org)?;
        let url = Url::parse(&Self::fill(&self.raw, code.expose(), user_id.as_str(), org))
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
    pub(super) fn unchecked(raw: &str, origin: &str) -> Self {
        Self {
            raw: raw.to_owned(),
            origin: origin.to_owned(),
            default_org: None,
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
