//! Time bounds of the AWS calls and the argon2id cost: the settings that trade latency or CPU
//! for safety, each with a floor the service refuses to go under.

use std::time::Duration;

use super::{ConfigError, default_of, env::Env};
use crate::hashing::Argon2Settings;

/// How long one AWS service may take to answer, so a service that accepts the connection and
/// never replies costs a bounded time (then 503 or 502), not the whole Lambda timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    /// The whole call: every attempt and the backoff between them.
    pub operation: Duration,
    /// One attempt, connecting included.
    pub attempt: Duration,
    /// Attempts per call, the first included (the SDK retries throttling, 5xx, timeouts).
    pub max_attempts: u32,
}

/// The variables of one service's [`SdkTimeouts`] (their defaults are in [`SETTINGS`]).
pub struct SdkTimeoutVars {
    operation: &'static str,
    attempt: &'static str,
    max_attempts: &'static str,
}

impl SdkTimeouts {
    /// DynamoDB answers in milliseconds: 700 ms is a very slow attempt, three attempts cover a
    /// throttle or a dropped connection, and 2 s bounds the call. Three sequential calls (the
    /// most an invocation makes on its failure path) plus SES fit the 10 s Lambda timeout.
    pub const DYNAMODB: SdkTimeoutVars = SdkTimeoutVars {
        operation: "DYNAMODB_TIMEOUT_MS",
        attempt: "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        max_attempts: "DYNAMODB_MAX_ATTEMPTS",
    };
    /// SES's SendEmail usually takes 50-300 ms: two attempts of 1.2 s within 2.5 s.
    pub const SES: SdkTimeoutVars = SdkTimeoutVars {
        operation: "SES_TIMEOUT_MS",
        attempt: "SES_ATTEMPT_TIMEOUT_MS",
        max_attempts: "SES_MAX_ATTEMPTS",
    };

    pub(super) fn read(env: &Env<'_>, vars: SdkTimeoutVars) -> Result<Self, ConfigError> {
        let (op_var, attempt_var, attempts_var) = (vars.operation, vars.attempt, vars.max_attempts);
        let operation = env.millis(op_var, 100..=10_000)?;
        let attempt = env.millis(attempt_var, 50..=10_000)?;
        if attempt > operation {
            return Err(ConfigError::new(
                attempt_var,
                format!("must not exceed {op_var} ({} ms)", operation.as_millis()),
            ));
        }
        Ok(Self {
            operation,
            attempt,
            max_attempts: env.number(attempts_var, 1..=5)? as u32,
        })
    }
}

/// The `ARGON2_*` settings through `lookup` (unset or empty: their [`SETTINGS`] default, which
/// is [`Argon2Settings::OWASP`]'s value), validated by [`Argon2Settings::validate`].
pub fn argon2_settings(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Argon2Settings, ConfigError> {
    let number = |var: &'static str| {
        let set = lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        set.as_deref()
            .or(default_of(var))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| ConfigError::new(var, "must be a whole number"))
    };
    Argon2Settings {
        memory_kib: number("ARGON2_MEMORY_KIB")?,
        iterations: number("ARGON2_ITERATIONS")?,
        parallelism: number("ARGON2_PARALLELISM")?,
    }
    .validate()
    .map_err(|(var, reason)| ConfigError::new(var, reason))
}
