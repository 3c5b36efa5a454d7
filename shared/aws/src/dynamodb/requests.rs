//! The requests table: idempotency keys of sends, inbound SMS ids.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{
    DynamoStore, audit::audit_put, clinics::opt_out_sort_key, from_item, invalid, item_key,
    item_update::ItemUpdate, s, to_item, transaction_condition_failed, transaction_conflicted,
};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    idempotency::{IDEMPOTENCY_WINDOW, ScopedIdempotencyKey},
    inbound_sms::INBOUND_CLAIM_LEASE,
    ports::{
        AutoReplyClaim, IdempotencyRecord, InboundClaim, InboundLog, InboundProgress,
        StoredResponse, UnclearRecorded, UnclearReply,
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

/// How long inbound SMS ids are kept (SNS retries for far less).
const INBOUND_RETENTION: SignedDuration = SignedDuration::from_hours(7 * 24);

#[derive(Serialize, Deserialize)]
struct InboundItem {
    pk: String,
    done: bool,
    lease_until: i64,
    status_set: bool,
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
            })),
            Err(error) if error.code == "ConditionalCheckFailedException" => Ok(InboundClaim::Busy),
            Err(error) => Err(error),
        }
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

    async fn record_unclear(
        &self,
        reply: &UnclearReply<'_>,
    ) -> Result<UnclearRecorded, DependencyError> {
        const OP: &str = "RecordUnclear";
        let mut recorded = UnclearRecorded {
            status_set: true,
            auto_reply: match reply.auto_reply {
                Some(_) => AutoReplyClaim::Claimed,
                None => AutoReplyClaim::NotAsked,
            },
        };
        // A write whose condition fails is left out and the transaction tried again: at
        // most once per conditional write, and once more for a concurrent writer.
        for _ in 0..4 {
            let mut items = Vec::new();
            let mut checks = Vec::new();
            if recorded.status_set {
                checks.push((items.len(), Check::Appointment));
                items.push(
                    self.unclear_update(reply.clinic, reply.appointment, reply.at)
                        .transact(OP)?,
                );
            }
            if let (Some(kind), AutoReplyClaim::Claimed) = (reply.auto_reply, recorded.auto_reply) {
                checks.push((items.len(), Check::StopList));
                let stop_list = ConditionCheck::builder()
                    .table_name(&self.tables.clinics)
                    .set_key(Some(item_key(
                        reply.clinic.as_str(),
                        Some(&opt_out_sort_key(reply.number)),
                    )))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(invalid(OP))?;
                items.push(
                    TransactWriteItem::builder()
                        .condition_check(stop_list)
                        .build(),
                );
                checks.push((items.len(), Check::Claim));
                items.push(
                    self.auto_reply_claim(
                        reply.clinic,
                        reply.number,
                        kind,
                        reply.inbound_id,
                        reply.at,
                        reply.since,
                    )
                    .transact(OP)?,
                );
            }
            checks.push((items.len(), Check::Inbound));
            items.push(
                ItemUpdate::new(
                    &self.tables.requests,
                    item_key(&inbound_key(reply.inbound_id), None),
                    "SET status_set = :true",
                )
                .condition("attribute_exists(pk)")
                .value(":true", AttributeValue::Bool(true))
                .transact(OP)?,
            );
            items.push(audit_put(&self.tables.audit, reply.audit)?);
            let Err(error) = self.transact(items).await else {
                return Ok(recorded);
            };
            let failed = checks
                .iter()
                .find(|(index, _)| transaction_condition_failed(&error, *index));
            match failed {
                Some((_, Check::Appointment)) => recorded.status_set = false,
                Some((_, Check::StopList)) => recorded.auto_reply = AutoReplyClaim::OptedOut,
                Some((_, Check::Claim)) => recorded.auto_reply = AutoReplyClaim::TooSoon,
                Some((_, Check::Inbound)) => {
                    return Err(DependencyError::new("dynamodb", OP, "InboundNotClaimed"));
                }
                None if transaction_conflicted(&error) => {}
                None => return Err(sdk_failure("dynamodb", OP)(error)),
            }
        }
        Err(DependencyError::new("dynamodb", OP, "Contention"))
    }
}

/// The conditional writes of a reply's transaction.
#[derive(Debug, Clone, Copy)]
enum Check {
    Appointment,
    StopList,
    Claim,
    /// Never fails after a claim: the SMS's item is not made here.
    Inbound,
}
