//! One table of settings and their defaults (`shared::config::SETTINGS`), and everywhere else a
//! default is written held against it: README's configuration table, the environment
//! template.yaml gives each function, and the CDK synth's (when scripts/test.d/20-deploy names
//! it in `CDK_TEMPLATE`).

use serde_json::Value;
use shared::config::{SETTINGS, Setting};

use crate::template::{environments, load, repo, synthesized};

/// Settings a deployment sets on purpose to something other than the library default, and
/// where: the consume function hashes with RFC 9106's second option, not OWASP's (README's
/// table says so in the default column; BENCHMARKS.md measures it).
fn deliberately_overridden(function: &str, var: &str) -> bool {
    function.to_ascii_lowercase().contains("consume") && var.starts_with("ARGON2_")
}

fn with_default() -> impl Iterator<Item = (&'static str, &'static str)> {
    SETTINGS
        .iter()
        .filter_map(|Setting { name, default }| default.map(|d| (*name, d)))
}

#[test]
fn every_setting_and_its_default_is_in_the_readme_configuration_table() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for setting in SETTINGS {
        let row = format!("| `{}` | ", setting.name);
        let Some(at) = readme.find(&row) else {
            panic!("README.md lacks a configuration row for {}", setting.name);
        };
        if let Some(default) = setting.default {
            let cell = &readme[at + row.len()..];
            assert!(
                cell.starts_with(&format!("`{default}`")),
                "README.md: {} defaults to `{default}`, its row says {:?}",
                setting.name,
                &cell[..cell.find(" |").unwrap_or(cell.len())]
            );
        }
    }
    assert!(with_default().count() >= 20, "the table has its defaults");
}

/// The value a template gives a variable, when it is a literal or a parameter's default;
/// `None` for a value decided at deploy time (a resource's name, a condition).
fn resolved(t: &Value, v: &Value) -> Option<String> {
    let literal = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match v.get("Ref").and_then(Value::as_str) {
        Some(param) => literal(&t["Parameters"][param]["Default"]),
        None => literal(v),
    }
}

/// Every function's environment gives every defaulted setting it sets exactly the default,
/// unless [`deliberately_overridden`]; returns how many values were compared.
fn assert_defaults(t: &Value, what: &str) -> usize {
    let mut compared = 0;
    let mut wrong = Vec::new();
    for (function, vars) in environments(t) {
        for (name, default) in with_default() {
            let Some(value) = vars.get(name).and_then(|v| resolved(t, v)) else {
                continue;
            };
            compared += 1;
            if value != default && !deliberately_overridden(&function, name) {
                wrong.push(format!(
                    "{function}: {name} is {value:?}, the default {default:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
    compared
}

#[test]
fn template_yaml_hands_the_functions_the_settings_defaults() {
    let t = load(&repo().join("template.yaml"));
    let compared = assert_defaults(&t, "template.yaml");
    // Three functions, most defaulted settings each: a test that compared nothing would pass.
    assert!(compared >= 40, "only {compared} values compared");
}

#[test]
fn the_cdk_synth_hands_the_functions_the_settings_defaults() {
    let Some(t) = synthesized("CDK_TEMPLATE") else {
        eprintln!("CDK_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    let compared = assert_defaults(&t, "CDK synth");
    assert!(compared >= 40, "only {compared} values compared");
}
