//! The observability section: where events go and under which CloudWatch namespace the
//! metrics are counted.

use super::{ConfigError, env::Env};

/// Events and metrics: handed to the service, which reports; the wiring picks the event sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObserveSettings {
    /// The EventBridge bus (name or ARN) the events go to; `None`: no events.
    pub event_bus: Option<String>,
    /// The events' `source`.
    pub event_source: String,
    /// The CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
}

impl ObserveSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let event_source = env.text("EVENT_SOURCE");
        // EventBridge refuses sources over 256 characters and reserves `aws.` for AWS itself.
        if event_source.len() > 256 || event_source.starts_with("aws.") {
            return Err(ConfigError::new(
                "EVENT_SOURCE",
                "must be at most 256 characters and not start with aws.",
            ));
        }
        let metrics_namespace = env.text("METRICS_NAMESPACE");
        // CloudWatch: 1..=255 printable ASCII characters, `AWS/` reserved.
        if metrics_namespace.len() > 255
            || metrics_namespace.starts_with("AWS/")
            || !metrics_namespace
                .bytes()
                .all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(ConfigError::new(
                "METRICS_NAMESPACE",
                "must be 1 to 255 printable ASCII characters and not start with AWS/",
            ));
        }
        Ok(Self {
            event_bus: env.get("EVENT_BUS_NAME"),
            event_source,
            metrics_namespace,
        })
    }
}
