//! The mails' words as data: template files compiled once at init into a [`Templates`] value.
//!
//! A set is a folder of files named `<mail>.<locale>.<part>`: `reset` or `changed`, a language
//! tag, and `subject`, `txt` or `html`. A locale exists when its six files do; `en` is required
//! and is the fallback. The built-in set is `shared/templates/`, embedded in the binary;
//! `MAIL_TEMPLATE_DIR` names a folder that replaces it whole. Every file is checked at init
//! (syntax, variables, a render with sample values), so a bad one stops the function there,
//! naming the file, instead of failing a user's mail.
//!
//! `upon` renders them: Jinja's `{{ variable }}` and `{% if variable %} … {% else %} … {% endif %}`,
//! every value HTML-escaped in `.html` files by [`escape_html`] (the escaping the mails always
//! had) and left as it is in the subject and text, compiled once, no I/O at render time. It was
//! chosen over MiniJinja for its size: MiniJinja cost +352 KiB on a proxy program, which the x86_64
//! bootstraps did not have room for (BENCHMARKS.md); a mail needs variables and conditions, not
//! a language. The statements a file may use are checked at init ([`scan`]), so a template
//! cannot reach for a feature that would fail only when a user's mail is rendered.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use upon::{Engine, Value};

use super::render::escape_html;
use crate::domain::{Locale, ResetMethod};

mod files;
mod scan;

pub use files::BUILT_IN;

/// The fallback locale, which every set must have.
pub const FALLBACK: &str = "en";

/// The two mails we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// The reset link.
    Reset,
    /// "Your password was changed".
    Changed,
}

impl MailKind {
    /// Both, in file-listing order.
    pub const ALL: [MailKind; 2] = [MailKind::Reset, MailKind::Changed];

    /// The first part of its file names.
    pub fn name(self) -> &'static str {
        match self {
            MailKind::Reset => "reset",
            MailKind::Changed => "changed",
        }
    }

    /// The kind a file name or a preview query names.
    pub fn parse(name: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The variables its templates may use; any other stops init. In a reset mail `link` and
    /// `otp` are each present or not as `RESET_METHOD` says: test them with `{% if %}`.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            MailKind::Reset => &["app_name", "link", "otp", "minutes", "locale"],
            MailKind::Changed => &["app_name", "changed_at", "locale"],
        }
    }
}

/// The three files of one mail in one locale.
const PARTS: [&str; 3] = ["subject", "txt", "html"];

/// The values a mail is rendered with. `locale` is added by [`Templates::render`]: the locale
/// the mail is written in.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// `APP_NAME`.
    pub app_name: &'a str,
    /// Reset mail: the link with the code (`RESET_METHOD` `link` or `both`).
    pub link: Option<&'a str>,
    /// Reset mail: the short code's digits (`RESET_METHOD` `code` or `both`).
    pub otp: Option<&'a str>,
    /// Reset mail: the link's lifetime in whole minutes, rounded up.
    pub minutes: Option<u64>,
    /// Changed mail: when the password changed, RFC 3339 (UTC).
    pub changed_at: Option<&'a str>,
}

impl Vars<'_> {
    /// The values the checks at init and the preview render with.
    pub fn sample(kind: MailKind) -> Vars<'static> {
        Vars::sample_for(kind, ResetMethod::Both)
    }

    /// The sample values of a reset mail sent under `method` (`link` and `otp` present or
    /// not as it says).
    pub fn sample_for(kind: MailKind, method: ResetMethod) -> Vars<'static> {
        let (link, otp, minutes, changed_at) = match kind {
            MailKind::Reset => (
                method.link().then_some(SAMPLE_LINK),
                method.short_code().then_some(SAMPLE_OTP),
                Some(60),
                None,
            ),
            MailKind::Changed => (None, None, None, Some("2026-01-01T12:00:00Z")),
        };
        Vars {
            app_name: "Example App",
            link,
            otp,
            minutes,
            changed_at,
        }
    }

    /// Every variable of every mail, those without a value as `None`: a condition on one is
    /// false, printing one fails (see [`format_value`]).
    fn context(&self, locale: &str) -> Value {
        let text = |v: Option<&str>| v.map_or(Value::None, |s| Value::String(s.to_owned()));
        let minutes = self
            .minutes
            .and_then(|m| i64::try_from(m).ok())
            .map_or(Value::None, Value::Integer);
        Value::Map(BTreeMap::from([
            (
                "app_name".to_owned(),
                Value::String(self.app_name.to_owned()),
            ),
            ("locale".to_owned(), Value::String(locale.to_owned())),
            ("link".to_owned(), text(self.link)),
            ("minutes".to_owned(), minutes),
            ("changed_at".to_owned(), text(self.changed_at)),
            ("otp".to_owned(), text(self.otp)),
        ]))
    }
}

