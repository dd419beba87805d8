//! DynamoDB faults: the slot claim of a request and the one transaction of a consume, each
//! throttled, cancelled, dropped or slowed, and the tables scanned after.

use super::*;

// ------------------------------------------------------------------ request: the slot claim

#[tokio::test]
async fn a_slot_claim_throttled_once_is_retried_by_the_sdk_and_the_request_succeeds() {
    let rig = Rig::start("claim-throttled-once", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(transact(), Fault::throttling());
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rig.proxy.calls(&transact()),
        2,
        "one throttled try, one retry"
    );
    assert_eq!(rig.tokens().await.len(), 1);
    assert_eq!(rig.inbox.sent().len(), 1, "the link was mailed");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_throttled_on_every_attempt_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-throttled", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(transact(), Fault::throttling());
    let r = rig.request().await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()),
        rig.config.store.timeouts.max_attempts,
        "the SDK's bounded attempts, then the answer"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    assert!(rig.inbox.sent().is_empty(), "no mail for an unstored code");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_cancelled_for_provisioned_throughput_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-pte", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[Some("ProvisionedThroughputExceeded"), None]),
    );
    let r = rig.request().await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()),
        1,
        "a cancelled transaction is not retried by the SDK"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_cancelled_by_a_conflict_takes_the_next_free_slot() {
    let rig = Rig::start("claim-conflict", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[Some("TransactionConflict"), None]),
    );
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let slots = rig.slots().await;
    assert_eq!(slots.len(), 1);
    assert_eq!(
        s(&slots[0], "sk"),
        "SLOT#1",
        "slot 0 counted as taken by the concurrent claim"
    );
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_whose_connection_drops_is_retried_and_the_request_succeeds() {
    let rig = Rig::start("claim-drop", Mail::Recorded, &[]).await;
    rig.proxy.fail_next(transact(), Fault::Drop);
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(&transact()), 2);
    assert_eq!(rig.tokens().await.len(), 1);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slot_claim_whose_connection_always_drops_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-drops", Mail::Recorded, &[]).await;
    rig.proxy.fail_from_now(transact(), Fault::Drop);
    let r = rig.request().await;
    assert_503(&r);
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_slow_but_answering_store_within_the_timeouts_still_succeeds() {
    let rig = Rig::start("claim-latency", Mail::Recorded, &[]).await;
    rig.proxy
        .fail_next(transact(), Fault::Latency(Duration::from_millis(100)));
    let r = rig.request().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rig.proxy.calls(&transact()), 1, "no retry was needed");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn an_unknown_address_whose_slot_put_is_throttled_answers_503_and_writes_nothing() {
    let rig = Rig::start("claim-unknown", Mail::Recorded, &[]).await;
    let put = faults::dynamodb("PutItem");
    rig.proxy.fail_from_now(put.clone(), Fault::throttling());
    let r = rig
        .call(Operation::Request, json!({"email": "ghost@example.com"}))
        .await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&put),
        rig.config.store.timeouts.max_attempts
    );
    assert!(rig.slots().await.is_empty());
    rig.assert_nothing_half_written(false).await;
}

// ------------------------------------------------------------ consume: the one transaction

#[tokio::test]
async fn a_consume_transaction_conflict_is_retried_and_the_password_changes() {
    let rig = Rig::start("consume-conflict-once", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[None, Some("TransactionConflict"), None]),
    );
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        2,
        "one conflict, one retry"
    );
    assert!(rig.tokens().await.is_empty() && rig.slots().await.is_empty());
    assert!(!rig.is_valid(&code).await, "the code is spent");
    rig.assert_nothing_half_written(true).await;
}

#[tokio::test]
async fn a_persistent_transaction_conflict_answers_503_after_three_tries_and_changes_nothing() {
    let rig = Rig::start("consume-conflict", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before_items = (rig.tokens().await, rig.slots().await);
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[None, Some("TransactionConflict"), None]),
    );
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        3,
        "bounded: three tries of the transaction"
    );
    rig.proxy.heal();
    assert_eq!(
        (rig.tokens().await, rig.slots().await),
        before_items,
        "no token and no slot was touched"
    );
    assert!(rig.is_valid(&code).await, "the code still works");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn provisioned_throughput_exceeded_inside_the_consume_transaction_answers_503() {
    let rig = Rig::start("consume-pte", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(
        transact(),
        Fault::transaction_canceled(&[None, Some("ProvisionedThroughputExceeded"), None]),
    );
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(rig.proxy.calls(&transact()) - before, 1);
    rig.proxy.heal();
    assert!(rig.is_valid(&code).await, "the code still works");
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_consume_transaction_throttled_on_every_attempt_answers_503_and_changes_nothing() {
    let rig = Rig::start("consume-throttled", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    let before = rig.proxy.calls(&transact());
    rig.proxy.fail_from_now(transact(), Fault::throttling());
    let r = rig.consume(&code).await;
    assert_503(&r);
    assert_eq!(
        rig.proxy.calls(&transact()) - before,
        rig.config.store.timeouts.max_attempts
    );
    rig.proxy.heal();
    assert!(rig.is_valid(&code).await);
    rig.assert_nothing_half_written(false).await;
}

#[tokio::test]
async fn a_consume_transaction_failing_once_with_a_dynamodb_500_is_retried_and_succeeds() {
    let rig = Rig::start("consume-500", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    rig.proxy
        .fail_next(transact(), Fault::internal_server_error());
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    rig.assert_nothing_half_written(true).await;
}

#[tokio::test]
async fn a_consume_whose_token_condition_fails_answers_invalid_code_and_changes_nothing() {
    let rig = Rig::start("consume-condition", Mail::Recorded, &[]).await;
    let code = rig.issue_code().await;
    rig.proxy.fail_next(
        transact(),
        Fault::transaction_canceled(&[Some("ConditionalCheckFailed"), None, None]),
    );
    let r = rig.consume(&code).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "INVALID_CODE");
    assert_eq!(rig.tokens().await.len(), 1, "nothing was deleted");
    rig.assert_nothing_half_written(false).await;
}
