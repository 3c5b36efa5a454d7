//! One behaviour suite per store port, written once over any store and run against both the
//! in-memory fake and the DynamoDB adapter on the emulator (`scenarios/port_contracts.rs`),
//! so that the fake the unit tests trust cannot drift from DynamoDB.

pub mod appointment_store;
pub mod audit_log;
pub mod clinic_store;
pub mod emr_records;
pub mod import_store;
pub mod inbound_log;
pub mod message_store;
pub mod patient_directory;
pub mod records;
pub mod send_store;
pub mod unlock_store;
pub mod worklist;

use async_trait::async_trait;
use aws::dynamodb::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    fakes::MemoryStore,
    ids::ClinicId,
    model::AuditEntry,
    ports::{
        AppointmentStore, AuditLog, ClinicStore, EmrRecords, ImportStore, InboundLog, MessageStore,
        PatientDirectory, SendStore, UnclearWorklist, UnlockStore,
    },
};

use crate::{TestStack, phi_guard};

/// Every store port: what both implementations offer.
pub trait StorePorts:
    ClinicStore
    + AppointmentStore
    + PatientDirectory
    + MessageStore
    + AuditLog
    + UnlockStore
    + InboundLog
    + SendStore
    + EmrRecords
    + ImportStore
    + UnclearWorklist
{
}

impl<T> StorePorts for T where
    T: ClinicStore
        + AppointmentStore
        + PatientDirectory
        + MessageStore
        + AuditLog
        + UnlockStore
        + InboundLog
        + SendStore
        + EmrRecords
        + ImportStore
        + UnclearWorklist
{
}

/// A store under contract test, with the one read no port offers: the audit trail (only
/// the privacy officer's route reads it, outside these ports).
#[async_trait]
pub trait StoreUnderTest: Send + Sync {
    type Store: StorePorts;

    fn store(&self) -> &Self::Store;

    /// The clinic's audit entries, in no particular order.
    async fn audit_trail(&self, clinic: &ClinicId) -> Vec<AuditEntry>;
}

/// The in-memory fake, with the PHI guard watching the test like [`TestStack`] does.
#[derive(Default)]
pub struct MemoryUnderTest {
    store: MemoryStore,
}

impl MemoryUnderTest {
    pub fn new() -> MemoryUnderTest {
        phi_guard::enter_test();
        MemoryUnderTest::default()
    }
}

impl Drop for MemoryUnderTest {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            phi_guard::assert_clean();
        }
    }
}

#[async_trait]
impl StoreUnderTest for MemoryUnderTest {
    type Store = MemoryStore;

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    async fn audit_trail(&self, clinic: &ClinicId) -> Vec<AuditEntry> {
        self.store
            .audit()
            .into_iter()
            .filter(|entry| &entry.clinic_id == clinic)
            .collect()
    }
}

/// The DynamoDB adapter on this test's own tables.
#[async_trait]
impl StoreUnderTest for TestStack {
    type Store = DynamoStore;

    fn store(&self) -> &DynamoStore {
        &self.store
    }

    async fn audit_trail(&self, clinic: &ClinicId) -> Vec<AuditEntry> {
        let items = self
            .stack
            .clients
            .dynamodb()
            .query()
            .table_name(&self.stack.config.tables.audit)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(clinic.as_str().to_owned()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("the audit table is queried");
        items
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).expect("an audit entry"))
            .collect()
    }
}
