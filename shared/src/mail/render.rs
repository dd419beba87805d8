//! The two mails, rendered from the configured [`Templates`](super::templates::Templates) in
//! the caller's language. The built-in set renders byte for byte what the hard-coded mails
//! did (pinned by `snapshots.json`, captured from them before they became templates).

use crate::config::MailSettings;
use crate::domain::{EmailAddress, Locale};

use super::templates::{MailKind, Rendered, Vars};
use super::{Mail, MailError};

/// Escapes the five HTML-significant characters: every value a template puts into HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn mail(
    settings: &MailSettings,
    kind: MailKind,
    locale: &Locale,
    to: &EmailAddress,
    vars: &Vars<'_>,
) -> Result<Mail, MailError> {
    let Rendered {
        subject,
        text,
        html,
        ..
    } = settings
        .templates
        .render(kind, locale, vars)
        .map_err(|e| MailError::Template {
            template: e.file,
            reason: e.reason,
        })?;
    Ok(Mail {
        to: to.clone(),
        subject,
        text,
        html,
        link: vars.link.map(str::to_owned),
        otp: vars.otp.map(str::to_owned),
    })
}

/// The reset mail with the link, the short code, or both (`RESET_METHOD`); `ttl_secs` is
/// shown in whole minutes, rounded up.
pub fn reset_mail(
    settings: &MailSettings,
    locale: &Locale,
    to: &EmailAddress,
    link: Option<&str>,
    otp: Option<&str>,
    ttl_secs: u64,
) -> Result<Mail, MailError> {
    let vars = Vars {
        app_name: &settings.app_name,
        link,
        otp,
        minutes: Some(ttl_secs.div_ceil(60)),
        changed_at: None,
    };
    mail(settings, MailKind::Reset, locale, to, &vars)
}

/// The notice that a password was changed. `when` is RFC 3339 (UTC).
pub fn changed_mail(
    settings: &MailSettings,
    locale: &Locale,
    to: &EmailAddress,
    when: &str,
) -> Result<Mail, MailError> {
    let vars = Vars {
        app_name: &settings.app_name,
        link: None,
        otp: None,
        minutes: None,
        changed_at: Some(when),
    };
    mail(settings, MailKind::Changed, locale, to, &vars)
}
