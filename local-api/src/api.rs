//! The local API's state and router: the service built through the shared composition root
//! ([`Adapters`]), with only the mailer decorated, plus the dev views of its adapters.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use shared::config::Config;
use shared::events::recording::RecordingEvents;
use shared::http::dialect::route;
use shared::http::{ApiError, ApiRequest, handle_route, is_json};
use shared::mail::recording::RecordingMailer;
use shared::mail::ses::SesMailer;
use shared::mail::{Mail, Mailer};
use shared::service::ResetService;
use shared::store::dynamodb::schema;
use shared::wiring::{Adapters, Store};

use crate::options::{MailerKind, Options, StoreKind};
use crate::seed::Seed;
use crate::{BoxError, dev, pages, preview};

/// The local API's state: the service plus the dev-only views of its adapters.
pub struct LocalApi {
    service: ResetService,
    mailbox: Option<Arc<RecordingMailer>>,
    store: Store,
    pages: pages::PageSettings,
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
            .map(Seed::parse)
            .collect::<Result<Vec<_>, _>>()?;

        let store = match (options.store, &sdk) {
            (StoreKind::Dynamodb, Some(sdk)) => {
                let client = shared::wiring::dynamodb_client(sdk, &config.store.timeouts);
                if options.create_tables {
                    let created = schema::ensure_tables(
                        &client,
                        &config.store.reset_table,
                        &config.store.users,
                    )
                    .await?;
                    for table in created {
                        println!("created table {table}");
                    }
                }
                Store::dynamodb(&config.store, client)
            }
            _ => Store::memory(&config.store),
        };
        for seed in &seeds {
            seed.put(&store, &config).await?;
        }

        let (mailer, mailbox): (Arc<dyn Mailer>, _) = match (options.mailer, &sdk) {
            (MailerKind::Ses, Some(sdk)) => {
                let client = shared::wiring::ses_client(sdk, &config.mail.timeouts);
                if options.verify_sender {
                    client
                        .create_email_identity()
                        .email_identity(config.mail.from.address().as_str())
                        .send()
                        .await?;
                    println!(
                        "asked SES to verify the sender {}",
                        config.mail.from.address()
                    );
                }
                let mailer = SesMailer::new(
                    client,
                    config.mail.from.clone(),
                    config.mail.configuration_set.clone(),
                )
                .with_reply_to(config.mail.reply_to.clone());
                (Arc::new(mailer), None)
            }
            _ => {
                let m = Arc::new(RecordingMailer::printing());
                (m.clone(), Some(m))
            }
        };

        let delay = options.mail_delay_ms;
        let adapters = Adapters::new(store.clone(), mailer)
            .map_mailer(|inner| match delay {
                0 => inner,
                ms => Arc::new(SlowMailer {
                    inner,
                    delay: std::time::Duration::from_millis(ms),
                }),
            })
            // No bus here: each event is printed, as the mails are.
            .with_events(Arc::new(RecordingEvents::printing()));
        let pages = pages::PageSettings::of(&config, options.captcha_site_key.as_deref());
        Ok(Self {
            service: adapters.service(config),
            mailbox,
            store,
            pages,
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

    /// Routes one request: every dialect's routes (those `API_DIALECTS` leaves off answer 404),
    /// then the dev pages. `peer` is the socket's remote address: the client IP for limits.
    pub async fn respond(
        &self,
        req: http::Request<Bytes>,
        peer: SocketAddr,
    ) -> http::Response<String> {
        let path = req.uri().path().to_owned();
        if let Some(served) = route(&path) {
            let (parts, body) = req.into_parts();
            let api_req = ApiRequest {
                method: parts.method,
                path,
                headers: parts.headers,
                body,
                client_ip: Some(peer.ip()),
            };
            return handle_route(&self.service, served, api_req).await;
        }
        match (req.method(), path.as_str()) {
            (&Method::GET, "/_dev/mailbox") if pages::prefers_html(req.headers()) => {
                pages::mailbox(self.mailbox.as_ref().map(|m| m.sent()).as_deref())
            }
            (&Method::GET, "/_dev/mailbox") => dev::mailbox_json(&self.mailbox()),
            (&Method::GET, "/_dev/mail-preview") => {
                preview::page(self.service.config(), req.uri().query())
            }
            (&Method::POST, "/_dev/sign-in") if !is_json(req.headers()) => {
                ApiError::UnsupportedMediaType.into_response()
            }
            (&Method::POST, "/_dev/sign-in") => dev::sign_in(&self.store, req.body()).await,
            (&Method::GET, page) if pages::is_page(page) => pages::get(page, &self.pages),
            (_, "/_dev/mailbox") => pages::method_not_allowed(),
            (_, page) if pages::is_page(page) => pages::method_not_allowed(),
            (_, "/_dev/sign-in") => ApiError::MethodNotAllowed.into_response(),
            (_, "/_dev/mail-preview") => pages::method_not_allowed(),
            _ => ApiError::NotFound.into_response(),
        }
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
