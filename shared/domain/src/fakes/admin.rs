//! The clinic's administration and audit trail in memory, with the adapters' conditions:
//! one clinic per SMS number, names unique per kind, versions checked, the trail newest
//! first by its keys.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, key, to_second};
use crate::{
    clinic_profile::name_key,
    error::DependencyError,
    ids::{ClinicId, IntegrationClientId},
    model::{AuditEntry, AuditKey, Clinic},
    ports::{
        AuditPage, AuditQuery, AuditRecord, AuditTrail, ClinicAdmin, ClinicCreated, LibraryItem,
        LibraryKind, LibraryWrite, SettingsChange,
    },
};

/// A name guard's key: the clinic, and the kind with the name as compared.
fn name_guard(clinic: &ClinicId, kind: LibraryKind, name: &str) -> (String, String) {
    let kind = match kind {
        LibraryKind::Template => "TEMPLATE",
        LibraryKind::Chat => "CHAT",
    };
    key(clinic, &format!("{kind}#{}", name_key(name)))
}

impl Tables {
    /// The stored version and name of the item, if there is one.
    fn library_entry(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        id: &str,
    ) -> Option<(u64, String)> {
        let at = key(clinic, id);
        match kind {
            LibraryKind::Template => self
                .templates
                .get(&at)
                .map(|template| (template.version, template.name.clone())),
            LibraryKind::Chat => self
                .chats
                .get(&at)
                .map(|chat| (chat.version, chat.title.clone())),
        }
    }

    /// Whether another item of the kind in the clinic holds the name.
    fn name_taken(&self, clinic: &ClinicId, item: &LibraryItem) -> bool {
        self.library_names
            .get(&name_guard(clinic, item.kind(), item.name()))
            .is_some_and(|owner| owner != item.id())
    }

    /// Takes the item's name, as the adapters' seeding writes its guard.
    pub(super) fn hold_name(&mut self, clinic: &ClinicId, item: &LibraryItem) {
        self.library_names.insert(
            name_guard(clinic, item.kind(), item.name()),
            item.id().to_owned(),
        );
    }

    /// Frees a name if the item holds it.
    fn free_name(&mut self, clinic: &ClinicId, kind: LibraryKind, name: &str, id: &str) {
        let guard = name_guard(clinic, kind, name);
        if self
            .library_names
            .get(&guard)
            .is_some_and(|owner| owner == id)
        {
            self.library_names.remove(&guard);
        }
    }
}

#[async_trait]
impl ClinicAdmin for MemoryStore {
    async fn create_clinic(
        &self,
        clinic: &Clinic,
        wrapped_root_key: &[u8],
        audit: &AuditEntry,
    ) -> Result<ClinicCreated, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let number = clinic.sms_number.as_e164().to_owned();
        if tables.sms_numbers.contains_key(&number) {
            return Ok(ClinicCreated::SmsNumberTaken);
        }
        if tables.clinics.contains_key(clinic.id.as_str())
            || tables.root_keys.contains_key(clinic.id.as_str())
        {
            return Err(DependencyError::new(
                "memory",
                "CreateClinic",
                "ConditionalCheckFailed",
            ));
        }
        tables
            .clinics
            .insert(clinic.id.as_str().to_owned(), clinic.clone());
        tables.sms_numbers.insert(number, clinic.id.clone());
        tables
            .root_keys
            .insert(clinic.id.as_str().to_owned(), wrapped_root_key.to_vec());
        tables.audit.push(audit.clone());
        Ok(ClinicCreated::Created)
    }

    async fn bind_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        match tables.integration_clients.get(client.as_str()) {
            Some(bound) if bound != clinic => Ok(false),
            _ => {
                tables
                    .integration_clients
                    .insert(client.as_str().to_owned(), clinic.clone());
                tables.audit.push(audit.clone());
                Ok(true)
            }
        }
    }

    async fn change_settings(
        &self,
        clinic: &ClinicId,
        change: &SettingsChange,
        audit: &AuditEntry,
    ) -> Result<Option<Clinic>, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let Some(stored) = tables.clinics.get_mut(clinic.as_str()) else {
            return Ok(None);
        };
        *stored = change.apply(stored.clone());
        let changed = stored.clone();
        tables.audit.push(audit.clone());
        Ok(Some(changed))
    }

    async fn save_library_item(
        &self,
        clinic: &ClinicId,
        item: &LibraryItem,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let stored = tables.library_entry(clinic, item.kind(), item.id());
        if let Some(refused) = LibraryWrite::refusal(stored.as_ref().map(|(v, _)| *v), expected) {
            return Ok(refused);
        }
        if tables.name_taken(clinic, item) {
            return Ok(LibraryWrite::NameTaken);
        }
        if let Some((_, old_name)) = &stored {
            tables.free_name(clinic, item.kind(), old_name, item.id());
        }
        tables.hold_name(clinic, item);
        let version = expected.unwrap_or(0) + 1;
        let at = key(clinic, item.id());
        match item.clone().at_version(version) {
            LibraryItem::Template(template) => {
                tables.templates.insert(at, template);
            }
            LibraryItem::Chat(chat) => {
                tables.chats.insert(at, chat);
            }
        }
        tables.audit.push(audit.clone());
        Ok(LibraryWrite::Done { version })
    }

    async fn delete_library_item(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        id: &str,
        expected: u64,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let stored = tables.library_entry(clinic, kind, id);
        if let Some(refused) =
            LibraryWrite::refusal(stored.as_ref().map(|(v, _)| *v), Some(expected))
        {
            return Ok(refused);
        }
        let Some((_, name)) = stored else {
            return Ok(LibraryWrite::Missing);
        };
        tables.free_name(clinic, kind, &name, id);
        let at = key(clinic, id);
        match kind {
            LibraryKind::Template => tables.templates.remove(&at).map(drop),
            LibraryKind::Chat => tables.chats.remove(&at).map(drop),
        };
        tables.audit.push(audit.clone());
        Ok(LibraryWrite::Done { version: expected })
    }
}

#[async_trait]
impl AuditTrail for MemoryStore {
    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, DependencyError> {
        // As DynamoDB does: `limit` entries of the partition are read, then filtered.
        let tables = self.tables.lock().expect("store lock");
        let (from, to) = (to_second(query.from), to_second(query.to));
        let partition = query.filter.partition();
        let mut read: Vec<AuditRecord> = tables
            .audit
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                entry.clinic_id == query.clinic
                    && (from..=to).contains(&to_second(entry.at))
                    && partition.holds(entry)
            })
            .map(|(index, entry)| AuditRecord {
                key: AuditKey::new(entry, (index as u64).to_be_bytes()),
                entry: entry.clone(),
            })
            .filter(|record| query.after.as_ref().is_none_or(|after| &record.key < after))
            .collect();
        read.sort_by(|a, b| b.key.cmp(&a.key));
        let next = (read.len() > query.limit).then(|| read[query.limit - 1].key.clone());
        read.truncate(query.limit);
        read.retain(|record| query.filter.keeps(&record.entry));
        Ok(AuditPage {
            records: read,
            next,
        })
    }
}
