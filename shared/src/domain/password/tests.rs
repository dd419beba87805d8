//! The policy's bounds, its invisible-character and context-word rules, and its parsers under
//! proptest.

use super::*;
use proptest::prelude::*;

#[test]
fn the_default_policy_is_length_only() {
    let cases: [(&str, Result<(), PasswordError>, &str); 8] = [
        ("", Err(PasswordError::TooShort { min: 8 }), "empty"),
        (
            "1234567",
            Err(PasswordError::TooShort { min: 8 }),
            "7 characters",
        ),
        ("12345678", Ok(()), "8 characters"),
        ("        ", Err(PasswordError::Blank), "8 spaces"),
        (
            "\t\n  \u{3000}   ",
            Err(PasswordError::Blank),
            "mixed whitespace",
        ),
        ("correct horse", Ok(()), "passphrase with space"),
        (
            "ééééééé",
            Err(PasswordError::TooShort { min: 8 }),
            "7 accented",
        ),
        ("pässwörd", Ok(()), "8 non-ASCII"),
    ];
    for (input, want, why) in cases {
        assert_eq!(NewPassword::parse(input).map(|_| ()), want, "{why}");
    }
    assert!(NewPassword::parse(&"x".repeat(128)).is_ok());
    assert_eq!(
        NewPassword::parse(&"x".repeat(129)).map(|_| ()),
        Err(PasswordError::TooLong { max: 128 })
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

fn policy(min: usize, max: usize) -> PasswordPolicy {
    PasswordPolicy::new(min, max, ["Example App"]).unwrap()
}

#[test]
fn the_bounds_follow_the_settings() {
    let p = PasswordPolicy::new(12, 20, []).unwrap();
    assert_eq!(
        p.parse("eleven char").map(|_| ()),
        Err(PasswordError::TooShort { min: 12 })
    );
    assert!(p.parse("twelve chars").is_ok());
    assert!(p.parse(&"x".repeat(20)).is_ok());
    assert_eq!(
        p.parse(&"x".repeat(21)).map(|_| ()),
        Err(PasswordError::TooLong { max: 20 })
    );
    assert_eq!(
        PasswordError::TooShort { min: 12 }.to_string(),
        "must be at least 12 characters"
    );
    let long = PasswordPolicy::new(8, 256, []).unwrap();
    assert!(long.parse(&"y".repeat(256)).is_ok());
    assert!(long.parse(&"y".repeat(257)).is_err());
}

#[test]
fn policies_outside_the_allowed_bounds_are_refused() {
    let cases = [
        (7, 128, PolicyError::Min, "a minimum under 8"),
        (65, 128, PolicyError::Min, "a minimum over 64"),
        (12, 10, PolicyError::Max, "a maximum under the minimum"),
        (8, 257, PolicyError::Max, "a maximum over 256"),
    ];
    for (min, max, want, why) in cases {
        assert_eq!(PasswordPolicy::new(min, max, []), Err(want), "{why}");
    }
    assert!(PasswordPolicy::new(64, 64, []).is_ok());
}

#[test]
fn passwords_built_on_the_app_name_are_refused_when_parsed() {
    let p = policy(8, 128);
    let cases = [
        ("Example App", "the name itself"),
        ("exampleapp", "squashed"),
        ("ExampleApp2024!", "the name and a year"),
        ("example-app-1", "the name and a digit"),
    ];
    for (input, why) in cases {
        assert_eq!(
            p.parse(input).map(|_| ()),
            Err(PasswordError::Context),
            "{why}"
        );
    }
    assert!(
        p.parse("my example app passphrase").is_ok(),
        "enough besides"
    );
    assert!(p.parse("examples apply").is_ok(), "not the name");
}

#[test]
fn passwords_built_on_the_accounts_address_are_refused_once_it_is_known() {
    let p = policy(8, 128);
    let email = EmailAddress::parse("Ada.Lovelace@Example.org").unwrap();
    let refused = [
        ("ada.lovelace@example.org", "the address"),
        ("ADA.LOVELACE@EXAMPLE.ORG!", "the address, shouted"),
        ("adalovelace1815", "the local part and a year"),
        ("Ada Lovelace!!", "the local part with spaces"),
    ];
    for (input, why) in refused {
        let pw = NewPassword::parse(input).unwrap();
        assert_eq!(
            p.check_context(&pw, Some(&email)),
            Err(PasswordError::Context),
            "{why}"
        );
        assert!(
            p.check_context(&pw, None).is_ok(),
            "{why}: unknown without the address"
        );
    }
    let fine = NewPassword::parse("ada lovelace wrote the first program").unwrap();
    assert!(p.check_context(&fine, Some(&email)).is_ok());
    // A local part of three letters is no context word: `ada` alone refuses nothing.
    let short = EmailAddress::parse("ada@x.io").unwrap();
    let pw = NewPassword::parse("ada-is-my-name").unwrap();
    assert!(p.check_context(&pw, Some(&short)).is_ok());
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

proptest! {
    #[test]
    fn configured_bounds_hold_for_any_input(min in 8usize..=64, extra in 0usize..=64, s in "\\PC{0,300}") {
        let policy = PasswordPolicy::new(min, min + extra, []).unwrap();
        if let Ok(p) = policy.parse(&s) {
            let n = p.expose().chars().count();
            prop_assert!((min..=min + extra).contains(&n));
        }
    }
}
