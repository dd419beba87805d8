//! Building the service once, at init: SDK config and clients, adapters, ports, and the
//! connections opened before the first invocation arrives.

use std::sync::Arc;
use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::config::{
    CAPTCHA_SECRET_VAR, Config, ConfigError, Profile, SdkTimeouts, TOKEN_KEY_SECRET_VAR,
};
use crate::events::eventbridge::EventBridgeSink;
use crate::service::{Operation, ResetService};
use crate::store::dynamodb::keys::priming_key;

mod adapters;
pub use self::adapters::{
    Adapters, BREACH_CHECK_TIMEOUT, CAPTCHA_TIMEOUT, Store, breach_check, captcha_verifier,
};

/// SDK settings for Lambda from the environment alone: `AWS_REGION`, the function role's
/// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and an
/// optional `AWS_ENDPOINT_URL`. No profile files and no instance metadata: the default chain
/// would probe both on every cold start, and Lambda always sets the variables.
pub fn lambda_sdk_config() -> SdkConfig {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(endpoint);
    }
    sdk.build()
}

/// A deployed function's settings: the environment, with the token keys read once from the
/// Secrets Manager secret `TOKEN_HMAC_KEY_SECRET_ARN` names (what the template sets: the
/// function's environment holds only the ARN), or from `TOKEN_HMAC_KEY` when no ARN is set.
pub async fn lambda_config() -> Result<Config, ConfigError> {
    let config = config_with_secret(&lambda_sdk_config(), |k| std::env::var(k).ok()).await?;
    config.dialects.log_off();
    Ok(config)
}

/// As [`lambda_config`], with the settings from `lookup` and Secrets Manager reached through
/// `sdk` (tests point both at moto). A secret that cannot be read, holds no string, or does not
/// hold a valid key (pair) stops init with an error naming `TOKEN_HMAC_KEY_SECRET_ARN`, never
/// the value. The request function's CAPTCHA secret comes the same way, from the secret
/// `CAPTCHA_SECRET_ARN` names (read concurrently with the token key's, so no extra wait).
pub async fn config_with_secret(
    sdk: &SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let arn_of = |var: &str| {
        lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (token_arn, captcha_arn) = (arn_of(TOKEN_KEY_SECRET_VAR), arn_of(CAPTCHA_SECRET_VAR));
    if captcha_arn.is_some() && arn_of("CAPTCHA_SECRET").is_some() {
        return Err(ConfigError {
            var: CAPTCHA_SECRET_VAR,
            reason: "set either it or CAPTCHA_SECRET, not both".to_owned(),
        });
    }
    if token_arn.is_none() && captcha_arn.is_none() {
        return Config::from_lookup(Profile::Lambda, lookup);
    }
    let client = secrets_client(sdk);
    let read = |arn: Option<String>, var: &'static str| {
        let client = &client;
        async move {
            match arn {
                Some(arn) => read_secret(client, &arn, var).await.map(Some),
                None => Ok(None),
            }
        }
    };
    let (token, captcha) = tokio::join!(
        read(token_arn, TOKEN_KEY_SECRET_VAR),
        read(captcha_arn, CAPTCHA_SECRET_VAR),
    );
    let (token, captcha) = (token?, captcha?);
    let lookup = |var: &str| match &captcha {
        Some(secret) if var == "CAPTCHA_SECRET" => Some(secret.to_string()),
        _ => lookup(var),
    };
    Config::from_lookup_with_secret(
        Profile::Lambda,
        lookup,
        token.as_deref().map(String::as_str),
    )
}

/// The one Secrets Manager call (at init): 1.5 s per attempt, a second attempt after a throttle
/// or a timeout, 4 s in all, so a hung endpoint fails init well inside Lambda's 10 s init limit.
const SECRET_TIMEOUTS: SdkTimeouts = SdkTimeouts {
    operation: Duration::from_secs(4),
    attempt: Duration::from_millis(1_500),
    max_attempts: 2,
};

