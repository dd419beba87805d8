//! The mail port, the mails we send (rendered from [`templates`]), and the mailers: SES v2 for
//! production, a recording console mailer for the local API and tests.

pub mod recording;
pub mod render;
pub mod ses;
pub mod templates;

use crate::domain::EmailAddress;

/// A rendered mail. Its text, HTML and link carry a reset code, so `Debug` shows only the
/// recipient and subject.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address stored on the account.
    pub to: EmailAddress,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body; every interpolated value is escaped.
    pub html: String,
    /// The reset link in the body, if any (the local mailbox shows it).
    pub link: Option<String>,
    /// The short code in the body, if any (the local mailbox shows it).
    pub otp: Option<String>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a mail was not sent. Carries the provider's error code, never the mail.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused the mail (e.g. SES `MessageRejected`, unverified sender).
    #[error("mail rejected by the provider: {code}")]
    Rejected {
        /// The provider's error code.
        code: String,
    },
    /// The provider could not be reached or failed.
    #[error("mail provider unavailable: {code}")]
    Unavailable {
        /// The provider's error code, or a short description of the transport failure.
        code: String,
    },
    /// The send did not finish before the public answer's deadline and was abandoned, so the
    /// answer's timing never depends on the provider (it may or may not have been accepted).
    #[error("mail send abandoned at the response deadline")]
    DeadlineExceeded,
    /// The mail's template failed to render, so nothing was sent. Names the template and the
    /// kind of failure, never a value (the link holds a code).
    #[error("mail template {template} failed to render: {reason}")]
    Template {
        /// The template's name (`reset.en.html`).
        template: String,
        /// The kind of failure.
        reason: String,
    },
}

/// Sends mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers one mail (to the provider; actual delivery is asynchronous).
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
