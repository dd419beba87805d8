//! The demo pages: `GET /` (ask for a reset), `GET /reset` (the callback page a mail links to;
//! the reference an app copies for its own), the HTML view of `GET /_dev/mailbox`, and their
//! static assets under `/static/`. Plain HTML and vanilla JS embedded in the binary, no inline
//! scripts or styles, so every page is served with a strict Content-Security-Policy.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use shared::config::{CaptchaProvider, Config};
use shared::http::ApiError;
use shared::mail::Mail;
use shared::mail::render::escape_html as escape;

/// The policy on every page and asset: only our own scripts, styles and API calls.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every embedded page and asset: path, content type, body.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../static/index.html")),
    ("/reset", HTML, include_str!("../static/reset.html")),
    ("/static/app.css", CSS, include_str!("../static/app.css")),
    ("/static/api.js", JS, include_str!("../static/api.js")),
    (
        "/static/request.js",
        JS,
        include_str!("../static/request.js"),
    ),
    ("/static/reset.js", JS, include_str!("../static/reset.js")),
];

fn find(path: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    FILES.iter().find(|(p, _, _)| *p == path)
}

/// Whether `path` is one of the embedded pages or assets (so the router can answer 405 for
/// other methods on it).
pub fn is_page(path: &str) -> bool {
    find(path).is_some()
}

/// What the pages show of the settings: `/reset` tells the password rules the service
/// applies (its `{{password_min}}` and `{{password_max}}` are filled in when served), and `/`
/// renders the CAPTCHA provider's widget when one is configured (`{{captcha_provider}}`,
/// `{{captcha_site_key}}`), with the provider's origins added to that page's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSettings {
    /// `PASSWORD_MIN_LENGTH`.
    pub password_min: usize,
    /// `PASSWORD_MAX_LENGTH`.
    pub password_max: usize,
    /// `CAPTCHA_PROVIDER` and the public site key (`--captcha-site-key`), when both are set.
    pub captcha: Option<(CaptchaProvider, String)>,
}

impl PageSettings {
    /// The values of `config`, with the CAPTCHA widget's public `site_key`.
    pub fn of(config: &Config, site_key: Option<&str>) -> Self {
        let policy = &config.password.policy;
        Self {
            password_min: policy.min_chars(),
            password_max: policy.max_chars(),
            captcha: config
                .captcha
                .as_ref()
                .zip(site_key)
                .map(|(c, key)| (c.provider, key.to_owned())),
        }
    }

    /// The page's Content-Security-Policy: [`CONTENT_SECURITY_POLICY`], plus the widget's
    /// origins on the request page when a CAPTCHA is shown there.
    fn policy_for(&self, path: &str) -> String {
        match (&self.captcha, path) {
            (Some((provider, _)), "/") => {
                let origins = widget_origins(*provider);
                CONTENT_SECURITY_POLICY
                    .replace("script-src 'self'", &format!("script-src 'self' {origins}"))
                    .replace("style-src 'self'", &format!("style-src 'self' {origins}"))
                    .replace(
                        "connect-src 'self'",
                        &format!("connect-src 'self' {origins}"),
                    )
                    + &format!("; frame-src {origins}")
            }
            _ => CONTENT_SECURITY_POLICY.to_owned(),
        }
    }
}

/// Where each provider's widget script, frames and calls come from (their CSP guides).
fn widget_origins(provider: CaptchaProvider) -> &'static str {
    match provider {
        CaptchaProvider::Turnstile => "https://challenges.cloudflare.com",
        CaptchaProvider::Hcaptcha => "https://hcaptcha.com https://*.hcaptcha.com",
        CaptchaProvider::Recaptcha => {
            "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/ \
             https://recaptcha.google.com/recaptcha/"
        }
    }
}

