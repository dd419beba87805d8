//! Counts as CloudWatch Embedded Metric Format (EMF) lines: one JSON object per count, written
//! to the function's log stream, which CloudWatch turns into metrics with no API call (so a
//! count costs no round trip and no `cloudwatch:PutMetricData` permission).
//!
//! Each line goes through `tracing` at INFO with target [`METRICS_TARGET`] and the object in
//! the field [`EMF_FIELD`]; [`crate::logging`]'s subscriber writes that object alone on its
//! own line (CloudWatch recognises EMF only in a line that is the object itself), whatever the
//! log level, and keeps it out of the ordinary log lines. Dimensions are the operation and the
//! dialect, never a user, an address or an IP: a metric's dimensions are visible to anyone who
//! can read CloudWatch metrics, and every distinct value is a metric of its own.

use lambda_http::tracing::subscriber::fmt::MakeWriter;
use lambda_http::tracing::subscriber::layer::{Context, Layer};
use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};

/// The `tracing` target of the metric lines.
pub const METRICS_TARGET: &str = "shared::metrics";

/// The field holding the EMF object.
pub const EMF_FIELD: &str = "emf";

/// What is counted, one CloudWatch metric each (unit `Count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A code was issued for a known account.
    Issued,
    /// A request named an address with no (enabled) account.
    UnknownAddress,
    /// The per-email cap answered 429.
    CapLimited,
    /// A per-IP limit answered 429.
    IpLimited,
    /// A reset or password-changed mail was refused by SES, failed, or missed its deadline.
    MailFailed,
    /// A code was spent and the password set.
    Consumed,
    /// A code was unknown, spent, expired or no longer bound to its account (consume's
    /// `INVALID_CODE`, check's `is_valid: false`).
    InvalidCode,
    /// The store was throttled or unreachable: `503 SERVICE_UNAVAILABLE`.
    StoreUnavailable,
    /// An EventBridge `PutEvents` failed or missed its deadline (the answer is unchanged).
    EventPutFailed,
    /// An address's short-code tries ran out (`OTP_MAX_ATTEMPTS`): someone is guessing, or a
    /// user mistyped five times. Its short codes are revoked; its links still work.
    ShortCodeExhausted,
}

impl Metric {
    /// Every metric, in the dashboard's order.
    pub const ALL: [Metric; 10] = [
        Metric::Issued,
        Metric::UnknownAddress,
        Metric::CapLimited,
        Metric::IpLimited,
        Metric::MailFailed,
        Metric::Consumed,
        Metric::InvalidCode,
        Metric::StoreUnavailable,
        Metric::EventPutFailed,
        Metric::ShortCodeExhausted,
    ];

    /// The CloudWatch metric name (template.yaml's alarms and dashboard use the same names).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Issued => "CodesIssued",
            Metric::UnknownAddress => "UnknownAddress",
            Metric::CapLimited => "CapLimited",
            Metric::IpLimited => "IpLimited",
            Metric::MailFailed => "MailFailed",
            Metric::Consumed => "PasswordsReset",
            Metric::InvalidCode => "InvalidCode",
            Metric::StoreUnavailable => "StoreUnavailable",
            Metric::EventPutFailed => "EventPutFailed",
            Metric::ShortCodeExhausted => "ShortCodeTriesExhausted",
        }
    }
}

/// The EMF object for one count of `metric` at `timestamp_ms` (epoch milliseconds), under
/// `namespace`, with the dimensions `operation` and `dialect`.
pub fn emf_object(
    namespace: &str,
    metric: Metric,
    operation: &str,
    dialect: &str,
    timestamp_ms: u64,
) -> Value {
    let mut object = Map::new();
    object.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["operation", "dialect"]],
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }],
        }),
    );
    object.insert("operation".to_owned(), operation.into());
    object.insert("dialect".to_owned(), dialect.into());
    object.insert(metric.name().to_owned(), 1.into());
    Value::Object(object)
}

/// Writes one count as an EMF line (see the module docs).
pub fn count(namespace: &str, metric: Metric, operation: &str, dialect: &str, timestamp_ms: u64) {
    let line = emf_object(namespace, metric, operation, dialect, timestamp_ms).to_string();
    tracing::info!(target: METRICS_TARGET, emf = %line);
}

/// A `tracing` layer that writes each metric event's EMF object ([`EMF_FIELD`]) alone on a
/// line to its writer: CloudWatch extracts metrics only from a log line that is the object
/// itself. [`crate::logging::subscriber`] installs it for [`METRICS_TARGET`].
pub struct EmfLines<W> {
    writer: W,
}

impl<W> EmfLines<W> {
    /// Writes to `writer`.
    pub fn new(writer: W) -> Self {
        Self { writer }
    }
}

impl<S, W> Layer<S> for EmfLines<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut field = EmfField(None);
        event.record(&mut field);
        if let Some(line) = field.0 {
            use std::io::Write;
            let _ = writeln!(self.writer.make_writer(), "{line}");
        }
    }
}

/// Picks the [`EMF_FIELD`] out of an event.
struct EmfField(Option<String>);

impl Visit for EmfField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == EMF_FIELD {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == EMF_FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_object_declares_its_one_metric_with_the_operation_and_dialect_dimensions() {
        let v = emf_object(
            "PasswordReset",
            Metric::CapLimited,
            "request",
            "native",
            1_700,
        );
        assert_eq!(v["_aws"]["Timestamp"], 1_700);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PasswordReset");
        assert_eq!(directive["Dimensions"], json!([["operation", "dialect"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "CapLimited", "Unit": "Count"}])
        );
        assert_eq!(v["operation"], "request");
        assert_eq!(v["dialect"], "native");
        assert_eq!(v["CapLimited"], 1);
    }

    #[test]
    fn metric_names_are_distinct() {
        let names: std::collections::HashSet<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
