//! Keyed hashes: what the store holds instead of codes, addresses and IPs.
//!
//! Everything is `HMAC-SHA256(token_key, label || 0 || value)` in lowercase hex. The label
//! separates the uses, so a code hash can never collide with an email key. Without the token
//! key a dump of the table yields nothing that can be replayed as a code or reversed into an
//! address by brute force over known emails.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use zeroize::Zeroizing;

use super::{EmailAddress, ResetCode, ShortCode};

/// Why a configured token key was refused. Never carries the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenKeyError {
    /// Shorter than 32 bytes: less than the 256 bits of the codes it protects.
    #[error("the token key must be at least 32 bytes long")]
    TooShort,
    /// The previous key of a key pair is shorter than 32 bytes.
    #[error("the previous token key must be at least 32 bytes long")]
    PreviousTooShort,
    /// A secret that starts with `{` but is not `{"current": "...", "previous": "..."}`.
    #[error(
        r#"must be the key itself or JSON {{"current": "<key>", "previous": "<key>"}} ("previous" optional, no other fields)"#
    )]
    NotAKeyDocument,
}

/// The server secret under which codes, emails and IPs are hashed. Redacted in `Debug`,
/// zeroed on drop.
#[derive(Clone)]
pub struct TokenKey(Zeroizing<Vec<u8>>);

impl TokenKey {
    /// Uses the secret's bytes as the HMAC key (Secrets Manager generates a random string).
    pub fn new(secret: &str) -> Result<Self, TokenKeyError> {
        if secret.len() < 32 {
            return Err(TokenKeyError::TooShort);
        }
        Ok(Self(Zeroizing::new(secret.as_bytes().to_vec())))
    }

    /// A random key for a development server that was given none.
    pub fn random() -> Self {
        let code = ResetCode::generate();
        Self(Zeroizing::new(code.expose().as_bytes().to_vec()))
    }

    fn mac(&self, label: &str, value: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        hex(&mac.finalize().into_bytes())
    }

    /// What the store keeps for a code.
    pub fn code_hash(&self, code: &ResetCode) -> TokenHash {
        TokenHash(self.mac("code", code.expose().as_bytes()))
    }

    /// What the store keeps for a short code: bound to the address's key, so the same digits
    /// issued to two addresses hash apart, and a table dump cannot be tested offline against
    /// the 10^`OTP_LENGTH` codes without the token key. Keyed with a label of its own, so it
    /// never collides with a link code's hash.
    pub fn short_code_hash(&self, email_key: &EmailKey, code: &ShortCode) -> TokenHash {
        let mut bound = Zeroizing::new(Vec::with_capacity(64 + 1 + code.expose().len()));
        bound.extend_from_slice(email_key.as_str().as_bytes());
        bound.push(0);
        bound.extend_from_slice(code.expose().as_bytes());
        TokenHash(self.mac("otp", &bound))
    }

    /// The slot owner for an address: its normalized form, keyed.
    pub fn email_key(&self, email: &EmailAddress) -> EmailKey {
        EmailKey(self.mac("email", email.normalized().as_bytes()))
    }

    /// The rate-limit identity of a client: an IPv4 address (also when IPv4-mapped in IPv6)
    /// as it is, an IPv6 address by its first `v6_prefix` bits (a /64 is one subscriber's
    /// network, and a host can use every address in it), and a client whose address is
    /// unknown in one bucket shared by all such calls, so a missing address fails closed.
    pub fn ip_key(&self, ip: Option<IpAddr>, v6_prefix: u8) -> IpKey {
        let subject = match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => {
                let prefix = u32::from(v6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                let net = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{net}/{prefix}")
            }
            None => "unknown".to_owned(),
        };
        IpKey(self.mac("ip", subject.as_bytes()))
    }
}

/// The keys in force during a rotation: codes, email keys and IP keys are made under
/// `current`; a code is also found under `previous`, so the codes issued before the rotation
/// keep working until they expire (one `TOKEN_TTL_SECONDS`), after which `previous` is dropped.
#[derive(Clone, Debug)]
pub struct TokenKeys {
    /// Issues and verifies.
    pub current: TokenKey,
    /// Only verifies codes issued before the rotation.
    pub previous: Option<TokenKey>,
}

