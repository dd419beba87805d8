//! An example consumer of the password-reset service's events: when a password is reset
//! (`PasswordResetCompleted`), sign the user out of Amazon Cognito everywhere
//! (`AdminUserGlobalSignOut`: every refresh token is revoked, so no session outlives the reset
//! by more than an access token's lifetime).
//!
//! Deploy it as a Lambda function behind an EventBridge rule on the service's bus:
//! `{"source": ["password-reset"], "detail-type": ["PasswordResetCompleted"]}` (docs/sessions.md).
//! It assumes the service's user id (`USERS_KEY_ATTRIBUTE`) is the Cognito username, or its
//! `sub`; map it here if your table keys users otherwise.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};
use serde::Deserialize;
use serde_json::Value;

/// The detail-type this consumer acts on.
pub const COMPLETED: &str = "PasswordResetCompleted";

/// The part of an EventBridge event this consumer reads.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// The event's name.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The service's detail.
    pub detail: Detail,
}

/// The part of the detail this consumer reads (the service also sends the time, the Lambda
/// request id, the operation, the dialect and the route).
#[derive(Debug, Deserialize)]
pub struct Detail {
    /// Whose password was reset.
    pub user_id: String,
}

/// What the consumer did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user was signed out everywhere.
    SignedOut,
    /// Cognito has no such user: nothing to revoke.
    NoSuchUser,
    /// Another detail-type (the rule should not send it): ignored.
    Ignored,
}

/// Why the sign-out failed. The function fails the invocation, so EventBridge retries it (and
/// a dead-letter queue on the target catches what never succeeds).
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The event is not an EventBridge event with the service's detail.
    #[error("not a password-reset event: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Cognito refused or failed.
    #[error("AdminUserGlobalSignOut failed: {0}")]
    Cognito(String),
}

/// Signs `event`'s user out of every device in `user_pool_id`.
pub async fn handle(
    client: &Client,
    user_pool_id: &str,
    event: Value,
) -> Result<Outcome, RevokeError> {
    let event: Event = serde_json::from_value(event)?;
    if event.detail_type != COMPLETED {
        return Ok(Outcome::Ignored);
    }
    let signed_out = client
        .admin_user_global_sign_out()
        .user_pool_id(user_pool_id)
        .username(&event.detail.user_id)
        .send()
        .await;
    match signed_out {
        Ok(_) => {
            tracing::info!(user_id = %event.detail.user_id, "signed out everywhere after a password reset");
            Ok(Outcome::SignedOut)
        }
        Err(SdkError::ServiceError(e)) if e.err().is_user_not_found_exception() => {
            tracing::warn!(user_id = %event.detail.user_id, "no such Cognito user; nothing to revoke");
            Ok(Outcome::NoSuchUser)
        }
        Err(e) => Err(RevokeError::Cognito(DisplayErrorContext(&e).to_string())),
    }
}
