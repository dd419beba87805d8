//! Which client the per-IP limit counts, on BOTH adapters (memory and DynamoDB on moto): a
//! public call with no known address counts in one shared bucket (the limit fails closed),
//! IPv6 clients by their prefix, and CloudFront's viewer address only when the request proves
//! it came through the distribution.

use http::StatusCode;
use integration_tests::app::{Backend, Memory, TestApp, call};
use serde_json::json;
use shared::service::Operation;

const ADA: &str = "ada@example.com";

async fn app_with_ada<B: Backend>(label: &str, overrides: &[(&str, &str)]) -> TestApp<B> {
    TestApp::with_user(label, overrides, ADA).await
}

async fn public_calls_without_a_client_address_share_one_bucket<B: Backend>() {
    let app = app_with_ada::<B>("no-ip", &[("RATE_LIMIT_REQUEST", "3/600")]).await;
    for i in 0..3 {
        let r = app
            .call(
                Operation::Request,
                json!({"email": format!("n{i}@example.com")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app
        .call(Operation::Request, json!({"email": "n9@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "fails closed");
    assert_eq!(r.body["code"], "TOO_MANY_REQUESTS");
    assert!(r.headers.contains_key("retry-after"));
    let known = app
        .call_from(
            "192.0.2.1".parse().unwrap(),
            Operation::Request,
            json!({"email": ADA}),
        )
        .await;
    assert_eq!(
        known.status,
        StatusCode::OK,
        "a known address has its own bucket"
    );
}

async fn ipv6_clients_are_limited_by_their_prefix<B: Backend>() {
    let app = app_with_ada::<B>("ipv6", &[("RATE_LIMIT_REQUEST", "3/600")]).await;
    // A new address each call, so the per-email cap never answers for the IP limit.
    let n = std::sync::atomic::AtomicUsize::new(0);
    let body = || json!({"email": format!("v6.{}@example.com", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed))});
    for host in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
    ] {
        let r = app
            .call_from(host.parse().unwrap(), Operation::Request, body())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{host}");
    }
    let same_64 = app
        .call_from(
            "2001:db8:1:2:ffff::9".parse().unwrap(),
            Operation::Request,
            body(),
        )
        .await;
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS);
    let other_64 = app
        .call_from(
            "2001:db8:1:3::1".parse().unwrap(),
            Operation::Request,
            body(),
        )
        .await;
    assert_eq!(other_64.status, StatusCode::OK);

    let per_host = app_with_ada::<B>(
        "ipv6-128",
        &[
            ("RATE_LIMIT_REQUEST", "3/600"),
            ("RATE_LIMIT_IPV6_PREFIX", "128"),
        ],
    )
    .await;
    for i in 1..=5 {
        let host = format!("2001:db8:1:2::{i}");
        let r = per_host
            .call_from(host.parse().unwrap(), Operation::Request, body())
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "prefix 128 counts each host: {host}"
        );
    }
}

integration_tests::on_both_stores!(
    public_calls_without_a_client_address_share_one_bucket,
    ipv6_clients_are_limited_by_their_prefix,
);

#[tokio::test]
async fn behind_cloudfront_only_a_request_with_the_origin_secret_names_its_viewer() {
    let secret = "origin-secret-for-tests-0123456789";
    let app = TestApp::<Memory>::start_with(
        "cloudfront",
        &[
            ("RATE_LIMIT_REQUEST", "2/600"),
            ("CLOUDFRONT_ORIGIN_SECRET", secret),
        ],
    )
    .await;
    let edge: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let body = || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        json!({"email": format!("cf.{i}@example.com")})
    };
    let status = |headers: Vec<(&'static str, &'static str)>| {
        let service = &app.service;
        let b = body();
        async move {
            call(service, Operation::Request, b, &headers, Some(edge))
                .await
                .status
        }
    };
    // Three viewers behind one CloudFront edge address: each has its own bucket.
    for viewer in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        for _ in 0..2 {
            let s = status(vec![
                ("x-origin-verify", secret),
                ("x-viewer-address", viewer),
            ])
            .await;
            assert_eq!(s, StatusCode::OK, "{viewer}");
        }
    }
    assert_eq!(
        status(vec![
            ("x-origin-verify", secret),
            ("x-viewer-address", "203.0.113.1")
        ])
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Without the secret (a client calling the API directly, forging the header) the
    // viewer header is ignored: every such call counts against the edge's own address.
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let s = status(vec![
            ("x-origin-verify", "wrong"),
            ("x-viewer-address", "192.0.2.99"),
        ])
        .await;
        assert_eq!(s, expected);
    }
    assert_eq!(
        status(vec![("x-viewer-address", "192.0.2.100")]).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_a_configured_origin_secret_the_viewer_header_is_ignored() {
    let app =
        TestApp::<Memory>::start_with("no-cloudfront", &[("RATE_LIMIT_REQUEST", "1/600")]).await;
    let ip: std::net::IpAddr = "198.51.100.8".parse().unwrap();
    let headers = [("x-origin-verify", ""), ("x-viewer-address", "192.0.2.1")];
    let first = call(
        &app.service,
        Operation::Request,
        json!({"email": "a@example.com"}),
        &headers,
        Some(ip),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let headers = [("x-viewer-address", "192.0.2.2")];
    let second = call(
        &app.service,
        Operation::Request,
        json!({"email": "b@example.com"}),
        &headers,
        Some(ip),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
}
