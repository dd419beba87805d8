//! The demo pages through `LocalApi::respond`: content types, security headers, `Accept`
//! negotiation of the mailbox, 405s, the mailbox page showing a real reset mail's link, and the
//! mail preview.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use local_api::pages::CONTENT_SECURITY_POLICY;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

const PEER: &str = "127.0.0.1:50000";
const FIREFOX_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

async fn api() -> LocalApi {
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        _ => None,
    })
    .unwrap();
    LocalApi::build(&Options::default(), config).await.unwrap()
}

async fn call(
    api: &LocalApi,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response<String> {
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Bytes::from(body.to_owned())).unwrap();
    api.respond(req, PEER.parse::<SocketAddr>().unwrap()).await
}

async fn get(api: &LocalApi, path: &str, accept: Option<&str>) -> Response<String> {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
    call(api, Method::GET, path, &headers, "").await
}

fn header(r: &Response<String>, name: header::HeaderName) -> &str {
    r.headers()
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn assert_page_headers(r: &Response<String>, path: &str) {
    assert_eq!(
        header(r, header::CONTENT_SECURITY_POLICY),
        CONTENT_SECURITY_POLICY,
        "{path}"
    );
    assert_eq!(header(r, header::REFERRER_POLICY), "no-referrer", "{path}");
    assert_eq!(
        header(r, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{path}"
    );
    assert_eq!(header(r, header::CACHE_CONTROL), "no-store", "{path}");
    assert_eq!(header(r, header::X_FRAME_OPTIONS), "DENY", "{path}");
}

#[tokio::test]
async fn pages_and_assets_are_served_with_their_content_type_and_security_headers() {
    let api = api().await;
    let cases = [
        ("/", "text/html; charset=utf-8", "Forgot your password?"),
        (
            "/reset",
            "text/html; charset=utf-8",
            "Choose a new password",
        ),
        ("/static/app.css", "text/css; charset=utf-8", "[hidden]"),
        (
            "/static/api.js",
            "text/javascript; charset=utf-8",
            "window.resetApi",
        ),
        (
            "/static/request.js",
            "text/javascript; charset=utf-8",
            "/password-reset/request",
        ),
        (
            "/static/reset.js",
            "text/javascript; charset=utf-8",
            "history.replaceState",
        ),
    ];
    for (path, content_type, needle) in cases {
        let r = get(&api, path, Some(FIREFOX_ACCEPT)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, header::CONTENT_TYPE), content_type, "{path}");
        assert_page_headers(&r, path);
        assert!(r.body().contains(needle), "{path} lacks {needle:?}");
    }
}

#[tokio::test]
async fn the_csp_forbids_everything_but_our_own_origin() {
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[tokio::test]
async fn the_reset_page_has_labels_a_live_region_and_the_policy() {
    let body = get(&api().await, "/reset", None).await.into_body();
    for needle in [
        "<label for=\"password\">",
        "<label for=\"confirm\">",
        "aria-live=\"polite\"",
        "autocomplete=\"new-password\"",
        "8 to 128 characters",
        "invalid or has expired",
        "href=\"/\"",
    ] {
        assert!(body.contains(needle), "/reset lacks {needle:?}");
    }
}

#[tokio::test]
async fn the_reset_page_shows_the_configured_length_bounds() {
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "PASSWORD_MIN_LENGTH" => Some("12".into()),
        "PASSWORD_MAX_LENGTH" => Some("64".into()),
        _ => None,
    })
    .unwrap();
    let api = LocalApi::build(&Options::default(), config).await.unwrap();
    let body = get(&api, "/reset", None).await.into_body();
    assert!(body.contains("12 to 64 characters"), "{body}");
    assert!(body.contains("minlength=\"12\""));
    assert!(!body.contains("{{"), "every placeholder is filled in");
}

#[tokio::test]
async fn the_request_page_renders_the_captcha_widget_only_when_configured() {
    let plain = get(&api().await, "/", None).await;
    assert_eq!(
        header(&plain, header::CONTENT_SECURITY_POLICY),
        CONTENT_SECURITY_POLICY
    );
    assert!(
        plain.body().contains("data-provider=\"\""),
        "no provider, no widget"
    );

    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "CAPTCHA_PROVIDER" => Some("turnstile".into()),
        "CAPTCHA_SECRET" => Some("1x0000000000000000000000000000000AA".into()),
        _ => None,
    })
    .unwrap();
    let options = Options {
        captcha_site_key: Some("1x00000000000000000000AA".into()),
        ..Options::default()
    };
    let api = LocalApi::build(&options, config).await.unwrap();
    let page = get(&api, "/", None).await;
    let csp = header(&page, header::CONTENT_SECURITY_POLICY).to_owned();
    assert!(
        csp.contains("script-src 'self' https://challenges.cloudflare.com"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-src https://challenges.cloudflare.com"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"));
    let body = page.into_body();
    assert!(body.contains("data-provider=\"turnstile\""));
    assert!(body.contains("data-site-key=\"1x00000000000000000000AA\""));
    assert!(
        !body.contains("1x0000000000000000000000000000000AA"),
        "never the secret"
    );
    // Only the request page loads the widget; the others keep the strict policy.
    let reset = get(&api, "/reset", None).await;
    assert_eq!(
        header(&reset, header::CONTENT_SECURITY_POLICY),
        CONTENT_SECURITY_POLICY
    );
}

#[tokio::test]
async fn a_query_string_does_not_change_the_page() {
    let api = api().await;
    let r = get(&api, "/reset?code=abc&x=1", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_page_headers(&r, "/reset?code=…");
}

#[tokio::test]
async fn the_mailbox_is_json_for_tools_and_html_for_browsers() {
    let api = api().await;
    let json_accepts = [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("application/json, text/html;q=0.5"),
    ];
    for accept in json_accepts {
        let r = get(&api, "/_dev/mailbox", accept).await;
        assert_eq!(r.status(), StatusCode::OK, "{accept:?}");
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            "application/json",
            "{accept:?}"
        );
        assert_eq!(r.body(), "[]", "{accept:?}");
    }
    for accept in [FIREFOX_ACCEPT, "text/html"] {
        let r = get(&api, "/_dev/mailbox", Some(accept)).await;
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{accept}"
        );
        assert_page_headers(&r, "/_dev/mailbox");
        assert!(r.body().contains("No mail yet"), "{accept}");
    }
}

