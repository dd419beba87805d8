//! Command-line flags. Every service setting is also read from the environment (see the
//! README's configuration table); flags only choose the port, adapters and seed users.

use std::fmt;

/// Where tokens and users live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// In process; gone at exit.
    Memory,
    /// DynamoDB at `AWS_ENDPOINT_URL` (or AWS itself).
    Dynamodb,
}

/// Where mail goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailerKind {
    /// Printed to the console and kept for `GET /_dev/mailbox`.
    Console,
    /// SES v2 at `AWS_ENDPOINT_URL` (or AWS itself).
    Ses,
}

/// A seed user from `--user EMAIL:PASSWORD`. The password is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SeedUser {
    /// The account's address.
    pub email: String,
    /// Its password (development only).
    pub password: String,
}

impl fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedUser")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The demo account created when no `--user` is given.
pub const DEMO_USER: (&str, &str) = ("demo@example.com", "demo-password-1");

/// Parsed flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--port N` (default 3000; 0 picks a free port).
    pub port: u16,
    /// `--user EMAIL:PASSWORD`, repeatable.
    pub users: Vec<SeedUser>,
    /// `--store memory|dynamodb`.
    pub store: StoreKind,
    /// `--create-tables`: create missing DynamoDB tables (with TTL) at start.
    pub create_tables: bool,
    /// `--mailer console|ses`.
    pub mailer: MailerKind,
    /// `--verify-sender`: with `--mailer ses`, ask SES to verify `MAIL_FROM` at start (on the
    /// emulator this makes it usable at once; on AWS it sends the verification mail).
    pub verify_sender: bool,
    /// `--mail-delay-ms N`: each send waits this long first, like a real provider's round trip
    /// (for the timing benchmark).
    pub mail_delay_ms: u64,
    /// `--allow-real-aws`: let `--store dynamodb` / `--mailer ses` reach AWS itself. Without
    /// it they must point at an emulator on this machine (see [`Options::check_aws_target`]).
    pub allow_real_aws: bool,
    /// `--captcha-site-key KEY`: with `CAPTCHA_PROVIDER`, the public site key the demo request
    /// page renders the provider's widget with (docs/captcha.md lists the providers' test keys).
    pub captcha_site_key: Option<String>,
    /// `--render-mail reset|changed [--locale TAG]`: print that mail rendered with sample
    /// values from the configured templates (`MAIL_TEMPLATE_DIR`) and exit, serving nothing.
    pub render_mail: Option<String>,
    /// `--locale TAG` for `--render-mail` (default `en`).
    pub locale: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 3000,
            users: vec![SeedUser {
                email: DEMO_USER.0.into(),
                password: DEMO_USER.1.into(),
            }],
            store: StoreKind::Memory,
            create_tables: false,
            mailer: MailerKind::Console,
            verify_sender: false,
            mail_delay_ms: 0,
            allow_real_aws: false,
            captcha_site_key: None,
            render_mail: None,
            locale: "en".to_owned(),
        }
    }
}

/// Usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: local-api [--port N] [--user EMAIL:PASSWORD]... [--store memory|dynamodb] [--create-tables]
                 [--mailer console|ses] [--verify-sender] [--mail-delay-ms N] [--allow-real-aws]
                 [--captcha-site-key KEY]
       local-api --render-mail reset|changed [--locale TAG]

  --port N               listen on 127.0.0.1:N (default 3000, 0 = any free port)
  --user EMAIL:PASSWORD  seed an account (repeatable; default: demo@example.com:demo-password-1)
  --store KIND           memory (default) or dynamodb (endpoint from AWS_ENDPOINT_URL)
  --create-tables        with --store dynamodb: create missing tables, TTL enabled
  --mailer KIND          console (default; mailbox at /_dev/mailbox) or ses (AWS_ENDPOINT_URL)
  --verify-sender        with --mailer ses: ask SES to verify MAIL_FROM at start (emulator: at once)
  --mail-delay-ms N      wait N ms in each send, like a real provider (timing benchmark)
  --allow-real-aws       let --store dynamodb / --mailer ses reach real AWS; without it their
                         endpoint (AWS_ENDPOINT_URL, or AWS_ENDPOINT_URL_DYNAMODB / _SESV2) must
                         be on this machine (127.0.0.1, localhost, [::1]), e.g. the moto emulator
  --captcha-site-key KEY with CAPTCHA_PROVIDER (and CAPTCHA_SECRET): the demo request page shows
                         the provider's widget with this public key (docs/captcha.md)
  --render-mail KIND     print the reset or changed mail rendered with sample values from the
                         configured templates (MAIL_TEMPLATE_DIR, else the built-in set), then exit
  --locale TAG           with --render-mail: the language asked for (default en; a locale the
                         templates lack renders in en, as a request for it would)

