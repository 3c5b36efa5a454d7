//! DynamoDB adapters: the stores of clinics, patients, appointments and messages.

mod appointments;
mod clinics;
mod emr_records;
mod imports;
mod messages;
mod requests;
mod sends;
mod unlock;
mod worklist;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Serialize, de::DeserializeOwned};

use domain::error::DependencyError;

use crate::config::Tables;

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
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
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
