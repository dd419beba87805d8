//! The whole reset through the Zitadel routes alone, on the memory store, on DynamoDB on moto
//! and with SES on moto, and through the Lambda edge's API Gateway v2 events.

use super::*;

/// The whole reset through the Zitadel routes alone (`API_DIALECTS=zitadel`): ask by user id,
/// take the code (returned, or from the mailed link), set the password, sign in with it.
async fn the_full_zitadel_reset_sets_the_password<B: Backend>(medium: &str) {
    let app = TestApp::<B>::with_user("zitadel-flow", &ENV, "ada@example.com").await;
    let auth = bearer();
    let headers = [("authorization", auth.as_str())];
    let body = match medium {
        "returnCode" => json!({"returnCode": {}}),
        _ => json!({"sendLink": {"urlTemplate": SEED_TEMPLATE}}),
    };
    let r = app
        .call_path(&reset_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = match r.body["verificationCode"].as_str() {
        Some(c) => c.to_owned(),
        None => app.last_code().expose().to_owned(),
    };
    let body = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let r = app
        .call_path(&password_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["details"]["changeDate"].is_string());
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(
        hashing::verify(NEW_PASSWORD, &hash),
        "signs in with the new password"
    );
}

mod memory {
    #[tokio::test]
    async fn the_full_zitadel_reset_with_return_code_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Memory>(
            "returnCode",
        )
        .await;
    }

    #[tokio::test]
    async fn the_full_zitadel_reset_with_send_link_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Memory>(
            "sendLink",
        )
        .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_zitadel_reset_with_return_code_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Dynamo>(
            "returnCode",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_zitadel_reset_with_send_link_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Dynamo>(
            "sendLink",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_link_mails_through_ses_on_moto_to_the_stored_address_and_return_code_mails_nothing() {
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("zitadel-ses", "Example App", &ENV).await;
    let auth = bearer();
    let headers = [("authorization", auth.as_str())];
    let r = app
        .call_path(
            &reset_path("user-ada"),
            json!({"returnCode": {}}),
            &headers,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["verificationCode"].is_string());
    assert!(
        crate::ses::mail_to_any_case(&stored).await.is_empty(),
        "returnCode mails nothing"
    );

    let body = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": SEED_TEMPLATE}});
    let r = app
        .call_path(&reset_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["details"]["resourceOwner"], ORG);
    let link = crate::ses::the_one_link_mailed_to(&stored).await;
    assert!(
        link.starts_with("https://example.com/password/changey?userID=user-ada&code="),
        "{link}"
    );
    let code = code_in(&link);
    let body =
        json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code.expose()});
    let r = app
        .call_path(&password_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));
}

/// An API Gateway v2 event for `path` with the server key (the `sam local` fixture, re-pointed).
fn v2_event(
    path: &str,
    body: &Value,
) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let route = if path.ends_with("_reset") {
        shared::http::dialect::zitadel::PASSWORD_RESET_ROUTE
    } else {
        shared::http::dialect::zitadel::PASSWORD_ROUTE
    };
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {route}").into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["routeKey"] = format!("POST {route}").into();
    event["headers"]["authorization"] = bearer().into();
    event["body"] = body.to_string().into();
    event["isBase64Encoded"] = false.into();
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn the_lambda_edge_reads_the_user_id_from_the_raw_path_on_the_function_of_each_operation() {
    use lambda_http::aws_lambda_events::encodings::Body;
    use shared::http::lambda::handle_v2_event;
    use shared::service::Operation;
    let app = app();
    let text = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse| match &r.body {
        Some(Body::Text(t)) => serde_json::from_str::<Value>(t).unwrap(),
        other => panic!("a text body, not {other:?}"),
    };
    let issued = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(&reset_path(ADA_ID), &json!({"returnCode": {}})),
    )
    .await;
    assert_eq!(issued.status_code, 200);
    let code = text(&issued)["verificationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(&reset_path("user-nobody"), &json!({"returnCode": {}})),
    )
    .await;
    assert_eq!(
        (unknown.status_code, text(&unknown)["code"].as_i64()),
        (404, Some(5))
    );
    let body = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let set = handle_v2_event(
        &app.service,
        Operation::Consume,
        v2_event(&password_path(ADA_ID), &body),
    )
    .await;
    assert_eq!(set.status_code, 200, "{:?}", set.body);
    assert_details(&text(&set)["details"]);
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
}
