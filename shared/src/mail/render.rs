//! The mails' words, one set per [`Locale`], rendered by plain substitution. Every value put
//! into HTML is escaped; the text bodies are pinned by snapshot tests so a wording change is a
//! visible diff.

use crate::domain::{EmailAddress, Locale};

use super::Mail;

struct Words {
    reset_subject: &'static str,
    reset_intro: &'static str,
    reset_action: &'static str,
    reset_validity: &'static str,
    reset_not_you: &'static str,
    changed_subject: &'static str,
    changed_body: &'static str,
    changed_not_you: &'static str,
}

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &Words {
            reset_subject: "Reset your {app} password",
            reset_intro: "Someone asked to reset the password of your {app} account.",
            reset_action: "Choose a new password",
            reset_validity: "This link works once and expires in {minutes} minutes.",
            reset_not_you: "If you did not ask for this, ignore this mail: your password stays as it is.",
            changed_subject: "Your {app} password was changed",
            changed_body: "The password of your {app} account was changed on {when}.",
            changed_not_you: "If this was not you, reset your password at once and contact support.",
        },
        Locale::De => &Words {
            reset_subject: "Passwort für {app} zurücksetzen",
            reset_intro: "Jemand möchte das Passwort Ihres Kontos bei {app} zurücksetzen.",
            reset_action: "Neues Passwort wählen",
            reset_validity: "Dieser Link funktioniert einmal und läuft in {minutes} Minuten ab.",
            reset_not_you: "Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.",
            changed_subject: "Ihr Passwort für {app} wurde geändert",
            changed_body: "Das Passwort Ihres Kontos bei {app} wurde am {when} geändert.",
            changed_not_you: "Wenn Sie das nicht waren, setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an den Support.",
        },
        Locale::Fr => &Words {
            reset_subject: "Réinitialisez votre mot de passe {app}",
            reset_intro: "Quelqu'un a demandé la réinitialisation du mot de passe de votre compte {app}.",
            reset_action: "Choisir un nouveau mot de passe",
            reset_validity: "Ce lien ne fonctionne qu'une fois et expire dans {minutes} minutes.",
            reset_not_you: "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.",
            changed_subject: "Votre mot de passe {app} a été modifié",
            changed_body: "Le mot de passe de votre compte {app} a été modifié le {when}.",
            changed_not_you: "Si ce n'était pas vous, réinitialisez votre mot de passe immédiatement et contactez le support.",
        },
    }
}

/// Escapes the five HTML-significant characters.
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

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |s, (k, v)| {
        s.replace(&format!("{{{k}}}"), v)
    })
}

fn html_page(lang: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"></head>\n<body>\n{body}</body></html>\n"
    )
}

/// The mail with the reset link.
pub fn reset_mail(
    locale: Locale,
    app_name: &str,
    to: &EmailAddress,
    link: &str,
    ttl_secs: u64,
) -> Mail {
    let w = words(locale);
    let minutes = ttl_secs.div_ceil(60).to_string();
    let plain = [("app", app_name), ("minutes", minutes.as_str())];
    let escaped_app = escape_html(app_name);
    let html_vars = [("app", escaped_app.as_str()), ("minutes", minutes.as_str())];
    let text = format!(
        "{}\n\n{}:\n{}\n\n{}\n\n{}\n",
        fill(w.reset_intro, &plain),
        w.reset_action,
        link,
        fill(w.reset_validity, &plain),
        fill(w.reset_not_you, &plain),
    );
    let link_html = escape_html(link);
    let html = html_page(
        locale.tag(),
        &[
            fill(w.reset_intro, &html_vars),
            format!(
                "<a href=\"{link_html}\">{}</a>",
                escape_html(w.reset_action)
            ),
            format!("<small>{link_html}</small>"),
            fill(w.reset_validity, &html_vars),
            fill(w.reset_not_you, &html_vars),
        ],
    );
    Mail {
        to: to.clone(),
        subject: fill(w.reset_subject, &plain),
        text,
        html,
        link: Some(link.to_owned()),
    }
}

