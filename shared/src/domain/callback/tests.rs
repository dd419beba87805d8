//! Callbacks and templates against hostile input: each refusal with its reason, and properties
//! that every accepted link stays on an allowed origin.

use super::*;
use crate::domain::UserId;
use crate::domain::branches::{Branch, run_counting};
use proptest::prelude::*;

fn allowed() -> AllowedOrigins {
    AllowedOrigins::parse("https://app.example.com, http://localhost:3000").unwrap()
}

#[test]
fn the_link_keeps_other_parameters_and_replaces_an_existing_code() {
    let cb = CallbackUrl::parse(
        "https://app.example.com/reset?lang=de&code=stale&x=1#top",
        &allowed(),
    )
    .unwrap();
    let code = ResetCode::generate();
    let link = cb.with_code(&code);
    let pairs: Vec<(String, String)> = link.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![
            ("lang".into(), "de".into()),
            ("x".into(), "1".into()),
            ("code".into(), code.expose().into()),
        ]
    );
    assert_eq!(link.path(), "/reset");
}

#[test]
fn each_unsafe_callback_is_refused_with_its_reason() {
    let cases = [
        ("/reset", CallbackError::NotAbsolute, "relative"),
        (
            "javascript:alert(1)",
            CallbackError::InsecureScheme,
            "javascript",
        ),
        ("data:text/html,hi", CallbackError::InsecureScheme, "data"),
        (
            "http://app.example.com/reset",
            CallbackError::InsecureScheme,
            "http to a public host",
        ),
        (
            "https://evil.example.net/reset",
            CallbackError::OriginNotAllowed,
            "other origin",
        ),
        (
            "https://app.example.com:8443/reset",
            CallbackError::OriginNotAllowed,
            "other port",
        ),
        (
            "https://app.example.com.evil.net/",
            CallbackError::OriginNotAllowed,
            "suffix trick",
        ),
        (
            "https://user:pw@app.example.com/",
            CallbackError::Credentials,
            "credentials",
        ),
        (
            "http://localhost:4000/reset",
            CallbackError::OriginNotAllowed,
            "other local port",
        ),
    ];
    for (input, want, why) in cases {
        assert_eq!(CallbackUrl::parse(input, &allowed()), Err(want), "{why}");
    }
    assert!(CallbackUrl::parse("http://localhost:3000/reset", &allowed()).is_ok());
    assert!(CallbackUrl::parse("https://APP.example.com/r", &allowed()).is_ok());
}

#[test]
fn templates_encode_their_values_and_stay_on_an_allowed_origin() {
    let t = UrlTemplate::parse(
        "https://app.example.com/users/{{.UserID}}/reset?c={{.Code}}",
        &allowed(),
    )
    .unwrap();
    let code = ResetCode::generate();
    let user = UserId::parse("a/b?c=d&e f").unwrap();
    let rendered = t.render(&code, &user, None).unwrap();
    assert_eq!(
        rendered,
        format!(
            "https://app.example.com/users/a%2Fb%3Fc%3Dd%26e%20f/reset?c={}",
            code.expose()
        )
    );
    assert_eq!(
        UrlTemplate::parse("https://app.example.com/reset", &allowed()),
        Err(CallbackError::MissingCodePlaceholder)
    );
    assert_eq!(
        UrlTemplate::parse("https://{{.UserID}}.example.com/?c={{.Code}}", &allowed()),
        Err(CallbackError::OriginNotAllowed)
    );
    assert_eq!(
        UrlTemplate::parse("https://evil.example.net/?c={{.Code}}", &allowed()),
        Err(CallbackError::OriginNotAllowed)
    );
}

#[test]
fn templates_with_whitespace_control_characters_or_backslashes_are_refused() {
    for (raw, why) in [
        ("https://app.example.com/reset?c={{.Code}}&x=a b", "space"),
        ("https://app.example.com/reset?c={{.Code}}\t", "tab"),
        ("https://app.example.com/re\nset?c={{.Code}}", "newline"),
        ("https://app.example.com/reset?c={{.Code}}\u{0}", "NUL"),
        (
            "https://app.example.com/reset?c={{.Code}}\u{85}",
            "C1 control",
        ),
        (
            "https://app.example.com/reset?c={{.Code}}\u{3000}",
            "ideographic space",
        ),
        (
            "https://app.example.com\\@evil.example.net/?c={{.Code}}",
            "backslash",
        ),
        (
            "https:\\\\app.example.com/?c={{.Code}}",
            "backslashes as slashes",
        ),
    ] {
        assert_eq!(
            UrlTemplate::parse(raw, &allowed()),
            Err(CallbackError::UnsafeCharacter),
            "{why}"
        );
    }
}

