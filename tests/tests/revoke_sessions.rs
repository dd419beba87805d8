//! The example consumer of `PasswordResetCompleted` (examples/revoke-sessions) against Cognito
//! on moto, through the real SDK: a user signed in on a device is signed out everywhere (the
//! refresh token and the access token stop working); an unknown user and another detail-type
//! change nothing and fail nothing.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, MessageActionType,
};
use integration_tests::moto;
use revoke_sessions::{Outcome, handle};
use serde_json::{Value, json};

const PASSWORD: &str = "Long-enough-password-1!";

/// An event as EventBridge hands it to the function.
fn event(detail_type: &str, user_id: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "password-reset",
        "account": "123456789012",
        "time": "2027-01-15T08:00:00Z",
        "region": moto::REGION,
        "resources": [],
        "detail": {
            "user_id": user_id,
            "time": "2027-01-15T08:00:00Z",
            "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "operation": "consume",
            "dialect": "native",
            "route": "/password-reset/consume",
        },
    })
}

/// Signs `user` in with a password; returns (access token, refresh token).
async fn sign_in(cognito: &Client, pool: &str, client_id: &str, user: &str) -> (String, String) {
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(pool)
        .client_id(client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("signed in")
        .authentication_result
        .expect("tokens");
    (
        auth.access_token.expect("an access token"),
        auth.refresh_token.expect("a refresh token"),
    )
}

async fn refreshes(cognito: &Client, pool: &str, client_id: &str, refresh: &str) -> bool {
    cognito
        .admin_initiate_auth()
        .user_pool_id(pool)
        .client_id(client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn a_completed_reset_signs_the_user_out_of_cognito_everywhere() {
    let cognito = Client::new(&moto::sdk_config(&moto::endpoint()));
    let name = moto::unique_prefix("revoke");
    let pool = cognito
        .create_user_pool()
        .pool_name(&name)
        .send()
        .await
        .expect("a pool")
        .user_pool
        .and_then(|p| p.id)
        .expect("a pool id");
    let client_id = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("an app client")
        .user_pool_client
        .and_then(|c| c.client_id)
        .expect("a client id");
    for user in ["user-ada", "user-bob"] {
        cognito
            .admin_create_user()
            .user_pool_id(&pool)
            .username(user)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .expect("a user");
        cognito
            .admin_set_user_password()
            .user_pool_id(&pool)
            .username(user)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .expect("a password");
    }
    let (access, refresh) = sign_in(&cognito, &pool, &client_id, "user-ada").await;
    let (_, bobs_refresh) = sign_in(&cognito, &pool, &client_id, "user-bob").await;
    assert!(refreshes(&cognito, &pool, &client_id, &refresh).await);

    // Another detail-type and an unknown user: nothing happens, nothing fails.
    let other = event("PasswordResetRequested", "user-ada");
    assert_eq!(
        handle(&cognito, &pool, other).await.unwrap(),
        Outcome::Ignored
    );
    assert!(refreshes(&cognito, &pool, &client_id, &refresh).await);
    let stranger = event("PasswordResetCompleted", "user-nobody");
    assert_eq!(
        handle(&cognito, &pool, stranger).await.unwrap(),
        Outcome::NoSuchUser
    );

    let completed = event("PasswordResetCompleted", "user-ada");
    assert_eq!(
        handle(&cognito, &pool, completed).await.unwrap(),
        Outcome::SignedOut
    );
    assert!(
        !refreshes(&cognito, &pool, &client_id, &refresh).await,
        "the refresh token is revoked"
    );
    assert!(
        cognito
            .get_user()
            .access_token(access)
            .send()
            .await
            .is_err(),
        "the access token is revoked"
    );
    assert!(
        refreshes(&cognito, &pool, &client_id, &bobs_refresh).await,
        "other users keep their sessions"
    );
    assert!(
        handle(&cognito, &pool, json!({"not": "an event"}))
            .await
            .is_err(),
        "a malformed event fails the invocation, so EventBridge retries it"
    );
}
