//! The languages mails are rendered in, and how one is chosen.

/// A language we have mail templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// English, the fallback.
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
}

impl Locale {
    /// Every supported locale, fallback first.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::De, Locale::Fr];

    /// The BCP 47 primary language subtag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
        }
    }

    /// Is `raw` shaped like a language tag (`en`, `de-CH`, `zh-Hant-TW`)? Used to refuse junk
    /// in the `locale` field; a well-formed but unsupported tag is fine and falls back.
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

    /// Maps one tag to a supported locale by its primary subtag.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The request's `locale` if supported, else the best `Accept-Language` entry (by q-value)
    /// that is supported, else English.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(l) = explicit.and_then(Locale::from_tag) {
            return l;
        }
        let Some(header) = accept_language else {
            return Locale::En;
        };
        let mut best: Option<(f32, Locale)> = None;
        for entry in header.split(',') {
            let mut fields = entry.split(';');
            let tag = fields.next().unwrap_or("").trim();
            let q = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .filter_map(|q| q.parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            if let Some(locale) = Locale::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, locale));
            }
        }
        best.map_or(Locale::En, |(_, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn negotiation_never_panics_and_well_formed_tags_are_short_ascii(
            explicit in "\\PC{0,40}",
            header in "\\PC{0,80}",
        ) {
            let _ = Locale::negotiate(Some(&explicit), Some(&header));
            if Locale::is_well_formed(&explicit) {
                prop_assert!(explicit.is_ascii() && explicit.len() <= 35);
            }
        }
    }

    #[test]
    fn explicit_locale_wins_then_accept_language_then_english() {
        assert_eq!(Locale::negotiate(Some("de-CH"), Some("fr")), Locale::De);
        assert_eq!(
            Locale::negotiate(Some("pt"), Some("fr;q=0.8, de;q=0.9")),
            Locale::De
        );
        assert_eq!(Locale::negotiate(None, Some("es, fr;q=0.5")), Locale::Fr);
        assert_eq!(Locale::negotiate(None, Some("fr;q=0")), Locale::En);
        assert_eq!(Locale::negotiate(None, None), Locale::En);
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
