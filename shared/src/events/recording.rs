//! An event sink that keeps every event in memory (tests) and may print it (the local API,
//! where there is no bus). Events hold no secret, so printing them is safe.

use super::{EventError, EventSink, ResetEvent};
use crate::recorder::Recorder;

/// Keeps every event put, oldest first.
#[derive(Default)]
pub struct RecordingEvents {
    put: Recorder<ResetEvent>,
    print: bool,
}

impl RecordingEvents {
    /// Records silently (tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records and prints each event's detail-type and detail to standard output (local API).
    pub fn printing() -> Self {
        Self {
            print: true,
            ..Self::default()
        }
    }

    /// Every event put so far, oldest first.
    pub fn events(&self) -> Vec<ResetEvent> {
        self.put.all()
    }

    /// Makes every following put fail as unavailable with `code` (or succeed again with `None`).
    pub fn fail_with(&self, code: Option<&str>) {
        self.put.fail_with(code);
    }
}

#[async_trait::async_trait]
impl EventSink for RecordingEvents {
    async fn put(&self, events: &[ResetEvent]) -> Result<(), EventError> {
        if let Some(code) = self.put.failure() {
            return Err(EventError::Unavailable { code });
        }
        if self.print {
            for event in events {
                println!("event {} {}", event.kind.detail_type(), event.detail());
            }
        }
        self.put.keep(events.iter().cloned());
        Ok(())
    }
}
