//! The events cost the public request no time it can show: each put runs beside the mail and
//! must end before the response floor, so a slow, hung or unreachable bus answers known and
//! unknown addresses alike, at the floor. Measured on moto (DynamoDB and SES direct, EventBridge
//! behind the fault proxy), the Lambdas' own clients, the system clock: the figures are printed
//! (BENCHMARKS.md quotes a run, "Events"); what is asserted is what is the same for both
//! (status, headers, body) and a guard against hangs, never a time.

use std::time::Duration;

use integration_tests::app;
use integration_tests::faults::{Fault, FaultProxy};
use integration_tests::moto;
use shared::events::eventbridge::EventBridgeSink;
use shared::service::ResetService;
use shared::wiring::{Adapters, Store};

use crate::mail_timing::known_and_unknown;

const PUT_EVENTS: &str = "AWSEvents.PutEvents";

/// The production adapters on moto, with events (through `events_endpoint`) or without.
fn service(config: &shared::config::Config, events_endpoint: Option<&str>) -> ResetService {
    let direct = moto::sdk_config(&moto::endpoint());
    let db = shared::wiring::dynamodb_client(&direct, &config.store.timeouts);
    let ses = shared::wiring::ses_client(&direct, &config.mail.timeouts);
    let adapters = Adapters::aws(config, db, ses);
    let adapters = match (events_endpoint, &config.observe.event_bus) {
        (Some(endpoint), Some(bus)) => {
            let client = shared::wiring::events_client(&moto::sdk_config(endpoint));
            let source = config.observe.event_source.clone();
            adapters.with_events(std::sync::Arc::new(EventBridgeSink::new(
                client,
                bus.clone(),
                source,
            )))
        }
        _ => adapters,
    };
    adapters.service(config.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_hung_or_unreachable_bus_answers_known_and_unknown_alike_at_the_floor() {
    const PER_SIDE: usize = 6;
    let prefix = moto::unique_prefix("event-timing");
    let sender = format!("reset.{prefix}@example.com");
    moto::verify_sender(&sender).await;
    let bus = format!("{prefix}-bus");
    aws_sdk_eventbridge::Client::new(&moto::sdk_config(&moto::endpoint()))
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("create the bus");
    let tables = (format!("{prefix}-reset"), format!("{prefix}-users"));
    let vars = |floor: &'static str| {
        [
            ("MAIL_FROM", sender.clone()),
            ("MIN_REQUEST_RESPONSE_MS", floor.to_owned()),
            ("RATE_LIMIT_REQUEST", "0/600".to_owned()),
            ("EVENT_BUS_NAME", bus.clone()),
        ]
    };
    let config_for = |floor: &'static str| {
        let vars = vars(floor);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app::config(&tables.0, &tables.1, &vars)
    };
    let config = config_for("400");
    let direct = moto::dynamodb();
    moto::create_tables(&direct, &config).await;
    let seeding = Store::dynamodb(&config.store, direct);

    // (label, floor, events on, fault on PutEvents)
    let modes: [(&str, &'static str, bool, Option<Fault>); 7] = [
        ("no floor, events off", "0", false, None),
        ("no floor, bus healthy", "0", true, None),
        ("floor 400 ms, events off", "400", false, None),
        ("floor 400 ms, bus healthy", "400", true, None),
        (
            "floor 400 ms, bus slow (300 ms)",
            "400",
            true,
            Some(Fault::Latency(Duration::from_millis(300))),
        ),
        ("floor 400 ms, bus hung", "400", true, Some(Fault::Hang)),
        (
            "floor 400 ms, bus unreachable",
            "400",
            true,
            Some(Fault::Drop),
        ),
    ];
    let mut n = 0;
    println!("| events | known median / p95 / max (ms) | unknown median / p95 / max (ms) |");
    println!("|---|---|---|");
    for (label, floor, events, fault) in modes {
        let proxy = FaultProxy::in_front_of_moto().await;
        if let Some(fault) = fault {
            proxy.fail_from_now(PUT_EVENTS, fault);
        }
        let config = config_for(floor);
        let service = service(&config, events.then(|| proxy.endpoint()).as_deref());
        let line = known_and_unknown(&service, &seeding, &prefix, &mut n, PER_SIDE, label).await;
        if events {
            assert!(proxy.calls(PUT_EVENTS) > 0, "{label}: the events were put");
        }
        println!("{line}");
    }
}
