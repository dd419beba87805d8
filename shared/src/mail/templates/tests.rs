use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::config::{Config, MailSettings, Profile};
use crate::domain::EmailAddress;
use crate::mail::render::{changed_mail, reset_mail};

/// A folder of template files for one test, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    /// A new folder holding a copy of the built-in set.
    fn with_built_in() -> Folder {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mail-templates-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, source) in BUILT_IN {
            std::fs::write(dir.join(name), source).unwrap();
        }
        Folder(dir)
    }

    fn write(&self, name: &str, source: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.0.join(name), source).unwrap();
        self
    }

    fn remove(&self, name: &str) -> &Self {
        std::fs::remove_file(self.0.join(name)).unwrap();
        self
    }

    /// Adds a complete locale: six files, each `text` with the locale's name in it.
    fn add_locale(&self, locale: &str, reset: &str, changed: &str) -> &Self {
        for (kind, body) in [("reset", reset), ("changed", changed)] {
            self.write(
                &format!("{kind}.{locale}.subject"),
                format!("{kind} {locale}\n"),
            );
            self.write(&format!("{kind}.{locale}.txt"), format!("{body}\n"));
            self.write(
                &format!("{kind}.{locale}.html"),
                format!("<p lang=\"{{{{ locale }}}}\">{body}</p>\n"),
            );
        }
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Link mails (`RESET_METHOD=link`): the folders of these tests were written for links.
fn settings(app_name: &str, dir: Option<&Path>) -> MailSettings {
    let dir = dir.map(|d| d.display().to_string());
    Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "APP_NAME" => Some(app_name.to_owned()),
        "MAIL_TEMPLATE_DIR" => dir.clone(),
        "RESET_METHOD" => Some("link".to_owned()),
        _ => None,
    })
    .unwrap()
    .mail
}

/// The configuration with the folder `dir` under `RESET_METHOD=method`.
fn config_with(dir: &Path, method: &str) -> Result<Config, crate::config::ConfigError> {
    let dir = dir.display().to_string();
    Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MAIL_TEMPLATE_DIR" => Some(dir.clone()),
        "RESET_METHOD" => Some(method.to_owned()),
        _ => None,
    })
}

fn to() -> EmailAddress {
    EmailAddress::parse("ada@example.com").unwrap()
}

const HOSTILE_APP: &str = "<b>\"Evil\" & 'Co'</b>";
const HOSTILE_LINK: &str = "https://x.test/?a=\"><script>&b='c'";
const HOSTILE_WHEN: &str = "2026-11-23T10:00:00Z<i>&";

