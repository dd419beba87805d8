use super::*;

fn parse(args: &[&str]) -> Result<Options, String> {
    Options::parse(args.iter().map(|s| (*s).to_owned()))
}

#[test]
fn no_flags_give_port_3000_memory_console_and_the_demo_user() {
    assert_eq!(parse(&[]).unwrap(), Options::default());
}

#[test]
fn flags_are_read_in_both_spellings_and_users_repeat() {
    let o = parse(&[
        "--port=4000",
        "--user",
        "a@example.com:pw:with:colons",
        "--user=b@example.com:x",
        "--store",
        "dynamodb",
        "--create-tables",
        "--mailer=ses",
    ])
    .unwrap();
    assert_eq!(o.port, 4000);
    assert_eq!(o.users.len(), 2);
    assert_eq!(o.users[0].password, "pw:with:colons");
    assert_eq!(
        (o.store, o.mailer, o.create_tables),
        (StoreKind::Dynamodb, MailerKind::Ses, true)
    );
}

#[test]
fn bad_flags_are_explained() {
    assert!(parse(&["--port", "x"]).unwrap_err().contains("--port"));
    assert!(
        parse(&["--user", "nocolon"])
            .unwrap_err()
            .contains("EMAIL:PASSWORD")
    );
    assert!(parse(&["--store", "redis"]).unwrap_err().contains("redis"));
    assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
    assert!(parse(&["--port"]).unwrap_err().contains("needs"));
    assert!(
        parse(&["--render-mail"])
            .unwrap_err()
            .contains("reset or changed")
    );
}

#[test]
fn render_mail_takes_a_kind_and_a_locale_that_defaults_to_english() {
    let o = parse(&["--render-mail", "reset", "--locale=de"]).unwrap();
    assert_eq!(
        (o.render_mail.as_deref(), o.locale.as_str()),
        (Some("reset"), "de")
    );
    assert_eq!(parse(&["--render-mail=changed"]).unwrap().locale, "en");
}

#[test]
fn the_aws_adapters_refuse_real_aws_unless_allowed() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let dynamo = parse(&["--store", "dynamodb"]).unwrap();
    let ses = parse(&["--mailer", "ses"]).unwrap();
    let memory = parse(&[]).unwrap();
    let moto = env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]);
    let none = env(&[]);
    type Vars = &'static [(&'static str, &'static str)];
    let refused: [(&Options, Vars, &str); 7] = [
        (&dynamo, &[], "no endpoint: AWS itself"),
        (&ses, &[], "no endpoint: AWS itself"),
        (
            &dynamo,
            &[(
                "AWS_ENDPOINT_URL",
                "https://dynamodb.eu-west-1.amazonaws.com",
            )],
            "real endpoint",
        ),
        (
            &dynamo,
            &[("AWS_ENDPOINT_URL", "http://127.0.0.1.evil.example:5000")],
            "look-alike host",
        ),
        (
            &dynamo,
            &[("AWS_ENDPOINT_URL", "http://localhost@evil.example")],
            "userinfo trick",
        ),
        (
            &ses,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                (
                    "AWS_ENDPOINT_URL_SESV2",
                    "https://email.us-east-1.amazonaws.com",
                ),
            ],
            "service endpoint wins",
        ),
        (
            &dynamo,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ],
            "endpoints ignored",
        ),
    ];
    for (opts, vars, why) in refused {
        let err = opts.check_aws_target(env(vars)).unwrap_err();
        assert!(err.contains("--allow-real-aws"), "{why}: {err}");
    }
    for url in [
        "http://127.0.0.1:5000",
        "http://localhost:4566/",
        "http://[::1]:5000",
        "https://127.0.0.2",
    ] {
        let vars = [("AWS_ENDPOINT_URL", url)];
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        assert!(dynamo.check_aws_target(get).is_ok(), "{url}");
        assert!(ses.check_aws_target(get).is_ok(), "{url}");
    }
    assert!(dynamo.check_aws_target(moto).is_ok());
    assert!(
        memory.check_aws_target(none).is_ok(),
        "no AWS adapter, no check"
    );
    let allowed = parse(&["--store", "dynamodb", "--mailer", "ses", "--allow-real-aws"]).unwrap();
    assert!(allowed.allow_real_aws);
    assert!(allowed.check_aws_target(none).is_ok());
}

#[test]
fn debug_output_hides_seed_passwords() {
    let o = parse(&["--user", "a@example.com:hunter2hunter2"]).unwrap();
    assert!(!format!("{o:?}").contains("hunter2"));
}
