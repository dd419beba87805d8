//! What the edge knows about the invocation in flight that the use cases report but must not
//! learn from API Gateway or the Lambda runtime themselves: the Lambda request id and the
//! dialect (the API shape the caller spoke). Carried in a task-local, set by the edge around
//! each call ([`Invocation::scope`]), read by the events and the metrics
//! ([`Invocation::current`]); outside a scope (the local API, most tests) there is no request
//! id and the dialect is [`NATIVE_DIALECT`].

use std::future::Future;

/// The dialect of this service's own API (`/password-reset/...`).
pub const NATIVE_DIALECT: &str = "native";

/// The invocation being answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The Lambda request id (`context.aws_request_id`), for finding the invocation's log lines
    /// from an event; `None` outside Lambda.
    pub request_id: Option<String>,
    /// The API shape the caller spoke: a metrics dimension and an event field.
    pub dialect: &'static str,
    /// The path the caller called, for a dialect's route; `None`: the operation's native route.
    pub route: Option<&'static str>,
}

impl Default for Invocation {
    fn default() -> Self {
        Self {
            request_id: None,
            dialect: NATIVE_DIALECT,
            route: None,
        }
    }
}

tokio::task_local! {
    static CURRENT: Invocation;
}

impl Invocation {
    /// A native-API invocation with the Lambda request id `request_id`.
    pub fn lambda(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            ..Self::default()
        }
    }

    /// This invocation, spoken in `dialect` on `route` (the edge of a dialect sets them; the
    /// Lambda request id is kept).
    pub fn in_dialect(self, dialect: &'static str, route: &'static str) -> Self {
        Self {
            dialect,
            route: Some(route),
            ..self
        }
    }

    /// Runs `work` as this invocation: [`Invocation::current`] inside it answers `self`.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The invocation in flight, or the default outside a scope.
    pub fn current() -> Self {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_invocation_is_seen_inside_its_scope_and_the_default_outside() {
        assert_eq!(Invocation::current(), Invocation::default());
        let inside = Invocation::lambda("req-1")
            .scope(async { Invocation::current() })
            .await;
        assert_eq!(inside.request_id.as_deref(), Some("req-1"));
        assert_eq!(inside.dialect, NATIVE_DIALECT);
    }
}
