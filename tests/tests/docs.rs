//! The docs stay true: every setting the code reads is in README's configuration table and is
//! handed to the functions by template.yaml; README's two commands are what CI runs.

use std::path::PathBuf;

fn repo_file(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_setting_is_in_the_readme_configuration_table() {
    let readme = repo_file("README.md");
    for var in shared::config::VARIABLES {
        let row = format!("| `{var}` |");
        assert!(
            readme.contains(&row),
            "README.md lacks a configuration row for {var}"
        );
    }
}

#[test]
fn every_setting_is_handed_to_the_functions_by_the_template() {
    let template = repo_file("template.yaml");
    for var in shared::config::VARIABLES {
        assert!(
            template.contains(&format!("{var}:")),
            "template.yaml does not set {var}"
        );
    }
}

#[test]
fn the_readme_test_command_is_what_ci_runs() {
    let readme = repo_file("README.md");
    let ci = repo_file(".ci/run");
    assert!(readme.contains("cargo run --bin local-api"));
    assert!(readme.contains("scripts/test "));
    assert!(ci.contains("scripts/test"));
}
