//! The development endpoints under `/_dev/`: the mailbox (`GET /_dev/mailbox`, JSON or the HTML
//! page) and a sign-in that proves a reset really changed the stored password.

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use shared::domain::EmailAddress;
use shared::http::{ApiError, json_response};
use shared::mail::Mail;
use shared::wiring::Store;

/// One mail as `GET /_dev/mailbox` lists it.
#[derive(Serialize)]
struct MailboxEntry<'a> {
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    html: &'a str,
    link: Option<&'a str>,
    /// The short code in the mail; `null` when it has none.
    otp: Option<&'a str>,
}

/// The mailbox as JSON, oldest first.
pub fn mailbox_json(mails: &[Mail]) -> http::Response<String> {
    let entries: Vec<MailboxEntry<'_>> = mails
        .iter()
        .map(|m| MailboxEntry {
            to: m.to.as_str(),
            subject: &m.subject,
            text: &m.text,
            html: &m.html,
            link: m.link.as_deref(),
            otp: m.otp.as_deref(),
        })
        .collect();
    json_response(
        StatusCode::OK,
        serde_json::to_string(&entries).expect("strings serialize"),
    )
}

/// `POST /_dev/sign-in {"email","password"}`: 200 if the password matches the stored
/// argon2id hash, else 401.
pub async fn sign_in(store: &Store, body: &Bytes) -> http::Response<String> {
    let parsed: Option<(String, String)> =
        serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            Some((
                v.get("email")?.as_str()?.to_owned(),
                v.get("password")?.as_str()?.to_owned(),
            ))
        });
    let Some((email, password)) = parsed else {
        return ApiError::field("email", "email and password are required strings").into_response();
    };
    let Ok(email) = EmailAddress::parse(&email) else {
        return ApiError::field("email", "must be a valid email address").into_response();
    };
    let hash = match stored_hash(store, &email).await {
        Ok(hash) => hash,
        Err(e) => {
            tracing::error!(error = %e, "sign-in lookup failed");
            return ApiError::Internal.into_response();
        }
    };
    if hash.is_some_and(|h| shared::hashing::verify(&password, &h)) {
        json_response(StatusCode::OK, json!({"ok": true}).to_string())
    } else {
        ApiError::Unauthorized.into_response()
    }
}

async fn stored_hash(
    store: &Store,
    email: &EmailAddress,
) -> Result<Option<String>, shared::store::StoreError> {
    match store.users().by_email(email).await? {
        Some(user) => store.password_hash(&user.id).await,
        None => Ok(None),
    }
}
