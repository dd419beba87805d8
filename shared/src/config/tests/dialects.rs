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
