//! The docs stay true: every setting the code reads is handed to the functions by template.yaml
//! (its README row and defaults: settings.rs); README's two commands are what CI runs.

use std::path::PathBuf;

fn repo_file(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_setting_is_handed_to_the_functions_by_the_template() {
    let template = repo_file("template.yaml");
    for var in shared::config::SETTINGS.iter().map(|s| s.name) {
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

#[test]
fn every_test_the_security_table_cites_exists() {
    let readme = repo_file("README.md");
    let start = readme
        .find("## Security guarantees and the tests that hold them")
        .expect("README has the security table");
    let table = &readme[start..];
    let table = &table[..table[3..].find("\n## ").map_or(table.len(), |i| i + 3)];
    let tests_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut sources = String::new();
    // tests/tests and its module folders (faults/, template/ ...), one level down.
    let mut dirs = vec![tests_dir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && dir == tests_dir {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut cited = 0;
    for name in table.split('`').skip(1).step_by(2) {
        // Test names are sentences in snake case; file names and paths are not.
        let is_test = name.contains('_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if is_test {
            cited += 1;
            assert!(
                sources.contains(&format!("fn {name}")),
                "README's security table cites {name}, which no test in tests/tests defines"
            );
        } else if let Some(file) = name.strip_suffix(".rs").filter(|f| !f.contains('/')) {
            assert!(
                tests_dir.join(format!("{file}.rs")).exists()
                    || tests_dir.join(file).join("mod.rs").exists(),
                "README's security table cites {name}, which is not in tests/tests"
            );
        }
    }
    assert!(cited >= 20, "the table cites its tests ({cited} found)");
}
