//! What the use cases tell the world besides their answer: EMF counts ([`crate::metrics`]) and
//! events ([`crate::events`]). Both are best effort and never change an answer; a put that
//! fails is logged at ERROR and counted as [`Metric::EventPutFailed`].

use std::future::Future;
use std::time::Duration;

use super::{Caller, Operation, ResetService};
use crate::domain::UserId;
use crate::events::{EventError, EventKind, ResetEvent};
use crate::invocation::Invocation;
use crate::logging::error_chain;
use crate::mail::MailError;
use crate::metrics::{self, Metric};

impl ResetService {
    /// Counts one `metric` for `op`, with the invocation's dialect, as an EMF line.
    pub fn count(&self, metric: Metric, op: Operation) {
        metrics::count(
            &self.config.observe.metrics_namespace,
            metric,
            op.name(),
            Invocation::current().dialect,
            self.ports.clock.now_ms(),
        );
    }

    /// An event of `kind` about `user_id`, now, in the invocation in flight.
    pub(super) fn event(
        &self,
        kind: EventKind,
        user_id: &UserId,
        operation: Operation,
        caller: Option<Caller>,
    ) -> ResetEvent {
        ResetEvent {
            kind,
            user_id: user_id.clone(),
            at: self.now(),
            operation,
            caller,
            invocation: Invocation::current(),
            mail_error: None,
        }
    }

    /// Counts a mail that was not sent and puts a [`EventKind::MailFailed`] event saying how it
    /// failed (the provider's error code, never the mail), by `deadline_ms` if given.
    pub(super) async fn mail_failed(
        &self,
        error: &MailError,
        user_id: &UserId,
        operation: Operation,
        caller: Option<Caller>,
        deadline_ms: Option<u64>,
    ) {
        self.count(Metric::MailFailed, operation);
        let mut event = self.event(EventKind::MailFailed, user_id, operation, caller);
        event.mail_error = Some(mail_error(error));
        self.publish(event, deadline_ms).await;
    }

    /// Puts `event`, finished by `deadline_ms` (epoch ms on the service's clock) if given, so
    /// a slow or hung bus cannot hold a public answer past its floor. A failure is logged and
    /// counted, nothing more: the password is set or the code issued either way.
    pub(super) async fn publish(&self, event: ResetEvent, deadline_ms: Option<u64>) {
        let put = self.ports.events.put(std::slice::from_ref(&event));
        let put = self
            .before(deadline_ms, put)
            .await
            .unwrap_or(Err(EventError::DeadlineExceeded));
        if let Err(e) = put {
            tracing::error!(
                error = %error_chain(&e),
                detail_type = event.kind.detail_type(),
                user_id = %event.user_id,
                "event not put; the answer is unchanged"
            );
            self.count(Metric::EventPutFailed, event.operation);
        }
    }

    /// `work`'s output, or `None` if `deadline_ms` passes first (then `work` is dropped).
    /// Without a deadline, `work` runs to the end.
    pub(super) async fn before<T>(
        &self,
        deadline_ms: Option<u64>,
        work: impl Future<Output = T>,
    ) -> Option<T> {
        let Some(deadline) = deadline_ms else {
            return Some(work.await);
        };
        let left = deadline.saturating_sub(self.ports.clock.now_ms());
        if left == 0 {
            return None;
        }
        tokio::select! {
            biased;
            done = work => Some(done),
            () = self.ports.clock.sleep(Duration::from_millis(left)) => None,
        }
    }
}

/// A [`EventKind::MailFailed`] event's `mail_error`: how the mail failed and the provider's
/// error code (at most 64 characters). For a template that failed to render, only the
/// template's name: the failure's text is not for events, since the values the template was
/// given include the link, and the link holds the code.
fn mail_error(error: &MailError) -> (&'static str, String) {
    let (kind, code) = match error {
        MailError::Rejected { code } => ("rejected", code.as_str()),
        MailError::Unavailable { code } => ("unavailable", code.as_str()),
        MailError::DeadlineExceeded => ("deadline", "DeadlineExceeded"),
        MailError::Template { template, .. } => ("template", template.as_str()),
    };
    (kind, code.chars().take(64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_failure_is_reported_by_its_kind_and_code_only() {
        let rejected = MailError::Rejected {
            code: "MessageRejected".to_owned(),
        };
        assert_eq!(
            mail_error(&rejected),
            ("rejected", "MessageRejected".to_owned())
        );
        assert_eq!(
            mail_error(&MailError::DeadlineExceeded),
            ("deadline", "DeadlineExceeded".to_owned())
        );
        let long = MailError::Unavailable {
            code: "x".repeat(500),
        };
        assert_eq!(
            mail_error(&long).1.len(),
            64,
            "a provider's text is bounded"
        );
    }

    #[test]
    fn a_template_that_failed_to_render_is_named_without_the_failures_text() {
        let failed = MailError::Template {
            template: "reset.en.html".to_owned(),
            reason: "at https://app.example.com/reset?code=SECRETCODE".to_owned(),
        };
        let (kind, code) = mail_error(&failed);
        assert_eq!((kind, code.as_str()), ("template", "reset.en.html"));
    }
}
