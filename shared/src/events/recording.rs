//! An event sink that keeps every event in memory (tests) and may print it (the local API,
//! where there is no bus). Events hold no secret, so printing them is safe.

use super::{EventError, EventSink, ResetEvent};
use crate::recorder::Recorder;

/// Keeps every event put, oldest first (`new` records silently, `printing` also prints each
/// event's detail-type and detail; `fail_with` makes every following put fail as unavailable
/// with that code).
pub type RecordingEvents = Recorder<ResetEvent>;

impl Recorder<ResetEvent> {
    /// Every event put so far, oldest first.
    pub fn events(&self) -> Vec<ResetEvent> {
        self.all()
    }
}

#[async_trait::async_trait]
impl EventSink for Recorder<ResetEvent> {
    async fn put(&self, events: &[ResetEvent]) -> Result<(), EventError> {
        if let Some(code) = self.failure() {
            return Err(EventError::Unavailable { code });
        }
        if self.prints() {
            for event in events {
                println!("event {} {}", event.kind.detail_type(), event.detail());
            }
        }
        self.keep(events.iter().cloned());
        Ok(())
    }
}
