//! Mail templates from a folder (`MAIL_TEMPLATE_DIR`) on the recording mailer, through the HTTP
//! edge: a locale the built-in set lacks is mailed for both mails, a locale the folder lacks
//! falls back to `en`, and a locale that is not a language tag is a 400 that mails nothing.
//! The same over SES on moto, with the sender's display name: `ses.rs`.

use http::StatusCode;
use integration_tests::app::{Memory, TestApp, call, code_in};
use integration_tests::templates::TemplateDir;
use serde_json::json;
use shared::service::Operation;

use crate::ses::{Setup, mail_to_any_case, setup_named};

const ADA: &str = "ada@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_folder_is_used_for_both_mails_on_the_recording_mailer() {
    let dir = TemplateDir::with_spanish();
    let overrides = [
        ("MAIL_TEMPLATE_DIR", dir.path()),
        ("APP_NAME", "Acme".into()),
        // The folder is written for links (RESET_METHOD=code would refuse it at init).
        ("RESET_METHOD", "link".into()),
    ];
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::<Memory>::with_user("templates", &overrides, ADA).await;

    let r = app
        .call(Operation::Request, json!({"email": ADA, "locale": "es"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reset = app.inbox.sent().pop().expect("a reset mail");
    assert_eq!(reset.subject, "Restablece tu contraseña de Acme");
    let link = reset.link.clone().expect("a link");
    assert_eq!(
        reset.text,
        format!(
            "Alguien pidió restablecer la contraseña de tu cuenta de Acme.\n\n\
             Elige una contraseña nueva:\n{link}\n\n\
             Este enlace funciona una vez y caduca en 60 minutos.\n"
        )
    );
    assert!(reset.html.contains("<html lang=\"es\">"), "{}", reset.html);

    let r = call(
        &app.service,
        Operation::Consume,
        json!({"code": code_in(&link).expose(), "password": "a much better passphrase"}),
        &[("accept-language", "es-MX, en;q=0.5")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let changed = app.inbox.sent().pop().expect("a changed mail");
    assert_eq!(changed.subject, "Tu contraseña de Acme ha cambiado");
    assert!(
        changed
            .text
            .starts_with("La contraseña de tu cuenta de Acme cambió el 20"),
        "{}",
        changed.text
    );
    assert!(
        changed.html.starts_with("<p lang=\"es\">"),
        "{}",
        changed.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locale_the_folder_lacks_falls_back_to_en_and_junk_is_refused() {
    let dir = TemplateDir::with_spanish();
    let path = dir.path();
    let app = TestApp::<Memory>::with_user(
        "templates-fallback",
        &[
            ("MAIL_TEMPLATE_DIR", &path),
            ("APP_NAME", "Acme"),
            ("RESET_METHOD", "link"),
        ],
        ADA,
    )
    .await;

    for (locale, subject) in [
        ("it-IT", "Reset your Acme password"),
        ("es-AR", "Restablece tu contraseña de Acme"),
        ("de", "Passwort für Acme zurücksetzen"),
    ] {
        let r = app
            .call(Operation::Request, json!({"email": ADA, "locale": locale}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{locale}: {}", r.body);
        let mail = app.inbox.sent().pop().expect("a mail");
        assert_eq!(mail.subject, subject, "{locale}");
    }

    let mailed = app.inbox.sent().len();
    for junk in ["es_ES!", "<script>", "e"] {
        let r = app
            .call(Operation::Request, json!({"email": ADA, "locale": junk}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{junk}");
        assert_eq!(r.body["code"], "VALIDATION_FAILED", "{junk}");
        assert!(
            r.body["field_errors"]["locale"].is_string(),
            "{junk}: {}",
            r.body
        );
    }
    assert_eq!(
        app.inbox.sent().len(),
        mailed,
        "a refused request mails nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_locale_is_mailed_through_ses_on_moto_from_the_apps_display_name() {
    let dir = TemplateDir::with_spanish();
    let path = dir.path();
    let Setup { app, stored, .. } = setup_named(
        "ses-templates",
        "Acme Soporte",
        &[
            ("MAIL_TEMPLATE_DIR", &path),
            ("APP_NAME", "Acme"),
            ("RESET_METHOD", "link"),
        ],
    )
    .await;
    let from = app.service.config().mail.from.clone();
    assert_eq!(from.name(), Some("Acme Soporte"));

    let r = app
        .call(Operation::Request, json!({"email": stored, "locale": "es"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sent = mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 1, "one message");
    assert_eq!(
        sent[0].source,
        format!("Acme Soporte <{}>", from.address()),
        "From carries the display name"
    );
    assert_eq!(sent[0].subject, "Restablece tu contraseña de Acme");
    assert!(
        sent[0]
            .body
            .contains("<p>Alguien pidió restablecer la contraseña de tu cuenta de Acme.</p>"),
        "{}",
        sent[0].body
    );
    let code = code_in(&sent[0].link());

    let r = call(
        &app.service,
        Operation::Consume,
        json!({"code": code.expose(), "password": "a much better passphrase"}),
        &[("accept-language", "es")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sent = mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 2, "the reset mail, then the changed mail");
    assert_eq!(sent[1].subject, "Tu contraseña de Acme ha cambiado");
    assert_eq!(sent[1].source, sent[0].source);
}
