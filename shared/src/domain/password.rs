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
    /// Nothing a person can see or type: only NUL and other control characters, format
    /// characters (Unicode `Cf`: zero-width space and joiners, BOM, bidi marks) and other
    /// invisible fillers, possibly mixed with whitespace.
    #[error("must contain visible characters")]
    Invisible,
}

/// A password that satisfies the policy, NFC-normalized so the same password typed on two
/// keyboards hashes the same. Secret: redacted `Debug`, zeroed on drop.
pub struct NewPassword(Zeroizing<String>);

impl NewPassword {
    /// Fewest characters (Unicode scalar values after NFC).
    pub const MIN_CHARS: usize = 8;
    /// Most characters (Unicode scalar values after NFC).
    pub const MAX_CHARS: usize = 128;

    /// Applies the policy: 8..=128 characters after NFC, not whitespace-only, not made only of
    /// invisible characters (see [`is_invisible`]), no composition rules (they push users to
    /// predictable patterns).
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
        if normalized
            .chars()
            .all(|c| c.is_whitespace() || is_invisible(c))
            && chars > 0
        {
            return Err(PasswordError::Invisible);
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

/// A character that shows nothing and that no keyboard produces on its own: control characters
/// (`Cc`, NUL included), format characters (`Cf`, Unicode 16), and the other default-ignorable
/// or blank-looking code points (variation selectors, Hangul fillers, the combining grapheme
/// joiner, Mongolian free variation selectors, Khmer inherent vowels, the braille blank).
/// A password made only of these is an accident or an attack on the hasher's input, not a
/// secret someone can type again.
pub fn is_invisible(c: char) -> bool {
    const RANGES: &[(char, char)] = &[
        // Cf, Unicode 16.0.
        ('\u{00AD}', '\u{00AD}'),
        ('\u{0600}', '\u{0605}'),
        ('\u{061C}', '\u{061C}'),
        ('\u{06DD}', '\u{06DD}'),
        ('\u{070F}', '\u{070F}'),
        ('\u{0890}', '\u{0891}'),
        ('\u{08E2}', '\u{08E2}'),
        ('\u{180E}', '\u{180E}'),
        ('\u{200B}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2060}', '\u{2064}'),
        ('\u{2066}', '\u{206F}'),
        ('\u{FEFF}', '\u{FEFF}'),
        ('\u{FFF9}', '\u{FFFB}'),
        ('\u{110BD}', '\u{110BD}'),
        ('\u{110CD}', '\u{110CD}'),
        ('\u{13430}', '\u{1343F}'),
        ('\u{1BCA0}', '\u{1BCA3}'),
        ('\u{1D173}', '\u{1D17A}'),
        ('\u{E0001}', '\u{E0001}'),
        ('\u{E0020}', '\u{E007F}'),
        // Invisible, though not Cf.
        ('\u{034F}', '\u{034F}'),
        ('\u{115F}', '\u{1160}'),
        ('\u{17B4}', '\u{17B5}'),
        ('\u{180B}', '\u{180D}'),
        ('\u{180F}', '\u{180F}'),
        ('\u{2800}', '\u{2800}'),
        ('\u{3164}', '\u{3164}'),
        ('\u{FE00}', '\u{FE0F}'),
        ('\u{FFA0}', '\u{FFA0}'),
        ('\u{E0100}', '\u{E01EF}'),
    ];
    c.is_control() || RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
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

    #[test]
    fn passwords_made_only_of_invisible_characters_are_refused() {
        let cases = [
            ("\0".repeat(8), "NUL"),
            (
                "\u{1}\u{7}\u{1b}\u{7f}\u{85}\u{9f}\u{1}\u{2}".to_owned(),
                "C0/C1 controls",
            ),
            ("\u{200B}".repeat(10), "zero-width space"),
            ("\u{200C}\u{200D}\u{2060}\u{FEFF}".repeat(3), "joiners, BOM"),
            (
                "\u{202E}\u{2066}\u{00AD}\u{061C}".repeat(3),
                "bidi controls, soft hyphen",
            ),
            ("\u{E0041}\u{E0042}".repeat(5), "tag characters"),
            (
                "\u{3164}\u{115F}\u{FE0F}\u{2800}".repeat(3),
                "fillers, selectors, blank",
            ),
            (
                " \u{200B} \u{0}\t\u{2060}\u{3000}\u{FEFF} ".to_owned(),
                "mixed with spaces",
            ),
        ];
        for (input, why) in cases {
            assert_eq!(
                NewPassword::parse(&input).map(|_| ()),
                Err(PasswordError::Invisible),
                "{why}"
            );
        }
        // One visible character among them is a password (the policy has no composition rules).
        assert!(
            NewPassword::parse("\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}x").is_ok()
        );
        assert!(NewPassword::parse("pass\u{200D}word").is_ok());
    }

    proptest! {
        #[test]
        fn passwords_of_only_invisible_or_blank_characters_never_pass(
            s in "[\\x00-\\x1f\\x7f-\\u{9f}\\u{200b}-\\u{200f}\\u{2060}-\\u{2064}\\u{feff}\\u{e0020}-\\u{e007f} \\u{3000}]{1,130}",
        ) {
            prop_assert!(NewPassword::parse(&s).is_err());
        }

        #[test]
        fn accepted_passwords_respect_the_bounds(s in "\\PC{0,200}") {
            if let Ok(p) = NewPassword::parse(&s) {
                let n = p.expose().chars().count();
                prop_assert!((8..=128).contains(&n));
                prop_assert!(!p.expose().trim().is_empty());
                prop_assert!(p.expose().chars().any(|c| !c.is_whitespace() && !is_invisible(c)));
            }
        }
    }
}