/// The notice that a password was changed. `when` is RFC 3339 (UTC).
pub fn changed_mail(locale: Locale, app_name: &str, to: &EmailAddress, when: &str) -> Mail {
    let w = words(locale);
    let plain = [("app", app_name), ("when", when)];
    let escaped_app = escape_html(app_name);
    let escaped_when = escape_html(when);
    let html_vars = [
        ("app", escaped_app.as_str()),
        ("when", escaped_when.as_str()),
    ];
    Mail {
        to: to.clone(),
        subject: fill(w.changed_subject, &plain),
        text: format!(
            "{}\n\n{}\n",
            fill(w.changed_body, &plain),
            fill(w.changed_not_you, &plain)
        ),
        html: html_page(
            locale.tag(),
            &[
                fill(w.changed_body, &html_vars),
                fill(w.changed_not_you, &html_vars),
            ],
        ),
        link: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> EmailAddress {
        EmailAddress::parse("ada@example.com").unwrap()
    }

    const LINK: &str = "https://app.example.com/reset?lang=en&code=AbC";

    #[test]
    fn english_reset_mail_text_is_unchanged() {
        let m = reset_mail(Locale::En, "Acme", &to(), LINK, 3600);
        assert_eq!(m.subject, "Reset your Acme password");
        assert_eq!(
            m.text,
            "Someone asked to reset the password of your Acme account.\n\n\
             Choose a new password:\nhttps://app.example.com/reset?lang=en&code=AbC\n\n\
             This link works once and expires in 60 minutes.\n\n\
             If you did not ask for this, ignore this mail: your password stays as it is.\n"
        );
    }

    #[test]
    fn german_reset_mail_text_is_unchanged() {
        let m = reset_mail(Locale::De, "Acme", &to(), LINK, 900);
        assert_eq!(m.subject, "Passwort für Acme zurücksetzen");
        assert_eq!(
            m.text,
            "Jemand möchte das Passwort Ihres Kontos bei Acme zurücksetzen.\n\n\
             Neues Passwort wählen:\nhttps://app.example.com/reset?lang=en&code=AbC\n\n\
             Dieser Link funktioniert einmal und läuft in 15 Minuten ab.\n\n\
             Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.\n"
        );
    }

    #[test]
    fn french_reset_mail_text_is_unchanged() {
        let m = reset_mail(Locale::Fr, "Acme", &to(), LINK, 3600);
        assert_eq!(m.subject, "Réinitialisez votre mot de passe Acme");
        assert_eq!(
            m.text,
            "Quelqu'un a demandé la réinitialisation du mot de passe de votre compte Acme.\n\n\
             Choisir un nouveau mot de passe:\nhttps://app.example.com/reset?lang=en&code=AbC\n\n\
             Ce lien ne fonctionne qu'une fois et expire dans 60 minutes.\n\n\
             Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.\n"
        );
    }

    #[test]
    fn changed_mail_texts_are_unchanged() {
        let when = "2026-11-23T10:00:00Z";
        let en = changed_mail(Locale::En, "Acme", &to(), when);
        assert_eq!(en.subject, "Your Acme password was changed");
        assert_eq!(
            en.text,
            "The password of your Acme account was changed on 2026-11-23T10:00:00Z.\n\n\
             If this was not you, reset your password at once and contact support.\n"
        );
        assert_eq!(
            changed_mail(Locale::De, "Acme", &to(), when).subject,
            "Ihr Passwort für Acme wurde geändert"
        );
        assert_eq!(
            changed_mail(Locale::Fr, "Acme", &to(), when).subject,
            "Votre mot de passe Acme a été modifié"
        );
    }

    #[test]
    fn html_bodies_escape_every_interpolated_value() {
        let m = reset_mail(
            Locale::En,
            "<b>Evil & Co</b>",
            &to(),
            "https://x.test/?a=\"><script>",
            60,
        );
        assert!(m.html.contains("&lt;b&gt;Evil &amp; Co&lt;/b&gt;"));
        assert!(m.html.contains("&quot;&gt;&lt;script&gt;"));
        assert!(!m.html.contains("<script>"));
        assert!(!m.html.contains("<b>Evil"));
    }
}
