//! Operations in the templates (issue 13): `events:PutEvents` only on the named bus, with our
//! source, only for the functions that publish; alarms on failed mail, 5xx, DynamoDB throttles,
//! Lambda errors and throttles, each notifying the alarm topic; one dashboard with every count;
//! the session version writable by consume alone; SES bounces and complaints to EventBridge.

use super::permissions::{actions, resource_texts, statements};
use super::*;

/// Every statement granting an EventBridge action, as `(role/sid, resources, statement)`.
fn event_grants(t: &Value) -> Vec<(String, Vec<String>, &Value)> {
    statements(t)
        .into_iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("events:")))
        .map(|(at, s)| (at, resource_texts(s), s))
        .collect()
}

/// `events:PutEvents` alone, on one bus ARN, with the source condition, for request and consume;
/// nothing of EventBridge for check. `source` is how the template names the setting.
fn assert_event_grants(t: &Value, what: &str, bus: &str, source: &str) {
    let grants = event_grants(t);
    let functions: Vec<&str> = grants
        .iter()
        .filter(|(at, _, _)| at.contains("Function"))
        .map(|(at, _, _)| at.split('/').next().unwrap())
        .collect();
    assert!(
        functions.iter().any(|f| f.starts_with("Request"))
            && functions.iter().any(|f| f.starts_with("Consume"))
            && !functions.iter().any(|f| f.starts_with("Check")),
        "{what}: events for request and consume only, got {functions:?}"
    );
    for (at, resources, s) in grants.iter().filter(|(at, _, _)| at.contains("Function")) {
        assert_eq!(actions(s), ["events:PutEvents"], "{what}: {at}");
        assert_eq!(resources.len(), 1, "{what}: {at}: {resources:?}");
        assert!(
            resources[0].contains("event-bus/") && resources[0].contains(bus),
            "{what}: {at}: not the named bus: {resources:?}"
        );
        assert!(!resources[0].contains('*'), "{what}: {at}: a wildcard bus");
        assert!(
            s["Condition"]["StringEquals"]["events:source"]
                .to_string()
                .contains(source),
            "{what}: {at}: no events:source condition"
        );
    }
}

/// The alarms of issue 13, each with the topic when `with_topic`, and the dashboard naming
/// every count.
fn assert_operations(t: &Value, what: &str, with_topic: bool) {
    let alarms: Vec<&Value> = of_type(t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, r)| &r["Properties"])
        .collect();
    let texts: Vec<String> = alarms.iter().map(|a| a.to_string()).collect();
    for metric in [
        "\"MailFailed\"",
        "\"5xx\"",
        "\"ReadThrottleEvents\"",
        "\"WriteThrottleEvents\"",
        "\"Errors\"",
        "\"Throttles\"",
    ] {
        assert!(
            texts.iter().any(|a| a.contains(metric)),
            "{what}: no alarm on {metric}"
        );
    }
    if with_topic {
        for (alarm, text) in alarms.iter().zip(&texts) {
            assert!(
                alarm["AlarmActions"].to_string().contains("sns")
                    || alarm["AlarmActions"].to_string().contains("AlarmTopicArn"),
                "{what}: an alarm notifies no topic: {text}"
            );
        }
    }
    let dashboards = of_type(t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "{what}: one dashboard");
    let body = dashboards[0].1["Properties"]["DashboardBody"].to_string();
    for metric in shared::metrics::Metric::ALL {
        assert!(
            body.contains(metric.name()),
            "{what}: the dashboard lacks {}",
            metric.name()
        );
    }
}

/// consume's users-table update may write the session version attribute `version`.
fn assert_session_version_writable(t: &Value, what: &str, version: &str) {
    let set = statements(t)
        .into_iter()
        .filter(|(at, _)| at.ends_with("/SetPassword"))
        .map(|(_, s)| s["Condition"].to_string())
        .collect::<Vec<_>>();
    assert_eq!(set.len(), 1, "{what}: one SetPassword statement");
    assert!(set[0].contains(version), "{what}: {}", set[0]);
}

#[test]
fn template_yaml_lets_only_request_and_consume_put_events_and_only_on_the_named_bus() {
    let t = load(&repo().join("template.yaml"));
    assert_event_grants(&t, "template.yaml", "${EventBusName}", "EventSource");
    let env = t["Globals"]["Function"]["Environment"]["Variables"].to_string();
    for var in ["EVENT_BUS_NAME", "EVENT_SOURCE", "METRICS_NAMESPACE"] {
        assert!(env.contains(var), "template.yaml: {var} is not handed over");
    }
    assert_session_version_writable(&t, "template.yaml", "UsersSessionVersionAttribute");
}

#[test]
fn template_yaml_alarms_on_failed_mail_5xx_throttles_and_errors_and_has_one_dashboard() {
    let t = load(&repo().join("template.yaml"));
    assert_operations(&t, "template.yaml", true);
    assert_eq!(
        t["Parameters"]["Alarm5xxCount"]["Default"], 0,
        "any 5xx alarms by default"
    );
}

#[test]
fn template_yaml_sends_ses_bounces_and_complaints_to_eventbridge_when_asked() {
    let t = load(&repo().join("template.yaml"));
    let destinations = of_type(&t, "AWS::SES::ConfigurationSetEventDestination");
    assert_eq!(destinations.len(), 1);
    let (_, d) = destinations[0];
    assert_eq!(d["Condition"], "SesFeedback", "only when asked");
    let dest = &d["Properties"]["EventDestination"];
    assert_eq!(dest["MatchingEventTypes"], json!(["bounce", "complaint"]));
    assert!(
        dest["EventBridgeDestination"]["EventBusArn"]
            .to_string()
            .contains("event-bus/default")
    );
    let rules = of_type(&t, "AWS::Events::Rule");
    assert_eq!(rules.len(), 1, "the forward to EventBusName");
    assert!(
        rules[0].1["Properties"]["Targets"]
            .to_string()
            .contains("${EventBusName}")
    );
}

#[test]
fn cdk_synth_with_events_grants_the_same_and_has_the_alarms_and_dashboard() {
    let Some(t) = synthesized("CDK_EDGE_TEMPLATE") else {
        eprintln!("CDK_EDGE_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    // scripts/test.d/20-deploy synthesizes the edge shape with events, the session version,
    // SES feedback and an alarm topic on.
    assert_event_grants(&t, "CDK edge synth", "reset-events", "password-reset");
    assert_operations(&t, "CDK edge synth", true);
    assert_session_version_writable(&t, "CDK edge synth", "session_version");
    assert_eq!(
        of_type(&t, "AWS::SES::ConfigurationSetEventDestination").len(),
        1,
        "CDK edge synth: SES feedback"
    );
}

#[test]
fn cdk_synth_by_default_puts_no_events_and_still_alarms() {
    let Some(t) = synthesized("CDK_TEMPLATE") else {
        eprintln!("CDK_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    assert!(event_grants(&t).is_empty(), "CDK synth: no bus, no grant");
    assert_operations(&t, "CDK synth", false);
}