impl TokenKeys {
    /// The keys a Secrets Manager secret holds: either the key itself (what the template's
    /// generated secret is), or `{"current": "<key>", "previous": "<key>"}` during a rotation
    /// (`previous` absent, `null` or empty: none). Surrounding whitespace is ignored. The error
    /// never carries the secret, nor a parser message (those quote the input).
    pub fn from_secret(secret: &str) -> Result<Self, TokenKeyError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            current: String,
            #[serde(default)]
            previous: Option<String>,
        }
        let secret = secret.trim();
        if !secret.starts_with('{') {
            return Ok(Self {
                current: TokenKey::new(secret)?,
                previous: None,
            });
        }
        let mut doc: Doc =
            serde_json::from_str(secret).map_err(|_| TokenKeyError::NotAKeyDocument)?;
        let keys = Self::from_parts(&doc.current, doc.previous.as_deref());
        zeroize::Zeroize::zeroize(&mut doc.current);
        if let Some(previous) = doc.previous.as_mut() {
            zeroize::Zeroize::zeroize(previous);
        }
        keys
    }

    /// A current key and an optional previous one (empty: none), each at least 32 bytes.
    pub fn from_parts(current: &str, previous: Option<&str>) -> Result<Self, TokenKeyError> {
        let current = TokenKey::new(current.trim())?;
        let previous = match previous.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(TokenKey::new(p).map_err(|_| TokenKeyError::PreviousTooShort)?),
            None => None,
        };
        Ok(Self { current, previous })
    }

    /// The keys a code is looked up under, `current` first.
    pub fn verifying(&self) -> impl Iterator<Item = &TokenKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The 64 hex characters as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Rebuilds a value read back from the store.
            pub fn from_stored(s: impl Into<String>) -> Self {
                Self(s.into())
            }
        }
    };
}