/// A Secrets Manager client on `sdk`, bounded by [`SECRET_TIMEOUTS`].
pub fn secrets_client(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeout_config(&SECRET_TIMEOUTS))
        .retry_config(retry_config(&SECRET_TIMEOUTS, SES_INITIAL_BACKOFF))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// The secret's string (zeroed when dropped). Only the ARN and the time taken are logged;
/// errors name `var`, the setting that named the secret.
async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    var: &'static str,
) -> Result<zeroize::Zeroizing<String>, ConfigError> {
    let started = std::time::Instant::now();
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError {
            var,
            reason: format!(
                "the secret could not be read: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ),
        })?;
    let secret = out
        .secret_string
        .map(zeroize::Zeroizing::new)
        .ok_or(ConfigError {
            var,
            reason: "the secret holds no SecretString (a binary secret?)".to_owned(),
        })?;
    let what = if var == TOKEN_KEY_SECRET_VAR {
        "token key"
    } else {
        "CAPTCHA secret"
    };
    tracing::info!(
        secret = arn,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "{what} read from Secrets Manager"
    );
    Ok(secret)
}

/// The production service for one Lambda function: DynamoDB store and user directory, SES
/// mailer, EventBridge events (with `EVENT_BUS_NAME`), system clock, with connections primed
/// during init.
pub async fn aws_service(config: Config, op: Operation) -> ResetService {
    let sdk = lambda_sdk_config();
    let dynamodb = dynamodb_client(&sdk, &config.store.timeouts);
    let ses = ses_client(&sdk, &config.mail.timeouts);
    let events = events_client(&sdk);
    service_from_clients(config, dynamodb, ses, Some(events), op).await
}

/// One `PutEvents` (best effort, after the store transaction): 500 ms per attempt, two
/// attempts, 1 s in all. It runs beside the mail, so on consume's and a server request's
/// slowest path it adds nothing to the DynamoDB and SES bounds that fit the Lambda timeout; on
/// a public request the response floor bounds it first.
const EVENTS_TIMEOUTS: SdkTimeouts = SdkTimeouts {
    operation: Duration::from_secs(1),
    attempt: Duration::from_millis(500),
    max_attempts: 2,
};

/// An EventBridge client on `sdk`, bounded by [`EVENTS_TIMEOUTS`].
pub fn events_client(sdk: &SdkConfig) -> aws_sdk_eventbridge::Client {
    let conf = aws_sdk_eventbridge::config::Builder::from(sdk)
        .timeout_config(timeout_config(&EVENTS_TIMEOUTS))
        .retry_config(retry_config(&EVENTS_TIMEOUTS, DYNAMODB_INITIAL_BACKOFF))
        .build();
    aws_sdk_eventbridge::Client::from_conf(conf)
}

/// First wait before the SDK retries a DynamoDB call (doubled each time, jittered): the base
/// DynamoDB's own SDKs used, small because its throttling clears in milliseconds.
const DYNAMODB_INITIAL_BACKOFF: Duration = Duration::from_millis(25);
/// First wait before the SDK retries an SES call.
const SES_INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The SDK's timeouts for `t`: each attempt (connecting included) and the whole call. Without
/// them a service that accepts the connection and never answers holds the invocation until
/// Lambda kills it; with them the call fails with a timeout, which the adapters answer as
/// "unavailable" (503 + `Retry-After` for the store, 502 for a server caller's mail).
pub fn timeout_config(t: &SdkTimeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(t.attempt)
        .operation_attempt_timeout(t.attempt)
        .operation_timeout(t.operation)
        .build()
}

fn retry_config(t: &SdkTimeouts, initial_backoff: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(t.max_attempts)
        .with_initial_backoff(initial_backoff)
        .with_max_backoff(t.attempt)
}

