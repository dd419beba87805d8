//! The mail preview, for whoever writes an app's templates (`MAIL_TEMPLATE_DIR`):
//! `GET /_dev/mail-preview` lists every mail and locale of the configured set;
//! `?template=reset&locale=de` shows one rendered with sample values (subject, text, HTML source),
//! `&part=html` its HTML part as a page of its own; `local-api --render-mail reset --locale de`
//! prints the same mail. A locale the set lacks renders as a request for it would: in `en`.

use http::StatusCode;
use shared::config::Config;
use shared::domain::Locale;
use shared::http::ApiError;
use shared::mail::render::escape_html as escape;
use shared::mail::templates::{MailKind, Rendered, SAMPLE_LINK, Vars};

use crate::pages;

/// The HTML part is the app's own markup: shown with its inline styles and https images, but
/// no script, form or plugin can run (`sandbox`).
const HTML_PART_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src https: data:; sandbox; base-uri 'none'; frame-ancestors 'none'";

/// `kind` in `locale`, rendered with sample values and the configured `APP_NAME`, the link
/// on `DEFAULT_CALLBACK_URL` and `TOKEN_TTL_SECONDS`. `Err` names the bad argument.
pub fn sample(config: &Config, template: &str, locale: &str) -> Result<Rendered, (String, String)> {
    let kind = MailKind::parse(template)
        .ok_or_else(|| ("template".to_owned(), "must be reset or changed".to_owned()))?;
    if !Locale::is_well_formed(locale) {
        return Err((
            "locale".to_owned(),
            "must be a language tag such as en or de-CH".to_owned(),
        ));
    }
    let link = config.links.default_callback.as_ref().map_or_else(
        || SAMPLE_LINK.to_owned(),
        |cb| {
            let mut url = cb.as_url().clone();
            url.query_pairs_mut()
                .append_pair("code", "sample-code-not-valid");
            url.to_string()
        },
    );
    let mut vars = Vars::sample(kind);
    vars.app_name = &config.mail.app_name;
    if kind == MailKind::Reset {
        vars.link = Some(&link);
        vars.minutes = Some(config.policy.token_ttl.as_secs().div_ceil(60));
    }
    config
        .mail
        .templates
        .render(kind, &Locale::only(locale), &vars)
        .map_err(|e| ("template".to_owned(), e.to_string()))
}

/// The mail as `--render-mail` prints it.
pub fn as_text(r: &Rendered) -> String {
    format!(
        "Locale: {}\nSubject: {}\n\n{}\n--- HTML part ---\n{}",
        r.locale, r.subject, r.text, r.html
    )
}

/// `GET /_dev/mail-preview[?template=..&locale=..[&part=html]]`.
pub fn page(config: &Config, query: Option<&str>) -> http::Response<String> {
    let params: Vec<(String, String)> = query
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(template), Some(locale)) = (param("template"), param("locale")) else {
        return pages::html(StatusCode::OK, &index(config));
    };
    let rendered = match sample(config, template, locale) {
        Ok(r) => r,
        Err((field, message)) => return ApiError::field(&field, message).into_response(),
    };
    if param("part") == Some("html") {
        let mut response = pages::html(StatusCode::OK, &rendered.html);
        response.headers_mut().insert(
            http::header::CONTENT_SECURITY_POLICY,
            http::HeaderValue::from_static(HTML_PART_POLICY),
        );
        return response;
    }
    let fell_back = if rendered.locale.eq_ignore_ascii_case(locale) {
        String::new()
    } else {
        format!(
            " (the set has no <code>{}</code>, so a request for it gets this)",
            escape(locale)
        )
    };
    let body = format!(
        "<h1>{template} mail, {shown}</h1>\n<p>Rendered in <code>{shown}</code>{fell_back} with \
         sample values. <a href=\"/_dev/mail-preview?template={template}&amp;locale={locale_q}&amp;part=html\">\
         Open the HTML part</a> · <a href=\"/_dev/mail-preview\">all templates</a></p>\n\
         <h2>Subject</h2>\n<pre class=\"subject\">{subject}</pre>\n<h2>Text part</h2>\n\
         <pre class=\"text\">{text}</pre>\n<h2>HTML part (source)</h2>\n<pre class=\"html\">{html}</pre>\n",
        template = escape(template),
        shown = escape(&rendered.locale),
        locale_q = escape(locale),
        subject = escape(&rendered.subject),
        text = escape(&rendered.text),
        html = escape(&rendered.html),
    );
    pages::html(StatusCode::OK, &pages::document("Mail preview", &body))
}

/// Every mail in every locale of the set, as links.
fn index(config: &Config) -> String {
    let mut rows = String::new();
    for kind in MailKind::ALL {
        let links: Vec<String> = config
            .mail
            .templates
            .locales()
            .map(|l| {
                let l = escape(l);
                format!(
                    "<a href=\"/_dev/mail-preview?template={0}&amp;locale={l}\">{l}</a>",
                    kind.name()
                )
            })
            .collect();
        rows.push_str(&format!(
            "<li><strong>{}</strong>: {}</li>\n",
            kind.name(),
            links.join(" · ")
        ));
    }
    let body = format!(
        "<h1>Mail preview</h1>\n<p>The templates in use ({}), rendered with sample values. \
         Set <code>MAIL_TEMPLATE_DIR</code> to preview your own.</p>\n<ul class=\"templates\">\n{rows}</ul>\n",
        escape(config.mail.templates.origin())
    );
    pages::document("Mail preview", &body)
}
