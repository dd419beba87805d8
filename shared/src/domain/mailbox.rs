//! A sender or reply-to mailbox: an address with an optional display name
//! (`Example App <no-reply@example.com>`), as `MAIL_FROM` and `MAIL_REPLY_TO` take it.

use base64::Engine;

use super::EmailAddress;

/// Longest display name accepted, in characters.
const MAX_NAME_CHARS: usize = 64;

/// An address, and the name mail clients show for it. Built by [`Mailbox::parse`], so its
/// header form ([`Mailbox::header`]) is always one safe line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: Option<String>,
    address: EmailAddress,
    header: String,
}

/// Why a mailbox was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// The address part is not an address we accept.
    #[error("{0}")]
    Address(#[from] super::EmailError),
    /// The display name cannot be put in a header.
    #[error("the display name {0}")]
    Name(&'static str),
    /// `Name <address` and the like.
    #[error("must be an address, or a name and an address: Example App <no-reply@example.com>")]
    Shape,
}

impl Mailbox {
    /// `no-reply@example.com`, `Example App <no-reply@example.com>` or
    /// `"Example, Inc." <no-reply@example.com>`. The name may be any Unicode text of up to 64
    /// characters without control characters, quotes, `<`, `>` or `\`.
    pub fn parse(raw: &str) -> Result<Mailbox, MailboxError> {
        let raw = raw.trim();
        let Some(open) = raw.rfind('<') else {
            if raw.contains('>') {
                return Err(MailboxError::Shape);
            }
            return Ok(Mailbox::new(None, EmailAddress::parse(raw)?));
        };
        let address = raw[open + 1..]
            .strip_suffix('>')
            .ok_or(MailboxError::Shape)?;
        let name = raw[..open].trim();
        let name = match name.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"').ok_or(MailboxError::Shape)?,
            None => name,
        };
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(MailboxError::Name("must be at most 64 characters"));
        }
        if name.chars().any(|c| c.is_control() || "\"<>\\".contains(c)) {
            return Err(MailboxError::Name(
                "must not contain control characters, quotes, <, > or \\",
            ));
        }
        let name = (!name.is_empty()).then(|| name.to_owned());
        Ok(Mailbox::new(name, EmailAddress::parse(address.trim())?))
    }

    fn new(name: Option<String>, address: EmailAddress) -> Mailbox {
        let header = match &name {
            None => address.as_str().to_owned(),
            Some(name) => format!("{} <{}>", encode_name(name), address.as_str()),
        };
        Mailbox {
            name,
            address,
            header,
        }
    }

    /// The address alone: the SES identity that must be verified.
    pub fn address(&self) -> &EmailAddress {
        &self.address
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The mailbox as a `From`/`Reply-To` header value (RFC 5322): the name as is when it is
    /// plain ASCII words, quoted when it has other ASCII punctuation, and as RFC 2047 encoded
    /// words when it is not ASCII (as SES requires).
    pub fn header(&self) -> &str {
        &self.header
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.header)
    }
}

/// RFC 5322 `atext` and spaces need no quoting.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn encode_name(name: &str) -> String {
    if name.chars().all(is_plain) {
        return name.to_owned();
    }
    if name.is_ascii() {
        // parse refused `"` and `\`, so nothing inside needs escaping.
        return format!("\"{name}\"");
    }
    // Encoded words of at most 75 characters: 45 bytes of UTF-8 are 60 of base64, plus 12.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in name.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(w.as_bytes());
            format!("=?UTF-8?B?{b64}?=")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_address_or_a_named_one_is_accepted_and_rendered_as_a_header() {
        let cases = [
            ("no-reply@example.com", None, "no-reply@example.com"),
            (
                "Example App <no-reply@example.com>",
                Some("Example App"),
                "Example App <no-reply@example.com>",
            ),
            (
                "  \"Example, Inc.\"   < no-reply@example.com > ",
                Some("Example, Inc."),
                "\"Example, Inc.\" <no-reply@example.com>",
            ),
            (
                "Exemple Appli Été <no-reply@example.com>",
                Some("Exemple Appli Été"),
                "=?UTF-8?B?RXhlbXBsZSBBcHBsaSDDiXTDqQ==?= <no-reply@example.com>",
            ),
            ("<no-reply@example.com>", None, "no-reply@example.com"),
        ];
        for (raw, name, header) in cases {
            let m = Mailbox::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(m.name(), name, "{raw}");
            assert_eq!(m.header(), header, "{raw}");
            assert_eq!(m.address().as_str(), "no-reply@example.com", "{raw}");
        }
    }

    #[test]
    fn a_long_non_ascii_name_becomes_several_encoded_words_of_at_most_75_characters() {
        let name = "Ünïcödé ".repeat(8);
        let m = Mailbox::parse(&format!("{} <a@example.com>", name.trim())).unwrap();
        let (words, _) = m.header().rsplit_once(" <").unwrap();
        assert!(words.split(' ').count() > 1);
        for word in words.split(' ') {
            assert!(word.len() <= 75, "{word}");
            assert!(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        }
    }

    #[test]
    fn names_that_could_break_a_header_are_refused() {
        for bad in [
            "Evil\r\nBcc: x@example.com <a@example.com>",
            "Evil \"Quote <a@example.com>",
            "A <b> <a@example.com>",
            "Back\\slash <a@example.com>",
            "Name <a@example.com",
            "Name a@example.com>",
            "Name <not an address>",
            &format!("{} <a@example.com>", "n".repeat(65)),
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad:?}");
        }
    }
}
