//! Mail through SES v2 on moto (a real SES-compatible server, over HTTP, through
//! `aws-sdk-sesv2`), with the DynamoDB store on moto: what is sent, to whom, in which language,
//! with which link, and what happens when SES refuses the mail. Sent mail is read back from
//! moto's `GET /moto-api/data.json` (`ses` -> `Message`).
//!
//! moto keeps one mailbox for the whole test binary, so every test mails addresses and sends
//! from an identity of its own.

use std::sync::Arc;

use http::StatusCode;
use integration_tests::app::{
    ALLOWED_ORIGIN, Backend, Dynamo, Response, TestApp, address, code_in,
};
use integration_tests::moto::{self, SentMail};
use serde_json::json;
use shared::domain::Locale;
use shared::mail::recording::RecordingMailer;
use shared::mail::ses::SesMailer;
use shared::mail::{MailError, Mailer, render};
use shared::service::Operation;

/// A test's own sender (verified in moto unless told otherwise) and user.
pub(crate) struct Setup {
    pub(crate) app: TestApp<Dynamo>,
    /// The address as stored on the user item.
    pub(crate) stored: String,
    pub(crate) prefix: String,
}

/// A DynamoDB-backed app that mails through SES on moto from `sender@…`, with one user.
/// `verified`: whether the sender identity is created in moto first.
async fn setup(label: &str, verified: bool) -> Setup {
    setup_with(label, verified, None, &[]).await
}

/// [`setup`] with a verified sender, `sender_name` as its display name in `MAIL_FROM`, and
/// `overrides` (mail_templates.rs).
pub(crate) async fn setup_named(
    label: &str,
    sender_name: &str,
    overrides: &[(&str, &str)],
) -> Setup {
    setup_with(label, true, Some(sender_name), overrides).await
}

async fn setup_with(
    label: &str,
    verified: bool,
    sender_name: Option<&str>,
    overrides: &[(&str, &str)],
) -> Setup {
    let prefix = moto::unique_prefix(label);
    let sender = format!("reset.{prefix}@example.com");
    if verified {
        moto::verify_sender(&sender).await;
    }
    let from = sender_name.map_or_else(|| sender.clone(), |name| format!("{name} <{sender}>"));
    let settings: Vec<(&str, &str)> = [("MAIL_FROM", from.as_str())]
        .into_iter()
        .chain(overrides.iter().copied())
        .collect();
    let backend = Dynamo::start(label, &settings).await;
    // The users table holds the normalized address (the email index is an exact match).
    let stored = format!("ada.{prefix}@example.com");
    backend.put_user("user-ada", &stored).await;
    let config = backend.config();
    let mailer = SesMailer::new(moto::sesv2(), config.mail.from.clone(), None)
        .with_reply_to(config.mail.reply_to.clone());
    let app = TestApp::with_mailer(backend, Arc::new(mailer), Arc::new(RecordingMailer::new()));
    Setup {
        app,
        stored,
        prefix,
    }
}

/// The link of the one mail moto holds for `stored`, asserting it went to the stored address
/// only: what every dialect's SES round trip checks first.
pub(crate) async fn the_one_link_mailed_to(stored: &str) -> String {
    let sent = mail_to_any_case(stored).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].to,
        vec![stored.to_owned()],
        "to the stored address only"
    );
    sent[0].link()
}

/// Mail moto accepted for any spelling of `address`.
pub(crate) async fn mail_to_any_case(address: &str) -> Vec<SentMail> {
    moto::sent_mail()
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
        .collect()
}

