//! Reset codes: 256 random bits from the operating system, carried as 43 base64url characters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use zeroize::Zeroizing;

/// A reset code as it appears in a link. Secret: its `Debug` is redacted and its memory is
/// zeroed on drop. Only its HMAC ([`super::TokenHash`]) is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetCode(Zeroizing<String>);

impl ResetCode {
    /// Length of the textual code: 32 bytes in base64url without padding.
    pub const LEN: usize = 43;

    /// Draws a fresh code from the OS CSPRNG (`getrandom`), never from a userspace PRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng
            .try_fill_bytes(bytes.as_mut())
            .expect("the operating system's random number generator failed");
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// Accepts exactly the codes [`ResetCode::generate`] can produce (canonical base64url of 32
    /// bytes). Anything else is `None`: callers answer it exactly like an unknown code, so no
    /// parsing detail reaches a guesser.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != Self::LEN {
            return None;
        }
        let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(raw).ok()?);
        (decoded.len() == 32).then(|| Self(Zeroizing::new(raw.to_owned())))
    }

    /// The code itself, for the link in a mail or a server caller's `return_code` answer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::branches::{Branch, run_counting};
    use proptest::prelude::*;

    #[test]
    fn generated_codes_are_43_url_safe_characters_and_differ() {
        let a = ResetCode::generate();
        let b = ResetCode::generate();
        assert_eq!(a.expose().len(), ResetCode::LEN);
        assert!(
            a.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(ResetCode::parse(a.expose()), Some(a));
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = ResetCode::generate();
        let shown = format!("{code:?}");
        assert!(!shown.contains(code.expose()));
        assert_eq!(shown, "ResetCode(<redacted>)");
    }

    #[test]
    fn wrong_length_or_alphabet_is_not_a_code() {
        let good = ResetCode::generate();
        let g = good.expose();
        for bad in [
            String::new(),
            g[..42].to_owned(),
            format!("{g}A"),
            format!("{}+", &g[..42]),
            format!("{}/", &g[..42]),
            format!("{}=", &g[..42]),
            " ".repeat(43),
        ] {
            assert!(ResetCode::parse(&bad).is_none(), "{bad:?}");
        }
    }

    /// Codes from the accepted grammar: any 32 bytes, base64url without padding.
    fn valid_code() -> impl Strategy<Value = String> {
        any::<[u8; 32]>().prop_map(|b| URL_SAFE_NO_PAD.encode(b))
    }

    /// Near misses: a valid code with one character changed to something outside the alphabet,
    /// or cut, or extended, or a 43-character string of the alphabet whose last character has
    /// non-zero padding bits (not canonical).
    fn near_miss() -> impl Strategy<Value = String> {
        (
            valid_code(),
            any::<prop::sample::Index>(),
            "[+/= .\\x00\\u{e9}]",
            0..4u8,
        )
            .prop_map(|(code, at, bad, how)| {
                let mut chars: Vec<char> = code.chars().collect();
                let at = at.index(chars.len());
                match how {
                    0 => chars[at] = bad.chars().next().unwrap_or('+'),
                    1 => chars.truncate(at),
                    2 => chars.push('A'),
                    _ => chars[42] = 'B', // 'B' = 000001: bits past the 256th
                }
                chars.into_iter().collect()
            })
    }

    #[test]
    fn parsing_never_panics_and_both_branches_are_reached() {
        let strategy = prop_oneof![2 => valid_code(), 1 => near_miss(), 1 => "\\PC{0,60}"];
        run_counting("code", strategy, 0.25, |s| {
            Ok(match ResetCode::parse(&s) {
                Some(code) => {
                    prop_assert_eq!(code.expose(), s.as_str());
                    prop_assert_eq!(code.expose().len(), 43);
                    prop_assert_eq!(URL_SAFE_NO_PAD.decode(&s).unwrap().len(), 32);
                    Branch::Accepted
                }
                None => Branch::Refused,
            })
        });
    }

    proptest! {
        #[test]
        fn every_code_of_the_grammar_parses(s in valid_code()) {
            prop_assert!(ResetCode::parse(&s).is_some());
        }

        #[test]
        fn near_misses_never_parse(s in near_miss()) {
            prop_assert!(ResetCode::parse(&s).is_none(), "{:?}", s);
        }
    }
}
