//! `bench-ops`: warm handler time per operation and argon2id cost, on the memory adapters.
//!
//! Each benchmark drives `shared::http::handle` (the edge every Lambda and the local API use)
//! with a `MemoryStore`, a `RecordingMailer` and a `FixedClock`, on a current-thread tokio
//! runtime, so the figure is the CPU one warm invocation spends in our code: parsing, HMACs,
//! store conditions, mail rendering, JSON. No network, no sleeping (`MIN_REQUEST_RESPONSE_MS=0`,
//! and a `FixedClock` never sleeps anyway). The timing is wall time on one thread with nothing
//! to wait for, i.e. CPU time.
//!
//! `bench-ops` runs the divan benchmarks (divan's flags apply, e.g. a name filter);
//! `bench-ops argon2-peak` hashes one password and prints the process's peak resident memory
//! before and after (run it as a fresh process: the peak is per process);
//! `bench-ops argon2-rss pooled|fresh [CONCURRENT] [SEQUENTIAL]` hashes CONCURRENT passwords at
//! once on a multi-thread runtime, then SEQUENTIAL one after another, and prints the peak and
//! resident memory after each: `pooled` is the service's path (`hashing::hash_off_thread`),
//! `fresh` argon2's own `hash_password`, which allocates per hash (the path before issue 16;
//! run it with `MALLOC_MMAP_THRESHOLD_=131072` for the "allocator returns big blocks" variant).
//!
//! Built by `scripts/bench` with the Lambdas' release profile (and `release-o3`/`release-s` for
//! the opt-level comparison), in the same cargo command as the functions.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use divan::Bencher;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::clock::FixedClock;
use shared::config::{Config, Profile};
use shared::domain::{EmailAddress, NewPassword, UserId};
use shared::http::{ApiRequest, handle};
use shared::mail::recording::RecordingMailer;
use shared::service::{Operation, Ports, ResetService};
use shared::store::memory::MemoryStore;
use tokio::runtime::Runtime;

const SERVER_KEY: &str = "bench-server-key-0123456789abcdef";
const KNOWN: &str = "known@example.com";
const CALLBACK: &str = "https://app.example.com/reset-password";
/// Users the consume benchmark cycles through, so the per-email cap never binds.
const CONSUME_USERS: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("argon2-peak") => return argon2_peak(),
        Some("argon2-rss") => return argon2_rss(&args[1..]),
        _ => {}
    }
    // Always measure: without cargo bench's `--bench` flag divan would only run each once.
    divan::Divan::from_args().run_benches();
}

/// One service on the memory adapters, with the handle on its clock.
struct Fixture {
    rt: Runtime,
    service: ResetService,
    clock: Arc<FixedClock>,
    ttl: Duration,
}