#[test]
fn a_rendered_template_is_the_reserialised_url_on_its_origin() {
    let t = UrlTemplate::parse(
        "HTTPS://App.Example.COM:443/a/./b/../reset?c={{.Code}}#frag",
        &allowed(),
    )
    .unwrap();
    let code = ResetCode::generate();
    let user = UserId::parse("u").unwrap();
    assert_eq!(
        t.render(&code, &user, None).unwrap(),
        format!("https://app.example.com/a/reset?c={}#frag", code.expose())
    );
}

#[test]
fn rendering_refuses_a_link_that_left_the_templates_origin() {
    let code = ResetCode::generate();
    let user = UserId::parse("u").unwrap();
    let off_origin = UrlTemplate::unchecked(
        "https://evil.example.net/?c={{.Code}}",
        "https://app.example.com",
    );
    assert_eq!(
        off_origin.render(&code, &user, None),
        Err(CallbackError::OriginNotAllowed)
    );
    let credentials = UrlTemplate::unchecked(
        "https://x@app.example.com/?c={{.Code}}",
        "https://app.example.com",
    );
    assert_eq!(
        credentials.render(&code, &user, None),
        Err(CallbackError::Credentials)
    );
    let insecure = UrlTemplate::unchecked(
        "http://app.example.com/?c={{.Code}}",
        "http://app.example.com",
    );
    assert_eq!(
        insecure.render(&code, &user, None),
        Err(CallbackError::InsecureScheme)
    );
}

#[test]
fn allowed_origins_must_be_safe_origins() {
    assert!(AllowedOrigins::parse("http://example.com").is_err());
    assert!(AllowedOrigins::parse("https://example.com/path").is_err());
    assert!(AllowedOrigins::parse("not a url").is_err());
    assert_eq!(
        AllowedOrigins::parse("https://A.example.com/")
            .unwrap()
            .as_slice(),
        ["https://a.example.com"]
    );
}

/// An allowed origin as a caller may spell it (case, explicit default port).
fn allowed_origin_spelling() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://app.example.com".to_owned()),
        Just("https://APP.Example.com".to_owned()),
        Just("https://app.example.com:443".to_owned()),
        Just("http://localhost:3000".to_owned()),
        Just("http://LOCALHOST:3000".to_owned()),
    ]
}

/// Path, query and fragment from the URL grammar (unreserved characters, sub-delims and
/// percent-escapes), which never change the origin.
fn path_query_fragment() -> impl Strategy<Value = String> {
    (
        "(/[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,12}|/%[0-9A-F]{2}){0,4}",
        "(\\?[a-zA-Z0-9._~=&%/-]{0,20})?",
        "(#[a-zA-Z0-9._~/-]{0,10})?",
    )
        .prop_map(|(p, q, f)| format!("{p}{q}{f}"))
}

fn valid_callback() -> impl Strategy<Value = String> {
    (allowed_origin_spelling(), path_query_fragment()).prop_map(|(o, rest)| format!("{o}{rest}"))
}

#[test]
fn accepted_callbacks_are_always_on_an_allowed_origin_and_both_branches_are_reached() {
    let strategy = prop_oneof![
        2 => valid_callback(),
        2 => "(https?://)?[a-zA-Z0-9.:/@?#&=%-]{0,60}",
        1 => "\\PC{0,60}",
    ];
    run_counting("callback", strategy, 0.25, |s| {
        Ok(match CallbackUrl::parse(&s, &allowed()) {
            Ok(cb) => {
                let origin = cb.as_url().origin().ascii_serialization();
                prop_assert!(allowed().as_slice().contains(&origin));
                prop_assert!(cb.as_url().username().is_empty());
                let link = Url::parse(cb.with_code(&ResetCode::generate()).as_str()).unwrap();
                prop_assert_eq!(link.origin().ascii_serialization(), origin);
                Branch::Accepted
            }
            Err(_) => Branch::Refused,
        })
    });
}

