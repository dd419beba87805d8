//! Lambda function for `POST /password-reset/check` (API Gateway HTTP API, payload v2).

use lambda_http::Error;
use shared::service::Operation;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let service =
        shared::wiring::aws_service(shared::wiring::lambda_config().await?, Operation::Check).await;
    // Raw v2 payloads: a body marked base64 that is not is a 400, not a panic (= abort).
    shared::http::lambda::run(&service, Operation::Check).await
}
