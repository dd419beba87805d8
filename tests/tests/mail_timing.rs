//! The public request's answer does not depend on SES: its mail must be handed over before
//! the response floor or it is abandoned, so a throttled, slow or hung SES cannot separate a
//! known address from an unknown one, by status, body, headers or time.
//!
//! Deterministic part: a mailer that never answers, with a fixed clock (the answer comes
//! exactly at the floor for both). Measured part: the real SES and DynamoDB adapters on moto
//! behind the fault proxy, the system clock and the default 400 ms floor, for SES healthy,
//! throttled, slow and hung; the figures are printed (docs/timing.md quotes a run), and what is
//! asserted is what is the same for both (status, headers, body) plus a guard against hangs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use integration_tests::app::{self, Backend, Memory, T0, call};
use integration_tests::faults::{Fault, FaultProxy, SES_SEND};
use integration_tests::moto;
use serde_json::json;
use shared::clock::{Clock, FixedClock};
use shared::mail::{Mail, MailError, Mailer};
use shared::service::Operation;
use shared::store::dynamodb::NewUser;
use shared::wiring::{Adapters, Store};

/// A provider that accepts the call and never answers.
struct HungMailer;

#[async_trait::async_trait]
impl Mailer for HungMailer {
    async fn send(&self, _mail: &Mail) -> Result<(), MailError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_hung_mail_provider_cannot_delay_the_public_answer_past_the_floor() {
    let backend = Memory::start("hung-mail", &[("MIN_REQUEST_RESPONSE_MS", "400")]).await;
    backend.put_user("user-ada", "ada@example.com").await;
    let clock = Arc::new(FixedClock::at(T0));
    let service = Adapters::new(backend.adapter(), Arc::new(HungMailer))
        .with_clock(clock.clone())
        .service(backend.config());
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let start = clock.now_ms();
        let r = public_request(&service, email, Duration::from_secs(30))
            .await
            .expect("the public answer does not wait for the provider");
        assert_eq!(clock.now_ms() - start, 400, "{email}: exactly at the floor");
        answers.push((r.status, format!("{:?}", r.headers), r.body.to_string()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::OK);
    // The unsent code keeps its slot, as an unknown address's request does.
    let key = backend.config().keys.current;
    let ada = shared::domain::EmailAddress::parse("ada@example.com").unwrap();
    assert_eq!(
        backend
            .store()
            .live_slots(&key.email_key(&ada), T0)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A public `request` for `email` through the edge; `Err` if it has not answered within `limit`
/// (the tests' guard against a hang, far above any floor).
async fn public_request(
    service: &shared::service::ResetService,
    email: &str,
    limit: Duration,
) -> Result<app::Response, tokio::time::error::Elapsed> {
    let body = json!({"email": email});
    tokio::time::timeout(limit, call(service, Operation::Request, body, &[], None)).await
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// "median / p95 / max" of `t` in milliseconds, for the printed tables.
fn row(t: &mut [Duration]) -> String {
    t.sort();
    format!(
        "{:.1} / {:.1} / {:.1}",
        ms(percentile(t, 0.5)),
        ms(percentile(t, 0.95)),
        ms(t[t.len() - 1])
    )
}

/// `per_side` public requests for new known addresses (seeded in `seeding`) and as many for
/// unknown ones, alternating; asserts every answer is the same (status, headers, body) and
/// returns the table row `| label | known | unknown |`. `n` numbers the addresses across calls.
pub(crate) async fn known_and_unknown(
    service: &shared::service::ResetService,
    seeding: &Store,
    prefix: &str,
    n: &mut usize,
    per_side: usize,
    label: &str,
) -> String {
    let (mut known, mut unknown, mut answers) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..per_side {
        *n += 1;
        let user = format!("k{n}.{prefix}@example.com");
        seeding
            .put_user(&NewUser {
                id: &format!("u{n}"),
                email: &user,
                password_hash: None,
                enabled: None,
            })
            .await
            .unwrap();
        let nobody = format!("n{n}.{prefix}@example.com");
        for (email, times) in [(&user, &mut known), (&nobody, &mut unknown)] {
            let started = Instant::now();
            let r = public_request(service, email, Duration::from_secs(20))
                .await
                .unwrap_or_else(|_| panic!("{label}: a public request hung"));
            times.push(started.elapsed());
            answers.push((r.status, format!("{:?}", r.headers), r.body.to_string()));
        }
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "{label}: every answer is the same for known and unknown: {answers:?}"
    );
    assert_eq!(answers[0].0, StatusCode::OK, "{label}");
    format!("| {label} | {} | {} |", row(&mut known), row(&mut unknown))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_slow_or_hung_ses_answers_known_and_unknown_alike_at_the_floor() {
    const PER_SIDE: usize = 8;
    let prefix = moto::unique_prefix("mail-timing");
    let sender = format!("reset.{prefix}@example.com");
    moto::verify_sender(&sender).await;
    let config = app::config(
        &format!("{prefix}-reset"),
        &format!("{prefix}-users"),
        &[
            ("MAIL_FROM", &sender),
            ("MIN_REQUEST_RESPONSE_MS", "400"),
            // This test is about the mail, not the IP limit (its calls share one bucket).
            ("RATE_LIMIT_REQUEST", "0/600"),
        ],
    );
    let direct = moto::dynamodb();
    moto::create_tables(&direct, &config).await;
    let modes: [(&str, Option<Fault>); 5] = [
        ("healthy", None),
        (
            "throttled (429 on every send)",
            Some(Fault::ses_too_many_requests()),
        ),
        (
            "slow (1 s per send)",
            Some(Fault::Latency(Duration::from_secs(1))),
        ),
        (
            "slow (300 ms per send)",
            Some(Fault::Latency(Duration::from_millis(300))),
        ),
        ("hung", Some(Fault::Hang)),
    ];
    let seeding = Store::dynamodb(&config.store, direct);
    let mut n = 0;
    println!("| SES | known median / p95 / max (ms) | unknown median / p95 / max (ms) |");
    println!("|---|---|---|");
    for (label, fault) in modes {
        let proxy = FaultProxy::in_front_of_moto().await;
        if let Some(fault) = fault {
            proxy.fail_from_now(SES_SEND, fault);
        }
        // The Lambdas' clients (their timeouts and attempts), through the proxy.
        let sdk = moto::sdk_config(&proxy.endpoint());
        let db = shared::wiring::dynamodb_client(&sdk, &config.store.timeouts);
        let ses = shared::wiring::ses_client(&sdk, &config.mail.timeouts);
        let service = Adapters::aws(&config, db, ses).service(config.clone());
        let line = known_and_unknown(&service, &seeding, &prefix, &mut n, PER_SIDE, label).await;
        println!("{line}");
        proxy.heal();
    }
}
