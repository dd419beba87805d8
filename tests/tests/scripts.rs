//! CI hygiene: the pinned toolchain and MSRV are true, `scripts/test` runs every check in
//! `scripts/test.d` or fails, and the local API launcher never starts a stale binary after a
//! failed build. The scripts run for real, in a scratch copy of the tree with fakes for cargo
//! and the setup step.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scripts-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str, executable: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn copy(from: &str, to: &Path) {
    let text = std::fs::read_to_string(repo().join(from)).unwrap();
    write(&to.join(from), &text, true);
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("bash runs")
}

#[test]
fn the_pinned_toolchain_is_the_installed_one_with_rustfmt_and_clippy() {
    let pin = std::fs::read_to_string(repo().join("rust-toolchain.toml"))
        .expect("rust-toolchain.toml exists");
    let rustc = run(Command::new("rustc").arg("--version").current_dir(repo()));
    assert!(rustc.status.success(), "rustc works with the pin in place");
    let version = String::from_utf8(rustc.stdout).unwrap();
    let version = version.split_whitespace().nth(1).expect("rustc X.Y.Z");
    assert!(
        pin.contains(&format!("channel = \"{version}\"")),
        "pinned channel is the installed {version}:\n{pin}"
    );
    for component in ["rustfmt", "clippy"] {
        assert!(pin.contains(&format!("\"{component}\"")), "{component}");
    }
}

#[test]
fn the_stated_msrv_is_new_enough_for_let_chains() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("workspace rust-version");
    let parts: Vec<u32> = msrv.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        (parts[0], parts[1]) >= (1, 88),
        "let-chains (used in shared) need 1.88, Cargo.toml says {msrv}"
    );
}

/// A scratch tree with `scripts/test`, its `lib.sh`, a setup step that exits 42 (so reaching
/// it proves the up-front checks passed) and two checks in `test.d`.
fn scratch_test_tree(second_executable: bool) -> PathBuf {
    let root = scratch(if second_executable {
        "all-x"
    } else {
        "one-not-x"
    });
    copy("scripts/test", &root);
    copy("scripts/lib.sh", &root);
    write(&root.join("scripts/setup"), "#!/bin/sh\nexit 42\n", true);
    write(
        &root.join("scripts/test.d/10-fine"),
        "#!/bin/sh\nexit 0\n",
        true,
    );
    write(
        &root.join("scripts/test.d/20-forgotten"),
        "#!/bin/sh\nexit 0\n",
        second_executable,
    );
    root
}

#[test]
fn a_check_that_is_not_executable_fails_the_test_run_before_anything_runs() {
    let root = scratch_test_tree(false);
    let out = run(Command::new("bash").arg(root.join("scripts/test")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "refused up front: {stderr}");
    assert!(stderr.contains("20-forgotten"), "names the file: {stderr}");

    let root = scratch_test_tree(true);
    let out = run(Command::new("bash").arg(root.join("scripts/test")));
    assert_eq!(
        out.status.code(),
        Some(42),
        "with every check executable the run goes on to setup"
    );
}

#[test]
fn the_local_api_launcher_fails_when_the_build_fails_instead_of_starting_a_stale_binary() {
    let root = scratch("stale-local-api");
    copy("tests/schemathesis/local-api.sh", &root);
    for dir in ["shared", "local-api"] {
        write(
            &root.join(dir).join("src.rs"),
            "// newer than the binary\n",
            false,
        );
    }
    write(&root.join("Cargo.lock"), "", false);
    write(&root.join("Cargo.toml"), "", false);
    // A stale binary that would "start" fine.
    let bin = root.join("target/debug/local-api");
    write(
        &bin,
        "#!/bin/sh\necho 'ready http://127.0.0.1:4321'\nexec sleep 30\n",
        true,
    );
    let touched = run(Command::new("touch").args(["-d", "2000-01-01"]).arg(&bin));
    assert!(touched.status.success());
    // cargo that fails to build.
    write(
        &root.join("fakebin/cargo"),
        "#!/bin/sh\necho 'error: could not compile' >&2\nexit 101\n",
        true,
    );
    let path = format!(
        "{}:{}",
        root.join("fakebin").display(),
        std::env::var("PATH").unwrap()
    );
    let script = r#"
        set -euo pipefail
        step() { :; }
        . "$ROOT/tests/schemathesis/local-api.sh"
        if start_local_api "$ROOT/log"; then echo STARTED; stop_local_api; exit 0; fi
        echo REFUSED
    "#;
    let out = run(Command::new("bash")
        .args(["-c", script])
        .env("ROOT", &root)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env_remove("LOCAL_API_BIN")
        .env("PATH", path));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("REFUSED") && !stdout.contains("STARTED"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("could not compile"), "{stderr}");
}
