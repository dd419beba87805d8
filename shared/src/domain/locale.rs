//! The languages a caller asked for. Which languages exist is data (the mail templates, see
//! [`crate::mail::templates`]), so a request carries its preference and the templates choose:
//! the first preferred tag they have, by RFC 4647 lookup, else `en`.

/// At most this many preferred tags are kept from a request (an `Accept-Language` can list
/// dozens; the first few decide).
const MAX_PREFERENCES: usize = 8;

/// A caller's language preference, best first: lowercase, `-`-separated, well-formed tags.
/// Empty (the default) means no preference, i.e. the templates' fallback, `en`.
///
/// A well-formed tag the templates lack (`pt`, `zh-Hant-TW`) is not an error: the next
/// preference is tried, then `en`. Only junk (`<script>`, `en_`) in the `locale` field is
/// refused, at the HTTP edge, with a 400 ([`Locale::is_well_formed`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Locale {
    tags: Vec<String>,
}

impl Locale {
    /// Is `raw` shaped like a language tag (`en`, `de-CH`, `zh-Hant-TW`)? Used to refuse junk
    /// in the `locale` field and in template file names; a well-formed but unsupported tag is
    /// fine and falls back.
    pub fn is_well_formed(raw: &str) -> bool {
        let mut parts = raw.split('-');
        let primary_ok = parts.next().is_some_and(|p| {
            (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic())
        });
        primary_ok
            && raw.len() <= 35
            && parts
                .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    }

    /// One tag, or no preference when `tag` is not well-formed (`en_US` is read as `en-US`).
    pub fn only(tag: &str) -> Locale {
        Locale {
            tags: normalize(tag).into_iter().collect(),
        }
    }

    /// The request's `locale` first, then the `Accept-Language` entries by q-value (ties in
    /// the header's order; `q=0` and malformed entries dropped).
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Locale {
        let mut weighted: Vec<(f32, String)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|entry| {
                let mut fields = entry.split(';');
                let tag = normalize(fields.next().unwrap_or(""))?;
                let q = fields
                    .filter_map(|f| f.trim().strip_prefix("q="))
                    .filter_map(|q| q.parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, tag))
            })
            .take(4 * MAX_PREFERENCES)
            .collect();
        weighted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let tags = explicit
            .and_then(normalize)
            .into_iter()
            .chain(weighted.into_iter().map(|(_, tag)| tag))
            .take(MAX_PREFERENCES)
            .collect();
        Locale { tags }
    }

    /// The first of `available`'s locales that a preference names, by RFC 4647 lookup: each
    /// tag as given, then without its last subtag (`de-ch` -> `de`), and so on. `None`: no
    /// preference is available (the caller falls back to `en`).
    pub fn lookup<T>(&self, available: impl Fn(&str) -> Option<T>) -> Option<T> {
        self.tags.iter().find_map(|tag| {
            let mut candidate = tag.as_str();
            loop {
                if let Some(found) = available(candidate) {
                    return Some(found);
                }
                candidate = &candidate[..candidate.rfind('-')?];
            }
        })
    }
}

/// `tag` trimmed, lowercased, `_` read as `-`; `None` unless it is then well-formed.
fn normalize(tag: &str) -> Option<String> {
    let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
    Locale::is_well_formed(&tag).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUPPORTED: [&str; 4] = ["en", "de", "fr", "pt-br"];

    fn pick(locale: &Locale) -> &'static str {
        locale
            .lookup(|t| SUPPORTED.iter().find(|s| **s == t))
            .copied()
            .unwrap_or("en")
    }

    proptest! {
        #[test]
        fn negotiation_never_panics_and_well_formed_tags_are_short_ascii(
            explicit in "\\PC{0,40}",
            header in "\\PC{0,80}",
        ) {
            let locale = Locale::negotiate(Some(&explicit), Some(&header));
            prop_assert!(locale.tags.len() <= MAX_PREFERENCES);
            prop_assert!(locale.tags.iter().all(|t| Locale::is_well_formed(t)));
            let _ = pick(&locale);
            if Locale::is_well_formed(&explicit) {
                prop_assert!(explicit.is_ascii() && explicit.len() <= 35);
            }
        }
    }

    #[test]
    fn explicit_locale_wins_then_accept_language_then_english() {
        let negotiated = |explicit, header| pick(&Locale::negotiate(explicit, header));
        assert_eq!(negotiated(Some("de-CH"), Some("fr")), "de");
        assert_eq!(negotiated(Some("pt"), Some("fr;q=0.8, de;q=0.9")), "de");
        assert_eq!(negotiated(None, Some("es, fr;q=0.5")), "fr");
        assert_eq!(negotiated(None, Some("fr;q=0")), "en");
        assert_eq!(negotiated(None, Some("fr_FR, de")), "fr");
        assert_eq!(negotiated(None, Some("de;q=0.5, fr;q=0.5")), "de");
        assert_eq!(negotiated(None, None), "en");
    }

    #[test]
    fn a_regional_tag_finds_its_region_before_its_language() {
        assert_eq!(pick(&Locale::only("pt-BR")), "pt-br");
        assert_eq!(pick(&Locale::only("PT_br")), "pt-br");
        assert_eq!(pick(&Locale::only("pt-PT")), "en", "no pt, no pt-pt");
        assert_eq!(pick(&Locale::only("de-Latn-CH")), "de");
        assert_eq!(pick(&Locale::only("<junk>")), "en");
    }

    #[test]
    fn locale_field_must_look_like_a_language_tag() {
        for ok in ["en", "de-CH", "zh-Hant-TW", "pt-BR"] {
            assert!(Locale::is_well_formed(ok), "{ok}");
        }
        for bad in ["", "e", "en_US", "<script>", "en-", "123", &"a".repeat(40)] {
            assert!(!Locale::is_well_formed(bad), "{bad}");
        }
    }
}