#[tokio::test]
async fn the_mailbox_page_shows_each_mail_with_its_link_clickable() {
    let api = api().await;
    let r = call(
        &api,
        Method::POST,
        "/password-reset/request",
        &[("content-type", "application/json")],
        r#"{"email":"demo@example.com"}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.body());
    let mail = api.mailbox().pop().expect("one mail");
    let link = mail.link.clone().expect("a reset link");
    assert!(
        link.starts_with("http://127.0.0.1:3000/reset?code="),
        "{link}"
    );

    let page = get(&api, "/_dev/mailbox", Some(FIREFOX_ACCEPT))
        .await
        .into_body();
    assert!(page.contains("demo@example.com"));
    assert!(page.contains(&format!("<h2>{}</h2>", mail.subject)));
    assert!(page.contains(&format!("class=\"reset-link\" href=\"{link}\"")));
    assert!(!page.contains("No mail yet"));

    // The JSON list names the short code (RESET_METHOD=both by default), null when none.
    let otp = mail.otp.clone().expect("a short code");
    let listed: serde_json::Value =
        serde_json::from_str(get(&api, "/_dev/mailbox", None).await.body()).unwrap();
    assert_eq!(listed[0]["otp"], otp.as_str());
    assert_eq!(listed[0]["link"], link.as_str());
    assert!(
        page.contains(&otp),
        "the page shows the mail's text, code included"
    );
}

#[tokio::test]
async fn other_methods_on_pages_get_405_with_allow_get() {
    let api = api().await;
    for path in [
        "/",
        "/reset",
        "/static/reset.js",
        "/_dev/mailbox",
        "/_dev/mail-preview",
    ] {
        let r = call(&api, Method::POST, path, &[], "").await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(header(&r, header::ALLOW), "GET", "{path}");
    }
}

#[tokio::test]
async fn unknown_pages_and_assets_are_404_json() {
    let api = api().await;
    for path in ["/static/nope.js", "/static/", "/reset/extra", "/index.html"] {
        let r = get(&api, path, Some(FIREFOX_ACCEPT)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header(&r, header::CONTENT_TYPE), "application/json");
    }
}

#[tokio::test]
async fn the_mail_preview_lists_every_template_and_renders_one_with_sample_values() {
    let api = api().await;
    let index = get(&api, "/_dev/mail-preview", None).await;
    assert_eq!(index.status(), StatusCode::OK);
    assert_page_headers(&index, "/_dev/mail-preview");
    for link in [
        "template=reset&amp;locale=de",
        "template=changed&amp;locale=fr",
    ] {
        assert!(index.body().contains(link), "the index lacks {link}");
    }
    assert!(
        get(&api, "/", None)
            .await
            .body()
            .contains("href=\"/_dev/mail-preview\""),
        "the demo index links the preview"
    );

    let page = get(&api, "/_dev/mail-preview?template=reset&locale=de", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_page_headers(&page, "/_dev/mail-preview?template=reset&locale=de");
    let body = page.body();
    assert!(
        body.contains("Passwort für Example App zurücksetzen"),
        "{body}"
    );
    assert!(body.contains("code=sample-code-not-valid"), "a sample code");
    assert!(
        body.contains("&lt;a href="),
        "the HTML part is shown as source"
    );

    let fallback = get(&api, "/_dev/mail-preview?template=changed&locale=es", None).await;
    assert!(fallback.body().contains("the set has no <code>es</code>"));
    assert!(
        fallback
            .body()
            .contains("Your Example App password was changed")
    );
}

#[tokio::test]
async fn the_mail_previews_html_part_is_sandboxed_and_bad_arguments_are_400() {
    let api = api().await;
    let r = get(
        &api,
        "/_dev/mail-preview?template=reset&locale=fr&part=html",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.body().starts_with("<!doctype html>\n<html lang=\"fr\">"));
    let csp = header(&r, header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    for (query, field) in [
        ("template=welcome&locale=en", "template"),
        ("template=reset&locale=%3Cscript%3E", "locale"),
        ("template=reset&locale=en_US", "locale"),
    ] {
        let r = get(&api, &format!("/_dev/mail-preview?{query}"), None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(
            r.body().contains(&format!("\"{field}\"")),
            "{query}: {}",
            r.body()
        );
    }
}
