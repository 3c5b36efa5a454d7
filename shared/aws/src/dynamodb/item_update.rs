//! One item's conditional update, sent on its own (UpdateItem) or as one write of a
//! transaction, from the same expressions.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::{Item, invalid};
use crate::sdk_failure;
use domain::error::DependencyError;

pub(crate) struct ItemUpdate {
    table: String,
    key: Item,
    update: String,
    condition: Option<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl ItemUpdate {
    pub(crate) fn new(table: &str, key: Item, update: &str) -> ItemUpdate {
        ItemUpdate {
            table: table.to_owned(),
            key,
            update: update.to_owned(),
            condition: None,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    pub(crate) fn condition(mut self, condition: &str) -> ItemUpdate {
        self.condition = Some(condition.to_owned());
        self
    }

    pub(crate) fn name(mut self, placeholder: &str, name: &str) -> ItemUpdate {
        self.names.push((placeholder.to_owned(), name.to_owned()));
        self
    }

    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> ItemUpdate {
        self.values.push((placeholder.to_owned(), value));
        self
    }

    /// Sends it alone: `false` when its condition failed and nothing was written.
    pub(crate) async fn send_if(
        self,
        client: &aws_sdk_dynamodb::Client,
        operation: &'static str,
    ) -> Result<bool, DependencyError> {
        let result = client
            .update_item()
            .table_name(self.table)
            .set_key(Some(self.key))
            .update_expression(self.update)
            .set_condition_expression(self.condition)
            .set_expression_attribute_names(non_empty(self.names))
            .set_expression_attribute_values(non_empty(self.values))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", operation));
        match result {
            Ok(_) => Ok(true),
            Err(error) if error.code == "ConditionalCheckFailedException" => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// As one write of a transaction.
    pub(crate) fn transact(
        self,
        operation: &'static str,
    ) -> Result<TransactWriteItem, DependencyError> {
        let update = Update::builder()
            .table_name(self.table)
            .set_key(Some(self.key))
            .update_expression(self.update)
            .set_condition_expression(self.condition)
            .set_expression_attribute_names(non_empty(self.names))
            .set_expression_attribute_values(non_empty(self.values))
            .build()
            .map_err(invalid(operation))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// DynamoDB refuses an empty map of names or values.
fn non_empty<V>(pairs: Vec<(String, V)>) -> Option<std::collections::HashMap<String, V>> {
    (!pairs.is_empty()).then(|| pairs.into_iter().collect())
}
