//! Events through EventBridge on moto: a rule on the service's bus with an SQS target receives
//! `PasswordResetRequested`, `PasswordResetCompleted` and `PasswordResetMailFailed`, read back
//! through the SDK, with the detail the README promises and no secret in them; and an outage
//! of the bus alone (the fault proxy in front of moto for EventBridge only) changes no answer.

use std::sync::Arc;

use http::StatusCode;
use integration_tests::app::{self, Backend, Dynamo, Response, SERVER_KEY, TOKEN_KEY};
use integration_tests::faults::{ANY, Fault, FaultProxy};
use integration_tests::moto;
use serde_json::{Value, json};
use shared::events::eventbridge::EventBridgeSink;
use shared::invocation::Invocation;
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, ResetService};
use shared::wiring::Adapters;

const NEW_PASSWORD: &str = "a brand new passphrase";
const CLIENT_IP: &str = "198.51.100.23";

/// A bus with a rule sending every event of `source` to a fresh queue, on moto.
struct Bus {
    name: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Bus {
    async fn start(prefix: &str, source: &str) -> Self {
        let sdk = moto::sdk_config(&moto::endpoint());
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let name = format!("{prefix}-bus");
        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("create the bus");
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}-events"))
            .send()
            .await
            .expect("create the queue")
            .queue_url
            .expect("a queue url");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("the queue's ARN");
        events
            .put_rule()
            .name(format!("{prefix}-rule"))
            .event_bus_name(&name)
            .event_pattern(json!({"source": [source]}).to_string())
            .send()
            .await
            .expect("put the rule");
        events
            .put_targets()
            .rule(format!("{prefix}-rule"))
            .event_bus_name(&name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("a target"),
            )
            .send()
            .await
            .expect("put the target");
        Self {
            name,
            queue_url,
            sqs,
        }
    }

    /// Every event the queue holds now, as the JSON EventBridge delivered.
    async fn received(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let body = m.body.expect("a body");
                out.push(serde_json::from_str(&body).expect("an event"));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.expect("a handle"))
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
}

/// The service on DynamoDB (moto), a recording mailer and EventBridge at `endpoint`, with a
/// response floor so the public path runs its deadlines (long enough that a busy moto never
/// makes the mail miss its own deadline).
struct Setup {
    backend: Dynamo,
    service: ResetService,
    inbox: Arc<RecordingMailer>,
    email: String,
}

async fn setup(label: &str, bus: &str, events_endpoint: &str) -> Setup {
    let overrides = [("EVENT_BUS_NAME", bus), ("MIN_REQUEST_RESPONSE_MS", "1500")];
    let backend = Dynamo::start(label, &overrides).await;
    let email = format!("ada.{}@example.com", moto::unique_prefix(label));
    backend.put_user("user-ada", &email).await;
    let config = backend.config();
    let client = shared::wiring::events_client(&moto::sdk_config(events_endpoint));
    let sink = EventBridgeSink::new(client, bus.to_owned(), config.observe.event_source.clone());
    let inbox = Arc::new(RecordingMailer::new());
    let service = Adapters::new(backend.adapter(), inbox.clone())
        .with_events(Arc::new(sink))
        .service(config);
    Setup {
        backend,
        service,
        inbox,
        email,
    }
}

/// One call from the public at [`CLIENT_IP`], as Lambda invocation `request_id`.
async fn call(service: &ResetService, request_id: &str, op: Operation, body: Value) -> Response {
    let ip = CLIENT_IP.parse().ok();
    Invocation::lambda(request_id)
        .scope(app::call(service, op, body, &[], ip))
        .await
}

