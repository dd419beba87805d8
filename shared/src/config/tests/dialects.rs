//! `API_DIALECTS` (issue 12): the native API alone on Lambda by default, every dialect whose
//! settings exist in the local API, a listed dialect without its settings off (and said so),
//! and an unknown name refused at init, naming the variable.

use super::*;

const KEY: (&str, &str) = (
    "TOKEN_HMAC_KEY",
    "a-current-key-0123456789abcdef-0123456789",
);
const STACK: [(&str, &str); 2] = [
    ("STACK_PROJECT_ID", "proj-1"),
    ("STACK_PUBLISHABLE_CLIENT_KEYS", " pck_a , pck_b "),
];

fn with(vars: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut all = vec![KEY];
    all.extend_from_slice(vars);
    all
}

#[test]
fn lambda_serves_the_native_api_alone_by_default_even_with_stack_settings() {
    let c = cfg(Profile::Lambda, &with(&STACK)).unwrap();
    assert!(c.dialects.is_on(Dialect::Native));
    assert!(!c.dialects.is_on(Dialect::Stack));
    assert!(
        c.dialects.off.is_empty(),
        "nothing was asked for and left off"
    );
}

#[test]
fn the_local_api_turns_on_every_dialect_whose_settings_exist() {
    let bare = cfg(Profile::Local { port: 3000 }, &[]).unwrap();
    assert!(bare.dialects.is_on(Dialect::Native));
    assert!(!bare.dialects.is_on(Dialect::Stack));
    assert!(bare.dialects.off.iter().any(|(d, _)| *d == Dialect::Stack));

    let c = cfg(Profile::Local { port: 3000 }, &STACK).unwrap();
    assert!(c.dialects.is_on(Dialect::Native));
    let stack = c.dialects.stack.as_ref().expect("stack is on");
    assert_eq!(stack.project_id, "proj-1");
    assert_eq!(
        stack.publishable_client_keys_sha256.len(),
        2,
        "trimmed, split"
    );
}

#[test]
fn a_listed_dialect_without_its_settings_is_off_and_says_why() {
    let c = cfg(
        Profile::Lambda,
        &with(&[("API_DIALECTS", "native,stack"), ("STACK_PROJECT_ID", "p")]),
    )
    .unwrap();
    assert!(!c.dialects.is_on(Dialect::Stack));
    let (dialect, why) = c.dialects.off[0];
    assert_eq!(dialect, Dialect::Stack);
    assert!(why.contains("STACK_PUBLISHABLE_CLIENT_KEYS"), "{why}");
}

#[test]
fn a_listed_dialect_with_its_settings_is_on_and_the_native_api_can_be_left_off() {
    let mut vars = with(&STACK);
    vars.push(("API_DIALECTS", " stack "));
    let c = cfg(Profile::Lambda, &vars).unwrap();
    assert!(c.dialects.is_on(Dialect::Stack));
    assert!(!c.dialects.is_on(Dialect::Native));
}

#[test]
fn an_unknown_dialect_is_refused_at_init_naming_the_variable() {
    for list in ["native,stak", "native;stack", "graphql"] {
        let e = cfg(Profile::Lambda, &with(&[("API_DIALECTS", list)])).unwrap_err();
        assert_eq!(e.var, "API_DIALECTS", "{list}");
        assert!(e.reason.contains("native, stack"), "{}", e.reason);
    }
}

#[test]
fn no_publishable_key_shows_in_the_settings_debug_output() {
    let c = cfg(Profile::Local { port: 3000 }, &STACK).unwrap();
    let debug = format!("{:?}", c.dialects);
    assert!(!debug.contains("pck_a") && !debug.contains("pck_b"));
}

const SERVER_KEY_SHA256: (&str, &str) = (
    "SERVER_KEY_SHA256",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
);

#[test]
fn productflame_is_on_when_listed_with_a_server_key_and_checks_the_same_digest() {
    let mut vars = with(&[SERVER_KEY_SHA256]);
    vars.push(("API_DIALECTS", "native,productflame"));
    vars.push(("DEFAULT_CALLBACK_URL", "https://app.example.com/reset"));
    vars.push(("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"));
    let c = cfg(Profile::Lambda, &vars).unwrap();
    assert!(c.dialects.is_on(Dialect::ProductFlame));
    assert_eq!(
        c.dialects.productflame.as_ref().unwrap().server_key_sha256,
        c.edge.server_key_sha256.unwrap(),
        "the native server key's digest"
    );
    assert!(c.dialects.off.is_empty());
}

