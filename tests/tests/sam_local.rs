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

fn root() -> PathBuf {
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

#[tokio::test]
#[ignore = "needs Docker, the local base image and `sam build`: scripts/test.d/50-sam-local"]
async fn every_event_answers_its_documented_status_through_sam_local_invoke() {
    let _one = ONE_AT_A_TIME.lock().await;
    let local = Local::start("sam-invoke").await;
    let dir = root().join("tests/events");
    let mut seen = 0;
    let mut inits = Vec::new();
    for &(file, status, code) in crate::events::DOCUMENTED {
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let function = function_of(&event);
        let started = Instant::now();
        let event_file = dir.join(file);
        let out = run(&mut local.sam(
            "invoke",
            &[
                function.as_ref(),
                "--event".as_ref(),
                event_file.as_os_str(),
            ],
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reply: Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l.trim()).ok())
            .unwrap_or_else(|| panic!("{file}: no JSON reply on stdout: {stdout}\n{stderr}"));
        let body: Value = serde_json::from_str(reply["body"].as_str().unwrap_or("null"))
            .unwrap_or_else(|_| panic!("{file}: the body is not JSON: {reply}"));
        assert_eq!(
            reply["statusCode"],
            json!(status),
            "{file}: {reply}\n{stderr}"
        );
        match code {
            Some(code) => assert_eq!(body["code"], json!(code), "{file}: {body}"),
            None => assert!(body.get("code").is_none(), "{file}: {body}"),
        }
        let init = init_duration(&stderr);
        println!(
            "sam local invoke {function:<16} {file:<32} {status} in {:.1} s, Init Duration {} ms",
            started.elapsed().as_secs_f64(),
            init.as_deref().unwrap_or("(not reported)")
        );
        inits.push((function, init));
        seen += 1;
    }
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("json".as_ref()))
        .count();
    assert_eq!(seen, on_disk, "every tests/events/*.json is in DOCUMENTED");
    for function in ["RequestFunction", "CheckFunction", "ConsumeFunction"] {
        let first = inits.iter().find(|(f, _)| *f == function);
        println!(
            "cold start {function}: Init Duration {} ms (RIE, under qemu on this machine)",
            first
                .and_then(|(_, i)| i.as_deref())
                .unwrap_or("(not reported)")
        );
    }
}

/// `sam local start-api` on 127.0.0.1 and a free port; stopped (SIGINT, so it removes its
/// containers) on drop.
struct StartApi {
    child: Child,
    port: u16,
}

impl StartApi {
    fn start(local: &Local) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = local
            .sam(
                "start-api",
                &[
                    "--host".as_ref(),
                    "127.0.0.1".as_ref(),
                    "--port".as_ref(),
                    port.to_string().as_ref(),
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sam local start-api");
        // Forward its log to ours (shown on failure), and wait until it listens.
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("start-api: {line}");
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("sam local start-api exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "start-api is not listening after 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self { child, port }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Vec<(String, String)>, Value) {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let body = body.to_string();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = serde_json::from_str(body).unwrap_or(Value::Null);
        (status, headers, body)
    }
}

impl Drop for StartApi {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs Docker, the local base image and `sam build`: scripts/test.d/50-sam-local"]
async fn the_readme_walk_through_passes_through_sam_local_start_api() {
    let _one = ONE_AT_A_TIME.lock().await;
    let local = Local::start("sam-api").await;
    let email = format!("{}@example.com", moto::unique_prefix("demo"));
    local
        .dynamo
        .store
        .put_user(&NewUser {
            id: "demo-user",
            email: &email,
            password_hash: None,
            enabled: None,
        })
        .await
        .expect("seed the user");
    let api = StartApi::start(&local);

    // 1. Ask for a reset.
    let (status, _, body) = api
        .post("/password-reset/request", &json!({ "email": email }))
        .await;
    assert_eq!(
        (status, &body["ok"]),
        (200, &json!(true)),
        "request: {body}"
    );

    // 2. The mail, read back from moto's SES.
    let mails = moto::mail_to(&email).await;
    assert_eq!(mails.len(), 1, "one mail to {email}");
    let code = integration_tests::app::code_in(&mails[0].link())
        .expose()
        .to_owned();
    assert_eq!(code.len(), 43, "the code in the link");

    // 3. Check: valid, not spent.
    let (status, _, body) = api
        .post("/password-reset/check", &json!({ "code": code }))
        .await;
    assert_eq!(
        (status, &body["is_valid"]),
        (200, &json!(true)),
        "check: {body}"
    );

    // 4. A weak password is refused; the code stays valid.
    let (status, _, body) = api
        .post(
            "/password-reset/consume",
            &json!({ "code": code, "password": "short" }),
        )
        .await;
    assert_eq!((status, &body["code"]), (400, &json!("VALIDATION_FAILED")));

    // 5. Consume: the new hash on the users item; the code is spent.
    let (status, _, body) = api
        .post(
            "/password-reset/consume",
            &json!({ "code": code, "password": "a much better passphrase" }),
        )
        .await;
    assert_eq!(
        (status, &body["ok"]),
        (200, &json!(true)),
        "consume: {body}"
    );
    let item = local
        .dynamo
        .user_item("demo-user")
        .await
        .expect("the user item");
    let hash = item
        .get("password_hash")
        .and_then(|v| v.as_s().ok())
        .expect("a password hash on the users item");
    assert!(hash.starts_with("$argon2id$"), "an argon2id PHC string");
    let (status, _, body) = api
        .post("/password-reset/check", &json!({ "code": code }))
        .await;
    assert_eq!(
        (status, &body["is_valid"]),
        (200, &json!(false)),
        "spent: {body}"
    );

    // 7. The per-email cap: 200 200 200 429, the 429 with Retry-After.
    let nobody = format!("{}@example.com", moto::unique_prefix("nobody"));
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let (status, headers, _) = api
            .post("/password-reset/request", &json!({ "email": nobody }))
            .await;
        statuses.push(status);
        if status == 429 {
            retry_after = headers
                .iter()
                .find(|(k, _)| k == "retry-after")
                .map(|(_, v)| v.clone());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let secs: u64 = retry_after
        .expect("Retry-After on the 429")
        .parse()
        .expect("Retry-After in seconds");
    assert!(secs > 0, "Retry-After {secs}");
}
