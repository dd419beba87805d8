//! The example consumer as a Lambda function: `USER_POOL_ID` names the Cognito user pool.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .init();
    let pool = std::env::var("USER_POOL_ID").map_err(|_| "USER_POOL_ID is not set")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    run(service_fn(|event: LambdaEvent<Value>| {
        let (client, pool) = (&client, &pool);
        async move {
            let outcome = revoke_sessions::handle(client, pool, event.payload).await?;
            Ok::<_, Error>(format!("{outcome:?}"))
        }
    }))
    .await
}
