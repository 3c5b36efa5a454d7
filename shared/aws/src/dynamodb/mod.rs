//! DynamoDB adapters: the stores of clinics, patients, appointments and messages.

mod appointments;
mod audit;
mod clinic_admin;
mod clinics;
mod emr_records;
mod imports;
mod item_update;
mod message_links;
mod messages;
mod requests;
mod sends;
mod unlock;
mod worklist;

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    operation::put_item::builders::PutItemFluentBuilder,
    types::{AttributeValue, Put, TransactWriteItem},
};
use serde::{Serialize, de::DeserializeOwned};

use domain::error::DependencyError;

use crate::{config::Tables, sdk_failure};

pub type Item = HashMap<String, AttributeValue>;

/// A message or unlock item is written once: never over another.
pub(crate) const NEW_ONLY: &str = "attribute_not_exists(pk)";

/// One store over all tables; each port is implemented in its own module.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    tables: Tables,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// Sends `items` as one TransactWriteItems.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactionError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }
}

/// What a TransactWriteItems can fail with.
pub(crate) type TransactionError = aws_sdk_dynamodb::error::SdkError<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// An item's key: its partition key, and its sort key if the table has one.
pub(crate) fn item_key(pk: &str, sk: Option<&str>) -> Item {
    let mut key = HashMap::from([("pk".to_owned(), s(pk))]);
    if let Some(sk) = sk {
        key.insert("sk".to_owned(), s(sk));
    }
    key
}

pub(crate) fn to_item<T: Serialize>(
    value: &T,
    operation: &'static str,
) -> Result<Item, DependencyError> {
    serde_dynamo::to_item(value)
        .map_err(|_| DependencyError::new("dynamodb", operation, "SerialiseItem"))
}

/// One Put of a TransactWriteItems, with its condition when given.
pub(crate) fn transact_put(
    table: &str,
    item: Item,
    condition: Option<&str>,
    operation: &'static str,
) -> Result<TransactWriteItem, DependencyError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(|_| DependencyError::new("dynamodb", operation, "InvalidRequest"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A request or one of its parts that would not build: the code's mistake, never the data's.
pub(crate) fn invalid(
    operation: &'static str,
) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> DependencyError {
    move |_| DependencyError::new("dynamodb", operation, "InvalidRequest")
}

/// Whether the transaction was cancelled because its write at `index` failed its condition.
pub(crate) fn transaction_condition_failed<R>(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
    index: usize,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled
                .cancellation_reasons()
                .get(index)
                .and_then(|reason| reason.code())
                == Some("ConditionalCheckFailed")
        }
        _ => false,
    }
}

/// Whether the transaction was cancelled because another transaction was writing one of
/// its items at the same time (DynamoDB's `TransactionConflict`): worth trying again.
pub(crate) fn transaction_conflicted<R>(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|reason| reason.code() == Some("TransactionConflict")),
        _ => false,
    }
}

/// Sends a conditional Put: `false` when its condition failed and nothing was written.
pub(crate) async fn put_if(
    put: PutItemFluentBuilder,
    operation: &'static str,
) -> Result<bool, DependencyError> {
    match put.send().await {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(sdk_failure("dynamodb", operation)(error)),
    }
}

/// Puts every item with BatchWriteItem, 25 a request, again for what DynamoDB left
/// unprocessed (after a short pause, as throttling asks).
pub(crate) async fn batch_put(
    client: &aws_sdk_dynamodb::Client,
    writes: Vec<(&str, Item)>,
    operation: &'static str,
) -> Result<(), DependencyError> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    const ATTEMPTS: u32 = 8;
    for chunk in writes.chunks(25) {
        let mut requests: HashMap<String, Vec<WriteRequest>> = HashMap::new();
        for (table, item) in chunk {
            let put = PutRequest::builder()
                .set_item(Some(item.clone()))
                .build()
                .map_err(|_| DependencyError::new("dynamodb", operation, "InvalidRequest"))?;
            requests
                .entry((*table).to_owned())
                .or_default()
                .push(WriteRequest::builder().put_request(put).build());
        }
        let mut attempt = 0;
        while !requests.is_empty() {
            if attempt == ATTEMPTS {
                return Err(DependencyError::new(
                    "dynamodb",
                    operation,
                    "UnprocessedItems",
                ));
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            attempt += 1;
            let output = client
                .batch_write_item()
                .set_request_items(Some(requests))
                .send()
                .await
                .map_err(crate::sdk_failure("dynamodb", operation))?;
            requests = output.unprocessed_items.unwrap_or_default();
        }
    }
    Ok(())
}

/// Every item a Query matches, page after page, as `T`.
pub(crate) async fn query_all<T: DeserializeOwned>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    operation: &'static str,
) -> Result<Vec<T>, DependencyError> {
    let items = query
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    items
        .into_iter()
        .map(|item| {
            from_item(
                item.map_err(crate::sdk_failure("dynamodb", operation))?,
                operation,
            )
        })
        .collect()
}

pub(crate) fn from_item<T: DeserializeOwned>(
    item: Item,
    operation: &'static str,
) -> Result<T, DependencyError> {
    serde_dynamo::from_item(item).map_err(|_| DependencyError::corrupt_item("dynamodb", operation))
}