/// The link in sample renders (no real code).
pub const SAMPLE_LINK: &str = "https://app.example.com/reset?code=sample-code-not-valid";

/// The short code in sample renders (no real code: ten digits, longer than none issued).
pub const SAMPLE_OTP: &str = "0123456789";

/// One mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The locale it is written in, as its file names spell it.
    pub locale: String,
    /// One line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// A template file that cannot be used, or a render that failed. `file` is the path (or, for
/// a render, the template's name); `reason` never holds a rendered value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct TemplateError {
    /// Which file.
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TemplateError {
    fn new(file: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}

/// A compiled, checked set of mail templates, shared by every invocation.
pub struct Templates {
    /// Subjects and text parts: values as they are.
    text: Engine<'static>,
    /// HTML parts: values escaped.
    html: Engine<'static>,
    /// Lowercased tag -> the tag as the file names spell it.
    locales: BTreeMap<String, String>,
    /// `built in` or the folder.
    origin: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .field("locales", &self.locales.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Prints a value into a subject or a text part: as it is. A variable without a value is an
/// error, not an empty string, so a mail never goes out with a hole where a word should be.
fn format_value(f: &mut upon::fmt::Formatter<'_>, value: &Value) -> upon::fmt::Result {
    match value {
        Value::None => Err(upon::fmt::Error::from(
            "a variable without a value in this mail is printed (test it with {% if %})".to_owned(),
        )),
        other => upon::fmt::default(f, other),
    }
}

/// Prints a value into an HTML part: escaped like every HTML value the service writes.
fn format_html(f: &mut upon::fmt::Formatter<'_>, value: &Value) -> upon::fmt::Result {
    match value {
        Value::String(s) => {
            use std::fmt::Write;
            f.write_str(&escape_html(s))?;
            Ok(())
        }
        other => format_value(f, other),
    }
}

impl Templates {
    /// The built-in set (`shared/templates/`), compiled once per process.
    pub fn built_in() -> Arc<Templates> {
        static SET: OnceLock<Arc<Templates>> = OnceLock::new();
        SET.get_or_init(|| {
            let files = BUILT_IN
                .iter()
                .map(|(name, source)| (*name, format!("shared/templates/{name}"), *source));
            let set =
                Templates::compile("built in", files.map(|(n, p, s)| (n.into(), p, s.into())))
                    .unwrap_or_else(|e| panic!("the built-in mail templates are broken: {e}"));
            Arc::new(set)
        })
        .clone()
    }

    /// The set in `dir` (`MAIL_TEMPLATE_DIR`). Every error names the file.
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let files = files::read_dir(dir)?;
        Templates::compile(&dir.display().to_string(), files)
    }

    /// Compiles and checks `files`: (file name, path for errors, source).
    fn compile(
        origin: &str,
        files: impl IntoIterator<Item = (String, String, String)>,
    ) -> Result<Templates, TemplateError> {
        let mut text = Engine::new();
        text.set_default_formatter(&format_value);
        let mut html = Engine::new();
        html.set_default_formatter(&format_html);

        let mut paths: BTreeMap<String, String> = BTreeMap::new();
        let mut locales: BTreeMap<String, String> = BTreeMap::new();
        for (name, path, source) in files {
            let files::Name { kind, locale, part } =
                files::parse_name(&name).ok_or_else(|| TemplateError::new(&path, files::NAMING))?;
            let key = locale.to_ascii_lowercase();
            let canonical = format!("{}.{key}.{part}", kind.name());
            if let Some(other) = paths.get(&canonical) {
                return Err(TemplateError::new(
                    &path,
                    format!("the same template as {other} (locale names ignore case)"),
                ));
            }
            let used = scan::variables(&source)
                .map_err(|e| TemplateError::new(&path, format!("syntax error: {e}")))?;
            let engine = if part == "html" { &mut html } else { &mut text };
            engine
                .add_template(canonical.clone(), source)
                .map_err(|e| TemplateError::new(&path, format!("syntax error: {e}")))?;
            let allowed = kind.variables();
            if let Some(first) = used.iter().find(|v| !allowed.contains(&v.as_str())) {
                return Err(TemplateError::new(
                    &path,
                    format!(
                        "unknown variable `{first}` (a {} mail has {})",
                        kind.name(),
                        allowed.join(", ")
                    ),
                ));
            }
            locales.entry(key).or_insert(locale);
            paths.insert(canonical, path);
        }
        let set = Templates {
            text,
            html,
            locales,
            origin: origin.to_owned(),
        };
        set.check_complete(&paths)?;
        set.check_samples(&paths)?;
        Ok(set)
    }

    /// `en` exists, and every locale has all six files.
    fn check_complete(&self, paths: &BTreeMap<String, String>) -> Result<(), TemplateError> {
        let missing = |key: &str, why: &str| {
            for kind in MailKind::ALL {
                for part in PARTS {
                    let name = format!("{}.{key}.{part}", kind.name());
                    if !paths.contains_key(&name) {
                        let spelt = self.locales.get(key).map_or(key, String::as_str);
                        let file = format!("{}.{spelt}.{part}", kind.name());
                        return Err(TemplateError::new(
                            Path::new(&self.origin).join(file).display(),
                            format!("missing: {why}"),
                        ));
                    }
                }
            }
            Ok(())
        };
        missing(FALLBACK, "en is required, it is the fallback")?;
        for key in self.locales.keys() {
            missing(key, "a locale needs all six files")?;
        }
        Ok(())
    }

    /// Every template renders with sample values, and each subject is one line.
    fn check_samples(&self, paths: &BTreeMap<String, String>) -> Result<(), TemplateError> {
        for (key, spelt) in &self.locales {
            for kind in MailKind::ALL {
                let vars = Vars::sample(kind);
                // Sample values hold no secret: the error may show its details.
                let rendered = self
                    .render_in(kind, key, spelt, &vars)
                    .map_err(|(name, e)| {
                        TemplateError::new(paths.get(&name).unwrap_or(&name), e)
                    })?;
                if rendered.subject.is_empty() || rendered.subject.contains(['\n', '\r']) {
                    let name = format!("{}.{key}.subject", kind.name());
                    return Err(TemplateError::new(
                        paths.get(&name).map_or(name.as_str(), String::as_str),
                        "a subject must be one line of text",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every locale's reset mail, sent under `method`, renders and shows what the method
    /// promises: the link and/or the short code, in the text part and in the HTML part. A
    /// folder written for links (printing `{{ link }}` unconditionally, or never printing
    /// `otp`) stops init under `RESET_METHOD=code` instead of mailing codes nobody can see.
    pub fn check_method(&self, method: ResetMethod) -> Result<(), TemplateError> {
        let vars = Vars::sample_for(MailKind::Reset, method);
        let file = |key: &str, part: &str| {
            let spelt = self.locales.get(key).map_or(key, String::as_str);
            Path::new(&self.origin)
                .join(format!("{}.{spelt}.{part}", MailKind::Reset.name()))
                .display()
                .to_string()
        };
        for (key, spelt) in &self.locales {
            // Sample values hold no secret: the error may show its details.
            let rendered =
                self.render_in(MailKind::Reset, key, spelt, &vars)
                    .map_err(|(name, e)| {
                        let part = name.rsplit('.').next().unwrap_or_default();
                        TemplateError::new(
                            file(key, part),
                            format!("with RESET_METHOD={}: {e}", method.name()),
                        )
                    })?;
            let shown = [(vars.link, "link"), (vars.otp, "otp")];
            for (part, body) in [("txt", &rendered.text), ("html", &rendered.html)] {
                for (value, var) in shown {
                    if value.is_some_and(|v| !body.contains(v)) {
                        return Err(TemplateError::new(
                            file(key, part),
                            format!(
                                "RESET_METHOD={} mails `{var}`, and this part never prints it",
                                method.name()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Where the set comes from: `built in`, or the folder.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The locales of this set, as their files spell them.
    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.locales.values().map(String::as_str)
    }

    /// Renders `kind` in the first locale of `locale` this set has, else in `en`. An error
    /// names the template, never a detail (it could quote a value, and the link holds a code).
    pub fn render(
        &self,
        kind: MailKind,
        locale: &Locale,
        vars: &Vars<'_>,
    ) -> Result<Rendered, TemplateError> {
        let (key, spelt) = locale
            .lookup(|tag| self.locales.get_key_value(tag))
            .or_else(|| self.locales.get_key_value(FALLBACK))
            .ok_or_else(|| TemplateError::new(&self.origin, "no en templates"))?;
        self.render_in(kind, key, spelt, vars)
            .map_err(|(name, _)| TemplateError::new(name, "the template failed to render"))
    }

    fn render_in(
        &self,
        kind: MailKind,
        key: &str,
        spelt: &str,
        vars: &Vars<'_>,
    ) -> Result<Rendered, (String, String)> {
        let ctx = vars.context(spelt);
        let part = |part: &str| {
            let name = format!("{}.{key}.{part}", kind.name());
            let engine = if part == "html" {
                &self.html
            } else {
                &self.text
            };
            match engine.get_template(&name) {
                Some(template) => template.render_from(&ctx).to_string(),
                None => return Err((name, "missing".to_owned())),
            }
            .map_err(|e| (name, e.to_string()))
        };
        Ok(Rendered {
            locale: spelt.to_owned(),
            subject: part("subject")?.trim().to_owned(),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

#[cfg(test)]
mod tests;
