//! A mailer that prints each mail to standard output and keeps it in memory: the local API's
//! mailbox (`GET /_dev/mailbox`) and the tests' inbox. Development only: it shows codes,
//! which is its purpose, so it writes with `println!`, never through `tracing`.

use super::{Mail, MailError, Mailer};
use crate::recorder::Recorder;

/// Keeps every mail sent, newest last.
#[derive(Default)]
pub struct RecordingMailer {
    sent: Recorder<Mail>,
    print: bool,
}

impl RecordingMailer {
    /// Records silently (tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records and prints each mail to standard output (the local API).
    pub fn printing() -> Self {
        Self {
            print: true,
            ..Self::default()
        }
    }

    /// Every mail so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.all()
    }

    /// Makes every following send fail as rejected with `code` (or succeed again with `None`).
    pub fn fail_with(&self, code: Option<&str>) {
        self.sent.fail_with(code);
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if let Some(code) = self.sent.failure() {
            return Err(MailError::Rejected { code });
        }
        if self.print {
            println!(
                "\n--- mail to {} ---\nSubject: {}\n\n{}\n--- end of mail ---\n",
                mail.to, mail.subject, mail.text
            );
        }
        self.sent.keep([mail.clone()]);
        Ok(())
    }
}