/// The flow every test here runs: a reset for Ada (mailed), its consume, then a reset whose
/// mail is refused, then a reset for an address with no account. The answers, in order.
async fn flow(s: &Setup) -> Vec<(StatusCode, Value)> {
    let mut answers = Vec::new();
    let request = json!({"email": s.email});
    let r = call(&s.service, "req-1", Operation::Request, request.clone()).await;
    answers.push((r.status, r.body));
    let code = app::code_in(s.inbox.sent().last().unwrap().link.as_deref().unwrap());
    let consume = json!({"code": code.expose(), "password": NEW_PASSWORD});
    let r = call(&s.service, "req-2", Operation::Consume, consume).await;
    answers.push((r.status, r.body));
    s.inbox.fail_with(Some("MessageRejected"));
    let r = call(&s.service, "req-3", Operation::Request, request).await;
    answers.push((r.status, r.body));
    let nobody = json!({"email": "nobody@example.com"});
    let r = call(&s.service, "req-4", Operation::Request, nobody).await;
    answers.push((r.status, r.body));
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn request_consume_and_a_refused_mail_reach_a_queue_through_a_rule() {
    let prefix = moto::unique_prefix("events");
    let bus = Bus::start(&prefix, "password-reset").await;
    let s = setup("events", &bus.name, &moto::endpoint()).await;
    let answers = flow(&s).await;
    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "{answers:?}"
    );

    let events = bus.received().await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap(),
                e["detail"]["request_id"].as_str().unwrap(),
            )
        })
        .collect();
    // At least once: a put whose answer is late may be retried by the SDK after EventBridge
    // took it (seen on a loaded moto), so the same event can arrive twice.
    let mut sorted = kinds.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted,
        [
            ("PasswordResetCompleted", "req-2"),
            ("PasswordResetMailFailed", "req-3"),
            ("PasswordResetRequested", "req-1"),
            ("PasswordResetRequested", "req-3"),
        ],
        "one event per reset issued, completed or unmailed; none for the unknown address"
    );
    for event in &events {
        assert_eq!(event["source"], "password-reset");
        let detail = &event["detail"];
        assert_eq!(detail["user_id"], "user-ada");
        assert_eq!(detail["dialect"], "native");
        assert!(detail["time"].as_str().unwrap().ends_with('Z'), "{detail}");
        let op = if event["detail-type"] == "PasswordResetCompleted" {
            "consume"
        } else {
            "request"
        };
        assert_eq!(detail["operation"], op);
        assert_eq!(detail["route"], format!("/password-reset/{op}"));
    }
    let failed = events
        .iter()
        .find(|e| e["detail-type"] == "PasswordResetMailFailed")
        .unwrap();
    assert_eq!(
        failed["detail"]["mail_error"],
        json!({"kind": "rejected", "code": "MessageRejected"})
    );

    // Nothing secret: not the code, the password, the address, the key, the client's address.
    let text = serde_json::to_string(&events).unwrap();
    let code = app::code_in(s.inbox.sent()[0].link.as_deref().unwrap());
    for secret in [
        code.expose(),
        NEW_PASSWORD,
        &s.email,
        TOKEN_KEY,
        SERVER_KEY,
        CLIENT_IP,
    ] {
        assert!(!text.contains(secret), "an event holds {secret:?}: {text}");
    }
    assert_eq!(
        s.backend.token_items().await,
        1,
        "the unmailed code's token stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_event_bus_leaves_every_answer_unchanged() {
    let up = Bus::start(&moto::unique_prefix("bus-up"), "password-reset").await;
    let healthy = setup("bus-up", &up.name, &moto::endpoint()).await;
    let expected = flow(&healthy).await;
    let mut got: Vec<String> = (up.received().await.iter())
        .map(|e| format!("{} {}", e["detail-type"], e["detail"]["request_id"]))
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(
        got.len(),
        4,
        "the healthy bus got every event (at least once): {got:?}"
    );

    let proxy = FaultProxy::in_front_of_moto().await;
    // Only the EventBridge client goes through the proxy: DynamoDB and the mail are healthy.
    // The first puts hang (the public request's deadline abandons them, consume's SDK timeout
    // ends them); the later ones find the connection dropped.
    proxy.fail_call("AWSEvents.PutEvents", 1, Fault::Hang);
    proxy.fail_call("AWSEvents.PutEvents", 2, Fault::Hang);
    proxy.fail_from("AWSEvents.PutEvents", 3, Fault::Drop);
    let down_bus = Bus::start(&moto::unique_prefix("bus-down"), "password-reset").await;
    let down = setup("bus-down", &down_bus.name, &proxy.endpoint()).await;
    let got = flow(&down).await;

    assert_eq!(got, expected, "the same statuses and bodies, bus or no bus");
    assert!(
        proxy.calls("AWSEvents.PutEvents") >= 3,
        "the puts were tried: {}",
        proxy.calls(ANY)
    );
    let hash = down.backend.password_hash("user-ada").await;
    assert!(
        hash.is_some_and(|h| h.starts_with("$argon2id$")),
        "the password was set"
    );
}
