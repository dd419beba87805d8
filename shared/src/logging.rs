//! The functions' logging: lambda_http's default subscriber (JSON when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, plus
//! `RUST_LOG`'s directives), with one difference: every target but our own is capped at
//! [`DEPENDENCY_CAP`] (INFO), whatever the level or the directives say.
//!
//! Why: below INFO the dependencies log secrets. `lambda_runtime` logs every raw event at TRACE
//! (`"raw JSON event received from Lambda"`: the new password, the code, `Authorization: Bearer
//! <server key>`); the SDK's orchestrator (`aws_smithy_runtime`) logs each request and response
//! at TRACE (`"transmitting request"`: the SES body with the reset link, the UpdateItem with
//! the PHC hash; `output_or_error`: the user item a GetItem read), and its DEBUG lines carry
//! errors with the raw response; `aws_sigv4` logs the signable request at TRACE; `h2`/`hyper`
//! log frames. Their INFO and above are configuration and failures, never payloads (read in
//! lambda_runtime 1.5, aws-smithy-runtime 1.16, aws-sigv4 1.6, aws-config 1.13). `rustls` logs
//! through `log`, which no logger here forwards.
//!
//! The cap is an allow-list rather than a list of bad crates, so a dependency added later that
//! logs payloads at DEBUG is capped too. It is combined with the level filter per layer (both
//! must agree), so `RUST_LOG=aws_smithy_runtime=trace` cannot lift it: TRACE and DEBUG are safe
//! to set on the function and show our own `shared` crate's lines, which never hold a secret
//! (tests/tests/logs.rs and tests/tests/runtime_logs.rs capture every line at TRACE).
//!
//! Metric lines ([`crate::metrics`], target [`METRICS_TARGET`]) are not log lines: a layer of
//! their own writes each one's EMF object alone on its line, at every log level, and the log
//! format never shows them.

use lambda_http::tracing::subscriber::filter::{FilterExt, LevelFilter, Targets};
use lambda_http::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_http::tracing::subscriber::layer::{Filter, Layer, SubscriberExt};
use lambda_http::tracing::subscriber::registry::{LookupSpan, Registry};
use std::sync::{Arc, Mutex, PoisonError};
use tracing::Subscriber;

use crate::metrics::{EmfLines, METRICS_TARGET};

/// The most any target outside [`OWN_TARGETS`] may log, whatever the settings.
pub const DEPENDENCY_CAP: LevelFilter = LevelFilter::INFO;

/// Target prefixes logged at the configured level: this crate, whose lines are written to hold
/// no secret at any level.
pub const OWN_TARGETS: &[&str] = &["shared"];

/// What the environment asks of the logs (Lambda's advanced logging controls, or `RUST_LOG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The default level: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` if it is a bare level, else
    /// INFO. Lambda's `FATAL` is ERROR (tracing has no FATAL).
    pub level: LevelFilter,
    /// `RUST_LOG`'s directives (`level`, `target`, `target=level`, comma-separated), which
    /// replace the default level when there are any, as `EnvFilter`'s do.
    pub directives: String,
    /// `AWS_LAMBDA_LOG_FORMAT=JSON` (any case): one JSON object per line.
    pub json: bool,
}

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From any lookup of variable names, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let rust_log = get("RUST_LOG").unwrap_or_default();
        let level = get("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|| Some(rust_log.clone()).filter(|s| !s.is_empty()))
            .map_or(LevelFilter::INFO, |s| parse_level(&s));
        Self {
            level,
            directives: rust_log,
            json: get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
        }
    }
}

fn parse_level(s: &str) -> LevelFilter {
    if s.trim().eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    s.trim().parse().unwrap_or(LevelFilter::INFO)
}

/// The cap alone: [`DEPENDENCY_CAP`] for every target, no limit for [`OWN_TARGETS`].
pub fn cap() -> Targets {
    Targets::new()
        .with_default(DEPENDENCY_CAP)
        .with_targets(OWN_TARGETS.iter().map(|t| (*t, LevelFilter::TRACE)))
}

/// What the settings enable AND what the cap allows: a line is written only if both agree.
pub fn filter<S>(settings: &Settings) -> impl Filter<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    directives(settings).and(cap())
}

/// `RUST_LOG`'s directives as a [`Targets`] filter, or the default level when it has none.
/// Invalid directives are skipped with a line on stderr, as `EnvFilter::parse_lossy` does.
/// Not `EnvFilter`: its span and field directives (`[span{field=value}]`) are the only thing it
/// adds, nobody filters a Lambda's logs by them, and its regex engine cost ~140 KB of every
/// bootstrap's 6 MiB (BENCHMARKS.md). Such a directive is skipped like any invalid one.
fn directives(settings: &Settings) -> Targets {
    let mut targets = Targets::new();
    let mut any = false;
    for part in settings.directives.split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        match part.parse::<Targets>() {
            Ok(parsed) => {
                any = true;
                if let Some(level) = parsed.default_level() {
                    targets = targets.with_default(level);
                }
                targets = targets.with_targets(parsed);
            }
            Err(e) => eprintln!("ignoring `{part}` in RUST_LOG: {e}"),
        }
    }
    if any {
        targets
    } else {
        Targets::new().with_default(settings.level)
    }
}

/// Every target but the metric lines, which [`EmfLines`] writes.
fn not_metrics() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target(METRICS_TARGET, LevelFilter::OFF)
}

/// The metric lines alone, at every log level, as [`EmfLines`] writes them.
fn metric_lines<S, W>(writer: W) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    EmfLines::new(writer).with_filter(Targets::new().with_target(METRICS_TARGET, LevelFilter::INFO))
}

/// The functions' subscriber, writing to `writer`: lambda_http's format (no target, no time,
/// plain or JSON) behind [`filter`], and the metric lines as bare EMF objects.
pub fn subscriber<W>(settings: &Settings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let emf_writer = writer.clone();
    let layer = fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(writer);
    let logs = filter(settings).and(not_metrics());
    if settings.json {
        let emf = metric_lines(emf_writer);
        Box::new(
            Registry::default()
                .with(layer.json().with_filter(logs))
                .with(emf),
        )
    } else {
        let emf = metric_lines(emf_writer);
        Box::new(Registry::default().with(layer.with_filter(logs)).with(emf))
    }
}

/// Installs [`subscriber`] for the process's environment, writing to stdout (CloudWatch).
/// Call once, first thing in `main`, in place of lambda_http's `init_default_subscriber`.
///
/// # Panics
/// If a global subscriber is already set (as lambda_http's does).
pub fn init() {
    tracing::subscriber::set_global_default(subscriber(&Settings::from_env(), std::io::stdout))
        .expect("logging is initialised once, first thing in main");
}

/// `error: cause: cause ...`: an error and its whole `source()` chain on one line, for logs.
/// The SDK's errors say only "service error" at the top; the chain holds the error code and the
/// transport failure, which is what an operator needs. No error of this crate or of the SDK puts
/// a code, a password or a key in its text (the log-capture tests hold them to it).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        next = cause.source();
    }
    s
}

/// An in-memory log writer: hand a clone to [`subscriber`] and read what was written. The
/// log-capture tests (here and in tests/tests/logs.rs) search it for secrets.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Capture {
    type Writer = Capture;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests;
