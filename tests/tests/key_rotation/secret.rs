//! The token keys from Secrets Manager on moto: read once at init, in-process and through the
//! real `check` binary under a Runtime API stand-in; a missing or malformed secret stops init
//! naming the setting, never the value; and what reading it costs.

use super::*;

/// Creates a secret with a string value through the SDK; returns its ARN.
async fn create_secret(label: &str, value: &str) -> String {
    shared::wiring::secrets_client(&moto::sdk_config(&moto::endpoint()))
        .create_secret()
        .name(moto::unique_prefix(label))
        .secret_string(value)
        .send()
        .await
        .expect("create the secret on moto")
        .arn()
        .expect("an ARN")
        .to_owned()
}

/// `config_with_secret` on moto with exactly these variables (no `TOKEN_HMAC_KEY` unless given).
async fn config_from_vars(vars: &[(&str, &str)]) -> Result<shared::config::Config, ConfigError> {
    shared::wiring::config_with_secret(&moto::sdk_config(&moto::endpoint()), |k| {
        vars.iter()
            .find(|(v, _)| *v == k)
            .map(|(_, x)| (*x).to_owned())
    })
    .await
}

/// `config_with_secret` with the test settings (no `TOKEN_HMAC_KEY`) and `arn`.
async fn config_from_secret(arn: &str) -> Result<shared::config::Config, ConfigError> {
    config_from_vars(&[
        (TOKEN_KEY_SECRET_VAR, arn),
        ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN),
        ("DEFAULT_CALLBACK_URL", CALLBACK),
    ])
    .await
}

