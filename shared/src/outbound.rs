//! The one small HTTP client for the third-party APIs the service calls itself: the
//! breached-password range API ([`crate::breach`]) and a CAPTCHA provider's siteverify
//! ([`crate::captcha`]). It is the AWS SDK's own connector (hyper + rustls with aws-lc, the one
//! DynamoDB and SES already use), so no second HTTP or TLS stack is linked into the functions
//! (BENCHMARKS.md, "Binary size"). Every call is bounded as a whole, body included, and reads
//! at most [`MAX_RESPONSE_BYTES`].

use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

/// Largest answer read: a padded range answer is about 40 KiB, a siteverify answer a few
/// hundred bytes. A provider that sends more is treated as failing.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What identifies us to the providers (the range API asks callers to send one).
const USER_AGENT: &str = "password-reset-service";

/// Why an outbound call gave no usable answer. Carries no request content: callers log it.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// No answer within the call's bound (connecting, sending and reading the body).
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// Connecting, TLS or the exchange failed, or the answer was too large.
    #[error("transport: {0}")]
    Transport(String),
    /// The provider answered with a status other than 2xx.
    #[error("HTTP status {0}")]
    Status(u16),
}

/// An HTTPS client bounded by `timeout` per call. Cheap to clone (one shared pool).
#[derive(Clone, Debug)]
pub struct Outbound {
    connector: SharedHttpConnector,
    timeout: Duration,
}

impl Outbound {
    /// A client whose every call (connect, request, whole body) ends within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        // Connecting is bounded here; the whole exchange, body included, by `send`.
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(timeout)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build();
        Self {
            connector: SharedHttpConnector::new(connector),
            timeout,
        }
    }

    /// `GET url` with `headers`; the body of a 2xx answer.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Bytes, OutboundError> {
        let mut req = http::Request::get(url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req, SdkBody::empty()).await
    }

    /// `POST url` with `form` as `application/x-www-form-urlencoded`; the body of a 2xx answer.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<Bytes, OutboundError> {
        let body = zeroize::Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
        let req = http::Request::post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        self.send(req, SdkBody::from(body.as_bytes())).await
    }

    async fn send(
        &self,
        req: http::request::Builder,
        body: SdkBody,
    ) -> Result<Bytes, OutboundError> {
        let req = req
            .header(http::header::USER_AGENT, USER_AGENT)
            .body(body)
            .map_err(|e| OutboundError::Transport(e.to_string()))?;
        let req =
            HttpRequest::try_from(req).map_err(|e| OutboundError::Transport(e.to_string()))?;
        let call = async {
            let resp = self
                .connector
                .call(req)
                .await
                .map_err(|e| OutboundError::Transport(crate::logging::error_chain(&e)))?;
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) {
                return Err(OutboundError::Status(status));
            }
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| OutboundError::Transport(format!("reading the answer: {e}")))?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| OutboundError::Timeout(self.timeout))?
    }
}