impl Fixture {
    fn new() -> Self {
        let server_key_sha256: String = Sha256::digest(SERVER_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let vars = [
            (
                "TOKEN_HMAC_KEY",
                "bench-token-key-0123456789abcdef0123456789",
            ),
            ("ALLOWED_CALLBACK_ORIGINS", "https://app.example.com"),
            ("DEFAULT_CALLBACK_URL", CALLBACK),
            ("SERVER_KEY_SHA256", server_key_sha256.as_str()),
            ("RATE_LIMIT_REQUEST", "1000000000/600"),
            ("RATE_LIMIT_CHECK", "1000000000/600"),
            ("RATE_LIMIT_CONSUME", "1000000000/600"),
            ("MIN_REQUEST_RESPONSE_MS", "0"),
        ];
        let config = Config::from_lookup(Profile::Lambda, |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("benchmark configuration is valid");
        let ttl = config.policy.token_ttl;

        let store = Arc::new(MemoryStore::new());
        let emails = std::iter::once(KNOWN.to_owned())
            .chain((0..CONSUME_USERS).map(|i| format!("consume{i}@example.com")));
        for (i, email) in emails.enumerate() {
            store.put_user(
                UserId::parse(&format!("user-{i}")).expect("user id"),
                EmailAddress::parse(&email).expect("email"),
                None,
            );
        }
        let clock = Arc::new(FixedClock::at(shared::clock::EpochSecs::new(1_767_225_600)));
        let service = ResetService::new(
            config,
            Ports {
                store: store.clone(),
                users: store,
                mailer: Arc::new(RecordingMailer::new()),
                events: Arc::new(shared::events::NoEvents),
                clock: clock.clone(),
                breach: Arc::new(shared::breach::AlwaysClean),
                captcha: None,
            },
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        Self {
            rt,
            service,
            clock,
            ttl,
        }
    }

    /// Runs one call through the HTTP edge; the status and the JSON reply.
    fn call(&self, op: Operation, req: ApiRequest) -> (u16, Value) {
        let response = self.rt.block_on(handle(&self.service, op, req));
        let status = response.status().as_u16();
        (status, serde_json::from_str(response.body()).expect("JSON"))
    }

    /// Calls once and insists on 200, so a benchmark never times an error path by mistake.
    fn expect_ok(&self, op: Operation, req: ApiRequest) -> Value {
        let (status, body) = self.call(op, req);
        assert_eq!(status, 200, "{} answered {status}: {body}", op.name());
        body
    }

    /// A live code for `email`, issued by a server caller with `return_code`.
    fn issue_code(&self, email: &str) -> String {
        let reply = self.expect_ok(
            Operation::Request,
            server_post(json!({"email": email, "return_code": true, "send_email": false})),
        );
        reply["code"].as_str().expect("code").to_owned()
    }

    /// Moves the clock past every slot's expiry, so the same address can ask again.
    fn age_out_slots(&self) {
        self.clock.advance(self.ttl + Duration::from_secs(1));
    }
}

fn post(body: Value) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    ApiRequest {
        method: Method::POST,
        path: String::new(),
        headers,
        body: body.to_string().into(),
        client_ip: Some(IpAddr::from([203, 0, 113, 7])),
    }
}

fn server_post(body: Value) -> ApiRequest {
    let mut req = post(body);
    req.headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {SERVER_KEY}")).expect("header"),
    );
    req.client_ip = None;
    req
}

/// Public request for an address with no account: HMACs, slot claim, rate window, no mail.
#[divan::bench(sample_count = 1000)]
fn request_unknown_email(bencher: Bencher) {
    bench_public_request(bencher, "nobody@example.com");
}

/// Public request for an account: as above plus the token item and the rendered mail.
#[divan::bench(sample_count = 1000)]
fn request_known_email(bencher: Bencher) {
    bench_public_request(bencher, KNOWN);
}

/// A public request for `email`, its slots aged out before each call so the cap never answers.
fn bench_public_request(bencher: Bencher, email: &str) {
    let f = Fixture::new();
    let body = json!({"email": email, "callback_url": CALLBACK});
    f.expect_ok(Operation::Request, post(body.clone()));
    bencher
        .with_inputs(|| post(body.clone()))
        .bench_local_values(|req| {
            f.age_out_slots();
            f.call(Operation::Request, req)
        });
}

/// Check of a live code: one HMAC, one read, the rate window.
#[divan::bench(sample_count = 1000)]
fn check_valid_code(bencher: Bencher) {
    let f = Fixture::new();
    let code = f.issue_code(KNOWN);
    let body = json!({"code": code});
    assert_eq!(
        f.expect_ok(Operation::Check, post(body.clone()))["is_valid"],
        true
    );
    bencher
        .with_inputs(|| post(body.clone()))
        .bench_local_values(|req| f.call(Operation::Check, req));
}

/// Check of a well-formed code that was never issued.
#[divan::bench(sample_count = 1000)]
fn check_unknown_code(bencher: Bencher) {
    let f = Fixture::new();
    let body = json!({"code": "Xq3vJ9kLm2Pz8RtY5wBn0cHs7dEa4FgU1iKo6jQlVxM"});
    assert_eq!(
        f.expect_ok(Operation::Check, post(body.clone()))["is_valid"],
        false
    );
    bencher
        .with_inputs(|| post(body.clone()))
        .bench_local_values(|req| f.call(Operation::Check, req));
}

/// Consume of a live code: password policy, argon2id (on the blocking pool), the atomic
/// write, the "password changed" mail. Each input is a fresh code (issued untimed).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn consume(bencher: Bencher) {
    let f = Fixture::new();
    let mut next = 0usize;
    bencher
        .with_inputs(|| {
            next = (next + 1) % CONSUME_USERS;
            let code = f.issue_code(&format!("consume{next}@example.com"));
            post(json!({"code": code, "password": "a brand new passphrase"}))
        })
        .bench_local_values(|req| {
            let (status, body) = f.call(Operation::Consume, req);
            assert_eq!(status, 200, "consume answered {status}: {body}");
        });
}

/// argon2id at the service's default parameters (m=19456 KiB, t=2, p=1), one hash, this
/// thread, in the pooled buffer (the service's path).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn argon2id_hash(bencher: Bencher) {
    let password = NewPassword::parse("a brand new passphrase").expect("valid password");
    bencher.bench_local(|| shared::hashing::hash(&password).expect("hash"));
}

/// The same hash through argon2's own `hash_password`: 19 MiB allocated and freed per hash
/// (the service's path before issue 16).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn argon2id_hash_fresh_alloc(bencher: Bencher) {
    bencher.bench_local(fresh_hash);
}

/// RFC 9106's second recommended option (m=64 MiB, t=3, p=4), pooled: the consume function's
/// setting in template.yaml.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn argon2id_hash_rfc9106_second(bencher: Bencher) {
    let h = shared::hashing::Hasher::new(shared::hashing::Argon2Settings::RFC9106_SECOND, 1);
    h.prewarm();
    let password = NewPassword::parse("a brand new passphrase").expect("valid password");
    bencher.bench_local(|| h.hash(&password).expect("hash"));
}

