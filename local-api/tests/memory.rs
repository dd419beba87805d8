//! Resident memory of the local API under consume load (issue 16), read from this process's own
//! `/proc/self/status` (`VmHWM` = peak, `VmRSS` = now): the local API runs in-process through
//! `LocalApi::respond` on a multi-thread runtime, with the memory store.
//!
//! One test in this file on purpose: the test binary is its own process, so the figures are the
//! local API's (plus the harness's few MiB), not another test's.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use local_api::options::SeedUser;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

const SERVER_KEY: &str = "memory-test-server-key-0123456789abcdef";
const CONNECTIONS: usize = 16;
/// Rounds of 16 concurrent consumes: sustained load, as wrk gave it (issue 16 saw ~180).
const ROUNDS: usize = 10;
const SEQUENTIAL: usize = 1_000;
const MIB: u64 = 1024;

/// A `kB` field of /proc/self/status.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

async fn api() -> LocalApi {
    let key_sha: String = Sha256::digest(SERVER_KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "SERVER_KEY_SHA256" => Some(key_sha.clone()),
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        "NOTIFY_PASSWORD_CHANGED" => Some("false".into()),
        "RATE_LIMIT_REQUEST" | "RATE_LIMIT_CHECK" | "RATE_LIMIT_CONSUME" => {
            Some("1000000000/600".into())
        }
        _ => None,
    })
    .unwrap();
    let options = Options {
        users: (0..CONNECTIONS)
            .map(|i| SeedUser {
                email: format!("load{i}@example.com"),
                password: "an old passphrase".into(),
            })
            .collect(),
        ..Options::default()
    };
    LocalApi::build(&options, config).await.unwrap()
}

async fn post(api: &LocalApi, path: &str, body: Value, server: bool) -> Value {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000");
    if server {
        req = req.header("authorization", format!("Bearer {SERVER_KEY}"));
    }
    let req = req.body(Bytes::from(body.to_string())).unwrap();
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let response = api.respond(req, peer).await;
    assert_eq!(response.status(), 200, "{path}: {}", response.body());
    serde_json::from_str(response.body()).unwrap()
}

/// Issues a code for user `i` (server caller, no mail) and consumes it.
async fn consume_once(api: &LocalApi, i: usize, n: usize) {
    let email = format!("load{i}@example.com");
    let issued = post(
        api,
        "/password-reset/request",
        json!({"email": email, "return_code": true, "send_email": false}),
        true,
    )
    .await;
    let code = issued["code"].as_str().expect("code").to_owned();
    let body = json!({"code": code, "password": format!("new passphrase {n}")});
    post(api, "/password-reset/consume", body, false).await;
}

#[test]
fn consumes_keep_memory_bounded_by_cores_and_flat_across_a_thousand() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = Arc::new(api().await);
        let start = status_kib("VmRSS");

        // 16 connections' worth of concurrent consumes, ROUNDS times over.
        for round in 0..ROUNDS {
            let tasks: Vec<_> = (0..CONNECTIONS)
                .map(|i| {
                    let api = api.clone();
                    tokio::spawn(async move { consume_once(&api, i, round).await })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
        let peak = status_kib("VmHWM");
        let limit = 16 * 20 * MIB + 100 * MIB;
        assert!(
            peak < limit,
            "peak RSS under 16 concurrent consumes: {peak} KiB, limit {limit} KiB (16 x 20 MiB + 100 MiB)"
        );
        // Stronger, from the design: one 19 MiB buffer per core at most, plus slack for the
        // harness, the store and the allocator.
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
        let by_cores = start + cores.min(16) * 20 * MIB + 64 * MIB;
        assert!(
            peak < by_cores,
            "peak RSS {peak} KiB over {by_cores} KiB (start {start} KiB + {cores} cores x 20 MiB + 64 MiB)"
        );

        // Sequential consumes: resident memory after the first few is where it stays.
        for n in 0..10 {
            consume_once(&api, n % CONNECTIONS, ROUNDS + n).await;
        }
        let warm = status_kib("VmRSS");
        for n in 10..SEQUENTIAL {
            consume_once(&api, n % CONNECTIONS, ROUNDS + n).await;
        }
        let after = status_kib("VmRSS");
        assert!(
            after <= warm + 16 * MIB,
            "VmRSS grew across {SEQUENTIAL} sequential consumes: {warm} KiB after 10, {after} KiB after all \
             (allowed: +16 MiB, less than one argon2id buffer)"
        );
        println!(
            "memory: start {start} KiB; peak under {CONNECTIONS}x{ROUNDS} concurrent consumes {peak} KiB; \
             VmRSS after 10 sequential {warm} KiB, after {SEQUENTIAL} {after} KiB"
        );
    });
}
