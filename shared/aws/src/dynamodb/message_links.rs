//! Links closed by staff: a marker item `CLOSED#<token hash>` in the unlock table, kept (by
//! TTL) until the message would have expired, so that the old link says why it no longer
//! opens anything.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::audit::audit_put;
use super::{DynamoStore, from_item, s, to_item, transact_put, transaction_condition_failed};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ids::{ClinicId, MessageId},
    link_token::TokenHash,
    model::sortable_timestamp,
    ports::{ClosedLink, LinkClosed, MessageLinks, Withdrawal},
};

fn closed_key(token_hash: &TokenHash) -> String {
    format!("CLOSED#{token_hash}")
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClosedLinkItem {
    pk: String,
    clinic_id: ClinicId,
    message_id: MessageId,
    /// `withdrawn` or `replaced`.
    why: String,
    /// The TTL attribute: when the message would have expired.
    expires_at: i64,
}

impl ClosedLinkItem {
    pub(crate) fn new(
        token_hash: &TokenHash,
        clinic: &ClinicId,
        message: &MessageId,
        why: LinkClosed,
        expires_at: jiff::Timestamp,
    ) -> Self {
        ClosedLinkItem {
            pk: closed_key(token_hash),
            clinic_id: clinic.clone(),
            message_id: message.clone(),
            why: why.as_str().to_owned(),
            expires_at: expires_at.as_second(),
        }
    }
}

fn invalid(
    operation: &'static str,
) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> DependencyError {
    move |_| DependencyError::new("dynamodb", operation, "InvalidRequest")
}

#[async_trait]
impl MessageLinks for DynamoStore {
    async fn closed_link(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<ClosedLink>, DependencyError> {
        const OP: &str = "GetClosedLink";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.unlock)
            .key("pk", s(closed_key(token_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let item: ClosedLinkItem = from_item(item, OP)?;
        let why = match item.why.as_str() {
            "withdrawn" => LinkClosed::Withdrawn,
            "replaced" => LinkClosed::Replaced,
            _ => return Err(DependencyError::corrupt_item("dynamodb", OP)),
        };
        Ok(Some(ClosedLink {
            clinic_id: item.clinic_id,
            message_id: item.message_id,
            why,
        }))
    }

    async fn withdraw(&self, withdrawal: &Withdrawal<'_>) -> Result<bool, DependencyError> {
        const OP: &str = "Withdraw";
        let entry = Update::builder()
            .table_name(&self.tables.messages)
            .key("pk", s(withdrawal.clinic.as_str()))
            .key("sk", s(withdrawal.message.as_str()))
            .update_expression("SET withdrawn_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(withdrawn_at)")
            .expression_attribute_values(":at", s(sortable_timestamp(withdrawal.at)))
            .build()
            .map_err(invalid(OP))?;
        let content = Delete::builder()
            .table_name(&self.tables.unlock)
            .key("pk", s(withdrawal.token_hash.as_str()))
            .build()
            .map_err(invalid(OP))?;
        let marker = ClosedLinkItem::new(
            withdrawal.token_hash,
            withdrawal.clinic,
            withdrawal.message,
            LinkClosed::Withdrawn,
            withdrawal.expires_at,
        );
        let items = vec![
            TransactWriteItem::builder().update(entry).build(),
            TransactWriteItem::builder().delete(content).build(),
            transact_put(&self.tables.unlock, to_item(&marker, OP)?, None, OP)?,
            audit_put(&self.tables.audit, withdrawal.audit)?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if transaction_condition_failed(&error, 0) => Ok(false),
            Err(error) => Err(sdk_failure("dynamodb", OP)(error)),
        }
    }
}