fn assert_ok(r: &Response) {
    assert_eq!(r.status, StatusCode::OK, "body: {}", r.body["code"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_mails_one_link_to_the_stored_address_and_its_code_works_in_consume() {
    let Setup { app, stored, .. } = setup("ses-flow", true).await;
    let typed = stored.to_ascii_uppercase();

    let r = app
        .call(
            Operation::Request,
            json!({"email": typed, "callback_url": "https://app.example.com/reset?lang=en&code=old"}),
        )
        .await;
    assert_ok(&r);

    let sent = mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 1, "exactly one message");
    assert_eq!(
        sent[0].to,
        vec![stored.clone()],
        "to the stored address only"
    );
    assert_eq!(sent[0].source, app.service.config().mail.from.header());
    let link = url::Url::parse(&sent[0].link()).expect("the link is a URL");
    assert_eq!(link.origin().ascii_serialization(), ALLOWED_ORIGIN);
    assert!(
        app.service
            .config()
            .links
            .allowed_origins
            .as_slice()
            .contains(&link.origin().ascii_serialization()),
        "the link's origin is allowed"
    );
    assert_eq!(link.path(), "/reset");
    let params: Vec<String> = link.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(
        params,
        ["lang", "code"],
        "existing parameters kept, code replaced"
    );
    let code = code_in(link.as_str());

    let r = app
        .call(
            Operation::Consume,
            json!({"code": code.expose(), "password": "a brand new password"}),
        )
        .await;
    assert_ok(&r);

    let sent = mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 2, "the reset mail, then the changed mail");
    assert_eq!(sent[1].to, vec![stored]);
    assert_eq!(sent[1].subject, "Your Example App password was changed");
    assert!(
        !sent[1].body.contains("href="),
        "the changed mail has no link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_an_unknown_email_sends_nothing() {
    let Setup { app, prefix, .. } = setup("ses-unknown", true).await;
    let nobody = format!("nobody.{prefix}@example.com");

    let r = app.call(Operation::Request, json!({"email": nobody})).await;

    assert_ok(&r);
    assert!(mail_to_any_case(&nobody).await.is_empty(), "no message");
    let from_this_test = moto::sent_mail()
        .await
        .into_iter()
        .filter(|m| m.source == app.service.config().mail.from.header())
        .count();
    assert_eq!(from_this_test, 0, "nothing sent at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_locale_renders_its_own_subjects() {
    let Setup { app, stored, .. } = setup("ses-locales", true).await;
    let cases = [
        ("en", "Reset your Example App password"),
        ("de", "Passwort für Example App zurücksetzen"),
        ("fr", "Réinitialisez votre mot de passe Example App"),
    ];
    for (locale, _) in cases {
        let r = app
            .call(
                Operation::Request,
                json!({"email": stored, "locale": locale}),
            )
            .await;
        assert_ok(&r);
    }

    let sent = mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), cases.len());
    for ((locale, subject), mail) in cases.iter().zip(&sent) {
        assert_eq!(mail.subject, *subject, "{locale}");
        assert!(
            mail.body.contains(&format!("<html lang=\"{locale}\">")),
            "{locale}: the HTML body is in the locale"
        );
    }

    // The changed mail follows Accept-Language on consume.
    let code = code_in(&sent[1].link());
    let r = integration_tests::app::call(
        &app.service,
        Operation::Consume,
        json!({"code": code.expose(), "password": "a brand new password"}),
        &[("accept-language", "fr-CH, de;q=0.5")],
        None,
    )
    .await;
    assert_ok(&r);
    let sent = mail_to_any_case(&stored).await;
    assert_eq!(
        sent.last().map(|m| m.subject.as_str()),
        Some("Votre mot de passe Example App a été modifié")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_ses_refuses_the_cap_answers_known_and_unknown_addresses_identically() {
    // The sender identity is never created: moto's SES answers MessageRejected.
    let Setup {
        app,
        stored,
        prefix,
    } = setup("ses-rejected", false).await;
    let mail = render::changed_mail(
        &app.service.config().mail,
        &Locale::default(),
        &address(&stored),
        "now",
    )
    .expect("the built-in templates render");
    let unverified = SesMailer::new(moto::sesv2(), app.service.config().mail.from.clone(), None);
    match unverified.send(&mail).await {
        Err(MailError::Rejected { code }) => assert_eq!(code, "MessageRejected"),
        other => panic!("expected MessageRejected, got {other:?}"),
    }

    // Public callers: a failed send keeps its slot, exactly as an unknown address's request
    // does, so N requests answer the same sequence of status, headers and body for both.
    let unknown = format!("nobody.{prefix}@example.com");
    let mut sequences = Vec::new();
    for email in [&stored, &unknown] {
        let mut seq = Vec::new();
        for _ in 0..5 {
            let r = app.call(Operation::Request, json!({"email": email})).await;
            seq.push((r.status, format!("{:?}", r.headers), r.body.to_string()));
        }
        sequences.push(seq);
    }
    assert_eq!(sequences[0], sequences[1], "known and unknown answer alike");
    let statuses: Vec<StatusCode> = sequences[0].iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429].map(|c| StatusCode::from_u16(c).unwrap()),
        "the cap of 3 holds for the known address while SES refuses"
    );
    assert!(mail_to_any_case(&stored).await.is_empty(), "nothing sent");

    // Server callers are told, and get their slot back: a second user's slots stay free.
    let bob = format!("bob.{prefix}@example.com");
    app.backend.put_user("user-bob", &bob).await;
    let before = app.backend.reset_items().await.len();
    for body in [json!({"email": bob}), json!({"user_id": "user-bob"})] {
        for _ in 0..4 {
            let r = app.call_as_server(Operation::Request, body.clone()).await;
            assert_eq!(r.status, StatusCode::BAD_GATEWAY);
            assert_eq!(r.body["code"], "EMAIL_DELIVERY_FAILED");
        }
    }
    assert_eq!(
        app.backend.reset_items().await.len(),
        before,
        "a server caller's failed sends leave no token and no slot"
    );
}
