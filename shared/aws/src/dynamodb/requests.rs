//! The requests table (idempotency keys of sends, inbound SMS ids) and the append-only
//! audit table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::{DynamoStore, NEW_ONLY, from_item, s, to_item, transact_put};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    idempotency::{IDEMPOTENCY_WINDOW, ScopedIdempotencyKey},
    inbound_sms::INBOUND_CLAIM_LEASE,
    model::{AuditEntry, sortable_timestamp},
    ports::{
        AuditLog, IdempotencyRecord, InboundClaim, InboundLog, InboundProgress, StoredResponse,
    },
};

/// A send's idempotency key: claimed before the SMS goes out, answered (or deleted, to
/// give the key back) after.
#[derive(Serialize, Deserialize)]
pub(crate) struct RequestItem {
    pk: String,
    fingerprint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    /// Epoch seconds of the claim.
    #[serde(default)]
    claimed_at: i64,
    /// Epoch seconds: the TTL attribute; an expired item that TTL has not deleted yet is
    /// treated as absent.
    expires_at: i64,
}

impl RequestItem {
    pub(crate) fn claimed(
        key: &ScopedIdempotencyKey,
        fingerprint: &str,
        now: Timestamp,
    ) -> RequestItem {
        RequestItem {
            pk: key.as_str().to_owned(),
            fingerprint: fingerprint.to_owned(),
            status: None,
            body: None,
            claimed_at: now.as_second(),
            expires_at: (now + IDEMPOTENCY_WINDOW).as_second(),
        }
    }

    /// What the key's earlier request left; `None` once expired (TTL deletes late).
    pub(crate) fn into_record(self, now: Timestamp) -> Option<IdempotencyRecord> {
        if self.expires_at < now.as_second() {
            return None;
        }
        Some(IdempotencyRecord {
            fingerprint: self.fingerprint,
            started_at: Timestamp::from_second(self.claimed_at).unwrap_or(Timestamp::UNIX_EPOCH),
            response: match (self.status, self.body) {
                (Some(status), Some(body)) => Some(StoredResponse { status, body }),
                _ => None,
            },
        })
    }
}

#[derive(Serialize)]
struct AuditItem<'a> {
    pk: &'a str,
    sk: String,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

impl<'a> AuditItem<'a> {
    fn new(entry: &'a AuditEntry) -> Self {
        // Entries alike to the second (two wrong PHNs typed within one second) are all
        // kept: a random suffix makes every key new, so the write's condition only ever
        // guards against overwriting, never refuses an entry.
        let unique: [u8; 8] = domain::random::bytes(&crate::system::OsRandom);
        let unique: String = unique.iter().map(|b| format!("{b:02x}")).collect();
        AuditItem {
            pk: entry.clinic_id.as_str(),
            sk: format!(
                "{}#{}#{}#{unique}",
                sortable_timestamp(entry.at),
                entry
                    .message_id
                    .as_ref()
                    .map(|id| id.as_str())
                    .or(entry.reference.as_deref())
                    .unwrap_or("-"),
                entry.event
            ),
            entry,
        }
    }
}

/// An audit entry as one write of a transaction: entries are only ever added.
pub(crate) fn audit_put(
    table: &str,
    entry: &AuditEntry,
) -> Result<TransactWriteItem, DependencyError> {
    const OP: &str = "AppendAudit";
    transact_put(
        table,
        to_item(&AuditItem::new(entry), OP)?,
        Some(NEW_ONLY),
        OP,
    )
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), DependencyError> {
        const OP: &str = "AppendAudit";
        self.client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(to_item(&AuditItem::new(entry), OP)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        Ok(())
    }
}

/// How long inbound SMS ids are kept (SNS retries for far less).
const INBOUND_RETENTION: SignedDuration = SignedDuration::from_hours(7 * 24);

#[derive(Serialize, Deserialize)]
struct InboundItem {
    pk: String,
    done: bool,
    lease_until: i64,
    status_set: bool,
    reply_sent: bool,
    expires_at: i64,
}

fn inbound_key(id: &str) -> String {
    format!("inbound#{id}")
}

#[async_trait]
impl InboundLog for DynamoStore {
    async fn claim_inbound(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<InboundClaim, DependencyError> {
        const OP: &str = "ClaimInbound";
        let item = InboundItem {
            pk: inbound_key(id),
            done: false,
            lease_until: (now + INBOUND_CLAIM_LEASE).as_second(),
            status_set: false,
            reply_sent: false,
            expires_at: (now + INBOUND_RETENTION).as_second(),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.requests)
            .set_item(Some(to_item(&item, OP)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP));
        match put {
            Ok(_) => return Ok(InboundClaim::Mine(InboundProgress::default())),
            Err(error) if error.code == "ConditionalCheckFailedException" => {}
            Err(error) => return Err(error),
        }
        let existing = self
            .client
            .get_item()
            .table_name(&self.tables.requests)
            .key("pk", s(inbound_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        let Some(existing) = existing.item else {
            return Ok(InboundClaim::Busy);
        };
        let existing: InboundItem = from_item(existing, OP)?;
        if existing.done {
            return Ok(InboundClaim::Done);
        }
        if existing.lease_until > now.as_second() {
            return Ok(InboundClaim::Busy);
        }
        // The holder stopped half-way: take over, unless another delivery just did.
        let takeover = self
            .client
            .update_item()
            .table_name(&self.tables.requests)
            .key("pk", s(inbound_key(id)))
            .update_expression("SET lease_until = :lease")
            .condition_expression("lease_until = :seen AND #done = :false")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(
                ":lease",
                AttributeValue::N((now + INBOUND_CLAIM_LEASE).as_second().to_string()),
            )
            .expression_attribute_values(
                ":seen",
                AttributeValue::N(existing.lease_until.to_string()),
            )
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP));
        match takeover {
            Ok(_) => Ok(InboundClaim::Mine(InboundProgress {
                status_set: existing.status_set,
                reply_sent: existing.reply_sent,
            })),
            Err(error) if error.code == "ConditionalCheckFailedException" => Ok(InboundClaim::Busy),
            Err(error) => Err(error),
        }
    }

    async fn record_progress(
        &self,
        id: &str,
        progress: InboundProgress,
    ) -> Result<(), DependencyError> {
        self.client
            .update_item()
            .table_name(&self.tables.requests)
            .key("pk", s(inbound_key(id)))
            .update_expression("SET status_set = :status_set, reply_sent = :reply_sent")
            .expression_attribute_values(":status_set", AttributeValue::Bool(progress.status_set))
            .expression_attribute_values(":reply_sent", AttributeValue::Bool(progress.reply_sent))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "RecordInboundProgress"))?;
        Ok(())
    }

    async fn finish_inbound(&self, id: &str) -> Result<(), DependencyError> {
        self.client
            .update_item()
            .table_name(&self.tables.requests)
            .key("pk", s(inbound_key(id)))
            .update_expression("SET #done = :true")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "FinishInbound"))?;
        Ok(())
    }
}