/// One reset mail (subject, text and HTML) from the compiled built-in templates, in German:
/// the rendering every mailed request pays (upon, issue 17).
#[divan::bench(sample_count = 1000)]
fn render_reset_mail(bencher: Bencher) {
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |_| None).expect("config");
    let to = EmailAddress::parse(KNOWN).expect("address");
    let locale = shared::domain::Locale::only("de");
    let link = format!("{CALLBACK}?code=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE");
    bencher.bench_local(|| {
        shared::mail::render::reset_mail(
            &config.mail,
            &locale,
            &to,
            Some(&link),
            Some("01234567"),
            3600,
        )
        .expect("mail")
    });
}

/// Reading, compiling and checking a template folder (the built-in set, copied to a temporary
/// folder): what `MAIL_TEMPLATE_DIR` adds to a cold start.
#[divan::bench(sample_count = 100, sample_size = 1)]
fn compile_template_folder(bencher: Bencher) {
    let dir = std::env::temp_dir().join(format!("bench-mail-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("folder");
    for (name, source) in shared::mail::templates::BUILT_IN {
        std::fs::write(dir.join(name), source).expect("file");
    }
    bencher.bench_local(|| shared::mail::templates::Templates::from_dir(&dir).expect("templates"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn fresh_hash() -> String {
    use argon2::password_hash::PasswordHasher as _;
    let params = argon2::Params::new(19_456, 2, 1, None).expect("params");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(b"a brand new passphrase")
        .expect("hash")
        .to_string()
}

/// `argon2-rss pooled|fresh [CONCURRENT] [SEQUENTIAL]`, see the module docs.
fn argon2_rss(args: &[String]) {
    let fresh = args.first().map(String::as_str) == Some("fresh");
    let mode = if fresh { "fresh" } else { "pooled" };
    let concurrent: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let sequential: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let one = move || async move {
        if fresh {
            tokio::task::spawn_blocking(fresh_hash)
                .await
                .expect("hash task");
        } else {
            let p = NewPassword::parse("a brand new passphrase").expect("valid password");
            shared::hashing::hash_off_thread(p).await.expect("hash");
        }
    };
    let start_rss = status_kib("VmRSS").unwrap_or(0);
    let t = std::time::Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..concurrent).map(|_| tokio::spawn(one())).collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
    let conc_ms = t.elapsed().as_secs_f64() * 1e3;
    let (hwm1, rss1) = (
        status_kib("VmHWM").unwrap_or(0),
        status_kib("VmRSS").unwrap_or(0),
    );
    let t = std::time::Instant::now();
    let mut rss_after_10 = 0;
    rt.block_on(async {
        for i in 0..sequential {
            one().await;
            if i == 9 {
                rss_after_10 = status_kib("VmRSS").unwrap_or(0);
            }
        }
    });
    let seq_ms = t.elapsed().as_secs_f64() * 1e3 / sequential.max(1) as f64;
    let (hwm2, rss2) = (
        status_kib("VmHWM").unwrap_or(0),
        status_kib("VmRSS").unwrap_or(0),
    );
    let mmap = std::env::var("MALLOC_MMAP_THRESHOLD_").unwrap_or_else(|_| "unset".into());
    println!(
        "argon2-rss {mode} (MALLOC_MMAP_THRESHOLD_={mmap}): start VmRSS {start_rss} KiB; \
         {concurrent} concurrent ({conc_ms:.0} ms): VmHWM {hwm1} KiB, VmRSS {rss1} KiB; \
         {sequential} sequential ({seq_ms:.1} ms per hash): VmRSS after 10 {rss_after_10} KiB, \
         after all {rss2} KiB, VmHWM {hwm2} KiB"
    );
}

/// Reads a `kB` field of /proc/self/status (Linux).
fn status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn argon2_peak() {
    let password = NewPassword::parse("a brand new passphrase").expect("valid password");
    let before = status_kib("VmHWM").unwrap_or(0);
    let started = std::time::Instant::now();
    shared::hashing::prewarm();
    let prewarm = started.elapsed();
    let after_prewarm = status_kib("VmHWM").unwrap_or(0);
    let started = std::time::Instant::now();
    let phc = shared::hashing::hash(&password).expect("hash");
    let first = started.elapsed();
    let started = std::time::Instant::now();
    shared::hashing::hash(&password).expect("hash");
    let second = started.elapsed();
    let after = status_kib("VmHWM").unwrap_or(0);
    let params = phc.split('$').nth(3).unwrap_or("?");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "argon2id {params}: prewarm (allocate + fault in) {:.1} ms, first hash {:.1} ms, second {:.1} ms; \
         peak RSS {before} KiB before, {after_prewarm} KiB after prewarm, {after} KiB after two hashes (+{} KiB)",
        ms(prewarm),
        ms(first),
        ms(second),
        after.saturating_sub(before)
    );
}