hash_newtype!(
    /// HMAC of a reset code: the token's key in the store. Useless as a credential.
    TokenHash
);
hash_newtype!(
    /// HMAC of a normalized email: owner of the per-email slots, for known and unknown
    /// addresses alike.
    EmailKey
);
hash_newtype!(
    /// HMAC of a client IP: owner of the per-IP rate windows.
    IpKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_without_echoing_them() {
        let err = TokenKey::new("short-secret").unwrap_err();
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn hashes_depend_on_the_key_and_separate_their_uses() {
        let k1 = TokenKey::new(&"k".repeat(32)).unwrap();
        let k2 = TokenKey::new(&"j".repeat(32)).unwrap();
        let code = ResetCode::generate();
        assert_ne!(k1.code_hash(&code), k2.code_hash(&code));
        assert_eq!(k1.code_hash(&code), k1.code_hash(&code));
        assert_eq!(k1.code_hash(&code).as_str().len(), 64);
        assert!(!k1.code_hash(&code).as_str().contains(code.expose()));

        let a = EmailAddress::parse("Ada@Example.com").unwrap();
        let b = EmailAddress::parse("ada@example.COM").unwrap();
        assert_eq!(k1.email_key(&a), k1.email_key(&b));
        assert_ne!(
            k1.email_key(&a).as_str(),
            k1.mac("code", b"ada@example.com")
        );
    }

    #[test]
    fn short_code_hashes_are_keyed_bound_to_the_address_and_apart_from_link_hashes() {
        let k1 = TokenKey::new(&"k".repeat(32)).unwrap();
        let k2 = TokenKey::new(&"j".repeat(32)).unwrap();
        let ada = k1.email_key(&EmailAddress::parse("ada@example.com").unwrap());
        let bob = k1.email_key(&EmailAddress::parse("bob@example.com").unwrap());
        let code = ShortCode::parse("01234567", 8).unwrap();
        let hash = k1.short_code_hash(&ada, &code);
        assert_eq!(hash, k1.short_code_hash(&ada, &code));
        assert_eq!(hash.as_str().len(), 64);
        assert_ne!(hash, k2.short_code_hash(&ada, &code), "keyed");
        assert_ne!(
            hash,
            k1.short_code_hash(&bob, &code),
            "bound to the address"
        );
        let other = ShortCode::parse("01234568", 8).unwrap();
        assert_ne!(hash, k1.short_code_hash(&ada, &other));
        assert!(!hash.as_str().contains(code.expose()));
        assert_ne!(hash.as_str(), k1.mac("code", code.expose().as_bytes()));
    }

    #[test]
    fn ipv6_clients_share_a_key_per_prefix_and_unknown_clients_share_one() {
        let k = TokenKey::new(&"k".repeat(32)).unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let a = k.ip_key(ip("2001:db8:1:2:aaaa::1"), 64);
        assert_eq!(a, k.ip_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), 64));
        assert_ne!(a, k.ip_key(ip("2001:db8:1:3::1"), 64));
        assert_eq!(
            k.ip_key(ip("2001:db8:1:2::1"), 48),
            k.ip_key(ip("2001:db8:1:3::1"), 48)
        );
        assert_ne!(
            k.ip_key(ip("2001:db8::1"), 128),
            k.ip_key(ip("2001:db8::2"), 128)
        );
        assert_eq!(
            k.ip_key(ip("::ffff:192.0.2.7"), 64),
            k.ip_key(ip("192.0.2.7"), 64)
        );
        assert_ne!(k.ip_key(ip("192.0.2.7"), 64), k.ip_key(ip("192.0.2.8"), 64));
        assert_eq!(k.ip_key(None, 64), k.ip_key(None, 128));
        assert_ne!(k.ip_key(None, 64), k.ip_key(ip("192.0.2.7"), 64));
    }

    #[test]
    fn a_secret_is_the_key_itself_or_a_current_and_previous_pair() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let code = ResetCode::generate();
        let hash = |k: &TokenKey| k.code_hash(&code);
        let plain = TokenKeys::from_secret(&format!("  {a}\n")).unwrap();
        assert_eq!(hash(&plain.current), hash(&TokenKey::new(&a).unwrap()));
        assert!(plain.previous.is_none());
        assert_eq!(plain.verifying().count(), 1);

        let pair =
            TokenKeys::from_secret(&format!(r#"{{"current": "{b}", "previous": "{a}"}}"#)).unwrap();
        let verifying: Vec<_> = pair.verifying().map(hash).collect();
        let (ka, kb) = (TokenKey::new(&a).unwrap(), TokenKey::new(&b).unwrap());
        assert_eq!(verifying, vec![hash(&kb), hash(&ka)]);
        assert_eq!(hash(&pair.current), hash(&kb));
        for no_previous in [
            format!(r#"{{"current": "{b}"}}"#),
            format!(r#"{{"current": "{b}", "previous": null}}"#),
            format!(r#"{{"current": "{b}", "previous": ""}}"#),
        ] {
            let keys = TokenKeys::from_secret(&no_previous).unwrap();
            assert!(keys.previous.is_none(), "{no_previous}");
        }
    }

    #[test]
    fn a_malformed_secret_is_refused_without_echoing_it() {
        let long = "s3cr3t-value-that-must-never-be-echoed";
        for (secret, expected) in [
            (
                format!(r#"{{"current": "{long}""#),
                TokenKeyError::NotAKeyDocument,
            ),
            (
                format!(r#"{{"curent": "{long}"}}"#),
                TokenKeyError::NotAKeyDocument,
            ),
            (
                format!(r#"{{"current": "{long}", "older": "{long}"}}"#),
                TokenKeyError::NotAKeyDocument,
            ),
            (
                format!(r#"{{"current": 42, "previous": "{long}"}}"#),
                TokenKeyError::NotAKeyDocument,
            ),
            (
                r#"{"current": "short"}"#.to_owned(),
                TokenKeyError::TooShort,
            ),
            (
                format!(r#"{{"current": "{long}", "previous": "short-s3cr3t"}}"#),
                TokenKeyError::PreviousTooShort,
            ),
            ("short-s3cr3t".to_owned(), TokenKeyError::TooShort),
        ] {
            let err = TokenKeys::from_secret(&secret).unwrap_err();
            assert_eq!(err, expected, "{secret}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let k = TokenKey::new("super-secret-token-key-0123456789abcdef").unwrap();
        assert_eq!(format!("{k:?}"), "TokenKey(<redacted>)");
        let keys = TokenKeys {
            current: k.clone(),
            previous: Some(k),
        };
        assert!(!format!("{keys:?}").contains("super-secret"));
    }
}
