//! The router and the HTTP/1 server around it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use shared::clock::SystemClock;
use shared::config::Config;
use shared::domain::{EmailAddress, NewPassword, UserId};
use shared::http::{ApiError, ApiRequest, MAX_BODY_BYTES, handle, is_json, json_response, route};
use shared::mail::recording::RecordingMailer;
use shared::mail::ses::SesMailer;
use shared::mail::{Mail, Mailer};
use shared::service::{Ports, ResetService};
use shared::store::dynamodb::{DynamoStore, schema};
use shared::store::memory::MemoryStore;
use shared::store::{ResetStore, UserDirectory};

use crate::options::{MailerKind, Options, SeedUser, StoreKind};
use crate::pages;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where dev sign-in reads password hashes from.
enum Accounts {
    Memory(Arc<MemoryStore>),
    Dynamo(DynamoStore),
}

/// The local API's state: the service plus the dev-only views of its adapters.
pub struct LocalApi {
    service: ResetService,
    mailbox: Option<Arc<RecordingMailer>>,
    accounts: Accounts,
}

/// Stable id for a seed user, so repeated runs against DynamoDB update the same item.
fn seed_id(email: &EmailAddress) -> UserId {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(email.normalized().as_bytes());
    let hex = digest.iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    UserId::parse(&format!("user-{hex}")).expect("a short ASCII id is valid")
}

fn parse_seed(user: &SeedUser) -> Result<(EmailAddress, String), BoxError> {
    let email = EmailAddress::parse(&user.email)
        .map_err(|e| format!("--user {}: email {e}", user.email))?;
    let password = NewPassword::parse(&user.password)
        .map_err(|e| format!("--user {}: password {e}", user.email))?;
    let hash = shared::password::hash(&password).map_err(|_| "password hashing failed")?;
    Ok((email, hash))
}

