//! The breached-password check on consume, through the real HTTP edge and the real range-API
//! client, against a fake range API on 127.0.0.1 that records what it received: only the
//! five-character hash prefix and the padding header leave the process; a breached password is
//! refused and the code stays valid; an API that fails or is slow is passed (logged) or, with
//! `PWNED_PASSWORDS_FAIL_CLOSED`, answered 503 with `Retry-After`; and the check runs beside
//! the code lookup (forced with a gate), so it adds no sequential round trip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use sha1::{Digest, Sha1};
use tracing::instrument::WithSubscriber;

use integration_tests::app::{Backend, Memory, TestApp, password};
use integration_tests::edge::EdgeApp;
use integration_tests::fake_api::{FakeApi, Reply};
use integration_tests::gate::{Gate, GatedStore, Held};
use shared::breach::{BreachCheck, BreachError};
use shared::domain::{Locale, NewPassword};
use shared::http::{BREACHED_PASSWORD_MESSAGE, THIRD_PARTY_RETRY_AFTER_SECS};
use shared::logging::{Capture, Settings};
use shared::service::{ClientIp, ConsumeReset};
use shared::wiring::{Adapters, BREACH_CHECK_TIMEOUT};

/// A password the tests' fake API lists as breached.
const BREACHED: &str = "correct horse battery staple";
/// A password it does not list.
const FRESH: &str = "a never seen passphrase";

/// The upper-case hex SHA-1 of `password`, as the range API indexes it.
fn sha1_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A padded range answer that lists `listed` (password, count) under their suffixes, plus
/// padding lines (count 0), one of them the suffix of `padded`.
fn range_answer(listed: &[(&str, u64)], padded: &str) -> String {
    let mut lines: Vec<String> = listed
        .iter()
        .map(|(p, n)| format!("{}:{n}", &sha1_hex(p)[5..]))
        .collect();
    lines.push(format!("{}:0", &sha1_hex(padded)[5..]));
    lines.push("0018A45C4D1DEF81644B54AB7F969B88D65:3".to_owned());
    lines.push("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0".to_owned());
    lines.join("\r\n")
}

fn app_against(api: &FakeApi, extra: &[(&str, &str)]) -> EdgeApp {
    let url = api.url();
    let mut env = vec![("PWNED_PASSWORDS_URL", url.as_str())];
    env.extend_from_slice(extra);
    EdgeApp::with_env(&env)
}

#[tokio::test]
async fn a_breached_password_is_refused_and_the_code_stays_valid() {
    let api = FakeApi::start(Reply::Body(200, range_answer(&[(BREACHED, 42)], FRESH))).await;
    let app = app_against(&api, &[]);
    let code = app.code_for_ada().await;
    let before = app.ada_hash();

    let refused = app.consume(&code, BREACHED).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.raw);
    assert_eq!(refused.code(), "VALIDATION_FAILED");
    assert_eq!(
        refused.json["field_errors"]["password"],
        BREACHED_PASSWORD_MESSAGE
    );
    assert_eq!(app.ada_hash(), before, "the password is unchanged");
    assert_eq!(app.check(&code).await.json["is_valid"], true, "not spent");

    // The same code then sets a password the API has never seen.
    let set = app.consume(&code, FRESH).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);
    assert_ne!(app.ada_hash(), before);
}

#[tokio::test]
async fn the_range_request_carries_only_the_hash_prefix_and_the_padding_header() {
    let api = FakeApi::start(Reply::Body(200, range_answer(&[(BREACHED, 42)], FRESH))).await;
    let app = app_against(&api, &[]);
    let code = app.code_for_ada().await;
    app.consume(&code, BREACHED).await;
    app.consume(&code, FRESH).await;

    let received = api.received();
    assert_eq!(received.len(), 2, "one range request per consume");
    for (req, password) in received.iter().zip([BREACHED, FRESH]) {
        let hash = sha1_hex(password);
        let (prefix, suffix) = hash.split_at(5);
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, format!("/range/{prefix}"));
        assert_eq!(req.headers["add-padding"], "true");
        assert!(req.body.is_empty());
        let sent = req.everything();
        for secret in [
            password.to_owned(),
            password.replace(' ', "+"),
            password.replace(' ', "%20"),
            hash.clone(),
            suffix.to_owned(),
            suffix.to_ascii_lowercase(),
            suffix[..8].to_owned(),
        ] {
            assert!(
                !sent
                    .to_ascii_lowercase()
                    .contains(&secret.to_ascii_lowercase()),
                "the request holds more than the prefix: {secret:?} in {sent}"
            );
        }
    }
}

#[tokio::test]
async fn padding_lines_and_counts_under_the_threshold_do_not_refuse() {
    // FRESH's suffix is listed as padding (count 0); BREACHED with 3 sightings under a
    // threshold of 10.
    let api = FakeApi::start(Reply::Body(200, range_answer(&[(BREACHED, 3)], FRESH))).await;
    let app = app_against(&api, &[("PWNED_PASSWORDS_MIN_COUNT", "10")]);
    let code = app.code_for_ada().await;
    let set = app.consume(&code, FRESH).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);

    let code = app.code_for_ada().await;
    let set = app.consume(&code, BREACHED).await;
    assert_eq!(set.status, StatusCode::OK, "3 < 10: {}", set.raw);

    api.reply_with(Reply::Body(200, range_answer(&[(BREACHED, 10)], FRESH)));
    let code = app.code_for_ada().await;
    let refused = app.consume(&code, BREACHED).await;
    assert_eq!(refused.code(), "VALIDATION_FAILED", "10 >= 10");
}

