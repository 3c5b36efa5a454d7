//! Idempotency keys in the requests table, and the append-only audit table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{DynamoStore, from_item, s, to_item};
use crate::{
    adapters::sdk_failure,
    error::DependencyError,
    model::{AuditEntry, sortable_timestamp},
    ports::{AuditLog, Claim, IdempotencyStore, StoredResponse},
};

/// How long a key holds its request's answer.
pub const IDEMPOTENCY_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// How often a claim is tried when it raced with a release.
const CLAIM_ATTEMPTS: usize = 3;

#[derive(Serialize, Deserialize)]
struct RequestItem {
    pk: String,
    fingerprint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    /// Epoch seconds: the TTL attribute; an expired item that TTL has not deleted yet is
    /// treated as absent.
    expires_at: i64,
}

fn request_key(scope: &str, key: &str) -> String {
    format!("{scope}#{key}")
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Claim, DependencyError> {
        const OP: &str = "ClaimIdempotencyKey";
        let pk = request_key(scope, key);
        let item = RequestItem {
            pk: pk.clone(),
            fingerprint: fingerprint.to_owned(),
            status: None,
            body: None,
            expires_at: (now + IDEMPOTENCY_WINDOW).as_second(),
        };
        for _ in 0..CLAIM_ATTEMPTS {
            let put = self
                .client
                .put_item()
                .table_name(&self.tables.requests)
                .set_item(Some(to_item(&item, OP)?))
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
                .send()
                .await
                .map_err(sdk_failure("dynamodb", OP));
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(error) if error.code == "ConditionalCheckFailedException" => {}
                Err(error) => return Err(error),
            }
            let existing = self
                .client
                .get_item()
                .table_name(&self.tables.requests)
                .key("pk", s(&pk))
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_failure("dynamodb", OP))?;
            let Some(existing) = existing.item else {
                continue;
            };
            let existing: RequestItem = from_item(existing, OP)?;
            return Ok(
                match (
                    existing.fingerprint == fingerprint,
                    existing.status,
                    existing.body,
                ) {
                    (false, _, _) => Claim::Conflict,
                    (true, Some(status), Some(body)) => {
                        Claim::Completed(StoredResponse { status, body })
                    }
                    (true, _, _) => Claim::InProgress,
                },
            );
        }
        Err(DependencyError::new("dynamodb", OP, "ClaimRace"))
    }

    async fn complete(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), DependencyError> {
        self.client
            .update_item()
            .table_name(&self.tables.requests)
            .key("pk", s(request_key(scope, key)))
            .update_expression("SET #status = :status, #body = :body")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#body", "body")
            .expression_attribute_values(":status", AttributeValue::N(response.status.to_string()))
            .expression_attribute_values(":body", s(&response.body))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "CompleteIdempotencyKey"))?;
        Ok(())
    }

    async fn release(&self, scope: &str, key: &str) -> Result<(), DependencyError> {
        self.client
            .delete_item()
            .table_name(&self.tables.requests)
            .key("pk", s(request_key(scope, key)))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "ReleaseIdempotencyKey"))?;
        Ok(())
    }
}

#[derive(Serialize)]
struct AuditItem<'a> {
    pk: &'a str,
    sk: String,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), DependencyError> {
        const OP: &str = "AppendAudit";
        let item = AuditItem {
            pk: entry.clinic_id.as_str(),
            sk: format!(
                "{}#{}#{}",
                sortable_timestamp(entry.at),
                entry.message_id,
                entry.event
            ),
            entry,
        };
        self.client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(to_item(&item, OP)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        Ok(())
    }
}