#[test]
fn the_built_in_mails_are_byte_identical_to_the_hard_coded_ones() {
    // Captured from the hard-coded renderer before the mails became templates.
    let snapshots: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(include_str!("../snapshots.json")).unwrap();
    let samples = [
        (
            "plain",
            "Acme",
            "https://app.example.com/reset?lang=en&code=AbC",
            3600,
            "2026-11-23T10:00:00Z",
        ),
        ("hostile", HOSTILE_APP, HOSTILE_LINK, 61, HOSTILE_WHEN),
    ];
    let mut compared = 0;
    for locale in ["en", "de", "fr"] {
        for (label, app, link, ttl, when) in samples {
            let s = settings(app, None);
            let reset =
                reset_mail(&s, &Locale::only(locale), &to(), Some(link), None, ttl).unwrap();
            let changed = changed_mail(&s, &Locale::only(locale), &to(), when).unwrap();
            for (kind, mail) in [("reset", reset), ("changed", changed)] {
                let key = format!("{kind}.{locale}.{label}");
                let want = &snapshots[&key];
                assert_eq!(mail.subject, want["subject"], "{key} subject");
                assert_eq!(mail.text, want["text"], "{key} text");
                assert_eq!(mail.html, want["html"], "{key} html");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, snapshots.len(), "every snapshot compared");
}

#[test]
fn every_variable_is_html_escaped_in_the_html_part_and_left_alone_in_the_text() {
    let folder = Folder::with_built_in();
    let all = "{{ app_name }}|{{ link }}|{{ minutes }}|{{ locale }}";
    folder.add_locale(
        "es",
        &format!("<a href=\"{{{{ link }}}}\">{all}</a>"),
        "{{ app_name }}|{{ changed_at }}|{{ locale }}",
    );
    let s = settings(HOSTILE_APP, Some(folder.path()));
    let es = Locale::only("es");
    let reset = reset_mail(&s, &es, &to(), Some(HOSTILE_LINK), None, 120).unwrap();
    let changed = changed_mail(&s, &es, &to(), HOSTILE_WHEN).unwrap();
    let escaped_app = "&lt;b&gt;&quot;Evil&quot; &amp; &#39;Co&#39;&lt;/b&gt;";
    let escaped_link = "https://x.test/?a=&quot;&gt;&lt;script&gt;&amp;b=&#39;c&#39;";
    assert_eq!(
        reset.html,
        format!(
            "<p lang=\"es\"><a href=\"{escaped_link}\">{escaped_app}|{escaped_link}|2|es</a></p>\n"
        )
    );
    assert_eq!(
        changed.html,
        format!("<p lang=\"es\">{escaped_app}|2026-11-23T10:00:00Z&lt;i&gt;&amp;|es</p>\n")
    );
    // The text part is the template's own characters and the values as they are.
    assert_eq!(
        reset.text,
        format!("<a href=\"{HOSTILE_LINK}\">{HOSTILE_APP}|{HOSTILE_LINK}|2|es</a>\n")
    );
    assert_eq!(changed.text, format!("{HOSTILE_APP}|{HOSTILE_WHEN}|es\n"));
}

#[test]
fn the_built_in_text_parts_contain_no_html() {
    let s = settings(HOSTILE_APP, None);
    for locale in ["en", "de", "fr"] {
        let l = Locale::only(locale);
        let reset = reset_mail(&s, &l, &to(), Some(HOSTILE_LINK), Some("01234567"), 600).unwrap();
        let changed = changed_mail(&s, &l, &to(), HOSTILE_WHEN).unwrap();
        for (text, values) in [
            (reset.text, [HOSTILE_APP, HOSTILE_LINK]),
            (changed.text, [HOSTILE_APP, HOSTILE_WHEN]),
        ] {
            let words = values.iter().fold(text.clone(), |t, v| t.replace(v, ""));
            assert!(
                !words.contains(['<', '>']) && !words.contains("&amp;") && !words.contains("&#"),
                "{locale}: {text}"
            );
            assert!(
                text.contains(HOSTILE_APP),
                "{locale}: values are not escaped"
            );
        }
    }
}

#[test]
fn a_locale_the_set_lacks_falls_back_by_region_then_to_en() {
    let set = Templates::built_in();
    let vars = Vars::sample(MailKind::Reset);
    let lang = |l: Locale| set.render(MailKind::Reset, &l, &vars).unwrap().locale;
    assert_eq!(lang(Locale::only("es")), "en");
    assert_eq!(lang(Locale::only("de-AT")), "de");
    assert_eq!(lang(Locale::negotiate(Some("es"), Some("fr;q=0.5"))), "fr");
    assert_eq!(lang(Locale::default()), "en");
    assert_eq!(set.locales().collect::<Vec<_>>(), ["de", "en", "fr"]);
}

#[test]
fn a_folder_with_a_new_locale_mails_in_it_and_keeps_its_spelling() {
    let folder = Folder::with_built_in();
    folder.add_locale(
        "pt-BR",
        "Redefina sua senha: {{ link }}",
        "Senha alterada em {{ changed_at }}",
    );
    let set = Templates::from_dir(folder.path()).unwrap();
    let r = set
        .render(
            MailKind::Reset,
            &Locale::only("pt-br"),
            &Vars::sample(MailKind::Reset),
        )
        .unwrap();
    assert_eq!(r.locale, "pt-BR");
    assert_eq!(r.subject, "reset pt-BR");
    assert_eq!(r.text, format!("Redefina sua senha: {SAMPLE_LINK}\n"));
    assert_eq!(
        set.locales().collect::<Vec<_>>(),
        ["de", "en", "fr", "pt-BR"]
    );
}

#[test]
fn the_built_in_reset_mail_shows_what_each_reset_method_mails_in_every_locale() {
    let s = settings("Acme", None);
    for method in [ResetMethod::Link, ResetMethod::Code, ResetMethod::Both] {
        let link = method
            .link()
            .then_some("https://app.example.com/reset?code=AbC");
        let otp = method.short_code().then_some("01234567");
        for locale in ["en", "de", "fr"] {
            let mail = reset_mail(&s, &Locale::only(locale), &to(), link, otp, 600).unwrap();
            for (part, body) in [("text", &mail.text), ("html", &mail.html)] {
                let at = format!("{} {locale} {part}", method.name());
                assert_eq!(body.contains("code=AbC"), link.is_some(), "link, {at}");
                assert_eq!(body.contains("01234567"), otp.is_some(), "otp, {at}");
                assert!(
                    !body.contains("\n\n\n"),
                    "no empty paragraph, {at}:\n{body}"
                );
            }
            assert_eq!(mail.otp.as_deref(), otp, "{locale}");
        }
    }
}

#[test]
fn a_folder_must_show_what_reset_method_mails_or_init_stops_naming_the_file() {
    let folder = Folder::with_built_in();
    // Written for links: prints the link unconditionally and never the code.
    folder.write("reset.de.txt", "Link: {{ link }}\n");
    config_with(folder.path(), "link").expect("fine for links");
    for method in ["code", "both"] {
        let err = config_with(folder.path(), method).unwrap_err();
        assert_eq!(err.var, "MAIL_TEMPLATE_DIR");
        let msg = err.to_string();
        assert!(msg.contains("reset.de.txt"), "{method}: {msg}");
        assert!(msg.contains(&format!("RESET_METHOD={method}")), "{msg}");
    }
    // Written for codes only: the link never shows.
    folder.write("reset.de.txt", "{% if otp %}Code: {{ otp }}{% endif %}\n");
    config_with(folder.path(), "code").expect("fine for codes");
    let err = config_with(folder.path(), "link").unwrap_err();
    assert!(err.to_string().contains("never prints it"), "{err}");
    // Printing the code unconditionally fails where no code is mailed.
    folder.write("reset.de.txt", "{{ link }} {{ otp }}\n");
    config_with(folder.path(), "both").expect("both values are there");
    let err = config_with(folder.path(), "link").unwrap_err();
    assert!(err.to_string().contains("reset.de.txt"), "{err}");
}

#[test]
fn bad_template_folders_stop_init_naming_the_file() {
    use Change::{Remove, Write};
    enum Change {
        Write(&'static str, &'static [u8]),
        Remove(&'static str),
    }
    let cases: &[(&str, Change, &str, &str)] = &[
        (
            "missing en file",
            Remove("changed.en.html"),
            "changed.en.html",
            "en is required",
        ),
        (
            "syntax error",
            Write("reset.de.txt", b"{{ link }\n"),
            "reset.de.txt",
            "syntax error",
        ),
        (
            "unknown variable",
            Write("reset.fr.html", b"{{ user_name }}\n"),
            "reset.fr.html",
            "unknown variable `user_name`",
        ),
        (
            "variable of the other mail",
            Write("changed.en.txt", b"{{ link }}\n"),
            "changed.en.txt",
            "unknown variable `link`",
        ),
        (
            "incomplete locale",
            Write("reset.es.txt", b"hola\n"),
            "reset.es.subject",
            "all six files",
        ),
        (
            "misnamed file",
            Write("reset.en.htm.html", b"x\n"),
            "reset.en.htm.html",
            "not a mail template name",
        ),
        (
            "unknown mail",
            Write("welcome.en.txt", b"x\n"),
            "welcome.en.txt",
            "not a mail template name",
        ),
        (
            "two-line subject",
            Write("reset.en.subject", b"Reset\nBcc: x\n"),
            "reset.en.subject",
            "one line",
        ),
        (
            "empty subject",
            Write("changed.de.subject", b"\n"),
            "changed.de.subject",
            "one line",
        ),
        (
            "not UTF-8",
            Write("reset.en.txt", b"\xff\xfe"),
            "reset.en.txt",
            "UTF-8",
        ),
        (
            "same locale twice",
            Write("reset.EN.txt", b"x\n"),
            "reset.en.txt",
            "ignore case",
        ),
    ];
    for (what, change, file, reason) in cases {
        let folder = Folder::with_built_in();
        match change {
            Write(name, source) => folder.write(name, source),
            Remove(name) => folder.remove(name),
        };
        let err = Templates::from_dir(folder.path()).unwrap_err();
        let shown = err.to_string();
        assert!(
            err.file.ends_with(file) && err.file.starts_with(&folder.path().display().to_string()),
            "{what}: names {}, not {file}",
            err.file
        );
        assert!(shown.contains(reason), "{what}: {shown}");
    }
    let missing = Path::new("/nonexistent/mail-templates");
    let err = Templates::from_dir(missing).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/mail-templates"),
        "{err}"
    );
}

#[test]
fn a_bad_folder_stops_config_naming_the_setting_and_the_file() {
    let folder = Folder::with_built_in();
    folder.remove("reset.en.subject");
    let dir = folder.path().display().to_string();
    let err = Config::from_lookup(Profile::Local { port: 3000 }, |k| {
        (k == "MAIL_TEMPLATE_DIR").then(|| dir.clone())
    })
    .unwrap_err();
    assert_eq!(err.var, "MAIL_TEMPLATE_DIR");
    assert!(err.to_string().contains("reset.en.subject"), "{err}");
}

#[test]
fn other_files_in_the_folder_are_left_alone() {
    let folder = Folder::with_built_in();
    folder
        .write("README.md", "# our mails\n")
        .write(".reset.en.txt.swp", "x");
    assert!(Templates::from_dir(folder.path()).is_ok());
}
