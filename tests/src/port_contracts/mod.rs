//! One behaviour suite per store port, written once over any store and run against both the
//! in-memory fake and the DynamoDB adapter on the emulator (`scenarios/port_contracts.rs`),
//! so that the fake the unit tests trust cannot drift from DynamoDB.

pub mod appointment_store;
pub mod audit_log;
pub mod audit_trail;
pub mod clinic_admin;
pub mod clinic_store;
pub mod emr_records;
pub mod import_store;
pub mod inbound_log;
pub mod message_links;
pub mod message_store;
pub mod patient_directory;
pub mod records;
pub mod send_store;
pub mod unlock_store;
pub mod worklist;

use async_trait::async_trait;
use aws::dynamodb::DynamoStore;
use domain::{
    fakes::MemoryStore,
    ids::ClinicId,
    model::AuditEntry,
    ports::{
        AppointmentStore, AuditFilter, AuditLog, AuditQuery, AuditTrail, ClinicAdmin, ClinicStore,
        EmrRecords, ImportStore, InboundLog, MessageLinks, MessageStore, PatientDirectory,
        SendStore, StalledSends, UnclearWorklist, UnlockStore,
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
    + AuditTrail
    + ClinicAdmin
    + UnlockStore
    + InboundLog
    + SendStore
    + EmrRecords
    + ImportStore
    + UnclearWorklist
    + StalledSends
    + MessageLinks
{
}

impl<T> StorePorts for T where
    T: ClinicStore
        + AppointmentStore
        + PatientDirectory
        + MessageStore
        + AuditLog
        + AuditTrail
        + ClinicAdmin
        + UnlockStore
        + InboundLog
        + SendStore
        + EmrRecords
        + ImportStore
        + UnclearWorklist
        + StalledSends
        + MessageLinks
{
}

/// A store under contract test.
#[async_trait]
pub trait StoreUnderTest: Send + Sync {
    type Store: StorePorts;

    fn store(&self) -> &Self::Store;

    /// The clinic's audit entries of all time, newest first, as the trail reads them.
    async fn audit_trail(&self, clinic: &ClinicId) -> Vec<AuditEntry> {
        let mut query = AuditQuery {
            clinic: clinic.clone(),
            from: jiff::Timestamp::UNIX_EPOCH,
            to: "2100-01-01T00:00:00Z".parse().expect("a timestamp"),
            filter: AuditFilter::default(),
            after: None,
            limit: 100,
        };
        let mut entries = Vec::new();
        loop {
            let page = self
                .store()
                .audit_page(&query)
                .await
                .expect("the trail is read");
            entries.extend(page.records.into_iter().map(|record| record.entry));
            match page.next {
                Some(next) => query.after = Some(next),
                None => return entries,
            }
        }
    }
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
}

/// The DynamoDB adapter on this test's own tables.
#[async_trait]
impl StoreUnderTest for TestStack {
    type Store = DynamoStore;

    fn store(&self) -> &DynamoStore {
        &self.store
    }
}
