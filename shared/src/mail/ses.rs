//! SES v2 adapter: `SendEmail` with simple content (we render the mails ourselves).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{Mail, MailError, Mailer};
use crate::domain::Mailbox;

/// Sends through SES v2 from a verified sender identity.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `from`'s address must be a verified identity (address or domain) in the account's SES;
    /// its display name, if any, is what mail clients show.
    pub fn new(client: Client, from: Mailbox, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from,
            reply_to: None,
            configuration_set,
        }
    }

    /// Replies go to `reply_to` (`MAIL_REPLY_TO`) instead of the sender.
    pub fn with_reply_to(mut self, reply_to: Option<Mailbox>) -> Self {
        self.reply_to = reply_to;
        self
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|_| MailError::Rejected {
            code: "InvalidContent".into(),
        })
}

/// Sorts an SES failure: refusals of this mail (bad sender, bad address, sending paused) are
/// `Rejected`; throttling, SES outages and transport failures are `Unavailable`.
fn classify(err: SdkError<SendEmailError>) -> MailError {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.into_err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            if e.is_too_many_requests_exception() || e.is_limit_exceeded_exception() {
                MailError::Unavailable { code }
            } else {
                MailError::Rejected { code }
            }
        }
        SdkError::TimeoutError(_) => MailError::Unavailable {
            code: "Timeout".into(),
        },
        SdkError::DispatchFailure(_) => MailError::Unavailable {
            code: "DispatchFailure".into(),
        },
        other => MailError::Unavailable {
            code: other.code().unwrap_or("ResponseError").to_owned(),
        },
    }
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&mail.text)?)
                    .html(utf8(&mail.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(self.from.header())
            .set_reply_to_addresses(self.reply_to.as_ref().map(|r| vec![r.header().to_owned()]))
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
