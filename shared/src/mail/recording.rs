//! A mailer that prints each mail to standard output and keeps it in memory: the local API's
//! mailbox (`GET /_dev/mailbox`) and the tests' inbox. Development only: it shows codes,
//! which is its purpose, so it writes with `println!`, never through `tracing`.

use super::{Mail, MailError, Mailer};
use crate::recorder::Recorder;

/// Keeps every mail sent, newest last (`new` records silently, `printing` also prints;
/// `fail_with` makes every following send fail as rejected with that code).
pub type RecordingMailer = Recorder<Mail>;

impl Recorder<Mail> {
    /// Every mail so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.all()
    }
}

#[async_trait::async_trait]
impl Mailer for Recorder<Mail> {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if let Some(code) = self.failure() {
            return Err(MailError::Rejected { code });
        }
        if self.prints() {
            println!(
                "\n--- mail to {} ---\nSubject: {}\n\n{}\n--- end of mail ---\n",
                mail.to, mail.subject, mail.text
            );
        }
        self.keep([mail.clone()]);
        Ok(())
    }
}
