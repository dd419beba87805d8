//! The DynamoDB adapter on moto (a real DynamoDB-compatible server, over HTTP, through
//! `aws-sdk-dynamodb`): races settled by conditional writes, what the table holds after a
//! flow, all-or-nothing consume, the store being unavailable. (template.yaml agreeing with the
//! code's table definition is `template::reset_table`.)

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use integration_tests::app::{Backend, Dynamo, TTL, TestApp, config};
use integration_tests::moto;
use serde_json::json;
use shared::clock::FixedClock;
use shared::domain::ResetCode;
use shared::hashing;
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, ResetService, ServiceError};
use shared::store::dynamodb::DynamoStore;
use shared::store::dynamodb::schema::TTL_ATTRIBUTE;
use shared::wiring::{Adapters, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADA: &str = "ada@example.com";

type Item = HashMap<String, AttributeValue>;

fn sk(item: &Item) -> &str {
    item.get("sk")
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

async fn app_with_ada(label: &str) -> Arc<TestApp<Dynamo>> {
    let app = TestApp::<Dynamo>::start(label).await;
    app.backend.put_user("user-ada", ADA).await;
    Arc::new(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_one_email_store_exactly_the_cap_of_tokens() {
    let app = app_with_ada("race-request").await;
    let cap = app.service.config().policy.max_concurrent as usize;
    assert_eq!(cap, 3, "MAX_CONCURRENT_REQUESTS default");

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.request(ADA).await })
        })
        .collect();
    let (mut accepted, mut limited) = (0, 0);
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(Some(_)) => accepted += 1,
            Err(ServiceError::TooManyRequests { retry_after }) => {
                assert_eq!(retry_after, TTL);
                limited += 1;
            }
            other => panic!("unexpected outcome: {:?}", other.map(|_| "accepted")),
        }
    }
    assert_eq!(accepted, cap, "winners");
    assert_eq!(limited, 50 - cap, "429s");

    let items = app.backend.reset_items().await;
    assert_eq!(items.iter().filter(|i| sk(i) == "TOKEN").count(), cap);
    assert_eq!(
        items.iter().filter(|i| sk(i).starts_with("SLOT#")).count(),
        cap
    );
    assert_eq!(app.inbox.sent().len(), cap, "one mail per token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_an_unknown_email_take_exactly_the_cap_of_slots() {
    let app = app_with_ada("race-unknown").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.request("ghost@example.com").await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(None) => accepted += 1,
            Err(ServiceError::TooManyRequests { .. }) => {}
            other => panic!("unexpected outcome: {:?}", other.map(|_| "issued")),
        }
    }
    assert_eq!(accepted, 3);
    let items = app.backend.reset_items().await;
    assert_eq!(items.len(), 3, "three slot items and nothing else");
    assert!(items.iter().all(|i| sk(i).starts_with("SLOT#")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_consumes_of_one_code_succeed_once_and_write_one_password() {
    let app = app_with_ada("race-consume").await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();

    // Each contender sets a different password, so the stored hash names the one writer.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            let code = code.clone();
            tokio::spawn(async move {
                let outcome = app.consume(&code, &format!("contender password {i}")).await;
                (i, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task ran") {
            (i, Ok(())) => winners.push(i),
            (_, Err(ServiceError::InvalidCode)) => {}
            (_, Err(other)) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one consume succeeds");

    let user = app.backend.user_item("user-ada").await.expect("user item");
    let hash = user["password_hash"].as_s().expect("a password hash");
    for i in 0..20 {
        assert_eq!(
            hashing::verify(&format!("contender password {i}"), hash),
            i == winners[0],
            "the stored password is the winner's and only the winner's (contender {i})"
        );
    }
    let items = app.backend.reset_items().await;
    assert!(items.is_empty(), "token and slot are gone");
    let changed = app.inbox.sent().iter().filter(|m| m.link.is_none()).count();
    assert_eq!(changed, 1, "one password-changed mail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_flow_the_table_holds_no_code_no_unknown_address_and_only_expiring_items() {
    let app = app_with_ada("scan").await;
    let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    let ghost = "Ghost.Writer@Example.com";

    // Through the HTTP edge, so the per-IP windows are written too.
    for _ in 0..3 {
        let r = app
            .call_from(ip, Operation::Request, json!({"email": ADA}))
            .await;
        assert_eq!(r.status, 200);
        let r = app
            .call_from(ip, Operation::Request, json!({"email": ghost}))
            .await;
        assert_eq!(r.status, 200);
    }
    let codes = app.sent_codes();
    assert_eq!(codes.len(), 3);
    let r = app
        .call_from(ip, Operation::Check, json!({"code": codes[0].expose()}))
        .await;
    assert_eq!(r.body["is_valid"], true);
    app.request(ADA).await.expect_err("the cap is reached");
    app.consume(&codes[2], "a brand new password")
        .await
        .expect("consumed");
    // A fresh code that stays live, so the scan sees a token item too.
    app.request(ADA).await.expect("a slot was freed");
    let live = app.last_code();

    let items = app.backend.reset_items().await;
    let kinds: BTreeSet<&str> = items
        .iter()
        .map(|i| sk(i).split('#').next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["SLOT", "TOKEN", "WINDOW"]),
        "tokens, slots and windows were all written"
    );
    let secrets: Vec<&str> = codes.iter().chain([&live]).map(ResetCode::expose).collect();
    for item in &items {
        let mut values = Vec::new();
        for (name, value) in item {
            values.push(name.clone());
            moto::strings_in(value, &mut values);
        }
        for v in &values {
            assert!(
                !secrets.iter().any(|code| v.contains(code)),
                "an item of kind {} holds a reset code",
                sk(item)
            );
            let lower = v.to_ascii_lowercase();
            assert!(
                !lower.contains("ghost.writer") && !lower.contains("example.com"),
                "an item of kind {} holds a plaintext address",
                sk(item)
            );
        }
        let expires_at = item
            .get(TTL_ATTRIBUTE)
            .unwrap_or_else(|| panic!("an item of kind {} has no {TTL_ATTRIBUTE}", sk(item)));
        let n = expires_at
            .as_n()
            .unwrap_or_else(|_| panic!("{TTL_ATTRIBUTE} of a {} item is not a number", sk(item)));
        assert!(
            n.parse::<u64>().is_ok_and(|t| t > app.now().get() - TTL),
            "epoch seconds"
        );
    }

    let ttl = app
        .backend
        .client
        .describe_time_to_live()
        .table_name(app.backend.reset_table())
        .send()
        .await
        .expect("describe TTL");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(TTL_ATTRIBUTE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consume_whose_user_vanished_after_check_is_rejected_and_changes_nothing() {
    let app = app_with_ada("half-applied").await;
    for _ in 0..2 {
        app.request(ADA).await.expect("accepted");
    }
    let code = app.last_code();
    let r = app
        .call(Operation::Check, json!({"code": code.expose()}))
        .await;
    assert_eq!(r.body["is_valid"], true);
    // Tokens and slots; the IP windows the calls count in are not what this test is about.
    let codes_and_slots = |items: Vec<Item>| -> Vec<Item> {
        items
            .into_iter()
            .filter(|i| {
                !i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("IP#"))
            })
            .collect()
    };
    let before = codes_and_slots(app.backend.reset_items().await);
    assert_eq!(before.len(), 4, "two tokens and two slots");

    app.backend.delete_user("user-ada").await;
    let r = app
        .call(
            Operation::Consume,
            json!({"code": code.expose(), "password": "a brand new password"}),
        )
        .await;

    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "INVALID_CODE");
    let mut after = codes_and_slots(app.backend.reset_items().await);
    let key = |i: &Item| format!("{:?}{:?}", i.get("pk"), i.get("sk"));
    let mut before = before;
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(after, before, "no token and no slot was deleted");
    assert!(
        app.backend.user_item("user-ada").await.is_none(),
        "the password update did not recreate the user"
    );
    let r = app
        .call(Operation::Check, json!({"code": code.expose()}))
        .await;
    assert_eq!(
        r.body["is_valid"], false,
        "the token is untouched, but a code whose account is gone is invalid"
    );
}

/// A port on 127.0.0.1 that nothing listens on: bound, then let go.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("local address").port()
}

fn service_on(store: DynamoStore, reset_table: &str) -> ResetService {
    let config = config(reset_table, "users", &[]);
    Adapters::new(
        Store::Dynamo(Arc::new(store)),
        Arc::new(RecordingMailer::new()),
    )
    .with_clock(Arc::new(FixedClock::at(integration_tests::app::T0)))
    .service(config)
}

async fn assert_503_for_every_operation(service: &ResetService) {
    let code = ResetCode::generate();
    let calls = [
        (Operation::Request, json!({"email": ADA})),
        (Operation::Check, json!({"code": code.expose()})),
        (
            Operation::Consume,
            json!({"code": code.expose(), "password": "a brand new password"}),
        ),
    ];
    for (op, body) in calls {
        let ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let r = integration_tests::app::call(service, op, body, &[], ip).await;
        assert_eq!(r.status, 503, "{}", op.name());
        assert_eq!(r.body["code"], "SERVICE_UNAVAILABLE", "{}", op.name());
        let retry_after = r
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(retry_after.is_some_and(|s| s >= 1), "{}", op.name());
        assert_eq!(r.body["retry_after"].as_u64(), retry_after, "{}", op.name());
    }
}

#[tokio::test]
async fn an_unreachable_store_answers_503_with_retry_after() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port().await);
    let users = config("reset", "users", &[]).store.users;
    let store = DynamoStore::new(moto::dynamodb_client_at(&endpoint, 2), "reset", users);
    assert_503_for_every_operation(&service_on(store, "reset")).await;
}

/// Answers every request the way DynamoDB answers when it throttles, until dropped.
async fn throttling_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                // Read the request head and its body, then answer and close.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     x-amzn-requestid: test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_throttled_store_answers_503_with_retry_after() {
    let (port, server) = throttling_server().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let users = config("reset", "users", &[]).store.users;
    let store = DynamoStore::new(moto::dynamodb_client_at(&endpoint, 2), "reset", users);
    assert_503_for_every_operation(&service_on(store, "reset")).await;
    server.abort();
}

/// The emulator keeps DynamoDB's idempotency of `TransactWriteItems` (tests/moto/server.py):
/// the SDK fills `ClientRequestToken` and keeps it across retries, so a retried consume whose
/// first attempt was applied must answer success, as on DynamoDB, not fail its own conditions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_repeated_with_its_client_token_succeeds_once_as_on_dynamodb() {
    use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
    let backend = Dynamo::start("idempotent", &[]).await;
    let table = backend.reset_table().to_owned();
    let key = HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S("TOKEN#idempotent".into()),
        ),
        ("sk".to_owned(), AttributeValue::S("TOKEN".into())),
    ]);
    backend
        .client
        .put_item()
        .table_name(&table)
        .set_item(Some(key.clone()))
        .send()
        .await
        .unwrap();
    let spend = |token: &str| {
        let delete = Delete::builder()
            .table_name(&table)
            .set_key(Some(key.clone()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        backend
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .client_request_token(token)
    };
    spend("token-1")
        .send()
        .await
        .expect("the first call deletes");
    spend("token-1")
        .send()
        .await
        .expect("a retry with the same token answers success");
    let again = spend("token-2").send().await;
    assert!(
        again.is_err(),
        "a new token runs the condition again, and the item is gone"
    );
    let other = backend
        .client
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&table)
                        .set_key(Some(HashMap::from([
                            ("pk".to_owned(), AttributeValue::S("TOKEN#other".into())),
                            ("sk".to_owned(), AttributeValue::S("TOKEN".into())),
                        ])))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .client_request_token("token-1")
        .send()
        .await
        .unwrap_err();
    assert!(
        other
            .as_service_error()
            .is_some_and(|e| e.is_idempotent_parameter_mismatch_exception()),
        "{other:?}"
    );
}
