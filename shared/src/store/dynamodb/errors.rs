//! Sorting the SDK's failures into the store's terms, by the SDK's typed accessors (error
//! variants, cancellation reason codes), never by message text: what is worth retrying
//! ([`Transient`], [`classify`]), and why a transaction was cancelled ([`cancellation`]).

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::store::StoreError;

/// Which failures of an operation mean "try again later". DynamoDB's model marks none of its
/// errors retryable, so the SDK's `retryable_error_kind()` is always `None` for them: the typed
/// variants (and, for a cancelled transaction, its reason codes) say it instead.
pub(super) trait Transient {
    fn is_transient(&self) -> bool;
}

macro_rules! transient {
    ($($err:ty $(: $extra:ident)*;)*) => {$(
        impl Transient for $err {
            fn is_transient(&self) -> bool {
                self.is_throttling_exception()
                    || self.is_provisioned_throughput_exceeded_exception()
                    || self.is_request_limit_exceeded()
                    || self.is_internal_server_error()
                    $(|| self.$extra())*
            }
        }
    )*};
}

transient! {
    QueryError;
    GetItemError;
    PutItemError: is_transaction_conflict_exception;
    UpdateItemError: is_transaction_conflict_exception;
    DeleteItemError: is_transaction_conflict_exception;
}

impl Transient for TransactWriteItemsError {
    fn is_transient(&self) -> bool {
        // Cancelled because one of its items was throttled or in another transaction.
        let item_throttled = match self {
            Self::TransactionCanceledException(e) => e.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some(
                        "ThrottlingError" | "ProvisionedThroughputExceeded" | "TransactionConflict"
                    )
                )
            }),
            _ => false,
        };
        item_throttled
            || self.is_throttling_exception()
            || self.is_provisioned_throughput_exceeded_exception()
            || self.is_request_limit_exceeded()
            || self.is_internal_server_error()
            || self.is_transaction_in_progress_exception()
    }
}

/// Sorts an SDK failure: throttling, server errors and transport failures (after the SDK's own
/// retries) are `Unavailable`; the rest (missing table, bad request) is `Other`.
pub(super) fn classify<E>(err: SdkError<E>) -> StoreError
where
    E: Transient + std::error::Error + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.err().is_transient() || service.raw().status().is_server_error()
        }
        _ => false,
    };
    if transient {
        StoreError::Unavailable {
            retry_after: Duration::from_secs(1),
            source: Box::new(err),
        }
    } else {
        StoreError::Other(Box::new(err))
    }
}

/// Whether a single-item write failed on its condition expression.
pub(super) trait ConditionFailed {
    fn condition_failed(&self) -> bool;
}

macro_rules! condition_failed {
    ($($err:ty;)*) => {$(
        impl ConditionFailed for SdkError<$err> {
            fn condition_failed(&self) -> bool {
                self.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception())
            }
        }
    )*};
}

condition_failed! {
    PutItemError;
    UpdateItemError;
}

/// Why a transaction was cancelled, by item position, from the typed cancellation reasons.
/// The positions are named where each transaction is built (`mod.rs`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Cancelled {
    /// The condition of the item at this position failed.
    Condition(usize),
    /// Another transaction touched the same items (DynamoDB's `TransactionConflict`).
    Conflict,
}

/// The cancellation's cause, if `err` is a cancelled transaction with a known one.
pub(super) fn cancellation(err: &SdkError<TransactWriteItemsError>) -> Option<Cancelled> {
    let TransactWriteItemsError::TransactionCanceledException(e) = err.as_service_error()? else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    if let Some(i) = reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        return Some(Cancelled::Condition(i));
    }
    reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
        .then_some(Cancelled::Conflict)
}
