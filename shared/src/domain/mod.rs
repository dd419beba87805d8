//! Domain types built by parsing: an [`EmailAddress`], a [`ResetCode`] or a [`NewPassword`]
//! that exists has already passed every rule, so the use cases never re-check input.

mod callback;
mod code;
mod email;
mod keys;
mod locale;
mod password;

pub use callback::{AllowedOrigins, CallbackError, CallbackUrl, UrlTemplate};
pub use code::ResetCode;
pub use email::{EmailAddress, EmailError};
pub use keys::{EmailKey, IpKey, TokenHash, TokenKey, TokenKeyError};
pub use locale::Locale;
pub use password::{NewPassword, PasswordError};

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

/// A user as the reset flow sees one: the id it writes to and the address it mails.
///
/// `email` is the address stored on the account. Mail goes there and never to what the
/// requester typed, so a look-alike address cannot receive someone else's link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Key of the user's item in the users table.
    pub id: UserId,
    /// The address stored on the account.
    pub email: EmailAddress,
}

#[cfg(test)]
mod tests {
    use super::UserId;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn accepted_user_ids_are_bounded_and_printable(s in "\\PC{0,1100}") {
            if let Ok(id) = UserId::parse(&s) {
                prop_assert!(id.as_str().len() <= UserId::MAX_LEN);
                prop_assert!(!id.as_str().trim().is_empty());
                prop_assert!(!id.as_str().chars().any(char::is_control));
            }
        }
    }
}