fn rotation_secret() -> String {
    json!({"current": KEY_B, "previous": TOKEN_KEY}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_the_current_and_previous_keys_from_secrets_manager() {
    let arn = create_secret("keys", &rotation_secret()).await;
    let from_secret = config_from_secret(&arn).await.expect("the secret is read");
    let from_env = config(
        "t",
        "u",
        &[
            ("TOKEN_HMAC_KEY", KEY_B),
            ("TOKEN_HMAC_KEY_PREVIOUS", TOKEN_KEY),
        ],
    );
    let code = ResetCode::generate();
    let hashes = |c: &shared::config::Config| {
        c.verifying_keys()
            .map(|k| k.code_hash(&code))
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(&from_secret), hashes(&from_env));
    assert_eq!(hashes(&from_secret).len(), 2);

    // The key alone (what the template's generated secret holds) is the current key.
    let arn = create_secret("plain", KEY_B).await;
    let plain = config_from_secret(&arn).await.expect("the secret is read");
    assert_eq!(
        hashes(&plain),
        hashes(&config("t", "u", &[("TOKEN_HMAC_KEY", KEY_B)]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_secret_stops_init_naming_the_setting_never_the_value() {
    const LEAK: &str = "this-value-must-never-be-echoed-0123456789";
    let missing = format!(
        "arn:aws:secretsmanager:{}:123456789012:secret:no-such-secret-AbCdEf",
        moto::REGION
    );
    let binary = {
        let name = moto::unique_prefix("binary");
        shared::wiring::secrets_client(&moto::sdk_config(&moto::endpoint()))
            .create_secret()
            .name(&name)
            .secret_binary(aws_smithy_types::Blob::new(LEAK.as_bytes()))
            .send()
            .await
            .expect("create a binary secret")
            .arn()
            .expect("an ARN")
            .to_owned()
    };
    let mut cases = vec![("missing", missing), ("binary", binary)];
    for (label, value) in [
        ("truncated", format!(r#"{{"current": "{LEAK}""#)),
        ("misspelt", format!(r#"{{"curent": "{LEAK}"}}"#)),
        (
            "extra",
            format!(r#"{{"current": "{LEAK}", "old": "{LEAK}"}}"#),
        ),
        (
            "number",
            format!(r#"{{"current": 7, "previous": "{LEAK}"}}"#),
        ),
        ("short", "short-this-value-must".to_owned()),
        (
            "short-previous",
            format!(r#"{{"current": "{LEAK}", "previous": "short-this-value"}}"#),
        ),
    ] {
        cases.push((label, create_secret(label, &value).await));
    }
    for (label, arn) in cases {
        let e = config_from_secret(&arn)
            .await
            .expect_err("init must stop on a bad secret");
        assert_eq!(e.var, TOKEN_KEY_SECRET_VAR, "{label}");
        let shown = format!("{e} | {e:?}");
        assert!(!shown.contains("this-value"), "{label}: {shown}");
    }
}

/// A check event for `code`, as API Gateway sends it.
fn check_event(code: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = json!({ "code": code }).to_string();
    event["headers"]["content-length"] = body.len().to_string().into();
    event["body"] = body.into();
    event
}

/// Lambda's environment for `function` against `api` and moto, with `keys` for the token key.
fn lambda_env(
    function: &str,
    api: &str,
    backend: &Dynamo,
    keys: (&str, &str),
) -> Vec<(&'static str, String)> {
    let mut env = integration_tests::runtime_api::lambda_env(function, api, &moto::endpoint());
    env.extend([
        ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN.into()),
        ("DEFAULT_CALLBACK_URL", CALLBACK.into()),
        ("RESET_TABLE_NAME", backend.reset_table().to_owned()),
        ("USERS_TABLE_NAME", backend.users_table().to_owned()),
        ("MIN_REQUEST_RESPONSE_MS", "0".into()),
    ]);
    let var = if keys.0 == TOKEN_KEY_SECRET_VAR {
        TOKEN_KEY_SECRET_VAR
    } else {
        "TOKEN_HMAC_KEY"
    };
    env.push((var, keys.1.to_owned()));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_function_reads_its_keys_from_the_secret_at_init() {
    let bin = function_binary("check");
    let mut app = app_with_ada::<Dynamo>("rotate-fn").await;
    // A code issued under A (before the rotation), one under B (after it).
    app.request(ADA).await.expect("request under key A");
    let code_a = app.last_code();
    let service = rotated(&app);
    request_with(&mut app, service, ADA)
        .await
        .expect("request under key B");
    let code_b = app.last_code();
    let arn = create_secret("fn-keys", &rotation_secret()).await;

    let api = RuntimeApi::start().await;
    let env = lambda_env(
        "check",
        &api.address(),
        &app.backend,
        (TOKEN_KEY_SECRET_VAR, &arn),
    );
    let function = Function::start(&bin, &env);
    for code in [&code_a, &code_b] {
        let answer = api
            .invoke(&check_event(code.expose()), Duration::from_secs(60))
            .await;
        let Some(Answer::Response(r)) = answer else {
            panic!("check answered {answer:?}; logs:\n{}", function.stop());
        };
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(r["statusCode"], 200, "{body}");
        assert_eq!(body["is_valid"], true, "{body}");
    }
    assert!(api.init_errors().is_empty(), "{:?}", api.init_errors());
    let logs = function.stop();
    assert!(
        logs.contains("token key read from Secrets Manager"),
        "{logs}"
    );
    for secret in [TOKEN_KEY, KEY_B] {
        assert!(!logs.contains(secret), "a key is in the logs:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_function_stops_at_init_on_a_malformed_secret_without_echoing_it() {
    const LEAK: &str = "function-must-never-echo-this-0123456789";
    let bin = function_binary("check");
    let backend = Dynamo::start("rotate-bad", &[]).await;
    let arn = create_secret("fn-bad", &format!(r#"{{"current": "{LEAK}""#)).await;
    let api = RuntimeApi::start().await;
    let env = lambda_env(
        "check",
        &api.address(),
        &backend,
        (TOKEN_KEY_SECRET_VAR, &arn),
    );
    // The process ends by itself: run it to its exit (bounded), not through `Function`.
    let mut child = spawn_function(&bin, &env);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the check binary") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the check binary did not stop at init within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().expect("its output");
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!status.success(), "init must fail: {logs}");
    assert!(logs.contains(TOKEN_KEY_SECRET_VAR), "{logs}");
    assert!(!logs.contains("never-echo-this"), "{logs}");
    assert!(
        api.unexpected_requests().is_empty() && api.init_errors().is_empty(),
        "it stopped before the runtime loop: nothing asked for an event or reported to it"
    );
}

/// The init cost of the secret, on moto (plain HTTP on 127.0.0.1, so no TLS handshake): a
/// fresh SDK client and one GetSecretValue, against the environment-only path. Printed, not
/// asserted (BENCHMARKS.md, "Token key from Secrets Manager").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_secret_at_init_costs_one_round_trip() {
    let arn = create_secret("cost", &rotation_secret()).await;
    let mut with_secret = Vec::new();
    let mut env_only = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        config_from_secret(&arn).await.expect("read");
        with_secret.push(t.elapsed());
        let t = Instant::now();
        let _ = config("t", "u", &[("TOKEN_HMAC_KEY", KEY_B)]);
        env_only.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    eprintln!(
        "config with the secret read (fresh client + GetSecretValue on moto): median {:?}, max {:?}; \
         from the environment: median {:?}",
        median(&mut with_secret),
        with_secret.last().unwrap(),
        median(&mut env_only)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_captcha_secret_is_read_from_its_secret_at_init_beside_the_token_key() {
    const CAPTCHA_SECRET: &str = "captcha-secret-from-secrets-manager";
    let token_arn = create_secret("token", KEY_B).await;
    let captcha_arn = create_secret("captcha", CAPTCHA_SECRET).await;
    let read = |captcha_secret_in_env: Option<&'static str>| {
        let (token_arn, captcha_arn) = (token_arn.clone(), captcha_arn.clone());
        async move {
            config_from_vars(&[
                (TOKEN_KEY_SECRET_VAR, token_arn.as_str()),
                ("CAPTCHA_PROVIDER", "hcaptcha"),
                ("CAPTCHA_SECRET_ARN", captcha_arn.as_str()),
                ("CAPTCHA_SECRET", captcha_secret_in_env.unwrap_or("")),
                ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN),
                ("DEFAULT_CALLBACK_URL", CALLBACK),
            ])
            .await
        }
    };
    let config = read(None).await.expect("both secrets are read");
    let captcha = config.captcha.expect("the CAPTCHA is on");
    assert_eq!(captcha.secret.as_str(), CAPTCHA_SECRET);
    assert_eq!(
        captcha.verify_url.as_str(),
        "https://api.hcaptcha.com/siteverify"
    );

    // Both sources at once stop init, naming the setting, never a value.
    let e = read(Some("also-in-the-environment")).await.unwrap_err();
    assert_eq!(e.var, "CAPTCHA_SECRET_ARN");
    assert!(!e.to_string().contains("also-in-the-environment"));
    assert!(!e.to_string().contains(CAPTCHA_SECRET));
}
