//! The built template (`sam build`, `.aws-sam/build/template.yaml`) under the SAM CLI, for
//! real: `sam local invoke` of every `tests/events/*.json` and the README's walk-through
//! through `sam local start-api`, the functions running in Docker under the Runtime Interface
//! Emulator the SAM CLI ships, on moto (DynamoDB, SES). `#[ignore]`d: they need Docker, the
//! local base image and a `sam build`, which `scripts/setup.d/docker` and
//! `scripts/test.d/50-sam-local` provide; that step runs them with `--ignored`.
//!
//! Offline: the image is `SAM_LOCAL_IMAGE` (a debootstrap root filesystem, arm64 like the
//! template, run through qemu-user-static binfmt), passed with `--invoke-image` and
//! `--skip-pull-image`. moto listens on 127.0.0.1 only; the containers (on the default bridge)
//! reach it at the bridge gateway through one DNAT rule per moto port, on the bridge interface
//! only, removed when the test ends (`route_localnet` on the bridge is set by the setup).
//! start-api listens on 127.0.0.1 on a free port and is stopped by its test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use integration_tests::app::{Backend, Dynamo, TOKEN_KEY, server_key_sha256};
use integration_tests::moto;
use shared::store::dynamodb::NewUser;

/// The sender the functions mail from (verified in moto).
const MAIL_FROM: &str = "no-reply@example.com";
/// The bridge the containers run on; its gateway is where they reach moto.
const BRIDGE: &str = "docker0";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sam() -> PathBuf {
    let sam = root().join(".venv/deploy/bin/sam");
    assert!(
        sam.exists(),
        "no SAM CLI at {}: run scripts/setup",
        sam.display()
    );
    sam
}

fn built_template() -> PathBuf {
    let t = std::env::var_os("SAM_BUILT_TEMPLATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".aws-sam/build/template.yaml"));
    assert!(
        t.exists(),
        "no built template at {}: run `sam build` (scripts/test.d/50-sam-local does)",
        t.display()
    );
    t
}

fn image() -> String {
    std::env::var("SAM_LOCAL_IMAGE")
        .unwrap_or_else(|_| "password-reset/lambda-base:bookworm-minbase-ca-arm64".to_owned())
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The bridge's own address, the containers' gateway: where they see the host. (The default
/// bridge's IPAM config names no gateway, so it is read from the interface.)
fn gateway() -> String {
    let out = run(Command::new("ip").args(["-4", "-o", "addr", "show", "dev", BRIDGE]));
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no IPv4 address on {BRIDGE}: {text}"))
        .to_owned()
}

/// One DNAT rule: TCP to `gateway:port` arriving on the bridge goes to 127.0.0.1:`port`
/// (moto). Deleted on drop. Tests of this module share moto, so they share the rule.
struct Dnat {
    args: Vec<String>,
}

impl Dnat {
    fn add(gateway: &str, port: u16) -> Self {
        let args: Vec<String> = [
            "PREROUTING",
            "-i",
            BRIDGE,
            "-d",
            gateway,
            "-p",
            "tcp",
            "--dport",
            &port.to_string(),
            "-j",
            "DNAT",
            "--to-destination",
            &format!("127.0.0.1:{port}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        run(Command::new("iptables")
            .args(["-t", "nat", "-I"])
            .args(&args));
        Self { args }
    }
}

impl Drop for Dnat {
    fn drop(&mut self) {
        let _ = Command::new("iptables")
            .args(["-t", "nat", "-D"])
            .args(&self.args)
            .status();
    }
}

/// Serializes the tests of this module: each holds the DNAT rule and Docker's two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// moto reachable from the containers, tables and a user of their own, and the `--env-vars`
/// file that points every function at them.
struct Local {
    dynamo: Dynamo,
    env_vars: PathBuf,
    _dnat: Dnat,
}

impl Local {
    async fn start(label: &str) -> Self {
        let dynamo = Dynamo::start(label, &[]).await;
        moto::verify_sender(MAIL_FROM).await;
        let gateway = gateway();
        let dnat = Dnat::add(&gateway, moto::port());
        // Every function gets every variable (SAM applies only those the template declares).
        let vars = json!({
            "AWS_ENDPOINT_URL": format!("http://{gateway}:{}", moto::port()),
            "TOKEN_HMAC_KEY_SECRET_ARN": "",
            "TOKEN_HMAC_KEY": TOKEN_KEY,
            "RESET_TABLE_NAME": dynamo.reset_table(),
            "USERS_TABLE_NAME": dynamo.users_table(),
            "ALLOWED_CALLBACK_ORIGINS": "https://app.example.com",
            "DEFAULT_CALLBACK_URL": "https://app.example.com/reset",
            "MAIL_FROM": MAIL_FROM,
            "MIN_REQUEST_RESPONSE_MS": "0",
            "SERVER_KEY_SHA256": server_key_sha256(),
            // The OWASP floor of the same work, in less memory: qemu is slow.
            "ARGON2_MEMORY_KIB": "7168",
            "ARGON2_ITERATIONS": "5",
            "ARGON2_PARALLELISM": "1",
        });
        let env_vars =
            std::env::temp_dir().join(format!("{}-env.json", moto::unique_prefix(label)));
        std::fs::write(&env_vars, json!({ "Parameters": vars }).to_string()).unwrap();
        Self {
            dynamo,
            env_vars,
            _dnat: dnat,
        }
    }

    /// The SAM CLI with the settings every `sam local` command here shares.
    /// `args` come first: `--parameter-overrides` takes every word after it.
    fn sam(&self, subcommand: &str, args: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = Command::new(sam());
        cmd.current_dir(root())
            .args(["local", subcommand])
            .args(args)
            .arg("--template")
            .arg(built_template())
            .arg("--env-vars")
            .arg(&self.env_vars)
            .args(["--invoke-image", &image(), "--skip-pull-image"])
            .args([
                "--parameter-overrides",
                "AllowedCallbackOrigins=https://app.example.com MailFrom=no-reply@example.com",
            ])
            // Credentials the containers get; moto accepts any.
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", moto::REGION)
            .env("AWS_REGION", moto::REGION)
            .env("SAM_CLI_TELEMETRY", "0")
            // RIE prints the init figures (Init Duration) in its REPORT lines.
            .env("SAM_CLI_RIE_DEV", "1");
        cmd
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.env_vars);
    }
}

/// `Init Duration: <ms> ms` from RIE's REPORT line, if it printed one.
fn init_duration(log: &str) -> Option<String> {
    let at = log.find("Init Duration: ")? + "Init Duration: ".len();
    Some(log[at..].split(" ms").next()?.trim().to_owned())
}

fn function_of(event: &Value) -> &'static str {
    let route = event["routeKey"].as_str().expect("routeKey");
    match route.rsplit('/').next() {
        Some("request") => "RequestFunction",
        Some("check") => "CheckFunction",
        Some("consume" | "revoke") => "ConsumeFunction",
        other => panic!("no function for {other:?}"),
    }
}

mod invoke;
mod start_api;
