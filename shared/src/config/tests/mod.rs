//! The settings as a deployment sees them: defaults, refusals that name their variable, and
//! token keys that never show in an error.

use super::*;
use crate::hashing::Argon2Settings;
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

proptest! {
    #[test]
    fn rate_limits_parse_only_bounded_windows(s in "\\PC{0,20}", max in 0u32..1000, secs in 0u64..100_000) {
        if let Ok(limit) = RateLimit::parse(&s) {
            prop_assert!((1..=86_400).contains(&limit.window.as_secs()));
        }
        let parsed = RateLimit::parse(&format!("{max}/{secs}"));
        prop_assert_eq!(parsed.is_ok(), (1..=86_400).contains(&secs));
    }
}

fn cfg(profile: Profile, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(profile, |k| map.get(k).cloned())
}

#[test]
fn lambda_requires_a_token_key_and_never_echoes_it() {
    let e = cfg(Profile::Lambda, &[]).unwrap_err();
    assert_eq!(e.var, "TOKEN_HMAC_KEY");
    let e = cfg(Profile::Lambda, &[("TOKEN_HMAC_KEY", "tiny-secret")]).unwrap_err();
    assert!(!e.to_string().contains("tiny-secret"));
}

#[test]
fn the_token_keys_come_from_exactly_one_source_and_errors_never_echo_them() {
    let a = "a-current-key-0123456789abcdef-0123456789";
    let b = "b-previous-key-0123456789abcdef-012345678";
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf";
    let code = crate::domain::ResetCode::generate();
    let hashes = |c: &Config| {
        c.verifying_keys()
            .map(|k| k.code_hash(&code))
            .collect::<Vec<_>>()
    };
    let key = |s: &str| TokenKey::new(s).unwrap().code_hash(&code);

    let c = cfg(Profile::Lambda, &[("TOKEN_HMAC_KEY", a)]).unwrap();
    assert_eq!(hashes(&c), vec![key(a)]);
    let c = cfg(
        Profile::Lambda,
        &[("TOKEN_HMAC_KEY", a), ("TOKEN_HMAC_KEY_PREVIOUS", b)],
    )
    .unwrap();
    assert_eq!(hashes(&c), vec![key(a), key(b)]);

    let vars = [(TOKEN_KEY_SECRET_VAR, arn)];
    let from_secret = |secret: &str| {
        Config::from_lookup_with_secret(
            Profile::Lambda,
            |k| {
                vars.iter()
                    .find(|(v, _)| *v == k)
                    .map(|(_, x)| (*x).to_owned())
            },
            Some(secret),
        )
    };
    assert_eq!(hashes(&from_secret(a).unwrap()), vec![key(a)]);
    let pair = format!(r#"{{"current": "{a}", "previous": "{b}"}}"#);
    assert_eq!(hashes(&from_secret(&pair).unwrap()), vec![key(a), key(b)]);

    for (vars, secret, var) in [
        // The ARN without its value read (Config::from_env cannot read it).
        (
            &[(TOKEN_KEY_SECRET_VAR, arn)][..],
            None,
            TOKEN_KEY_SECRET_VAR,
        ),
        // Two sources.
        (
            &[(TOKEN_KEY_SECRET_VAR, arn), ("TOKEN_HMAC_KEY", a)][..],
            Some(b),
            TOKEN_KEY_SECRET_VAR,
        ),
        (
            &[(TOKEN_KEY_SECRET_VAR, arn), ("TOKEN_HMAC_KEY_PREVIOUS", a)][..],
            Some(b),
            TOKEN_KEY_SECRET_VAR,
        ),
        // Malformed or short secrets.
        (
            &[(TOKEN_KEY_SECRET_VAR, arn)][..],
            Some("{\"current\": \"tiny-s3cr3t\"}"),
            TOKEN_KEY_SECRET_VAR,
        ),
        (
            &[(TOKEN_KEY_SECRET_VAR, arn)][..],
            Some("{\"current\": \"long-enough-s3cr3t-0123456789abcdef\""),
            TOKEN_KEY_SECRET_VAR,
        ),
        (
            &[(TOKEN_KEY_SECRET_VAR, arn)][..],
            Some("tiny-s3cr3t"),
            TOKEN_KEY_SECRET_VAR,
        ),
        // A previous key without a current one, or too short.
        (
            &[("TOKEN_HMAC_KEY_PREVIOUS", a)][..],
            None,
            "TOKEN_HMAC_KEY_PREVIOUS",
        ),
        (
            &[
                ("TOKEN_HMAC_KEY", a),
                ("TOKEN_HMAC_KEY_PREVIOUS", "tiny-s3cr3t"),
            ][..],
            None,
            "TOKEN_HMAC_KEY_PREVIOUS",
        ),
    ] {
        let e = Config::from_lookup_with_secret(
            Profile::Lambda,
            |k| {
                vars.iter()
                    .find(|(v, _)| *v == k)
                    .map(|(_, x)| (*x).to_owned())
            },
            secret,
        )
        .unwrap_err();
        assert_eq!(e.var, var, "{vars:?}");
        let shown = format!("{e} {e:?}");
        for secret in [a, b, "s3cr3t"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[test]
fn local_profile_runs_with_no_configuration() {
    let c = cfg(Profile::Local { port: 3000 }, &[]).unwrap();
    assert_eq!(c.policy.max_concurrent, 3);
    assert_eq!(c.policy.token_ttl, Duration::from_secs(3600));
    assert_eq!(
        c.links.default_callback.unwrap().as_url().as_str(),
        "http://127.0.0.1:3000/reset"
    );
    assert_eq!(c.store.users.email_index.as_deref(), Some("email-index"));
}

#[test]
fn malformed_settings_name_their_variable() {
    let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
    for (var, value) in [
        ("TOKEN_TTL_SECONDS", "ten"),
        ("TOKEN_TTL_SECONDS", "5"),
        ("MAX_CONCURRENT_REQUESTS", "0"),
        ("ALLOWED_CALLBACK_ORIGINS", "http://example.com"),
        ("NOTIFY_PASSWORD_CHANGED", "maybe"),
        ("SERVER_KEY_SHA256", "abc"),
        ("RATE_LIMIT_REQUEST", "20"),
        ("MIN_REQUEST_RESPONSE_MS", "-1"),
        ("MAIL_FROM", "not-an-address"),
        (
            "ALLOWED_CALLBACK_URLS",
            "https://elsewhere.example.org/reset",
        ),
        ("LINK_CODE_IN", "hash"),
        ("RESET_METHOD", "sms"),
        ("OTP_LENGTH", "5"),
        ("OTP_LENGTH", "11"),
        ("OTP_MAX_ATTEMPTS", "0"),
        ("OTP_MAX_ATTEMPTS", "11"),
        ("RATE_LIMIT_IPV6_PREFIX", "16"),
        ("RATE_LIMIT_IPV6_PREFIX", "129"),
    ] {
        let e = cfg(Profile::Lambda, &[key, (var, value)]).unwrap_err();
        assert_eq!(e.var, var, "{value}");
    }
    let e = cfg(
        Profile::Lambda,
        &[
            key,
            ("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"),
            ("DEFAULT_CALLBACK_URL", "https://other.example.com/reset"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.var, "DEFAULT_CALLBACK_URL");
}

#[test]
fn sdk_timeouts_default_to_bounds_inside_the_lambda_timeout_and_refuse_nonsense() {
    let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
    let c = cfg(Profile::Lambda, &[key]).unwrap();
    let d = c.store.timeouts;
    assert_eq!(
        (d.operation, d.attempt, d.max_attempts),
        (Duration::from_millis(2_000), Duration::from_millis(700), 3)
    );
    let s = c.mail.timeouts;
    assert_eq!(
        (s.operation, s.attempt, s.max_attempts),
        (
            Duration::from_millis(2_500),
            Duration::from_millis(1_200),
            2
        )
    );
    let c = cfg(
        Profile::Lambda,
        &[
            key,
            ("SES_TIMEOUT_MS", "900"),
            ("SES_ATTEMPT_TIMEOUT_MS", "300"),
        ],
    )
    .unwrap();
    assert_eq!(c.mail.timeouts.operation, Duration::from_millis(900));
    for (vars, bad) in [
        (&[("DYNAMODB_TIMEOUT_MS", "0")][..], "DYNAMODB_TIMEOUT_MS"),
        (
            &[("DYNAMODB_TIMEOUT_MS", "soon")][..],
            "DYNAMODB_TIMEOUT_MS",
        ),
        (
            &[("DYNAMODB_MAX_ATTEMPTS", "0")][..],
            "DYNAMODB_MAX_ATTEMPTS",
        ),
        (&[("SES_MAX_ATTEMPTS", "6")][..], "SES_MAX_ATTEMPTS"),
        (
            &[("DYNAMODB_ATTEMPT_TIMEOUT_MS", "3000")][..],
            "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        ),
        (
            &[("SES_TIMEOUT_MS", "500"), ("SES_ATTEMPT_TIMEOUT_MS", "600")][..],
            "SES_ATTEMPT_TIMEOUT_MS",
        ),
    ] {
        let mut all = vec![key];
        all.extend_from_slice(vars);
        assert_eq!(cfg(Profile::Lambda, &all).unwrap_err().var, bad, "{vars:?}");
    }
}

#[test]
fn argon2_settings_default_to_owasp_and_refuse_weaker_or_malformed_values() {
    let key = ("TOKEN_HMAC_KEY", "0123456789abcdef0123456789abcdef");
    let c = cfg(Profile::Lambda, &[key]).unwrap();
    assert_eq!(c.policy.argon2, Argon2Settings::OWASP);
    let c = cfg(
        Profile::Lambda,
        &[
            key,
            ("ARGON2_MEMORY_KIB", "65536"),
            ("ARGON2_ITERATIONS", "3"),
            ("ARGON2_PARALLELISM", "4"),
        ],
    )
    .unwrap();
    assert_eq!(c.policy.argon2, Argon2Settings::RFC9106_SECOND);
    for (vars, bad) in [
        (&[("ARGON2_MEMORY_KIB", "lots")][..], "ARGON2_MEMORY_KIB"),
        (&[("ARGON2_MEMORY_KIB", "1024")][..], "ARGON2_MEMORY_KIB"),
        (&[("ARGON2_MEMORY_KIB", "1048576")][..], "ARGON2_MEMORY_KIB"),
        (&[("ARGON2_ITERATIONS", "0")][..], "ARGON2_ITERATIONS"),
        (&[("ARGON2_ITERATIONS", "1")][..], "ARGON2_ITERATIONS"),
        (&[("ARGON2_PARALLELISM", "-1")][..], "ARGON2_PARALLELISM"),
        (&[("ARGON2_PARALLELISM", "64")][..], "ARGON2_PARALLELISM"),
    ] {
        let mut all = vec![key];
        all.extend_from_slice(vars);
        assert_eq!(cfg(Profile::Lambda, &all).unwrap_err().var, bad, "{vars:?}");
    }
}

mod credentials;
mod dialects;
mod observe;
