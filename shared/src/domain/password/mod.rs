//! The new-password policy, NIST SP 800-63B style: length bounds from the configuration
//! ([`PasswordPolicy`]), no composition rules, nothing made only of invisible characters, and
//! nothing built on the account's address or the app's name. Whether the password appears in a
//! breach is a port ([`crate::breach`]), asked by the consume use case.

use std::ops::RangeInclusive;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::EmailAddress;

/// Why a new password was refused. Messages are shown to the user; none repeats the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than the policy's minimum characters after NFC normalization.
    #[error("must be at least {min} characters")]
    TooShort {
        /// `PASSWORD_MIN_LENGTH`.
        min: usize,
    },
    /// More than the policy's maximum characters: bounds argon2's input and our memory.
    #[error("must be at most {max} characters")]
    TooLong {
        /// `PASSWORD_MAX_LENGTH`.
        max: usize,
    },
    /// Only whitespace.
    #[error("must not be only whitespace")]
    Blank,
    /// Nothing a person can see or type: only NUL and other control characters, format
    /// characters (Unicode `Cf`: zero-width space and joiners, BOM, bidi marks) and other
    /// invisible fillers, possibly mixed with whitespace.
    #[error("must contain visible characters")]
    Invisible,
    /// Mostly the account's address, its local part or the app's name: the first words an
    /// attacker who knows whose account it is will try (800-63B's "context-specific words").
    #[error("must not be built on your email address or the app's name")]
    Context,
}

/// Why a policy could not be built from the settings (a configuration error at init).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `PASSWORD_MIN_LENGTH` outside [`PasswordPolicy::MIN_LENGTHS`].
    #[error("the minimum must be between 8 and 64")]
    Min,
    /// `PASSWORD_MAX_LENGTH` above [`PasswordPolicy::MAX_LENGTH_LIMIT`] or below the minimum.
    #[error("the maximum must be at least the minimum and at most 256")]
    Max,
}

/// The rules a new password must pass, built once from the settings (`PASSWORD_MIN_LENGTH`,
/// `PASSWORD_MAX_LENGTH`, `APP_NAME`). Lengths count Unicode scalar values after NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    /// Context words known at init (the app's name), squashed (see [`squash`]).
    context: Vec<String>,
}

/// A context word shorter than this (letters and digits) is not looked for: a three-letter
/// local part such as `ada` would refuse many good passphrases and protect nothing.
const MIN_CONTEXT_WORD: usize = 4;

impl PasswordPolicy {
    /// The minimums a deployment may choose: 800-63B's 8 at least; above 64 a passphrase
    /// manager's default would be refused.
    pub const MIN_LENGTHS: RangeInclusive<usize> = 8..=64;
    /// The largest maximum: 800-63B asks for at least 64; more only feeds argon2 and our memory.
    pub const MAX_LENGTH_LIMIT: usize = 256;
    /// `PASSWORD_MIN_LENGTH`'s default.
    pub const DEFAULT_MIN: usize = 8;
    /// `PASSWORD_MAX_LENGTH`'s default.
    pub const DEFAULT_MAX: usize = 128;

    /// A policy of `min..=max` characters that also refuses passwords built on any of
    /// `context_words` (the app's name; the account's address is added per reset).
    pub fn new<'a>(
        min: usize,
        max: usize,
        context_words: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, PolicyError> {
        if !Self::MIN_LENGTHS.contains(&min) {
            return Err(PolicyError::Min);
        }
        if max < min || max > Self::MAX_LENGTH_LIMIT {
            return Err(PolicyError::Max);
        }
        Ok(Self {
            min_chars: min,
            max_chars: max,
            context: context_words.into_iter().map(squash).collect(),
        })
    }

    /// Fewest characters (the reset page and openapi.yaml show it).
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Most characters.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Applies the policy to what the user typed: the length bounds after NFC, not
    /// whitespace-only, not made only of invisible characters (see [`is_invisible`]), not built
    /// on the app's name, and no composition rules (they push users to predictable patterns).
    /// The account's address is checked once it is known ([`PasswordPolicy::check_context`]).
    pub fn parse(&self, raw: &str) -> Result<NewPassword, PasswordError> {
        let too_long = PasswordError::TooLong {
            max: self.max_chars,
        };
        // Refuse absurd inputs before normalizing them.
        if raw.len() > self.max_chars * 4 * 3 {
            return Err(too_long);
        }
        let normalized = Zeroizing::new(raw.nfc().collect::<String>());
        let chars = normalized.chars().count();
        if chars > self.max_chars {
            return Err(too_long);
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
        if chars < self.min_chars {
            return Err(PasswordError::TooShort {
                min: self.min_chars,
            });
        }
        let password = NewPassword(normalized);
        self.check_context(&password, None)?;
        Ok(password)
    }

    /// Refuses a password that is mostly a context word: the app's name and, when `account` is
    /// given, the account's address and its local part. Compared in lowercase on letters and
    /// digits only (so `Example-App!` is `exampleapp`), words of at least four of them; the
    /// password is refused when it contains one and, once every such word is taken out, fewer
    /// than the minimum length of letters and digits are left. So `ExampleApp2024!` is refused
    /// and `my example app passphrase` is not. The consume use case calls this with the
    /// address once it has read the code's user, before hashing.
    pub fn check_context(
        &self,
        password: &NewPassword,
        account: Option<&EmailAddress>,
    ) -> Result<(), PasswordError> {
        let mut words: Vec<String> = self.context.clone();
        if let Some(email) = account {
            let address = email.normalized();
            words.push(squash(address));
            if let Some((local, _)) = address.rsplit_once('@') {
                words.push(squash(local));
            }
        }
        words.retain(|w| w.chars().count() >= MIN_CONTEXT_WORD);
        // The whole address before its local part, which it contains.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let mut rest = Zeroizing::new(squash(password.expose()));
        let mut found = false;
        for word in &words {
            if rest.contains(word.as_str()) {
                found = true;
                rest = Zeroizing::new(rest.replace(word.as_str(), ""));
            }
        }
        if found && rest.chars().count() < self.min_chars {
            return Err(PasswordError::Context);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    /// 8..=128 characters, no context words: the settings' defaults without `APP_NAME`.
    fn default() -> Self {
        Self {
            min_chars: Self::DEFAULT_MIN,
            max_chars: Self::DEFAULT_MAX,
            context: Vec::new(),
        }
    }
}

/// Lowercase letters and digits only: how context words and passwords are compared.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A password that satisfies the policy, NFC-normalized so the same password typed on two
/// keyboards hashes the same. Secret: redacted `Debug`, zeroed on drop.
pub struct NewPassword(Zeroizing<String>);

impl NewPassword {
    /// The password under the default policy ([`PasswordPolicy::default`]: 8..=128
    /// characters). The API parses with the configured policy instead; this is for seeding
    /// accounts, tests and benchmarks.
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        PasswordPolicy::default().parse(raw)
    }

    /// The normalized password, for the hasher and the breach check only.
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
mod tests;