impl LocalApi {
    /// Builds the adapters the flags ask for and seeds the users.
    /// The AWS SDK settings, when the flags need them, come from the standard environment
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials, profiles).
    pub async fn build(options: &Options, config: Config) -> Result<Self, BoxError> {
        let needs_aws = options.store == StoreKind::Dynamodb || options.mailer == MailerKind::Ses;
        let sdk = if needs_aws {
            Some(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
        } else {
            None
        };
        Self::build_with_sdk(options, config, sdk).await
    }

    /// [`LocalApi::build`] with explicit SDK settings (tests point them at the emulator).
    pub async fn build_with_sdk(
        options: &Options,
        config: Config,
        sdk: Option<aws_config::SdkConfig>,
    ) -> Result<Self, BoxError> {
        let seeds = options
            .users
            .iter()
            .map(parse_seed)
            .collect::<Result<Vec<_>, _>>()?;

        let (store, users, accounts): (Arc<dyn ResetStore>, Arc<dyn UserDirectory>, Accounts) =
            match (options.store, &sdk) {
                (StoreKind::Dynamodb, Some(sdk)) => {
                    let client = shared::wiring::dynamodb_client(sdk, &config.dynamodb_timeouts);
                    if options.create_tables {
                        let created =
                            schema::ensure_tables(&client, &config.reset_table, &config.users)
                                .await?;
                        for table in created {
                            println!("created table {table}");
                        }
                    }
                    let store =
                        DynamoStore::new(client, config.reset_table.clone(), config.users.clone());
                    for (email, hash) in &seeds {
                        put_dynamo_user(&store, &config, email, hash).await?;
                    }
                    let shared = Arc::new(store.clone());
                    (shared.clone(), shared, Accounts::Dynamo(store))
                }
                _ => {
                    let store = Arc::new(MemoryStore::new());
                    for (email, hash) in seeds {
                        store.put_user(seed_id(&email), email, Some(hash));
                    }
                    (store.clone(), store.clone(), Accounts::Memory(store))
                }
            };

        let (mailer, mailbox): (Arc<dyn Mailer>, _) = match (options.mailer, &sdk) {
            (MailerKind::Ses, Some(sdk)) => {
                let client = shared::wiring::ses_client(sdk, &config.ses_timeouts);
                if options.verify_sender {
                    client
                        .create_email_identity()
                        .email_identity(config.mail_from.as_str())
                        .send()
                        .await?;
                    println!("asked SES to verify the sender {}", config.mail_from);
                }
                let mailer = SesMailer::new(
                    client,
                    config.mail_from.clone(),
                    config.ses_configuration_set.clone(),
                );
                (Arc::new(mailer), None)
            }
            _ => {
                let m = Arc::new(RecordingMailer::printing());
                (m.clone(), Some(m))
            }
        };

        let mailer: Arc<dyn Mailer> = match options.mail_delay_ms {
            0 => mailer,
            ms => Arc::new(SlowMailer {
                inner: mailer,
                delay: std::time::Duration::from_millis(ms),
            }),
        };
        let service = ResetService::new(
            config,
            Ports {
                store,
                users,
                mailer,
                clock: Arc::new(SystemClock),
            },
        );
        Ok(Self {
            service,
            mailbox,
            accounts,
        })
    }

    /// The service (tests reach its configuration).
    pub fn service(&self) -> &ResetService {
        &self.service
    }

    /// Mails sent so far, oldest first (console mailer only).
    pub fn mailbox(&self) -> Vec<Mail> {
        self.mailbox.as_ref().map(|m| m.sent()).unwrap_or_default()
    }

    /// Routes one request. `peer` is the socket's remote address: the client IP for limits.
    pub async fn respond(
        &self,
        req: http::Request<Bytes>,
        peer: SocketAddr,
    ) -> http::Response<String> {
        let path = req.uri().path().to_owned();
        if let Some(op) = route(&path) {
            let (parts, body) = req.into_parts();
            let api_req = ApiRequest {
                method: parts.method,
                headers: parts.headers,
                body,
                client_ip: Some(peer.ip()),
            };
            return handle(&self.service, op, api_req).await;
        }
        match (req.method(), path.as_str()) {
            (&Method::GET, "/_dev/mailbox") if pages::prefers_html(req.headers()) => {
                pages::mailbox(self.mailbox.as_ref().map(|m| m.sent()).as_deref())
            }
            (&Method::GET, "/_dev/mailbox") => self.mailbox_json(),
            (&Method::POST, "/_dev/sign-in") if !is_json(req.headers()) => {
                ApiError::UnsupportedMediaType.into_response()
            }
            (&Method::POST, "/_dev/sign-in") => self.sign_in(req.body()).await,
            (&Method::GET, page) if pages::is_page(page) => pages::get(page),
            (_, "/_dev/mailbox") => pages::method_not_allowed(),
            (_, page) if pages::is_page(page) => pages::method_not_allowed(),
            (_, "/_dev/sign-in") => ApiError::MethodNotAllowed.into_response(),
            _ => ApiError::NotFound.into_response(),
        }
    }

    fn mailbox_json(&self) -> http::Response<String> {
        let mails: Vec<Value> = self
            .mailbox()
            .iter()
            .map(|m| {
                json!({
                    "to": m.to.as_str(),
                    "subject": m.subject,
                    "text": m.text,
                    "html": m.html,
                    "link": m.link,
                })
            })
            .collect();
        json_response(StatusCode::OK, Value::Array(mails).to_string())
    }

    /// `POST /_dev/sign-in {"email","password"}`: 200 if the password matches the stored
    /// argon2id hash, else 401. Lets a demo prove the reset really changed the password.
    async fn sign_in(&self, body: &Bytes) -> http::Response<String> {
        let parsed: Option<(String, String)> =
            serde_json::from_slice::<Value>(body).ok().and_then(|v| {
                Some((
                    v.get("email")?.as_str()?.to_owned(),
                    v.get("password")?.as_str()?.to_owned(),
                ))
            });
        let Some((email, password)) = parsed else {
            return ApiError::field("email", "email and password are required strings")
                .into_response();
        };
        let Ok(email) = EmailAddress::parse(&email) else {
            return ApiError::field("email", "must be a valid email address").into_response();
        };
        let hash = match self.stored_hash(&email).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::error!(error = %e, "sign-in lookup failed");
                return ApiError::Internal.into_response();
            }
        };
        let ok = hash.is_some_and(|h| shared::password::verify(&password, &h));
        if ok {
            json_response(StatusCode::OK, json!({"ok": true}).to_string())
        } else {
            ApiError::Unauthorized.into_response()
        }
    }

    async fn stored_hash(&self, email: &EmailAddress) -> Result<Option<String>, BoxError> {
        let Some(user) = self.service_users_by_email(email).await? else {
            return Ok(None);
        };
        match &self.accounts {
            Accounts::Memory(store) => Ok(store.password_hash(&user)),
            Accounts::Dynamo(store) => {
                let users = &self.service.config().users;
                let out = store
                    .client()
                    .get_item()
                    .table_name(&users.table)
                    .key(
                        &users.key_attribute,
                        aws_sdk_dynamodb::types::AttributeValue::S(user.as_str().to_owned()),
                    )
                    .consistent_read(true)
                    .send()
                    .await?;
                Ok(out
                    .item()
                    .and_then(|i| i.get(&users.password_attribute))
                    .and_then(|v| v.as_s().ok())
                    .cloned())
            }
        }
    }

    async fn service_users_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<UserId>, BoxError> {
        let found = match &self.accounts {
            Accounts::Memory(store) => store.by_email(email).await?,
            Accounts::Dynamo(store) => store.by_email(email).await?,
        };
        Ok(found.map(|u| u.id))
    }
}