/// `GET` of an embedded page or asset, with `settings` filled in; 404 for any other path.
pub fn get(path: &str, settings: &PageSettings) -> http::Response<String> {
    match find(path) {
        Some((_, content_type, body)) => {
            let (provider, site_key) = settings
                .captcha
                .as_ref()
                .map_or(("", ""), |(p, k)| (p.name(), k.as_str()));
            let body = body
                .replace("{{password_min}}", &settings.password_min.to_string())
                .replace("{{password_max}}", &settings.password_max.to_string())
                .replace("{{captcha_provider}}", provider)
                .replace("{{captcha_site_key}}", &escape(site_key));
            let mut response = with_headers(StatusCode::OK, content_type, body);
            if let Ok(csp) = HeaderValue::from_str(&settings.policy_for(path)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            response
        }
        None => ApiError::NotFound.into_response(),
    }
}

/// 405 for a page asked with a method other than GET (the JSON error shape, `Allow: GET`).
pub fn method_not_allowed() -> http::Response<String> {
    let mut response = ApiError::MethodNotAllowed.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// A response with the security headers every page and asset carries. `no-referrer` matters
/// most on `/reset`: its URL holds the code until the script removes it.
fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> http::Response<String> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the `Accept` header prefers HTML to JSON (a browser's does). JSON wins ties, so
/// tools that send no `Accept`, `*/*` or `application/json` keep getting JSON.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    quality(&accept, "text", "html") > quality(&accept, "application", "json")
}

/// The quality the `Accept` value gives `kind/sub`: from its most specific matching range
/// (exact, then `kind/*`, then `*/*`), in thousandths; 0 if nothing matches.
fn quality(accept: &str, kind: &str, sub: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None; // (specificity, q)
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((k, s)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (k, s) {
            _ if k == kind && s == sub => 2,
            _ if k == kind && s == "*" => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, v)| parse_q(v.trim()));
        if best.is_none_or(|(spec, _)| specificity > spec) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// `q` as thousandths; malformed values count as 0 (not acceptable).
fn parse_q(v: &str) -> u16 {
    match v.parse::<f32>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 0,
    }
}

/// Only http(s) links become clickable; anything else is shown as text.
fn is_web_link(link: &str) -> bool {
    link.starts_with("http://") || link.starts_with("https://")
}

/// The mailbox as a page: newest first (the JSON list is newest last), each mail's recipient,
/// subject, text and its link as a link. `mailbox` is `None` when mail goes through SES.
pub fn mailbox(mails: Option<&[Mail]>) -> http::Response<String> {
    let mut items = String::new();
    match mails {
        None => items.push_str(
            "<p>Mail goes through SES in this run (<code>--mailer ses</code>), so nothing is \
             kept here.</p>\n",
        ),
        Some([]) => items.push_str(
            "<p id=\"empty\">No mail yet. <a href=\"/\">Ask for a reset</a> and reload this \
             page.</p>\n",
        ),
        Some(mails) => {
            items.push_str("<ol class=\"mails\" reversed>\n");
            for mail in mails.iter().rev() {
                let link = match mail.link.as_deref() {
                    Some(l) if is_web_link(l) => format!(
                        "<p><a class=\"reset-link\" href=\"{0}\">Open the reset link</a></p>\n",
                        escape(l)
                    ),
                    Some(l) => format!("<p><code>{}</code></p>\n", escape(l)),
                    None => String::new(),
                };
                items.push_str(&format!(
                    "<li class=\"mail\">\n<h2>{subject}</h2>\n<dl><dt>To</dt><dd class=\"to\">{to}</dd>\
                     </dl>\n{link}<pre>{text}</pre>\n</li>\n",
                    subject = escape(&mail.subject),
                    to = escape(mail.to.as_str()),
                    text = escape(&mail.text),
                ));
            }
            items.push_str("</ol>\n");
        }
    }
    let body = format!(
        "<h1>Development mailbox</h1>\n\
         <p>Every mail the local API sent, newest first. Reload to see new ones. Tools get \
         this list as JSON (<code>curl http://127.0.0.1:PORT/_dev/mailbox</code>).</p>\n\
         {items}<p class=\"dev-note\"><a href=\"/\">Ask for another reset</a> · \
         <a href=\"/_dev/mail-preview\">Preview the mail templates</a></p>\n"
    );
    html(StatusCode::OK, &document("Mailbox", &body))
}

/// A dev page: the demo's head and stylesheet around `main` (trusted markup; escape values
/// before they get here).
pub fn document(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title} · password-reset demo</title>\n\
         <link rel=\"stylesheet\" href=\"/static/app.css\">\n</head>\n<body>\n\
         <main class=\"card wide\">\n{main}</main>\n</body>\n</html>\n"
    )
}

/// An HTML response with the pages' security headers.
pub fn html(status: StatusCode, body: &str) -> http::Response<String> {
    with_headers(status, HTML, body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn browsers_get_html_and_tools_get_json() {
        let cases: &[(&str, bool)] = &[
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
                true,
            ),
            ("text/html", true),
            ("text/*", true),
            ("application/json, text/html;q=0.5", false),
            ("*/*", false),
            ("application/json", false),
            ("text/html;q=0, */*", false),
            ("text/html;q=0.8, application/json;q=0.9", false),
            ("TEXT/HTML; Q=1", true),
            ("text/html;q=banana, */*", false),
            ("", false),
        ];
        for (value, html) in cases {
            assert_eq!(prefers_html(&accept(value)), *html, "Accept: {value}");
        }
        assert!(!prefers_html(&HeaderMap::new()), "no Accept header");
    }

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn pages_reference_only_assets_that_are_served() {
        for (path, _, body) in FILES.iter().filter(|(_, t, _)| *t == HTML) {
            for attr in ["src=\"", "href=\""] {
                for rest in body.split(attr).skip(1) {
                    let target = &rest[..rest.find('"').unwrap()];
                    if target.starts_with("/static/") {
                        assert!(
                            is_page(target),
                            "{path} links {target}, which is not served"
                        );
                    }
                }
            }
            assert!(!body.contains("<script>"), "{path} has an inline script");
            assert!(!body.contains("style="), "{path} has an inline style");
            assert!(!body.contains("<style"), "{path} has a style element");
        }
    }
}
