//! The edge's success bodies, as types.
//!
//! Why types and not `json!` patched field by field: the shape of every 200 is written once,
//! here, where a reviewer can see that the public `request` reply has no field that depends on
//! the account (the code, its expiry and the user id exist only for a server caller that asked
//! for `return_code`). Fields are declared in alphabetical order so the bytes are exactly what
//! the earlier `serde_json::Value` bodies were (its maps are sorted).

use serde::Serialize;

use super::{ApiError, REQUEST_ACCEPTED_MESSAGE};
use crate::service::{CheckOutcome, Issued, rfc3339};

/// `200` of `request`: always `ok` and the one sentence; the code only when returned.
///
/// No `Debug`: it may hold a live code.
#[derive(Serialize)]
pub struct RequestAccepted<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    message: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

impl<'a> RequestAccepted<'a> {
    /// The reply; `issued` is `Some` only for a server caller that asked for the code.
    pub fn new(issued: Option<&'a Issued>) -> Self {
        Self {
            code: issued.map(|i| i.code.expose()),
            expires_at: issued.map(|i| rfc3339(i.expires_at)),
            message: REQUEST_ACCEPTED_MESSAGE,
            ok: true,
            user_id: issued.map(|i| i.user_id.as_str()),
        }
    }
}

/// `200` of `check`: `is_valid`, and the expiry of a valid code.
#[derive(Debug, Serialize)]
pub struct CheckReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    is_valid: bool,
}

impl From<CheckOutcome> for CheckReply {
    fn from(outcome: CheckOutcome) -> Self {
        match outcome {
            CheckOutcome::Valid { expires_at } => Self {
                expires_at: Some(rfc3339(expires_at)),
                is_valid: true,
            },
            CheckOutcome::Invalid => Self {
                expires_at: None,
                is_valid: false,
            },
        }
    }
}

/// `200` of `consume` (`{"ok": true}`) and of `revoke` (with how many codes died).
#[derive(Debug, Serialize)]
pub struct Done {
    /// Always `true`: failures are [`ApiError`]s.
    pub ok: bool,
    /// `revoke` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<u32>,
}

/// The JSON text of a reply. Serialising these structs cannot fail (no maps, no foreign
/// `Serialize`); if it ever did, the caller gets a plain 500, never a partial body.
pub fn render(reply: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(reply).map_err(|_| {
        tracing::error!("a reply failed to serialise");
        ApiError::Internal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_request_reply_is_ok_and_the_sentence_only() {
        let body = render(&RequestAccepted::new(None)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"ok": true, "message": REQUEST_ACCEPTED_MESSAGE}).to_string()
        );
    }

    #[test]
    fn check_and_done_replies_keep_their_wire_shape() {
        assert_eq!(
            render(&CheckReply::from(CheckOutcome::Invalid)).unwrap(),
            r#"{"is_valid":false}"#
        );
        assert_eq!(
            render(&CheckReply::from(CheckOutcome::Valid {
                expires_at: crate::clock::EpochSecs::new(0)
            }))
            .unwrap(),
            r#"{"expires_at":"1970-01-01T00:00:00Z","is_valid":true}"#
        );
        let consumed = Done {
            ok: true,
            revoked: None,
        };
        assert_eq!(render(&consumed).unwrap(), r#"{"ok":true}"#);
        let revoked = Done {
            ok: true,
            revoked: Some(2),
        };
        assert_eq!(render(&revoked).unwrap(), r#"{"ok":true,"revoked":2}"#);
    }
}
