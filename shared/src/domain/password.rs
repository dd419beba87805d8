//! The new-password policy: NIST SP 800-63B style, length only.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Why a new password was refused. Messages are shown to the user; none repeats the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`NewPassword::MIN_CHARS`] characters after NFC normalization.
    #[error("must be at least 8 characters")]
    TooShort,
    /// More than [`NewPassword::MAX_CHARS`] characters: bounds argon2's input and our memory.
    #[error("must be at most 128 characters")]
    TooLong,
    /// Only whitespace.
    #[error("must not be only whitespace")]
    Blank,
}

/// A password that satisfies the policy, NFC-normalized so the same password typed on two
/// keyboards hashes the same. Secret: redacted `Debug`, zeroed on drop.
pub struct NewPassword(Zeroizing<String>);

impl NewPassword {
    /// Fewest characters (Unicode scalar values after NFC).
    pub const MIN_CHARS: usize = 8;
    /// Most characters (Unicode scalar values after NFC).
    pub const MAX_CHARS: usize = 128;

    /// Applies the policy: 8..=128 characters after NFC, not whitespace-only, no composition
    /// rules (they push users to predictable patterns).
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        // Refuse absurd inputs before normalizing them.
        if raw.len() > Self::MAX_CHARS * 4 * 3 {
            return Err(PasswordError::TooLong);
        }
        let normalized = Zeroizing::new(raw.nfc().collect::<String>());
        let chars = normalized.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if normalized.chars().all(char::is_whitespace) && chars > 0 {
            return Err(PasswordError::Blank);
        }
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        Ok(Self(normalized))
    }

    /// The normalized password, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_policy_is_length_only() {
        let cases: [(&str, Result<(), PasswordError>, &str); 8] = [
            ("", Err(PasswordError::TooShort), "empty"),
            ("1234567", Err(PasswordError::TooShort), "7 characters"),
            ("12345678", Ok(()), "8 characters"),
            ("        ", Err(PasswordError::Blank), "8 spaces"),
            (
                "\t\n  \u{3000}   ",
                Err(PasswordError::Blank),
                "mixed whitespace",
            ),
            ("correct horse", Ok(()), "passphrase with space"),
            ("ééééééé", Err(PasswordError::TooShort), "7 accented"),
            ("pässwörd", Ok(()), "8 non-ASCII"),
        ];
        for (input, want, why) in cases {
            assert_eq!(NewPassword::parse(input).map(|_| ()), want, "{why}");
        }
        assert!(NewPassword::parse(&"x".repeat(128)).is_ok());
        assert_eq!(
            NewPassword::parse(&"x".repeat(129)).map(|_| ()),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn decomposed_and_composed_spellings_are_the_same_password() {
        let composed = NewPassword::parse("caf\u{e9}-latte").unwrap();
        let decomposed = NewPassword::parse("cafe\u{301}-latte").unwrap();
        assert_eq!(composed.expose(), decomposed.expose());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let p = NewPassword::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    proptest! {
        #[test]
        fn accepted_passwords_respect_the_bounds(s in "\\PC{0,200}") {
            if let Ok(p) = NewPassword::parse(&s) {
                let n = p.expose().chars().count();
                prop_assert!((8..=128).contains(&n));
                prop_assert!(!p.expose().trim().is_empty());
            }
        }
    }
}
