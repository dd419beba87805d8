//! The credential settings: the new-password bounds, the breached-password check and the
//! CAPTCHA, each refused naming its variable and never echoing a secret.

use super::*;

/// A valid token key, so the Lambda profile parses and only the setting under test can fail.
const KEY: (&str, &str) = (
    "TOKEN_HMAC_KEY",
    "a-current-key-0123456789abcdef-0123456789",
);

#[test]
fn the_password_bounds_are_checked_and_name_their_variable() {
    let key = KEY;
    let c = cfg(Profile::Lambda, &[key]).unwrap();
    assert_eq!(c.password.policy.min_chars(), 8);
    assert_eq!(c.password.policy.max_chars(), 128);
    let c = cfg(
        Profile::Lambda,
        &[
            key,
            ("PASSWORD_MIN_LENGTH", "15"),
            ("PASSWORD_MAX_LENGTH", "256"),
        ],
    )
    .unwrap();
    assert_eq!(
        (c.password.policy.min_chars(), c.password.policy.max_chars()),
        (15, 256)
    );
    for (vars, var) in [
        (&[("PASSWORD_MIN_LENGTH", "7")][..], "PASSWORD_MIN_LENGTH"),
        (&[("PASSWORD_MIN_LENGTH", "65")][..], "PASSWORD_MIN_LENGTH"),
        (&[("PASSWORD_MAX_LENGTH", "257")][..], "PASSWORD_MAX_LENGTH"),
        (
            &[("PASSWORD_MIN_LENGTH", "20"), ("PASSWORD_MAX_LENGTH", "16")][..],
            "PASSWORD_MAX_LENGTH",
        ),
    ] {
        let mut all = vars.to_vec();
        all.push(key);
        assert_eq!(cfg(Profile::Lambda, &all).unwrap_err().var, var, "{vars:?}");
    }
}

#[test]
fn the_breach_check_is_on_for_lambda_off_locally_and_only_over_https_elsewhere() {
    let key = KEY;
    let lambda = cfg(Profile::Lambda, &[key]).unwrap().password.breach;
    assert_eq!(
        lambda.url.as_ref().map(url::Url::as_str),
        Some("https://api.pwnedpasswords.com/")
    );
    assert!(!lambda.fail_closed);
    assert_eq!(lambda.min_count, 1);
    let local = cfg(Profile::Local { port: 3000 }, &[]).unwrap();
    assert!(
        local.password.breach.url.is_none(),
        "the local API calls no third party"
    );
    let off = cfg(Profile::Lambda, &[key, ("PWNED_PASSWORDS_URL", "off")]).unwrap();
    assert!(off.password.breach.url.is_none());
    let fake = cfg(
        Profile::Lambda,
        &[key, ("PWNED_PASSWORDS_URL", "http://127.0.0.1:4010")],
    )
    .unwrap();
    assert!(fake.password.breach.url.is_some());
    for bad in ["http://api.example.com", "ftp://127.0.0.1", "not a url"] {
        let e = cfg(Profile::Lambda, &[key, ("PWNED_PASSWORDS_URL", bad)]).unwrap_err();
        assert_eq!(e.var, "PWNED_PASSWORDS_URL", "{bad}");
    }
    let e = cfg(Profile::Lambda, &[key, ("PWNED_PASSWORDS_MIN_COUNT", "0")]).unwrap_err();
    assert_eq!(e.var, "PWNED_PASSWORDS_MIN_COUNT");
}

#[test]
fn the_captcha_is_off_unless_a_provider_is_named_and_then_needs_its_secret() {
    let key = KEY;
    assert!(cfg(Profile::Lambda, &[key]).unwrap().captcha.is_none());
    for (provider, url) in [
        (
            "turnstile",
            "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        ),
        ("hcaptcha", "https://api.hcaptcha.com/siteverify"),
        (
            "Recaptcha",
            "https://www.google.com/recaptcha/api/siteverify",
        ),
    ] {
        let c = cfg(
            Profile::Lambda,
            &[
                key,
                ("CAPTCHA_PROVIDER", provider),
                ("CAPTCHA_SECRET", "s3cr3t-value"),
            ],
        )
        .unwrap()
        .captcha
        .unwrap();
        assert_eq!(c.verify_url.as_str(), url);
        assert!(
            !format!("{c:?}").contains("s3cr3t-value"),
            "Debug redacts it"
        );
    }
    for (vars, var) in [
        (
            &[("CAPTCHA_PROVIDER", "recaptcha-v9")][..],
            "CAPTCHA_PROVIDER",
        ),
        (&[("CAPTCHA_PROVIDER", "turnstile")][..], "CAPTCHA_SECRET"),
        (
            &[
                ("CAPTCHA_PROVIDER", "turnstile"),
                ("CAPTCHA_SECRET_ARN", "arn:x"),
            ][..],
            "CAPTCHA_SECRET_ARN",
        ),
        (
            &[
                ("CAPTCHA_PROVIDER", "turnstile"),
                ("CAPTCHA_SECRET", "s3cr3t-value"),
                (
                    "CAPTCHA_VERIFY_URL",
                    "http://captcha.example.com/siteverify",
                ),
            ][..],
            "CAPTCHA_VERIFY_URL",
        ),
    ] {
        let mut all = vars.to_vec();
        all.push(key);
        let e = cfg(Profile::Lambda, &all).unwrap_err();
        assert_eq!(e.var, var, "{vars:?}");
        assert!(!e.to_string().contains("s3cr3t-value"));
    }
}
