//! The events port: what happened to a user's password, told to the app's other parts (revoke
//! sessions, alert, audit) through EventBridge. Best effort, after the store transaction: a
//! failed put is logged and counted ([`crate::metrics::Metric::EventPutFailed`]) and never
//! changes an answer. Adapters: [`eventbridge::EventBridgeSink`] (production, `EVENT_BUS_NAME`),
//! [`recording::RecordingEvents`] (tests and the local API) and [`NoEvents`] (events off).
//!
//! An event carries who (`user_id`), when, which invocation (the Lambda request id), which
//! operation and dialect; never the code, the password, the address, a key or the client IP.

pub mod eventbridge;
pub mod recording;

use serde_json::{Value, json};

use crate::clock::EpochSecs;
use crate::domain::UserId;
use crate::invocation::Invocation;
use crate::service::{Caller, Operation};

/// The detail-types (EventBridge's event names), exactly as rules match them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A code was issued for a known account (whether or not its mail went out).
    Requested,
    /// The password was set by a reset: revoke the user's sessions here.
    Completed,
    /// SES refused or failed a reset mail (or it missed the public answer's deadline).
    MailFailed,
}

impl EventKind {
    /// The event's `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::Requested => "PasswordResetRequested",
            EventKind::Completed => "PasswordResetCompleted",
            EventKind::MailFailed => "PasswordResetMailFailed",
        }
    }
}

/// One event, before it is put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetEvent {
    /// What happened.
    pub kind: EventKind,
    /// Whose password (the users-table key).
    pub user_id: UserId,
    /// When (the service's clock).
    pub at: EpochSecs,
    /// The operation that did it.
    pub operation: Operation,
    /// Public or server, for a request (a backend's reset is an admin action an audit wants
    /// to tell apart); `None` for a consume, which anyone holding the code may make.
    pub caller: Option<Caller>,
    /// The invocation: Lambda request id and dialect.
    pub invocation: Invocation,
    /// For [`EventKind::MailFailed`]: how the mail failed (`rejected`, `unavailable`,
    /// `deadline`, `template`) and the provider's error code (the template's name for
    /// `template`), never the mail.
    pub mail_error: Option<(&'static str, String)>,
}

impl ResetEvent {
    /// The event's `detail` object.
    pub fn detail(&self) -> Value {
        let mut detail = json!({
            "user_id": self.user_id.as_str(),
            "time": crate::service::rfc3339(self.at),
            "request_id": self.invocation.request_id,
            "operation": self.operation.name(),
            "dialect": self.invocation.dialect,
            "route": self.invocation.route.map_or_else(
                || format!("/password-reset/{}", self.operation.name()),
                str::to_owned,
            ),
        });
        if let Some(caller) = self.caller {
            detail["caller"] = json!(match caller {
                Caller::Public => "public",
                Caller::Server => "server",
            });
        }
        if let Some((kind, code)) = &self.mail_error {
            detail["mail_error"] = json!({"kind": kind, "code": code});
        }
        detail
    }
}

/// Why events were not put. Carries the service's error code, never an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// EventBridge refused the call or some of its entries (no such bus, access denied).
    #[error("events rejected: {code}")]
    Rejected {
        /// EventBridge's error code.
        code: String,
    },
    /// EventBridge could not be reached, failed, or timed out.
    #[error("event bus unavailable: {code}")]
    Unavailable {
        /// The error code, or a short description of the transport failure.
        code: String,
    },
    /// The put did not finish before the public answer's deadline and was abandoned (it may
    /// or may not have been accepted).
    #[error("event put abandoned at the response deadline")]
    DeadlineExceeded,
}

/// Puts events on a bus.
#[async_trait::async_trait]
pub trait EventSink: Send + Sync {
    /// Puts `events` (at most 10, EventBridge's limit per call) in one call.
    async fn put(&self, events: &[ResetEvent]) -> Result<(), EventError>;
}

/// Events off (`EVENT_BUS_NAME` unset): every put succeeds at once and goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

#[async_trait::async_trait]
impl EventSink for NoEvents {
    async fn put(&self, _events: &[ResetEvent]) -> Result<(), EventError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_names_the_user_the_invocation_and_the_operation_and_nothing_else() {
        let event = ResetEvent {
            kind: EventKind::MailFailed,
            user_id: UserId::parse("user-1").unwrap(),
            at: EpochSecs::new(1_800_000_000),
            operation: Operation::Request,
            caller: Some(Caller::Public),
            invocation: Invocation::lambda("req-9"),
            mail_error: Some(("rejected", "MessageRejected".to_owned())),
        };
        assert_eq!(
            event.detail(),
            json!({
                "user_id": "user-1",
                "time": "2027-01-15T08:00:00Z",
                "request_id": "req-9",
                "operation": "request",
                "dialect": "native",
                "route": "/password-reset/request",
                "caller": "public",
                "mail_error": {"kind": "rejected", "code": "MessageRejected"},
            })
        );
    }
}