/// Templates from the grammar: an allowed origin, then path/query with `{{.Code}}` and
/// maybe `{{.UserID}}` where values cannot move the origin.
fn valid_template() -> impl Strategy<Value = String> {
    (
        allowed_origin_spelling(),
        "(/[a-zA-Z0-9._~-]{1,8}){0,3}",
        prop_oneof![
            Just("/{{.UserID}}/reset?c={{.Code}}"),
            Just("/reset?code={{.Code}}"),
            Just("/r/{{.Code}}"),
            Just("/reset?u={{.UserID}}&c={{.Code}}#x"),
            Just("/reset#code={{.Code}}"),
        ],
    )
        .prop_map(|(o, p, tail)| format!("{o}{p}{tail}"))
}

/// A valid template with one hostile character put somewhere in it.
fn template_with_unsafe_character() -> impl Strategy<Value = String> {
    (
        valid_template(),
        "[ \\t\\r\\n\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{2028}\\u{3000}\\\\]",
        any::<prop::sample::Index>(),
    )
        .prop_map(|(t, c, at)| {
            let mut chars: Vec<char> = t.chars().collect();
            let at = at.index(chars.len() + 1);
            chars.insert(at, c.chars().next().unwrap_or(' '));
            chars.into_iter().collect()
        })
}

#[test]
fn accepted_templates_render_on_an_allowed_origin_and_both_branches_are_reached() {
    let strategy = (
        prop_oneof![
            2 => valid_template(),
            1 => template_with_unsafe_character(),
            1 => "https://app\\.example\\.com[a-zA-Z0-9./?&=-]{0,20}\\{\\{\\.Code\\}\\}[a-zA-Z0-9./?&=-]{0,20}",
        ],
        "\\PC{1,20}",
    );
    run_counting("url_template", strategy, 0.25, |(s, user)| {
        let Ok(user) = UserId::parse(&user) else {
            return Ok(Branch::Refused);
        };
        Ok(match UrlTemplate::parse(&s, &allowed()) {
            Ok(t) => {
                prop_assert!(
                    !s.chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
                );
                let rendered = t.render(&ResetCode::generate(), &user, None).unwrap();
                let url = Url::parse(&rendered).unwrap();
                prop_assert_eq!(url.as_str(), rendered.as_str(), "mailed as re-serialised");
                prop_assert!(
                    allowed()
                        .as_slice()
                        .contains(&url.origin().ascii_serialization())
                );
                Branch::Accepted
            }
            Err(_) => Branch::Refused,
        })
    });
}

proptest! {
    #[test]
    fn templates_with_a_hostile_character_are_refused(s in template_with_unsafe_character()) {
        prop_assert_eq!(UrlTemplate::parse(&s, &allowed()), Err(CallbackError::UnsafeCharacter));
    }

    #[test]
    fn templates_from_the_grammar_are_accepted(s in valid_template()) {
        prop_assert!(UrlTemplate::parse(&s, &allowed()).is_ok(), "{:?}", s);
    }

    #[test]
    fn callbacks_from_the_grammar_are_accepted(s in valid_callback()) {
        prop_assert!(CallbackUrl::parse(&s, &allowed()).is_ok(), "{:?}", s);
    }
}

#[test]
fn org_id_is_the_users_own_then_the_default_and_never_moves_the_link() {
    let allowed = AllowedOrigins::parse("https://app.example.com").unwrap();
    let t = UrlTemplate::parse(
        "https://app.example.com/r?c={{.Code}}&o={{.OrgID}}",
        &allowed,
    )
    .unwrap();
    let code = ResetCode::generate();
    let user = UserId::parse("u-1").unwrap();
    assert!(t.needs_org());
    assert_eq!(t.render(&code, &user, None), Err(CallbackError::MissingOrg));
    let t = t.with_default_org(Some("default-org".to_owned()));
    let link = t.render(&code, &user, None).unwrap();
    assert!(link.ends_with("&o=default-org"), "{link}");
    let link = t.render(&code, &user, Some("evil.example/x@y")).unwrap();
    assert!(
        link.starts_with("https://app.example.com/r?") && link.ends_with("&o=evil.example%2Fx%40y"),
        "{link}"
    );
    let plain = UrlTemplate::parse("https://app.example.com/r?c={{.Code}}", &allowed).unwrap();
    assert!(!plain.needs_org());
    assert!(plain.render(&code, &user, None).is_ok());
}