/// Consumes Ada's code with [`FRESH`] while the API misbehaves; the answer, how long it took,
/// and what the service logged.
async fn consume_while(
    reply: Reply,
    fail_closed: bool,
) -> (EdgeApp, String, u16, Duration, String) {
    let api = FakeApi::start(reply).await;
    let flag = if fail_closed { "true" } else { "false" };
    let app = app_against(&api, &[("PWNED_PASSWORDS_FAIL_CLOSED", flag)]);
    let code = app.code_for_ada().await;
    let capture = Capture::default();
    let settings = Settings::from_lookup(|k| (k == "RUST_LOG").then(|| "info".to_owned()));
    let subscriber = shared::logging::subscriber(&settings, capture.clone());
    let started = Instant::now();
    let reply = app.consume(&code, FRESH).with_subscriber(subscriber).await;
    let took = started.elapsed();
    assert_eq!(api.received().len(), 1, "the API was asked once");
    if reply.status == StatusCode::SERVICE_UNAVAILABLE {
        assert_eq!(
            reply.headers["retry-after"],
            THIRD_PARTY_RETRY_AFTER_SECS.to_string()
        );
    }
    let status = reply.status.as_u16();
    (app, code, status, took, capture.text())
}

#[tokio::test]
async fn a_failing_api_passes_the_password_and_says_so_unless_told_to_fail_closed() {
    let (app, _, status, _, logs) = consume_while(Reply::Body(500, String::new()), false).await;
    assert_eq!(status, 200, "fail-open by default");
    assert!(
        logs.contains("breached-password check failed; password accepted unchecked"),
        "{logs}"
    );
    assert!(!logs.contains(FRESH), "{logs}");
    assert!(app.ada_hash().is_some());

    let (app, code, status, _, logs) = consume_while(Reply::Body(500, String::new()), true).await;
    assert_eq!(status, 503, "fail-closed");
    assert!(logs.contains("PWNED_PASSWORDS_FAIL_CLOSED"), "{logs}");
    assert_eq!(app.check(&code).await.json["is_valid"], true, "not spent");
}

#[tokio::test]
async fn a_slow_api_hits_the_timeout_and_is_failed_open_or_closed() {
    let slow = || Reply::Slow(BREACH_CHECK_TIMEOUT * 4, 200, String::new());
    let (_, _, status, took, logs) = consume_while(slow(), false).await;
    assert_eq!(status, 200);
    assert!(logs.contains("no answer within"), "{logs}");
    assert!(
        took < BREACH_CHECK_TIMEOUT * 3,
        "bounded by the timeout, not the API: {took:?}"
    );

    let (app, code, status, took, _) = consume_while(slow(), true).await;
    assert_eq!(status, 503);
    assert!(took < BREACH_CHECK_TIMEOUT * 3, "{took:?}");
    assert_eq!(app.check(&code).await.json["is_valid"], true, "not spent");
}

#[tokio::test]
async fn an_unreachable_api_is_failed_open_by_default() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let app = EdgeApp::with_env(&[("PWNED_PASSWORDS_URL", &url)]);
    let code = app.code_for_ada().await;
    let set = app.consume(&code, FRESH).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);
}

/// A breach check that answers only once the code's lookup has reached the store as well.
struct AtTheGate(Arc<Gate>);

#[async_trait::async_trait]
impl BreachCheck for AtTheGate {
    async fn times_seen(&self, _password: &NewPassword) -> Result<u64, BreachError> {
        self.0.pass().await;
        Ok(0)
    }
}

#[tokio::test]
async fn the_breach_check_runs_beside_the_code_lookup_not_after_it() {
    let app = TestApp::<Memory>::with_user("beside", &[], "ada@example.com").await;
    app.request("ada@example.com").await.unwrap();
    let code = app.last_code();
    // The token lookup and the breach check each wait until both have started: only a consume
    // that runs them concurrently gets past the gate.
    let gate = Gate::opens_after(2);
    let service = Adapters::new(app.backend.adapter(), app.inbox.clone())
        .with_clock(app.clock.clone())
        .map_reset_store(|inner| GatedStore::new(inner, Held::Token, gate.clone()))
        .with_breach_check(Arc::new(AtTheGate(gate.clone())))
        .service(app.backend.config());
    let consume = service.consume(ConsumeReset {
        code: Some(code).into(),
        password: password(FRESH),
        locale: Locale::only("en"),
        client_ip: ClientIp::Exempt,
    });
    let done = tokio::time::timeout(Duration::from_secs(10), consume).await;
    assert!(
        done.is_ok(),
        "the check waited for the lookup to finish (or the reverse)"
    );
    done.unwrap().expect("the password is set");
    assert_eq!(gate.arrived(), 2);
}