/// A DynamoDB client on `sdk`, bounded by `timeouts` (`DYNAMODB_*` settings).
pub fn dynamodb_client(sdk: &SdkConfig, timeouts: &SdkTimeouts) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeout_config(timeouts))
        .retry_config(retry_config(timeouts, DYNAMODB_INITIAL_BACKOFF))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// An SES v2 client on `sdk`, bounded by `timeouts` (`SES_*` settings).
pub fn ses_client(sdk: &SdkConfig, timeouts: &SdkTimeouts) -> aws_sdk_sesv2::Client {
    let conf = aws_sdk_sesv2::config::Builder::from(sdk)
        .timeout_config(timeout_config(timeouts))
        .retry_config(retry_config(timeouts, SES_INITIAL_BACKOFF))
        .build();
    aws_sdk_sesv2::Client::from_conf(conf)
}

/// Wires the adapters around ready clients and primes the connections `op` will use. Events
/// go to `EVENT_BUS_NAME` through `events` for the functions that publish (request and
/// consume); nowhere without the setting or the client.
pub async fn service_from_clients(
    config: Config,
    dynamodb: aws_sdk_dynamodb::Client,
    ses: aws_sdk_sesv2::Client,
    events: Option<aws_sdk_eventbridge::Client>,
    op: Operation,
) -> ResetService {
    let mails = matches!(op, Operation::Request | Operation::Consume);
    let bus = config.observe.event_bus.clone().filter(|_| mails);
    let events = bus.zip(events);
    // consume faults in its argon2id memory on a blocking thread while the priming waits on
    // the network, so its first hash runs at warm speed (shared/src/hashing/).
    let warm =
        (op == Operation::Consume).then(|| tokio::task::spawn_blocking(crate::hashing::prewarm));
    let events_client = events.as_ref().map(|(_, client)| client);
    prime(
        &dynamodb,
        &config.store.reset_table,
        mails.then_some(&ses),
        events_client,
    )
    .await;
    if let Some(warm) = warm {
        let _ = warm.await;
    }
    let mut adapters = Adapters::aws(&config, dynamodb, ses);
    if let Some((bus, client)) = events {
        let source = config.observe.event_source.clone();
        adapters = adapters.with_events(Arc::new(EventBridgeSink::new(client, bus, source)));
    }
    adapters.service(config)
}

/// Opens the TLS connections during init with one cheap call each, so the first invocation
/// does not pay the handshake (about 0.9 s at 128 MB for DynamoDB, measured by others): a
/// GetItem that finds nothing, for the mailing functions SES's GetAccount and, with events on,
/// a `PutEvents` of no entries (refused as invalid, so nothing is published, and the role
/// needs no other permission). The answers do not matter, only the pooled connections;
/// bounded so init never hangs on it.
async fn prime(
    dynamodb: &aws_sdk_dynamodb::Client,
    reset_table: &str,
    ses: Option<&aws_sdk_sesv2::Client>,
    events: Option<&aws_sdk_eventbridge::Client>,
) {
    let db = dynamodb
        .get_item()
        .table_name(reset_table)
        // A token key no token can have: the function's IAM policy allows GetItem on TOKEN#
        // keys, and the answer is always "no item".
        .set_key(Some(priming_key()))
        .send();
    let mail = async {
        if let Some(ses) = ses
            && let Err(e) = ses.get_account().send().await
        {
            tracing::debug!(error = %aws_sdk_sesv2::error::DisplayErrorContext(&e), "SES priming call failed");
        }
    };
    let bus = async {
        if let Some(events) = events
            && let Err(e) = events
                .put_events()
                .set_entries(Some(Vec::new()))
                .send()
                .await
        {
            tracing::debug!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "EventBridge priming call answered");
        }
    };
    let primed = tokio::time::timeout(Duration::from_secs(3), async {
        let (db, (), ()) = tokio::join!(db, mail, bus);
        if let Err(e) = db {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "DynamoDB priming call failed");
        }
    })
    .await;
    if primed.is_err() {
        tracing::warn!("priming the connections took over 3 s; going on");
    }
}
