//! Lambda function for `POST /password-reset/consume` (API Gateway HTTP API, payload v2).

use lambda_http::{Error, run, service_fn};
use shared::config::Config;
use shared::http::lambda::handle_event;
use shared::service::Operation;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let service = shared::wiring::aws_service(Config::from_env()?, Operation::Consume).await;
    run(service_fn(|event| {
        handle_event(&service, Operation::Consume, event)
    }))
    .await
}
