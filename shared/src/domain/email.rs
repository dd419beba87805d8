//! Email addresses: a strict ASCII subset of RFC 5321, normalized for lookups and keys.

use std::fmt;

/// Why a string is not an email address we accept. Each message is safe to show the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing (or only whitespace) was given.
    #[error("must not be empty")]
    Empty,
    /// Over 254 characters (the SMTP path limit).
    #[error("must be at most 254 characters")]
    TooLong,
    /// Not of the form local@domain with a valid local part and domain.
    #[error("must be a valid email address")]
    Invalid,
    /// Non-ASCII addresses are refused: case folding and look-alikes make them unsafe as keys.
    #[error("must contain only ASCII characters")]
    NonAscii,
    /// A control character anywhere, even a trailing newline that trimming would hide: such a
    /// string is a header-injection or log-forging attempt, not a typing slip.
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// A syntactically valid email address.
///
/// Keeps the spelling it was given (mail to a stored address goes out exactly as stored) and
/// offers [`EmailAddress::normalized`], the lowercase form used for lookups, slot keys and
/// comparisons. Only ASCII is accepted: Unicode case folding (`ı` vs `i`, `ﬀ` vs `ff`) is a
/// known way to make two different addresses collide on one account.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    as_given: String,
    normalized: String,
}

impl EmailAddress {
    /// Parses an address, trimming surrounding spaces. Control characters (tab, CR, LF, NUL,
    /// C1 ...) are refused anywhere, before trimming.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        if raw.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacter);
        }
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if !s.is_ascii() {
            return Err(EmailError::NonAscii);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if !valid_local(local) || !valid_domain(domain) {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            as_given: s.to_owned(),
            normalized: s.to_ascii_lowercase(),
        })
    }

    /// The address as given (for a stored address: as stored).
    pub fn as_str(&self) -> &str {
        &self.as_given
    }

    /// Lowercase form: the identity of an address for lookups, caps and keys.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.as_given).finish()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::branches::{Branch, run_counting};
    use proptest::prelude::*;

    #[test]
    fn accepts_common_addresses_and_normalizes_case() {
        let e = EmailAddress::parse("  Ada.Lovelace+reset@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace+reset@Example.COM");
        assert_eq!(e.normalized(), "ada.lovelace+reset@example.com");
    }

    #[test]
    fn refuses_each_malformed_address_with_a_reason() {
        let cases = [
            ("", EmailError::Empty, "empty"),
            ("   ", EmailError::Empty, "blank"),
            ("plainaddress", EmailError::Invalid, "no @"),
            ("@example.com", EmailError::Invalid, "no local part"),
            ("a@", EmailError::Invalid, "no domain"),
            ("a@localhost", EmailError::Invalid, "single-label domain"),
            ("a..b@example.com", EmailError::Invalid, "double dot"),
            (".a@example.com", EmailError::Invalid, "leading dot"),
            (
                "a@-example.com",
                EmailError::Invalid,
                "label starts with hyphen",
            ),
            ("a@example.123", EmailError::Invalid, "numeric tld"),
            ("a b@example.com", EmailError::Invalid, "space inside"),
            ("a@b@example.com", EmailError::Invalid, "two @"),
            ("mıke@example.com", EmailError::NonAscii, "dotless i"),
            (
                "ada@example.com\r\nBcc: x@evil.example",
                EmailError::ControlCharacter,
                "header injection",
            ),
            (
                "ada@example.com\n",
                EmailError::ControlCharacter,
                "trailing LF",
            ),
            (
                "\tada@example.com",
                EmailError::ControlCharacter,
                "leading tab",
            ),
            ("ada\0@example.com", EmailError::ControlCharacter, "NUL"),
            (
                "ada@exa\u{85}mple.com",
                EmailError::ControlCharacter,
                "C1 NEL",
            ),
        ];
        for (input, want, why) in cases {
            assert_eq!(EmailAddress::parse(input), Err(want), "{why}: {input:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    /// Addresses from the accepted grammar (dot-atoms of the allowed specials, LDH domains),
    /// sometimes with surrounding spaces and mixed case.
    fn valid_address() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}){0,2}",
            "[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,5})?(\\.[A-Za-z0-9]{1,10}){0,2}\\.[A-Za-z]{2,10}",
            " {0,2}",
            " {0,2}",
        )
            .prop_map(|(local, domain, pre, post)| format!("{pre}{local}@{domain}{post}"))
    }

    /// Any string with at least one control character (C0, DEL, C1) somewhere.
    fn with_control_character() -> impl Strategy<Value = String> {
        (
            prop_oneof![valid_address(), "\\PC{0,40}"],
            "[\\x00-\\x1f\\x7f-\\u{9f}]",
            any::<prop::sample::Index>(),
        )
            .prop_map(|(s, c, at)| {
                let chars: Vec<char> = s.chars().collect();
                let at = at.index(chars.len() + 1);
                chars[..at]
                    .iter()
                    .chain(c.chars().collect::<Vec<_>>().iter())
                    .chain(&chars[at..])
                    .collect()
            })
    }

    #[test]
    fn parsing_never_panics_and_both_branches_are_reached() {
        let strategy = prop_oneof![
            2 => valid_address(),
            1 => "\\PC{0,300}",
            1 => with_control_character(),
        ];
        run_counting("email", strategy, 0.25, |s| {
            Ok(match EmailAddress::parse(&s) {
                Ok(e) => {
                    prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e.clone());
                    prop_assert!(e.normalized().len() <= 254);
                    prop_assert!(e.normalized().is_ascii());
                    prop_assert!(!e.as_str().chars().any(char::is_control));
                    prop_assert_eq!(e.as_str(), s.trim());
                    Branch::Accepted
                }
                Err(_) => Branch::Refused,
            })
        });
    }

    proptest! {
        #[test]
        fn addresses_with_a_control_character_are_refused(s in with_control_character()) {
            prop_assert_eq!(EmailAddress::parse(&s), Err(EmailError::ControlCharacter));
        }

        #[test]
        fn addresses_from_the_grammar_are_accepted(s in valid_address()) {
            prop_assert!(EmailAddress::parse(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn generated_valid_addresses_are_accepted(
            local in "[a-z0-9]{1,20}(\\.[a-z0-9+_-]{1,10}){0,2}",
            domain in "[a-z0-9]{1,20}(-[a-z0-9]{1,5})?\\.[a-z]{2,10}",
        ) {
            let raw = format!("{local}@{domain}");
            prop_assert!(EmailAddress::parse(&raw).is_ok(), "{}", raw);
        }
    }
}