/// Adds a provider-like delay before each send (`--mail-delay-ms`).
struct SlowMailer {
    inner: Arc<dyn Mailer>,
    delay: std::time::Duration,
}

#[async_trait::async_trait]
impl Mailer for SlowMailer {
    async fn send(&self, mail: &Mail) -> Result<(), shared::mail::MailError> {
        tokio::time::sleep(self.delay).await;
        self.inner.send(mail).await
    }
}

async fn put_dynamo_user(
    store: &DynamoStore,
    config: &Config,
    email: &EmailAddress,
    hash: &str,
) -> Result<(), BoxError> {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let users = &config.users;
    let id = if users.email_index.is_some() {
        seed_id(email).as_str().to_owned()
    } else {
        email.normalized().to_owned()
    };
    store
        .client()
        .put_item()
        .table_name(&users.table)
        .item(&users.key_attribute, S(id))
        .item(&users.email_attribute, S(email.normalized().to_owned()))
        .item(&users.password_attribute, S(hash.to_owned()))
        .send()
        .await?;
    Ok(())
}

/// The body, or the error answer: 413 only when it is over the limit; a body that breaks off,
/// or whose chunked framing is wrong, is a 400 like any body that is not JSON.
async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    Limited::new(body, MAX_BODY_BYTES + 1)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                ApiError::PayloadTooLarge
            } else {
                tracing::debug!(error = %e, "request body could not be read");
                ApiError::MalformedJson
            }
        })
}

/// DNS rebinding: a page on another site whose name resolves to 127.0.0.1 reaches this server
/// with its own name in `Host`. Only the loopback names are served: `127.0.0.1`, `localhost`
/// and `[::1]`, with the listening port (or none, as some clients send it).
pub fn host_is_local(headers: &http::HeaderMap, port: u16) -> bool {
    let Some(host) = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let (name, given_port) = match host.rsplit_once(':') {
        Some((name, p)) if !name.is_empty() && (name.ends_with(']') || !name.contains(':')) => {
            (name, Some(p))
        }
        _ => (host, None),
    };
    let name_ok = name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]";
    let port_ok = given_port.is_none_or(|p| p.parse::<u16>() == Ok(port));
    name_ok && port_ok
}

/// 421 for a request whose `Host` is not this server's loopback name, in the API's error shape.
fn misdirected() -> http::Response<String> {
    json_response(
        StatusCode::MISDIRECTED_REQUEST,
        json!({
            "error": "This development server answers only to 127.0.0.1, localhost or [::1].",
            "code": "MISDIRECTED_REQUEST",
        })
        .to_string(),
    )
}

/// Serves `api` on `listener` until `shutdown` completes. Connections are HTTP/1.1.
pub async fn serve(listener: TcpListener, api: Arc<LocalApi>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let local_port = listener.local_addr().ok().map(|a| a.port());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let api = api.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let response = if !local_port.is_some_and(|p| host_is_local(&parts.headers, p))
                    {
                        misdirected()
                    } else {
                        match read_body(body).await {
                            Ok(bytes) => {
                                api.respond(http::Request::from_parts(parts, bytes), peer)
                                    .await
                            }
                            Err(e) => e.into_response(),
                        }
                    };
                    Ok::<_, Infallible>(response.map(|b| Full::new(Bytes::from(b))))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}
