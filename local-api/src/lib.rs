//! The local API: the same three handlers the Lambda functions run, mounted on one port, with
//! development extras under `/_dev/` (the mailbox, the mail preview). In-memory store and a console mailer by
//! default, so it runs on a laptop with no AWS account; `--store dynamodb` and `--mailer ses`
//! switch to the real adapters (endpoint from `AWS_ENDPOINT_URL`, e.g. the moto emulator).
//! Demo pages (`/`, `/reset`, the mailbox as HTML) let a person walk the reset in a browser.

mod api;
mod dev;
pub mod options;
pub mod pages;
pub mod preview;
mod seed;
mod server;

pub use api::LocalApi;
pub use options::{MailerKind, Options, StoreKind};
pub use server::serve;

/// The first line local-api prints on stdout, once its listener is bound and every adapter is
/// built: `ready http://127.0.0.1:<port>`. Scripts and tests wait for this line (and read the
/// address after the prefix) instead of parsing the banner written for people, which may change.
pub const READY_PREFIX: &str = "ready ";

/// The readiness line for `port`.
pub fn ready_line(port: u16) -> String {
    format!("{READY_PREFIX}http://127.0.0.1:{port}")
}

/// Errors of building the local API (bad flags, SDK calls while seeding).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
