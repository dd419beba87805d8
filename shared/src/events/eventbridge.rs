//! EventBridge adapter: one `PutEvents` per batch, on the bus `EVENT_BUS_NAME` names, with the
//! source `EVENT_SOURCE`. A call that succeeds with failed entries counts as failed.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{EventError, EventSink, ResetEvent};

/// Puts events on one bus under one source.
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: Client,
    bus: String,
    source: String,
}

impl EventBridgeSink {
    /// `bus` is the bus's name or ARN (the functions may put on it alone).
    pub fn new(client: Client, bus: String, source: String) -> Self {
        Self {
            client,
            bus,
            source,
        }
    }

    fn entry(&self, event: &ResetEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&self.source)
            .detail_type(event.kind.detail_type())
            .detail(event.detail().to_string())
            .time(DateTime::from_secs(event.at.get() as i64))
            .build()
    }
}

/// Sorts a failed call: the service's refusals (no such bus, access denied, validation) are
/// `Rejected`; its internal errors, timeouts and transport failures `Unavailable`. Either way
/// the events are lost and the answer unchanged; the split only tells the operator where to
/// look (the bus and the role, or the network).
fn classify(err: SdkError<PutEventsError>) -> EventError {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.into_err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            if e.is_internal_exception() {
                EventError::Unavailable { code }
            } else {
                EventError::Rejected { code }
            }
        }
        SdkError::TimeoutError(_) => EventError::Unavailable {
            code: "Timeout".into(),
        },
        SdkError::DispatchFailure(_) => EventError::Unavailable {
            code: "DispatchFailure".into(),
        },
        other => EventError::Unavailable {
            code: other.code().unwrap_or("ResponseError").to_owned(),
        },
    }
}

#[async_trait::async_trait]
impl EventSink for EventBridgeSink {
    async fn put(&self, events: &[ResetEvent]) -> Result<(), EventError> {
        if events.is_empty() {
            return Ok(());
        }
        let out = self
            .client
            .put_events()
            .set_entries(Some(events.iter().map(|e| self.entry(e)).collect()))
            .send()
            .await
            .map_err(classify)?;
        if out.failed_entry_count() > 0 {
            let code = out
                .entries()
                .iter()
                .find_map(|e| e.error_code())
                .unwrap_or("FailedEntry")
                .to_owned();
            return Err(EventError::Rejected { code });
        }
        Ok(())
    }
}
