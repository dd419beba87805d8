//! The time bounds: a store or SES that never answers costs a bounded time, and the bounds the
//! template sets fit inside every function's timeout.

use super::*;

// ------------------------------------------------------------------------------ timeouts

/// Settings that make a hanging service cost well under a second.
const SHORT_TIMEOUTS: &[(&str, &str)] = &[
    ("DYNAMODB_TIMEOUT_MS", "400"),
    ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "150"),
    ("DYNAMODB_MAX_ATTEMPTS", "2"),
    ("SES_TIMEOUT_MS", "400"),
    ("SES_ATTEMPT_TIMEOUT_MS", "150"),
    ("SES_MAX_ATTEMPTS", "2"),
];

/// Only SES bounded short: the store behind it is moto on a busy machine, where a 150 ms
/// attempt bound on the slot's release would make the test measure the machine, not the code.
const SHORT_SES_TIMEOUTS: &[(&str, &str)] = &[
    ("SES_TIMEOUT_MS", "400"),
    ("SES_ATTEMPT_TIMEOUT_MS", "150"),
    ("SES_MAX_ATTEMPTS", "2"),
];

/// A guard far above any bound: a missing timeout fails the test instead of hanging it.
const NEVER: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_store_that_accepts_connections_and_never_answers_gets_503_with_retry_after_in_bounded_time()
 {
    // Nothing upstream: every call hangs before it would be forwarded.
    let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], 9))).await;
    proxy.fail_from(ANY, 1, Fault::Hang);
    let config = app::config("reset", "users", SHORT_TIMEOUTS);
    let (db, ses) = clients(&proxy.endpoint(), &config, "hang");
    let timeouts = db.config().timeout_config().expect("timeouts are set");
    assert_eq!(
        timeouts.operation_timeout(),
        Some(Duration::from_millis(400))
    );
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_millis(150))
    );
    let service = Adapters::aws(&config, db, ses)
        .with_clock(Arc::new(FixedClock::at(T0)))
        .service(config.clone());
    let code = ResetCode::generate();
    let ip = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
    for (op, body) in [
        (Operation::Request, json!({"email": "ada@example.com"})),
        (Operation::Check, json!({"code": code.expose()})),
        (
            Operation::Consume,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
        ),
    ] {
        let started = Instant::now();
        let r = tokio::time::timeout(NEVER, app::call(&service, op, body, &[], ip))
            .await
            .unwrap_or_else(|_| panic!("{} hung past {NEVER:?}", op.name()));
        assert_503(&r);
        // Each operation fails on its first wave: one 400 ms bound. Loose on purpose.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} took {:?}",
            op.name(),
            started.elapsed()
        );
    }
    assert!(proxy.calls(ANY) >= 3, "every operation reached the store");
}

#[tokio::test]
async fn an_ses_that_never_answers_costs_the_server_caller_a_502_in_bounded_time_and_its_slot_back()
{
    let rig = Rig::start("ses-hang", Mail::Ses, SHORT_SES_TIMEOUTS).await;
    rig.proxy.fail_from_now(SES_SEND, Fault::Hang);
    let started = Instant::now();
    let r = tokio::time::timeout(NEVER, server_request(&rig))
        .await
        .expect("the mail timed out");
    assert_502(&r);
    // Two 150 ms attempts inside one 400 ms bound, plus the store's own calls. Loose on purpose.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(rig.proxy.calls(SES_SEND) >= 1);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[test]
fn the_lambda_clients_carry_the_configured_timeouts_and_attempts() {
    let config = app::config("reset", "users", &[]);
    let sdk = moto::sdk_config("http://127.0.0.1:9");
    let db = shared::wiring::dynamodb_client(&sdk, &config.store.timeouts);
    let t = db.config().timeout_config().expect("timeouts");
    let d = config.store.timeouts;
    assert_eq!(t.operation_timeout(), Some(d.operation));
    assert_eq!(t.operation_attempt_timeout(), Some(d.attempt));
    assert_eq!(t.connect_timeout(), Some(d.attempt));
    let retry = db.config().retry_config().expect("retries");
    assert_eq!(retry.max_attempts(), d.max_attempts);

    let ses = shared::wiring::ses_client(&sdk, &config.mail.timeouts);
    let t = ses.config().timeout_config().expect("timeouts");
    assert_eq!(t.operation_timeout(), Some(config.mail.timeouts.operation));
    assert_eq!(
        ses.config().retry_config().map(|r| r.max_attempts()),
        Some(config.mail.timeouts.max_attempts)
    );
}

/// The value `template.yaml` hands to the functions for `var` (a quoted literal).
fn template_value(template: &str, var: &str) -> u64 {
    template
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{var}:")))
        .map(|v| v.trim().trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("template.yaml sets {var} to a number"))
}

#[test]
fn the_time_bounds_the_template_sets_fit_inside_every_function_timeout() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template = std::fs::read_to_string(path).expect("template.yaml");
    let shortest_timeout_ms = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Timeout:"))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .min()
        .expect("a Lambda timeout")
        * 1000;
    let dynamodb = template_value(&template, "DYNAMODB_TIMEOUT_MS");
    let ses = template_value(&template, "SES_TIMEOUT_MS");
    // The failure path of request: lookup wave, claim, mail, release; of consume: token wave,
    // slots wave, transaction, notice. Three DynamoDB calls and one SES call in sequence, plus
    // a second of headroom for hashing, the conflict backoff and the runtime.
    let worst = 3 * dynamodb + ses + 1000;
    assert!(
        worst <= shortest_timeout_ms,
        "3 x {dynamodb} + {ses} + 1000 ms exceeds the {shortest_timeout_ms} ms Lambda timeout"
    );
    let defaults = app::config("reset", "users", &[]);
    assert_eq!(
        dynamodb,
        defaults.store.timeouts.operation.as_millis() as u64
    );
    assert_eq!(ses, defaults.mail.timeouts.operation.as_millis() as u64);
}
