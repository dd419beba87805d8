//! The production IP limiter (DynamoDB windows) driven to its limit by concurrent bursts.

use super::*;

// -------------------------------------------------------- the IP limiter at its limit

/// The real service on DynamoDB on moto (no proxy) with `RATE_LIMIT_CHECK` = `limit`.
async fn limited_service(label: &str, limit: &str) -> (Arc<ResetService>, Arc<FixedClock>) {
    let prefix = moto::unique_prefix(label);
    let config = app::config(
        &format!("{prefix}-reset"),
        &format!("{prefix}-users"),
        &[("RATE_LIMIT_CHECK", limit)],
    );
    let client = moto::dynamodb();
    moto::create_tables(&client, &config).await;
    let clock = Arc::new(FixedClock::at(T0));
    let service = Adapters::new(
        Store::dynamodb(&config.store, client),
        Arc::new(RecordingMailer::new()),
    )
    .with_clock(clock.clone())
    .service(config);
    (Arc::new(service), clock)
}

/// `n` concurrent checks from `ip`: (admitted, limited). Every limited answer is the IP
/// limit's 429 with `Retry-After`.
async fn burst(service: &Arc<ResetService>, ip: IpAddr, n: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let code = ResetCode::generate();
                app::call(
                    &service,
                    Operation::Check,
                    json!({"code": code.expose()}),
                    &[],
                    Some(ip),
                )
                .await
            })
        })
        .collect();
    let (mut admitted, mut limited) = (0, 0);
    for task in tasks {
        let r = task.await.expect("task ran");
        match r.status.as_u16() {
            200 => {
                assert_eq!(r.body["is_valid"], false);
                admitted += 1;
            }
            429 => {
                assert_eq!(r.body["code"], "TOO_MANY_REQUESTS");
                assert!(r.headers.contains_key("retry-after"));
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    (admitted, limited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_from_one_address_admits_exactly_the_limit_on_dynamodb() {
    let (service, _) = limited_service("ip-burst", "7/600").await;
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));
    assert_eq!(burst(&service, ip, 30).await, (7, 23));
    let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 21));
    assert_eq!(
        burst(&service, other, 3).await,
        (3, 0),
        "another address has its own window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_window_admits_the_limit_again_on_dynamodb() {
    let (service, clock) = limited_service("ip-rollover", "4/600").await;
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 30));
    assert_eq!(burst(&service, ip, 6).await, (4, 2), "the first window");
    clock.advance(Duration::from_secs(300));
    assert_eq!(
        burst(&service, ip, 2).await,
        (0, 2),
        "same window, still full"
    );
    // T0 is a multiple of 600, so T0 + 600 starts the next window.
    assert_eq!(T0.get() % 600, 0);
    clock.advance(Duration::from_secs(300));
    assert_eq!(burst(&service, ip, 6).await, (4, 2), "the next window");
}
