//! Domain types built by parsing: an [`EmailAddress`], a [`ResetCode`] or a [`NewPassword`]
//! that exists has already passed every rule, so the use cases never re-check input.

mod callback;
mod code;
mod email;
mod keys;
mod locale;
mod mailbox;
mod password;
mod short_code;

use crate::clock::EpochSecs;
pub use callback::{AllowedOrigins, CallbackError, CallbackUrl, OriginError, UrlTemplate};
pub use code::ResetCode;
pub use email::{EmailAddress, EmailError};
pub use keys::{EmailKey, IpKey, TokenHash, TokenKey, TokenKeyError, TokenKeys};
pub use locale::Locale;
pub use mailbox::{Mailbox, MailboxError};
pub use password::{NewPassword, PasswordError, PasswordPolicy, PolicyError};
pub use short_code::ShortCode;

/// What the reset mail carries (`RESET_METHOD`): the link, a short code typed with the
/// address, or both. With `Code` the link code still exists (server callers' `return_code`
/// and the dialects answer with it) but no mail shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMethod {
    /// Only the link.
    Link,
    /// Only the short code.
    Code,
    /// The link and the short code (the default).
    Both,
}

impl ResetMethod {
    /// As `RESET_METHOD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ResetMethod::Link => "link",
            ResetMethod::Code => "code",
            ResetMethod::Both => "both",
        }
    }

    /// Whether a short code is issued and mailed.
    pub fn short_code(self) -> bool {
        matches!(self, ResetMethod::Code | ResetMethod::Both)
    }

    /// Whether the mail carries the link.
    pub fn link(self) -> bool {
        matches!(self, ResetMethod::Link | ResetMethod::Both)
    }
}

/// Where a reset link carries its code (`LINK_CODE_IN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePlacement {
    /// `?code=<code>` (Stack Auth's contract; the default).
    Query,
    /// `#code=<code>`: never sent to the app's server, so never in its access logs.
    Fragment,
}

/// The app's identifier of a user: the users table's key value. Opaque to us.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Longest id accepted from a server caller; DynamoDB keys are capped at 2048 bytes.
    pub const MAX_LEN: usize = 1024;

    /// Accepts any non-blank string up to [`Self::MAX_LEN`] bytes without control characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.trim().is_empty() {
            return Err("must not be empty");
        }
        if raw.len() > Self::MAX_LEN {
            return Err("must be at most 1024 bytes");
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as stored in the users table.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user as the reset flow sees one: the id it writes to, the address it mails, and the
/// account state a code is bound to.
///
/// `email` is the address stored on the account. Mail goes there and never to what the
/// requester typed, so a look-alike address cannot receive someone else's link.
///
/// A code is bound to `email` and `password_changed_at` as they were when it was issued: if the
/// app (or another reset) changes either, every code issued before stops working, whatever the
/// interleaving, because the password write is conditioned on both (see
/// [`crate::store::PasswordChange`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Key of the user's item in the users table.
    pub id: UserId,
    /// The address stored on the account.
    pub email: EmailAddress,
    /// The users table's password-change attribute (epoch seconds) as read; `None` when the
    /// item has none. The app must change it whenever it sets a password itself.
    pub password_changed_at: Option<EpochSecs>,
    /// The users table's organisation attribute (`USERS_ORG_ATTRIBUTE`) as read: Zitadel's
    /// `{{.OrgID}}` and `resourceOwner`. `None` when not configured or absent.
    pub org_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::UserId;
    use proptest::prelude::*;

    /// Any string with at least one control character (C0, DEL, C1) somewhere.
    fn with_control_character() -> impl Strategy<Value = String> {
        (
            "\\PC{0,40}",
            "[\\x00-\\x1f\\x7f-\\u{9f}]",
            any::<prop::sample::Index>(),
        )
            .prop_map(|(s, c, at)| {
                let mut chars: Vec<char> = s.chars().collect();
                let at = at.index(chars.len() + 1);
                chars.insert(at, c.chars().next().unwrap_or('\0'));
                chars.into_iter().collect()
            })
    }

    proptest! {
        #[test]
        fn user_ids_with_a_control_character_are_refused(s in with_control_character()) {
            prop_assert!(UserId::parse(&s).is_err(), "{:?}", s);
        }

        #[test]
        fn accepted_user_ids_are_bounded_and_printable(
            s in prop_oneof!["\\PC{0,1100}", with_control_character()],
        ) {
            if let Ok(id) = UserId::parse(&s) {
                prop_assert!(id.as_str().len() <= UserId::MAX_LEN);
                prop_assert!(!id.as_str().trim().is_empty());
                prop_assert!(!id.as_str().chars().any(char::is_control));
            }
        }
    }
}

/// Property-test support: run a property through proptest's runner (same case count and trace
/// as `proptest!`, so scripts/test.d/10-proptest counts it) and count how many cases reached
/// each branch of the parser, so a generator that never reaches "accepted" cannot pass silently.
#[cfg(test)]
pub(crate) mod branches {
    use std::cell::Cell;

    use proptest::strategy::Strategy;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    /// Which side of a parser a case reached.
    pub(crate) enum Branch {
        Accepted,
        Refused,
    }

    /// Runs `property` over `strategy` and asserts that at least `min_share` of the cases
    /// reached each branch. Returns (accepted, refused).
    pub(crate) fn run_counting<S: Strategy>(
        name: &str,
        strategy: S,
        min_share: f64,
        property: impl Fn(S::Value) -> Result<Branch, TestCaseError>,
    ) -> (u32, u32) {
        let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
        let mut runner = TestRunner::new(Config::default());
        let cases = runner.config().cases;
        if let Err(e) = runner.run(&strategy, |v| {
            match property(v)? {
                Branch::Accepted => accepted.set(accepted.get() + 1),
                Branch::Refused => refused.set(refused.get() + 1),
            }
            Ok(())
        }) {
            panic!("{name}: {e}");
        }
        let (a, r) = (accepted.get(), refused.get());
        // Read by scripts/test.d/10-proptest (cargo test shows it with --nocapture).
        println!("proptest branches: {name}: {a} accepted, {r} refused of {cases} cases");
        let min = (f64::from(cases) * min_share).floor() as u32;
        assert!(
            a >= min && r >= min,
            "{name}: {a} cases accepted, {r} refused of {cases}; each branch needs {min}"
        );
        (a, r)
    }
}
