//! Short codes (OTP): a few decimal digits a person can type on another device than the one
//! that opened the mail. Guessable by design, so they are safe only behind the per-address
//! attempt limit of the store (`docs/short-codes.md`); this module makes and parses them.

use rand::TryRng;
use zeroize::Zeroizing;

/// A short numeric code as typed by the user. Secret: its `Debug` is redacted and its memory
/// is zeroed on drop. Only its keyed hash, bound to the address's key
/// ([`super::TokenKey::short_code_hash`]), is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ShortCode(Zeroizing<String>);

impl ShortCode {
    /// Fewest digits `OTP_LENGTH` allows: 10^6 codes against at most 10 tries per lifetime.
    pub const MIN_LEN: usize = 6;
    /// Most digits `OTP_LENGTH` allows; 10^10 still fits the `u64` draw with little rejection.
    pub const MAX_LEN: usize = 10;
    /// `OTP_LENGTH`'s default.
    pub const DEFAULT_LEN: usize = 8;

    /// Draws `len` digits uniformly from the OS CSPRNG. Rejection sampling (not `% 10^len` on
    /// a raw draw) keeps every code equally likely, so no code is a better first guess.
    ///
    /// # Panics
    /// If `len` is outside `MIN_LEN..=MAX_LEN` (configuration is checked at init) or the
    /// operating system's random number generator fails.
    pub fn generate(len: usize) -> Self {
        assert!(
            (Self::MIN_LEN..=Self::MAX_LEN).contains(&len),
            "short code length out of range"
        );
        let modulus = 10u64.pow(len as u32);
        // The largest multiple of `modulus` that fits; draws at or above it are redrawn.
        let limit = u64::MAX - u64::MAX % modulus;
        let value = loop {
            let mut bytes = Zeroizing::new([0u8; 8]);
            rand::rngs::SysRng
                .try_fill_bytes(bytes.as_mut())
                .expect("the operating system's random number generator failed");
            let draw = u64::from_le_bytes(*bytes);
            if draw < limit {
                break draw % modulus;
            }
        };
        Self(Zeroizing::new(format!("{value:0len$}")))
    }

    /// Accepts exactly `len` ASCII digits (leading zeros included). Anything else is `None`:
    /// callers answer it like a wrong code, and it does not cost an attempt, since it cannot
    /// be any issued code.
    pub fn parse(raw: &str, len: usize) -> Option<Self> {
        (raw.len() == len && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(Zeroizing::new(raw.to_owned())))
    }

    /// The digits, for the mail or a server caller's answer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ShortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShortCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_configured_number_of_digits() {
        for len in ShortCode::MIN_LEN..=ShortCode::MAX_LEN {
            let code = ShortCode::generate(len);
            assert_eq!(code.expose().len(), len);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(ShortCode::parse(code.expose(), len), Some(code));
        }
    }

    #[test]
    fn leading_zeros_are_kept_and_every_digit_occurs() {
        // 2000 codes of 6 digits: each digit value shows up in the first position.
        let mut seen = [false; 10];
        for _ in 0..2000 {
            let code = ShortCode::generate(6);
            seen[usize::from(code.expose().as_bytes()[0] - b'0')] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn only_exactly_len_ascii_digits_parse() {
        for bad in [
            "",
            "1234567",
            "123456789",
            "1234 678",
            "1234567a",
            "١٢٣٤٥٦٧٨",
            "+1234567",
        ] {
            assert!(ShortCode::parse(bad, 8).is_none(), "{bad:?}");
        }
        assert!(ShortCode::parse("00000000", 8).is_some());
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = ShortCode::parse("12345678", 8).unwrap();
        assert_eq!(format!("{code:?}"), "ShortCode(<redacted>)");
    }
}
