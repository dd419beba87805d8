//! `{{.OrgID}}` and `resourceOwner` from the user's own organisation attribute
//! (`USERS_ORG_ATTRIBUTE`), before `ZITADEL_ORG_ID`, on both stores.

use super::*;

/// [`ENV`] with the organisation read from each user's `org` attribute.
fn env_with_org_attribute(default_org: bool) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = ENV
        .iter()
        .copied()
        .filter(|(k, _)| default_org || *k != "ZITADEL_ORG_ID")
        .collect();
    env.push(("USERS_ORG_ATTRIBUTE", "org"));
    env
}

async fn send_link<B: Backend>(app: &TestApp<B>, user: &str) -> integration_tests::app::Response {
    let auth = bearer();
    let body = json!({"sendLink": {"urlTemplate": SEED_TEMPLATE}});
    app.call_path(&reset_path(user), body, &[("authorization", &auth)], None)
        .await
}

fn org_in(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "orgID")
        .map(|(_, v)| v.into_owned())
        .expect("an orgID parameter")
}

async fn the_users_organisation_fills_org_id_and_resource_owner_before_the_default<B: Backend>() {
    let app = TestApp::<B>::with_user(
        "zitadel-org",
        &env_with_org_attribute(true),
        "ada@example.com",
    )
    .await;
    app.backend.put_user("user-bob", "bob@example.com").await;
    // A value that would move the link if it were not percent-encoded.
    app.backend
        .set_user_org("user-ada", "org/ada@evil.example")
        .await;

    let r = send_link(&app, "user-ada").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["details"]["resourceOwner"], "org/ada@evil.example");
    let link = app.inbox.sent().pop().unwrap().link.unwrap();
    assert!(
        link.starts_with("https://example.com/password/changey?"),
        "{link}"
    );
    assert_eq!(org_in(&link), "org/ada@evil.example");

    // Bob has none of his own: ZITADEL_ORG_ID.
    let r = send_link(&app, "user-bob").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["details"]["resourceOwner"], ORG);
    assert_eq!(org_in(&app.inbox.sent().pop().unwrap().link.unwrap()), ORG);

    // Setting the password answers Ada's organisation too.
    let code = code_in(&link);
    let auth = bearer();
    let body =
        json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code.expose()});
    let r = app
        .call_path(
            &password_path("user-ada"),
            body,
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["details"]["resourceOwner"], "org/ada@evil.example");
}

async fn a_user_without_an_organisation_and_no_default_is_a_400_that_changes_nothing<B: Backend>() {
    let app = TestApp::<B>::with_user(
        "zitadel-no-org",
        &env_with_org_attribute(false),
        "ada@example.com",
    )
    .await;
    let before = app.backend.reset_table_dump().await;
    let r = send_link(&app, "user-ada").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], 3, "{}", r.body);
    let message = r.body["message"].as_str().unwrap();
    assert!(message.contains("sendLink.urlTemplate"), "{message}");
    assert!(message.contains("USERS_ORG_ATTRIBUTE"), "{message}");
    assert_eq!(
        app.backend.reset_table_dump().await,
        before,
        "nothing written"
    );
    assert!(app.inbox.sent().is_empty(), "nothing mailed");
    // With an organisation of her own, the same call works.
    app.backend.set_user_org("user-ada", "org-ada").await;
    let r = send_link(&app, "user-ada").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["details"]["resourceOwner"], "org-ada");
}

integration_tests::on_both_stores!(
    the_users_organisation_fills_org_id_and_resource_owner_before_the_default,
    a_user_without_an_organisation_and_no_default_is_a_400_that_changes_nothing,
);