#[test]
fn productflame_without_a_server_key_or_a_default_callback_is_off_and_says_why() {
    let no_key = cfg(
        Profile::Lambda,
        &with(&[
            ("API_DIALECTS", "productflame"),
            ("DEFAULT_CALLBACK_URL", "https://app.example.com/reset"),
            ("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"),
        ]),
    )
    .unwrap();
    assert!(!no_key.dialects.is_on(Dialect::ProductFlame));
    let (dialect, why) = no_key.dialects.off[0];
    assert_eq!(dialect, Dialect::ProductFlame);
    assert!(why.contains("SERVER_KEY_SHA256"), "{why}");

    let no_callback = cfg(
        Profile::Lambda,
        &with(&[("API_DIALECTS", "productflame"), SERVER_KEY_SHA256]),
    )
    .unwrap();
    assert!(!no_callback.dialects.is_on(Dialect::ProductFlame));
    assert!(
        no_callback.dialects.off[0]
            .1
            .contains("DEFAULT_CALLBACK_URL")
    );

    // The local API asks for it by default and has a default callback: the key decides.
    let local = cfg(Profile::Local { port: 3000 }, &[]).unwrap();
    assert!(
        local
            .dialects
            .off
            .iter()
            .any(|(d, why)| *d == Dialect::ProductFlame && why.contains("SERVER_KEY_SHA256"))
    );
    let local = cfg(Profile::Local { port: 3000 }, &[SERVER_KEY_SHA256]).unwrap();
    assert!(local.dialects.is_on(Dialect::ProductFlame));
}

#[test]
fn supabase_needs_a_default_callback_and_zitadel_the_server_key_or_they_are_off_and_say_why() {
    let list = ("API_DIALECTS", "native,supabase,zitadel");
    let c = cfg(Profile::Lambda, &with(&[list])).unwrap();
    assert!(!c.dialects.is_on(Dialect::Supabase));
    assert!(!c.dialects.is_on(Dialect::Zitadel));
    let why = |d: Dialect| c.dialects.off.iter().find(|(x, _)| *x == d).unwrap().1;
    assert!(why(Dialect::Supabase).contains("DEFAULT_CALLBACK_URL"));
    assert!(why(Dialect::Zitadel).contains("SERVER_KEY_SHA256"));

    let c = cfg(
        Profile::Lambda,
        &with(&[
            list,
            SERVER_KEY_SHA256,
            ("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"),
            ("DEFAULT_CALLBACK_URL", "https://app.example.com/reset"),
            ("ZITADEL_ORG_ID", "69629023906488334"),
        ]),
    )
    .unwrap();
    assert!(c.dialects.is_on(Dialect::Supabase));
    let zitadel = c.dialects.zitadel.as_ref().expect("zitadel is on");
    assert_eq!(zitadel.org_id.as_deref(), Some("69629023906488334"));
    assert!(c.dialects.off.is_empty());
}

#[test]
fn the_local_api_serves_supabase_and_with_a_server_key_zitadel() {
    let c = cfg(Profile::Local { port: 3000 }, &[SERVER_KEY_SHA256]).unwrap();
    assert!(c.dialects.is_on(Dialect::Supabase), "the local reset page");
    assert!(c.dialects.is_on(Dialect::Zitadel));
    assert_eq!(c.dialects.zitadel.as_ref().unwrap().org_id, None);
}

#[test]
fn a_zitadel_org_id_that_could_change_a_link_is_refused_at_init() {
    let long: &'static str = Box::leak("1".repeat(65).into_boxed_str());
    for bad in ["org/1", "org?x", "a b", "ü", long] {
        let vars = with(&[
            ("API_DIALECTS", "zitadel"),
            SERVER_KEY_SHA256,
            ("ZITADEL_ORG_ID", bad),
        ]);
        let e = cfg(Profile::Lambda, &vars).unwrap_err();
        assert_eq!(e.var, "ZITADEL_ORG_ID", "{bad}");
    }
}
