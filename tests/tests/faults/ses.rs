//! SES faults: throttled, failing and rejected mail, for server callers (502, slot given back)
//! and public ones (the opaque 200, nothing half written).

use super::*;

// --------------------------------------------------------------------------- SES faults

#[tokio::test]
async fn a_server_request_whose_mail_is_throttled_on_every_attempt_answers_502_and_gives_the_slot_back()
 {
    let rig = Rig::start("ses-throttled", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_too_many_requests());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(
        rig.proxy.calls(SES_SEND),
        rig.config.mail.timeouts.max_attempts,
        "throttling is retried, within the bound"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;

    rig.proxy.heal();
    let r = server_request(&rig).await;
    assert_eq!(r.status, 200, "SES is back: {}", r.body);
    assert_eq!(moto::mail_to(&rig.email).await.len(), 1);
}

#[tokio::test]
async fn a_server_request_whose_mail_fails_with_an_ses_500_answers_502_and_gives_the_slot_back() {
    let rig = Rig::start("ses-500", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_rejected_mail_is_not_retried_and_the_server_caller_gets_502() {
    let rig = Rig::start("ses-rejected", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_message_rejected());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(rig.proxy.calls(SES_SEND), 1, "a refusal is final");
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_mail_throttled_once_is_retried_and_delivered() {
    let rig = Rig::start("ses-throttled-once", Mail::Ses, &[]).await;
    rig.proxy
        .fail_next(SES_SEND, Fault::ses_too_many_requests());
    let r = server_request(&rig).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(SES_SEND), 2);
    assert_eq!(moto::mail_to(&rig.email).await.len(), 1);
    assert_eq!(rig.tokens().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn when_the_release_fails_after_a_failed_mail_the_answer_stays_502_and_no_token_is_left_without_its_slot()
 {
    let rig = Rig::start("ses-release-fails", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    // The claim is the next transaction; the release, every one after it, is throttled.
    let claim = rig.proxy.calls(&transact()) + 1;
    rig.proxy
        .fail_from(transact(), claim + 1, Fault::throttling());
    let r = server_request(&rig).await;
    assert_502(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - claim,
        rig.config.store.timeouts.max_attempts,
        "the release was tried, within the bound"
    );
    // All or nothing: the token and its slot stay together until the code expires.
    assert_eq!(rig.tokens().await.len(), 1);
    assert_eq!(rig.slots().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_public_request_whose_mail_fails_answers_the_opaque_200_and_leaves_nothing_half_written()
{
    let rig = Rig::start("ses-public", Mail::Ses, &[]).await;
    rig.proxy
        .fail_from_now(SES_SEND, Fault::ses_internal_error());
    let failed = rig.request().await;
    rig.proxy.heal();
    let ghost = rig
        .call(Operation::Request, json!({"email": "ghost@example.com"}))
        .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.body, ghost.body, "the same answer as for no account");
    rig.assert_nothing_half_written(false).await;
}
