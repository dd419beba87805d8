//! Building the service once, at init: SDK config and clients, adapters, ports.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::mail::ses::SesMailer;
use crate::service::{Ports, ResetService};
use crate::store::dynamodb::DynamoStore;

/// The production service: DynamoDB store and user directory, SES mailer, system clock.
/// Reads the standard AWS environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn aws_service(config: Config) -> ResetService {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.reset_table.clone(),
        config.users.clone(),
    ));
    let mailer = Arc::new(SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk),
        config.mail_from.clone(),
        config.ses_configuration_set.clone(),
    ));
    ResetService::new(
        config,
        Ports {
            store: store.clone(),
            users: store,
            mailer,
            clock: Arc::new(SystemClock),
        },
    )
}