Every service setting is read from the environment (see README: Configuration).";

impl Options {
    /// Parses flags (without the program name). `Err` carries a message for the user.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut opts = Options {
            users: Vec::new(),
            ..Options::default()
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (flag.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs {what}"))
            };
            match name.as_str() {
                "--port" => {
                    opts.port = value("a port number")?
                        .parse()
                        .map_err(|_| "--port needs a number from 0 to 65535".to_owned())?;
                }
                "--user" => {
                    let raw = value("EMAIL:PASSWORD")?;
                    let (email, password) = raw
                        .split_once(':')
                        .ok_or_else(|| "--user needs EMAIL:PASSWORD".to_owned())?;
                    opts.users.push(SeedUser {
                        email: email.to_owned(),
                        password: password.to_owned(),
                    });
                }
                "--store" => {
                    opts.store = match value("memory or dynamodb")?.as_str() {
                        "memory" => StoreKind::Memory,
                        "dynamodb" => StoreKind::Dynamodb,
                        other => return Err(format!("unknown store {other:?}")),
                    };
                }
                "--mailer" => {
                    opts.mailer = match value("console or ses")?.as_str() {
                        "console" => MailerKind::Console,
                        "ses" => MailerKind::Ses,
                        other => return Err(format!("unknown mailer {other:?}")),
                    };
                }
                "--mail-delay-ms" => {
                    opts.mail_delay_ms = value("milliseconds")?
                        .parse()
                        .map_err(|_| "--mail-delay-ms needs a number".to_owned())?;
                }
                "--captcha-site-key" => {
                    opts.captcha_site_key = Some(value("the provider's public site key")?);
                }
                "--render-mail" => opts.render_mail = Some(value("reset or changed")?),
                "--locale" => opts.locale = value("a language tag")?,
                "--create-tables" => opts.create_tables = true,
                "--verify-sender" => opts.verify_sender = true,
                "--allow-real-aws" => opts.allow_real_aws = true,
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        if opts.users.is_empty() {
            opts.users = Options::default().users;
        }
        Ok(opts)
    }
}

impl Options {
    /// Refuses to start a development server against real AWS by accident: with
    /// `--store dynamodb` or `--mailer ses`, each service's endpoint (the SDK's
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`) must be set and on a loopback
    /// host, unless `--allow-real-aws` is given. `env` reads the environment.
    pub fn check_aws_target(&self, env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if self.allow_real_aws {
            return Ok(());
        }
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let ignored = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let mut services = Vec::new();
        if self.store == StoreKind::Dynamodb {
            services.push(("--store dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"));
        }
        if self.mailer == MailerKind::Ses {
            services.push(("--mailer ses", "AWS_ENDPOINT_URL_SESV2"));
        }
        for (flag, specific) in services {
            let endpoint = if ignored {
                None
            } else {
                env(specific).or_else(|| env("AWS_ENDPOINT_URL"))
            };
            let local = endpoint.as_deref().is_some_and(is_loopback_url);
            if !local {
                let target = endpoint.map_or_else(|| "AWS itself".to_owned(), |e| format!("{e:?}"));
                return Err(format!(
                    "{flag} would reach {target}: point AWS_ENDPOINT_URL (or {specific}) at an \
                     emulator on this machine (http://127.0.0.1:5000 for moto), or pass \
                     --allow-real-aws to use real AWS on purpose"
                ));
            }
        }
        Ok(())
    }
}

/// `http(s)://127.0.0.1|localhost|[::1][:port][/...]`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip,
            _ => return false,
        },
        None => authority.split(':').next().unwrap_or(""),
    };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests;
