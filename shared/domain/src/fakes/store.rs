//! The stores in memory (clinics, patients, appointments, messages, audit, idempotency
//! keys), behaving as the DynamoDB adapters do: the same lookup-key rules, the same
//! conditions, times kept to the second. The port contract tests (`tests/`) hold both to it.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

use async_trait::async_trait;

use crate::{
    appointment_status::AppointmentStatus,
    clinic_key::ClinicKey,
    clinic_key::NumberTag,
    delivery_receipt::{Delivery, DeliveryReceipt},
    error::DependencyError,
    idempotency::IDEMPOTENCY_WINDOW,
    idempotency::ScopedIdempotencyKey,
    ids::{
        AppointmentId, ChatId, ClinicId, ImportId, IntegrationClientId, MessageId, PatientId,
        TemplateId,
    },
    inbound_sms::AutoReply,
    language::Language,
    link_token::TokenHash,
    model::{
        Appointment, AppointmentCard, AuditEntry, Chat, Clinic, MessageLock, NewMessage, Patient,
        SentMessage, SmsOutcome, SmsStatus, Template, UnlockRecord, with_card,
    },
    patient_keys::{LookupKey, lookup_keys, phn_key, seal_entry},
    phn::Phn,
    phone::PhoneNumber,
    ports::{
        AppointmentStore, AppointmentWrite, AuditLog, AutoReplyClaim, BatchSynced, BeginOutcome,
        BeginResend, BeginSend, Cleared, ClinicStore, ClosedLink, DeliveryRecorded, DirectoryEntry,
        DirectoryPage, DirectoryQuery, EmrRecords, FinishSend, IdempotencyRecord, ImportCheckpoint,
        ImportRecord, ImportStatus, ImportStore, InboundClaim, InboundLog, InboundProgress,
        LibraryItem, LinkClosed, MessageLink, MessageLinks, MessageMatch, MessageStore, Opening,
        OutboxEntry, OutboxKey, OutboxPage, OutboxQuery, PatientDirectory, PatientRecord,
        PatientWrite, RECENT_MESSAGES_READ, ResendOutcome, SendLookup, SendRecords, SendStore,
        StalledSend, StalledSends, StoredAppointment, StoredPatient, StoredResponse, SyncBatch,
        UnclearRecorded, UnclearReply, UnclearWorklist, UnlockState, UnlockStore, Withdrawal,
        WorklistEntry, WorklistKey, WorklistPage, WorklistQuery,
    },
    unlock::Attempts,
    update_order::UpdateOrder,
};

#[derive(Debug, Default)]
pub(super) struct Tables {
    pub(super) clinics: BTreeMap<String, Clinic>,
    /// Each clinic's wrapped root key.
    pub(super) root_keys: BTreeMap<String, Vec<u8>>,
    pub(super) templates: BTreeMap<(String, String), Template>,
    pub(super) chats: BTreeMap<(String, String), Chat>,
    pub(super) patients: BTreeMap<(String, String), Patient>,
    /// Bumped on every write of a patient.
    pub(super) patient_versions: BTreeMap<(String, String), u64>,
    /// The patient as each appointment last saw them (what a send reads first).
    pub(super) appointment_patients: BTreeMap<(String, String), PatientRecord>,
    pub(super) appointments: BTreeMap<(String, String), Appointment>,
    pub(super) cards: BTreeMap<(String, String), Vec<AppointmentCard>>,
    /// Each lookup item's sealed entry, as the table keeps it.
    pub(super) lookup: BTreeMap<LookupKey, Vec<u8>>,
    pub(super) messages: BTreeMap<(String, String), Vec<SentMessage>>,
    pub(super) recorded: BTreeMap<String, NewMessage>,
    pub(super) unlocks: BTreeMap<String, UnlockState>,
    pub(super) inbound: BTreeMap<String, (bool, jiff::Timestamp, InboundProgress)>,
    pub(super) opted_out: BTreeSet<(String, String)>,
    pub(super) audit: Vec<AuditEntry>,
    /// Idempotency keys and what their requests left.
    pub(super) requests: BTreeMap<ScopedIdempotencyKey, IdempotencyRecord>,
    /// The EMR's update order of each patient and appointment written by a sync.
    pub(super) patient_orders: BTreeMap<(String, String), UpdateOrder>,
    pub(super) appointment_orders: BTreeMap<(String, String), UpdateOrder>,
    /// The version of each appointment written by a sync, and the EMR's status of it.
    pub(super) appointment_versions: BTreeMap<(String, String), u64>,
    pub(super) languages: BTreeMap<(String, String), Language>,
    pub(super) integration_clients: BTreeMap<String, ClinicId>,
    pub(super) imports: BTreeMap<(String, String), ImportRecord>,
    /// The EMR's status of each appointment, beside an `Unclear` shown status.
    pub(super) emr_statuses: BTreeMap<(String, String), AppointmentStatus>,
    /// Each `Unclear` appointment's place on the worklist.
    pub(super) unclear: BTreeMap<(String, String), WorklistKey>,
    /// The guards of the adapters: which clinic holds each SMS number (E.164), and which
    /// item holds each name of a clinic's library (`TEMPLATE#<name key>`).
    pub(super) sms_numbers: BTreeMap<String, ClinicId>,
    pub(super) library_names: BTreeMap<(String, String), String>,
    /// Each clinic's auto-replies taken, per number and kind: when, and for which inbound
    /// SMS.
    pub(super) auto_replies: BTreeMap<(String, String, &'static str), (jiff::Timestamp, String)>,
    /// The message each SNS message id was sent as (`by_provider_message`).
    pub(super) provider_ids: BTreeMap<String, (ClinicId, MessageId)>,
    /// The idempotency key each message's send claimed.
    pub(super) send_requests: BTreeMap<String, ScopedIdempotencyKey>,
    /// Links closed by staff (withdrawn, replaced), by their token's hash.
    pub(super) closed_links: BTreeMap<String, ClosedLink>,
    /// When each message's SMS started going out (first, or resent).
    pub(super) sending_since: BTreeMap<String, jiff::Timestamp>,
}

impl Tables {
    /// Writes `patient` at `version` with `cards` under every lookup key they have now, and
    /// removes the keys they no longer have.
    fn write_patient(
        &mut self,
        clinic_key: &ClinicKey,
        patient: &Patient,
        cards: Vec<AppointmentCard>,
        version: u64,
    ) {
        let patient_key = key(clinic_key.clinic(), patient.id.as_str());
        if let Some(previous) = self.patients.get(&patient_key) {
            for old in lookup_keys(clinic_key, previous) {
                self.lookup.remove(&old);
            }
        }
        for lookup in lookup_keys(clinic_key, patient) {
            let sealed = seal_entry(clinic_key, &lookup, patient, &cards);
            self.lookup.insert(lookup, sealed);
        }
        self.cards.insert(patient_key.clone(), cards);
        self.patients.insert(patient_key.clone(), patient.clone());
        self.patient_versions.insert(patient_key, version);
    }
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    pub(super) tables: Mutex<Tables>,
}

impl MemoryStore {
    /// The lookup keys currently stored, for tests of the key rules.
    pub fn lookup_keys(&self) -> BTreeSet<LookupKey> {
        self.tables
            .lock()
            .expect("store lock")
            .lookup
            .keys()
            .cloned()
            .collect()
    }

    /// The messages recorded by sends.
    pub fn recorded(&self) -> Vec<NewMessage> {
        self.tables
            .lock()
            .expect("store lock")
            .recorded
            .values()
            .cloned()
            .collect()
    }

    pub fn audit(&self) -> Vec<AuditEntry> {
        self.tables.lock().expect("store lock").audit.clone()
    }

    /// Records a sent message directly, for tests of what reads messages.
    pub fn add_message(
        &self,
        clinic: &ClinicId,
        appointment: &AppointmentId,
        message: SentMessage,
    ) {
        let mut tables = self.tables.lock().expect("store lock");
        tables
            .messages
            .entry(key(clinic, appointment.as_str()))
            .or_default()
            .push(message);
    }
}

/// Where the fake keeps a clinic's auto-reply of one kind to a number.
fn auto_reply_key(
    clinic: &ClinicId,
    number: &NumberTag,
    reply: AutoReply,
) -> (String, String, &'static str) {
    let kind = match reply {
        AutoReply::Unclear => "unclear",
        AutoReply::Help => "help",
    };
    (clinic.as_str().to_owned(), number.as_str().to_owned(), kind)
}

pub(super) fn key(clinic: &ClinicId, id: &str) -> (String, String) {
    (clinic.as_str().to_owned(), id.to_owned())
}

/// A time as DynamoDB keeps it (epoch seconds or sortable text): to the whole second.
pub(super) fn to_second(at: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at.as_second()).expect("a timestamp's own seconds")
}

/// A write DynamoDB refuses (a condition failed), as the adapters report it.
fn refused(operation: &'static str, code: &str) -> DependencyError {
    DependencyError::new("memory", operation, code)
}

#[async_trait]
impl ClinicStore for MemoryStore {
    async fn put_clinic(&self, clinic: &Clinic) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        tables
            .clinics
            .insert(clinic.id.as_str().to_owned(), clinic.clone());
        tables
            .sms_numbers
            .insert(clinic.sms_number.as_e164().to_owned(), clinic.id.clone());
        Ok(())
    }

    async fn get_clinic(&self, id: &ClinicId) -> Result<Option<Clinic>, DependencyError> {
        Ok(self
            .tables
            .lock()
            .expect("store lock")
            .clinics
            .get(id.as_str())
            .cloned())
    }

    async fn find_clinic_by_sms_number(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Clinic>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables
            .clinics
            .values()
            .find(|clinic| &clinic.sms_number == number)
            .cloned())
    }

    async fn put_template(
        &self,
        clinic: &ClinicId,
        template: &Template,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        tables.hold_name(clinic, &LibraryItem::Template(template.clone()));
        tables
            .templates
            .insert(key(clinic, template.id.as_str()), template.clone());
        Ok(())
    }

    async fn list_templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables
            .templates
            .iter()
            .filter(|((owner, _), _)| owner == clinic.as_str())
            .map(|(_, template)| template.clone())
            .collect())
    }

    async fn put_chat(&self, clinic: &ClinicId, chat: &Chat) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        tables.hold_name(clinic, &LibraryItem::Chat(chat.clone()));
        tables
            .chats
            .insert(key(clinic, chat.id.as_str()), chat.clone());
        Ok(())
    }

    async fn list_chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables
            .chats
            .iter()
            .filter(|((owner, _), _)| owner == clinic.as_str())
            .map(|(_, chat)| chat.clone())
            .collect())
    }

    async fn get_template(
        &self,
        clinic: &ClinicId,
        id: &TemplateId,
    ) -> Result<Option<Template>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.templates.get(&key(clinic, id.as_str())).cloned())
    }

    async fn get_chat(
        &self,
        clinic: &ClinicId,
        id: &ChatId,
    ) -> Result<Option<Chat>, DependencyError> {
        Ok(self
            .tables
            .lock()
            .expect("store lock")
            .chats
            .get(&key(clinic, id.as_str()))
            .cloned())
    }

    async fn is_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
    ) -> Result<bool, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.opted_out.contains(&key(clinic, number.as_str())))
    }

    async fn set_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        opted_out: bool,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        if opted_out {
            tables.opted_out.insert(key(clinic, number.as_str()));
        } else {
            tables.opted_out.remove(&key(clinic, number.as_str()));
        }
        Ok(())
    }

    async fn claim_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: AutoReply,
        inbound_id: &str,
        now: jiff::Timestamp,
        since: jiff::Timestamp,
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let at = auto_reply_key(clinic, number, reply);
        let free = tables
            .auto_replies
            .get(&at)
            .is_none_or(|(taken, by)| to_second(*taken) <= to_second(since) || by == inbound_id);
        if free {
            tables
                .auto_replies
                .insert(at, (to_second(now), inbound_id.to_owned()));
        }
        Ok(free)
    }

    async fn release_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: AutoReply,
        inbound_id: &str,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let at = auto_reply_key(clinic, number, reply);
        if tables
            .auto_replies
            .get(&at)
            .is_some_and(|(_, by)| by == inbound_id)
        {
            tables.auto_replies.remove(&at);
        }
        Ok(())
    }

    async fn put_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        tables
            .integration_clients
            .insert(client.as_str().to_owned(), clinic.clone());
        Ok(())
    }

    async fn clinic_of_integration_client(
        &self,
        client: &IntegrationClientId,
    ) -> Result<Option<ClinicId>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.integration_clients.get(client.as_str()).cloned())
    }

    async fn put_root_key(
        &self,
        clinic: &ClinicId,
        wrapped: &[u8],
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        if tables.root_keys.contains_key(clinic.as_str()) {
            return Ok(false);
        }
        tables
            .root_keys
            .insert(clinic.as_str().to_owned(), wrapped.to_vec());
        Ok(true)
    }

    async fn wrapped_root_key(
        &self,
        clinic: &ClinicId,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.root_keys.get(clinic.as_str()).cloned())
    }
}

#[async_trait]
impl AppointmentStore for MemoryStore {
    async fn upsert_appointment_with_patient(
        &self,
        clinic_key: &ClinicKey,
        patient: &Patient,
        appointment: &Appointment,
    ) -> Result<(), DependencyError> {
        let clinic = clinic_key.clinic();
        let mut tables = self.tables.lock().expect("store lock");
        let patient_key = key(clinic, patient.id.as_str());
        let cards = with_card(
            tables.cards.get(&patient_key).cloned().unwrap_or_default(),
            appointment,
        );
        let version = tables
            .patient_versions
            .get(&patient_key)
            .map_or(1, |version| version + 1);
        tables.write_patient(clinic_key, patient, cards, version);
        let appointment_key = key(clinic, appointment.id.as_str());
        let language = tables.languages.get(&patient_key).copied();
        tables.appointment_patients.insert(
            appointment_key.clone(),
            PatientRecord {
                patient: patient.clone(),
                version,
                language,
            },
        );
        let stored = Appointment {
            starts_at: to_second(appointment.starts_at),
            ..appointment.clone()
        };
        // The record is written anew, as DynamoDB's Put writes the whole item.
        tables.emr_statuses.remove(&appointment_key);
        tables.unclear.remove(&appointment_key);
        tables.appointments.insert(appointment_key, stored);
        Ok(())
    }

    async fn mark_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
        replied_at: jiff::Timestamp,
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let appointment_key = key(clinic, id.as_str());
        let Some(appointment) = tables.appointments.get_mut(&appointment_key) else {
            return Ok(false);
        };
        // The first reply: the status shown until now is the EMR's, kept beside Unclear.
        let before = std::mem::replace(&mut appointment.status, AppointmentStatus::Unclear);
        if before != AppointmentStatus::Unclear {
            tables.emr_statuses.insert(appointment_key.clone(), before);
        }
        tables
            .unclear
            .insert(appointment_key, WorklistKey::new(replied_at, id));
        Ok(true)
    }

    async fn get_patient(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<Patient>, DependencyError> {
        Ok(self
            .tables
            .lock()
            .expect("store lock")
            .patients
            .get(&key(clinic, id.as_str()))
            .cloned())
    }

    async fn get_appointment(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Option<Appointment>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.appointments.get(&key(clinic, id.as_str())).cloned())
    }
}

#[async_trait]
impl PatientDirectory for MemoryStore {
    async fn lookup(&self, query: &DirectoryQuery<'_>) -> Result<DirectoryPage, DependencyError> {
        let DirectoryQuery {
            key,
            lookup_key,
            after,
            limit,
        } = *query;
        let tables = self.tables.lock().expect("store lock");
        let entries = tables
            .lookup
            .iter()
            .filter(|(lookup, _)| lookup.pk == lookup_key)
            .filter(|(lookup, _)| after.is_none_or(|after| lookup.sk.as_str() > after))
            .take(limit)
            .map(|(lookup, sealed)| {
                DirectoryEntry::open(key, lookup.clone(), sealed)
                    .map_err(|_| refused("LookupPatients", "SealedEntryNotOpened"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // DynamoDB stops at the limit without looking further: a full page is never known
        // to be the last.
        Ok(DirectoryPage {
            items_read: entries.len(),
            exhausted: entries.len() < limit,
            entries,
        })
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn recent_messages_to(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        since: jiff::Timestamp,
    ) -> Result<Vec<MessageMatch>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let mut recent: Vec<&NewMessage> = tables
            .recorded
            .values()
            .filter(|m| {
                &m.clinic_id == clinic && &m.recipient == number && m.sent_at >= to_second(since)
            })
            .collect();
        recent.sort_by_key(|m| std::cmp::Reverse(m.sent_at));
        Ok(recent
            .into_iter()
            .take(RECENT_MESSAGES_READ)
            .map(|m| MessageMatch {
                message_id: m.id.clone(),
                appointment_id: m.appointment_id.clone(),
                sent_as: tables
                    .provider_ids
                    .iter()
                    .find(|(_, (sent_by, sent))| sent_by == clinic && sent == &m.id)
                    .map(|(id, _)| id.clone()),
                language: m.language,
            })
            .collect())
    }

    async fn messages_for_appointment(
        &self,
        clinic: &ClinicId,
        appointment: &AppointmentId,
    ) -> Result<Vec<SentMessage>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let mut messages = tables
            .messages
            .get(&key(clinic, appointment.as_str()))
            .cloned()
            .unwrap_or_default();
        messages.sort_by_key(|message| std::cmp::Reverse(message.sent_at));
        Ok(messages)
    }

    async fn message_link(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
    ) -> Result<Option<MessageLink>, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let withdrawn_at = tables
            .sent_mut(clinic, message)
            .and_then(|sent| sent.withdrawn_at);
        Ok(tables
            .recorded
            .get(message.as_str())
            .filter(|recorded| &recorded.clinic_id == clinic)
            .map(|recorded| MessageLink {
                kind: recorded.kind,
                appointment_id: recorded.appointment_id.clone(),
                token_hash: recorded
                    .unlock
                    .as_ref()
                    .map(|unlock| unlock.token_hash.clone()),
                expires_at: recorded.expires_at,
                withdrawn_at,
                attachment_keys: recorded.attachment_keys.clone(),
                language: recorded.language,
            }))
    }

    async fn clinic_messages(
        &self,
        clinic: &ClinicId,
        query: &OutboxQuery,
    ) -> Result<OutboxPage, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let mut found: Vec<(OutboxKey, OutboxEntry)> = tables
            .messages
            .iter()
            .filter(|((owner, _), _)| owner == clinic.as_str())
            .flat_map(|((_, appointment), list)| {
                list.iter().map(move |message| {
                    let entry = OutboxEntry {
                        appointment_id: AppointmentId::parse(appointment)
                            .expect("a stored appointment id"),
                        message: message.clone(),
                    };
                    (OutboxKey::new(message.sent_at, &message.id), entry)
                })
            })
            .filter(|(_, entry)| {
                (to_second(query.from)..=to_second(query.to)).contains(&entry.message.sent_at)
            })
            .filter(|(key, _)| query.after.as_ref().is_none_or(|after| key < after))
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(query.limit);
        // DynamoDB stops at the limit without looking further: a full page may not be
        // the last.
        let more_after = (found.len() == query.limit)
            .then(|| found.last().map(|(key, _)| key.clone()))
            .flatten();
        Ok(OutboxPage {
            entries: found.into_iter().map(|(_, entry)| entry).collect(),
            more_after,
        })
    }

    async fn record_delivery(
        &self,
        receipt: &DeliveryReceipt,
    ) -> Result<DeliveryRecorded, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let Some((clinic, message)) = tables
            .provider_ids
            .get(&receipt.provider_message_id)
            .cloned()
        else {
            return Ok(DeliveryRecorded::UnknownMessage);
        };
        let Some(sent) = tables.sent_mut(&clinic, &message) else {
            return Ok(DeliveryRecorded::UnknownMessage);
        };
        // Kept to the millisecond, as the adapter keeps it.
        let at = jiff::Timestamp::from_millisecond(receipt.delivery.at.as_millisecond())
            .expect("a receipt's own milliseconds");
        if sent.delivery.is_some_and(|kept| kept.at >= at) {
            return Ok(DeliveryRecorded::Superseded);
        }
        sent.delivery = Some(Delivery {
            at,
            ..receipt.delivery
        });
        Ok(DeliveryRecorded::Recorded)
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), DependencyError> {
        self.tables
            .lock()
            .expect("store lock")
            .audit
            .push(entry.clone());
        Ok(())
    }

    async fn append_all(&self, entries: &[AuditEntry]) -> Result<(), DependencyError> {
        self.tables
            .lock()
            .expect("store lock")
            .audit
            .extend_from_slice(entries);
        Ok(())
    }
}

impl Tables {
    /// The key's record unless expired: DynamoDB's TTL deletes late, so reads and the claim
    /// treat an expired record as absent.
    fn live_request(
        &self,
        key: &ScopedIdempotencyKey,
        now: jiff::Timestamp,
    ) -> Option<IdempotencyRecord> {
        self.requests
            .get(key)
            .filter(|record| record.started_at + IDEMPOTENCY_WINDOW >= to_second(now))
            .cloned()
    }

    fn record_of(&self, patient: &(String, String)) -> Option<PatientRecord> {
        Some(PatientRecord {
            patient: self.patients.get(patient)?.clone(),
            version: *self.patient_versions.get(patient)?,
            language: self.languages.get(patient).copied(),
        })
    }

    /// Whether `message`, or its unlock item, would be written over another.
    fn message_exists(&self, message: &NewMessage) -> bool {
        let same_message = self
            .recorded
            .values()
            .any(|kept| kept.clinic_id == message.clinic_id && kept.id == message.id);
        let same_unlock = message
            .unlock
            .as_ref()
            .is_some_and(|unlock| self.unlocks.contains_key(unlock.token_hash.as_str()));
        same_message || same_unlock
    }

    fn record_sending(&mut self, message: &NewMessage, request: &ScopedIdempotencyKey) {
        let message = &NewMessage {
            sent_at: to_second(message.sent_at),
            expires_at: message.expires_at.map(to_second),
            unlock: message.unlock.clone().map(|unlock| UnlockRecord {
                expires_at: to_second(unlock.expires_at),
                ..unlock
            }),
            ..message.clone()
        };
        let sent = SentMessage {
            id: message.id.clone(),
            kind: message.kind,
            sent_at: message.sent_at,
            sent_by: message.sent_by.clone(),
            sms_status: SmsStatus::Sending,
            expires_at: message.expires_at,
            opened_at: None,
            delivery: None,
            withdrawn_at: None,
            resent_at: None,
            locked: None,
        };
        let appointment = key(&message.clinic_id, message.appointment_id.as_str());
        self.messages.entry(appointment).or_default().push(sent);
        if let Some(record) = &message.unlock {
            let state = UnlockState {
                record: record.clone(),
                attempts: Attempts::default(),
            };
            self.unlocks.insert(record.token_hash.to_string(), state);
        }
        self.send_requests
            .insert(message.id.to_string(), request.clone());
        self.sending_since
            .insert(message.id.to_string(), message.sent_at);
        self.recorded
            .insert(message.id.to_string(), message.clone());
    }

    /// The clinic's message as the appointment's details list it.
    fn sent_mut(&mut self, clinic: &ClinicId, message: &MessageId) -> Option<&mut SentMessage> {
        let recorded = self
            .recorded
            .get(message.as_str())
            .filter(|m| &m.clinic_id == clinic)?;
        let appointment = key(clinic, recorded.appointment_id.as_str());
        self.messages
            .get_mut(&appointment)?
            .iter_mut()
            .find(|sent| &sent.id == message)
    }

    fn record_sms_outcome(
        &mut self,
        clinic: &ClinicId,
        message: &MessageId,
        outcome: &SmsOutcome,
    ) -> Result<(), DependencyError> {
        let sent = self.sent_mut(clinic, message).ok_or_else(|| {
            DependencyError::new("memory", "FinishSend", "TransactionCanceledException")
        })?;
        sent.sms_status = match outcome {
            SmsOutcome::Sent { .. } => SmsStatus::Sent,
            SmsOutcome::Failed { .. } => SmsStatus::Failed,
        };
        if let SmsOutcome::Sent {
            provider_message_id,
        } = outcome
        {
            self.provider_ids.insert(
                provider_message_id.clone(),
                (clinic.clone(), message.clone()),
            );
        }
        Ok(())
    }
}

#[async_trait]
impl SendStore for MemoryStore {
    async fn read_for_send(&self, lookup: &SendLookup<'_>) -> Result<SendRecords, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let appointment = tables
            .appointments
            .get(&key(lookup.clinic, lookup.appointment.as_str()))
            .cloned();
        let patient = tables
            .appointment_patients
            .get(&key(lookup.clinic, lookup.appointment.as_str()))
            .cloned();
        Ok(SendRecords {
            appointment,
            patient,
            idempotency_record: lookup
                .idempotency_key
                .and_then(|key| tables.live_request(key, lookup.now)),
            template: lookup.template.and_then(|id| {
                tables
                    .templates
                    .get(&key(lookup.clinic, id.as_str()))
                    .cloned()
            }),
            // One chat asked twice is read once (BatchGetItem takes each key once).
            chats: lookup
                .chats
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter_map(|id| tables.chats.get(&key(lookup.clinic, id.as_str())).cloned())
                .collect(),
        })
    }

    async fn patient_record(
        &self,
        clinic: &ClinicId,
        patient: &PatientId,
    ) -> Result<Option<PatientRecord>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.record_of(&key(clinic, patient.as_str())))
    }

    async fn begin_send(&self, begin: &BeginSend<'_>) -> Result<BeginOutcome, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let message = begin.message;
        if let Some(earlier) = tables.live_request(begin.idempotency_key, message.sent_at) {
            return Ok(BeginOutcome::KeyTaken(Some(earlier)));
        }
        let opt_out = (
            message.clinic_id.as_str().to_owned(),
            message.recipient.as_str().to_owned(),
        );
        if tables.opted_out.contains(&opt_out) {
            return Ok(BeginOutcome::OptedOut);
        }
        let patient = key(&message.clinic_id, message.patient_id.as_str());
        if tables.patient_versions.get(&patient) != Some(&begin.patient_version) {
            return Ok(BeginOutcome::PatientChanged);
        }
        if tables.message_exists(message) {
            // DynamoDB's condition on the message and unlock items cancels the whole write.
            return Err(refused("BeginSend", "TransactionCanceledException"));
        }
        tables.requests.insert(
            begin.idempotency_key.clone(),
            IdempotencyRecord {
                fingerprint: begin.fingerprint.to_owned(),
                started_at: to_second(message.sent_at),
                response: None,
            },
        );
        tables.record_sending(message, begin.idempotency_key);
        Ok(BeginOutcome::Begun)
    }

    async fn finish_send(&self, finish: &FinishSend<'_>) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        if finish.response.is_some() && !tables.requests.contains_key(finish.idempotency_key) {
            // DynamoDB's condition on the key's answer cancels the whole transaction.
            return Err(DependencyError::new(
                "memory",
                "FinishSend",
                "TransactionCanceledException",
            ));
        }
        tables.record_sms_outcome(finish.clinic, finish.message, finish.outcome)?;
        if let Some(content) = finish.delete_content {
            tables.unlocks.remove(content.as_str());
        }
        match finish.response {
            Some(response) => {
                if let Some(record) = tables.requests.get_mut(finish.idempotency_key) {
                    record.response = Some(response.clone());
                }
            }
            None => {
                tables.requests.remove(finish.idempotency_key);
            }
        }
        tables.audit.push(finish.audit.clone());
        Ok(())
    }
}

#[async_trait]
impl MessageLinks for MemoryStore {
    async fn closed_link(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<ClosedLink>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.closed_links.get(token_hash.as_str()).cloned())
    }

    async fn withdraw(&self, withdrawal: &Withdrawal<'_>) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let link_as_read = tables
            .recorded
            .get(withdrawal.message.as_str())
            .and_then(|recorded| recorded.unlock.as_ref())
            .is_some_and(|unlock| &unlock.token_hash == withdrawal.token_hash);
        let Some(sent) = tables.sent_mut(withdrawal.clinic, withdrawal.message) else {
            return Ok(false);
        };
        if sent.withdrawn_at.is_some() || !link_as_read {
            return Ok(false);
        }
        sent.withdrawn_at = Some(to_second(withdrawal.at));
        tables.unlocks.remove(withdrawal.token_hash.as_str());
        tables.closed_links.insert(
            withdrawal.token_hash.as_str().to_owned(),
            ClosedLink {
                clinic_id: withdrawal.clinic.clone(),
                message_id: withdrawal.message.clone(),
                why: LinkClosed::Withdrawn,
                language: withdrawal.language,
            },
        );
        tables.audit.push(withdrawal.audit.clone());
        Ok(true)
    }

    async fn begin_resend(
        &self,
        resend: &BeginResend<'_>,
    ) -> Result<ResendOutcome, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let record = &resend.current.record;
        let (clinic, message) = (&record.clinic_id, &record.message_id);
        if let Some(earlier) = tables.live_request(resend.idempotency_key, resend.at) {
            return Ok(ResendOutcome::KeyTaken(Some(earlier)));
        }
        let opt_out = (
            clinic.as_str().to_owned(),
            resend.recipient.as_str().to_owned(),
        );
        if tables.opted_out.contains(&opt_out) {
            return Ok(ResendOutcome::OptedOut);
        }
        let link_as_read = tables
            .recorded
            .get(message.as_str())
            .and_then(|recorded| recorded.unlock.as_ref())
            .is_some_and(|unlock| unlock.token_hash == record.token_hash);
        let not_withdrawn = tables
            .sent_mut(clinic, message)
            .is_some_and(|sent| sent.withdrawn_at.is_none());
        let counters_as_read = tables
            .unlocks
            .get(record.token_hash.as_str())
            .is_some_and(|state| state.attempts.version == resend.current.attempts.version);
        if !(link_as_read && not_withdrawn && counters_as_read) {
            return Ok(ResendOutcome::LinkChanged);
        }
        let at = to_second(resend.at);
        tables.requests.insert(
            resend.idempotency_key.clone(),
            IdempotencyRecord {
                fingerprint: resend.fingerprint.to_owned(),
                started_at: at,
                response: None,
            },
        );
        let moved = UnlockState {
            record: UnlockRecord {
                token_hash: resend.new_token_hash.clone(),
                ..record.clone()
            },
            attempts: resend.current.attempts,
        };
        tables.unlocks.remove(record.token_hash.as_str());
        tables
            .unlocks
            .insert(resend.new_token_hash.as_str().to_owned(), moved.clone());
        tables.closed_links.insert(
            record.token_hash.as_str().to_owned(),
            ClosedLink {
                clinic_id: clinic.clone(),
                message_id: message.clone(),
                why: LinkClosed::Replaced,
                language: record.language,
            },
        );
        if let Some(recorded) = tables.recorded.get_mut(message.as_str()) {
            recorded.unlock = Some(moved.record);
            recorded.recipient = resend.recipient.clone();
            recorded.sms = resend.sms;
        }
        tables
            .provider_ids
            .retain(|_, (_, sent_as)| sent_as != message);
        tables
            .send_requests
            .insert(message.to_string(), resend.idempotency_key.clone());
        tables.sending_since.insert(message.to_string(), at);
        if let Some(sent) = tables.sent_mut(clinic, message) {
            sent.sms_status = SmsStatus::Sending;
            sent.delivery = None;
            sent.resent_at = Some(at);
        }
        Ok(ResendOutcome::Begun)
    }
}

#[async_trait]
impl StalledSends for MemoryStore {
    async fn stalled_sends(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<StalledSend>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let mut stalled: Vec<StalledSend> = tables
            .recorded
            .values()
            .filter(|message| {
                tables
                    .sending_since
                    .get(message.id.as_str())
                    .is_some_and(|since| *since < to_second(before))
            })
            .filter(|message| {
                tables
                    .messages
                    .get(&key(&message.clinic_id, message.appointment_id.as_str()))
                    .into_iter()
                    .flatten()
                    .any(|sent| sent.id == message.id && sent.sms_status == SmsStatus::Sending)
            })
            .filter_map(|message| {
                Some(StalledSend {
                    clinic: message.clinic_id.clone(),
                    message: message.id.clone(),
                    appointment: message.appointment_id.clone(),
                    kind: message.kind,
                    started_at: *tables.sending_since.get(message.id.as_str())?,
                    expires_at: message.expires_at,
                    sms: message.sms,
                    request: tables.send_requests.get(message.id.as_str())?.clone(),
                    resend: tables
                        .messages
                        .get(&key(&message.clinic_id, message.appointment_id.as_str()))?
                        .iter()
                        .any(|sent| sent.id == message.id && sent.resent_at.is_some()),
                })
            })
            .collect();
        stalled.sort_by_key(|send| send.started_at);
        stalled.truncate(limit);
        Ok(stalled)
    }

    async fn mark_unconfirmed(
        &self,
        stalled: &StalledSend,
        response: &StoredResponse,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let same_send =
            tables.send_requests.get(stalled.message.as_str()) == Some(&stalled.request);
        match tables.sent_mut(&stalled.clinic, &stalled.message) {
            Some(sent) if sent.sms_status == SmsStatus::Sending && same_send => {
                sent.sms_status = SmsStatus::Unconfirmed;
            }
            _ => return Ok(false),
        }
        if let Some(record) = tables.requests.get_mut(&stalled.request) {
            record.response = Some(response.clone());
        }
        tables.audit.push(audit.clone());
        Ok(true)
    }
}

#[async_trait]
impl UnlockStore for MemoryStore {
    async fn get_unlock(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<UnlockState>, DependencyError> {
        Ok(self
            .tables
            .lock()
            .expect("store lock")
            .unlocks
            .get(token_hash.as_str())
            .cloned())
    }

    async fn save_attempts(
        &self,
        token_hash: &TokenHash,
        read_version: u64,
        attempts: &Attempts,
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        match tables.unlocks.get_mut(token_hash.as_str()) {
            Some(state) if state.attempts.version == read_version => {
                state.attempts = Attempts {
                    locked_until: attempts.locked_until.map(to_second),
                    ..*attempts
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn record_lock(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
        lock: Option<MessageLock>,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let sent = tables
            .sent_mut(clinic, message)
            .ok_or_else(|| refused("RecordLock", "ConditionalCheckFailedException"))?;
        sent.locked = lock.map(|lock| MessageLock {
            until: lock.until.map(to_second),
        });
        Ok(())
    }

    async fn record_opening(&self, opening: &Opening<'_>) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        match tables.unlocks.get(opening.token_hash.as_str()) {
            Some(state) if state.attempts.version == opening.read_version => {}
            _ => return Ok(false),
        }
        let opened_at = to_second(opening.at);
        let mut found = false;
        for ((owner, _), list) in tables.messages.iter_mut() {
            if owner != opening.clinic.as_str() {
                continue;
            }
            for sent in list.iter_mut().filter(|sent| &sent.id == opening.message) {
                sent.opened_at.get_or_insert(opened_at);
                found = true;
            }
        }
        if !found {
            // DynamoDB's update requires the message: it never creates one.
            return Err(refused("RecordOpening", "TransactionCanceledException"));
        }
        let state = tables
            .unlocks
            .get_mut(opening.token_hash.as_str())
            .expect("checked above");
        state.attempts = Attempts {
            locked_until: opening.attempts.locked_until.map(to_second),
            ..*opening.attempts
        };
        tables.audit.push(opening.audit.clone());
        Ok(true)
    }
}

#[async_trait]
impl InboundLog for MemoryStore {
    async fn claim_inbound(
        &self,
        id: &str,
        now: jiff::Timestamp,
    ) -> Result<InboundClaim, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        // DynamoDB keeps the lease's end, and compares the claim's time, in epoch seconds.
        let now = to_second(now);
        let lease = to_second(now + crate::inbound_sms::INBOUND_CLAIM_LEASE);
        match tables.inbound.get_mut(id) {
            None => {
                tables
                    .inbound
                    .insert(id.to_owned(), (false, lease, InboundProgress::default()));
                Ok(InboundClaim::Mine(InboundProgress::default()))
            }
            Some((true, _, _)) => Ok(InboundClaim::Done),
            Some((false, until, _)) if *until > now => Ok(InboundClaim::Busy),
            Some((false, until, progress)) => {
                *until = lease;
                Ok(InboundClaim::Mine(*progress))
            }
        }
    }

    async fn finish_inbound(&self, id: &str) -> Result<(), DependencyError> {
        if let Some(entry) = self.tables.lock().expect("store lock").inbound.get_mut(id) {
            entry.0 = true;
        }
        Ok(())
    }

    /// Its parts one after another: nothing here fails but a condition, which leaves its
    /// part out as DynamoDB's transaction, tried again without it, does.
    async fn record_unclear(
        &self,
        reply: &UnclearReply<'_>,
    ) -> Result<UnclearRecorded, DependencyError> {
        if !self
            .tables
            .lock()
            .expect("store lock")
            .inbound
            .contains_key(reply.inbound_id)
        {
            return Err(refused("RecordUnclear", "InboundNotClaimed"));
        }
        let status_set = self
            .mark_unclear(reply.clinic, reply.appointment, reply.at)
            .await?;
        let auto_reply = match reply.auto_reply {
            None => AutoReplyClaim::NotAsked,
            Some(_) if self.is_opted_out(reply.clinic, reply.number).await? => {
                AutoReplyClaim::OptedOut
            }
            Some(kind) => {
                let claimed = self
                    .claim_auto_reply(
                        reply.clinic,
                        reply.number,
                        kind,
                        reply.inbound_id,
                        reply.at,
                        reply.since,
                    )
                    .await?;
                match claimed {
                    true => AutoReplyClaim::Claimed,
                    false => AutoReplyClaim::TooSoon,
                }
            }
        };
        let mut tables = self.tables.lock().expect("store lock");
        if let Some(entry) = tables.inbound.get_mut(reply.inbound_id) {
            entry.2.status_set = true;
        }
        tables.audit.push(reply.audit.clone());
        Ok(UnclearRecorded {
            status_set,
            auto_reply,
        })
    }
}

impl Tables {
    fn stored_patient(&self, clinic: &ClinicId, id: &PatientId) -> Option<StoredPatient> {
        let patient_key = key(clinic, id.as_str());
        Some(StoredPatient {
            patient: self.patients.get(&patient_key)?.clone(),
            cards: self.cards.get(&patient_key).cloned().unwrap_or_default(),
            version: self
                .patient_versions
                .get(&patient_key)
                .copied()
                .unwrap_or_default(),
            order: self.patient_orders.get(&patient_key).cloned(),
            language: self.languages.get(&patient_key).copied(),
        })
    }

    fn stored_appointment(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Option<StoredAppointment> {
        let appointment_key = key(clinic, id.as_str());
        let appointment = self.appointments.get(&appointment_key)?;
        Some(StoredAppointment {
            patient_id: appointment.patient_id.clone(),
            status: appointment.status,
            version: self
                .appointment_versions
                .get(&appointment_key)
                .copied()
                .unwrap_or_default(),
            order: self.appointment_orders.get(&appointment_key).cloned(),
        })
    }

    /// Writes a planned patient: their item at its version, and their lookup keys moved.
    fn write_planned_patient(&mut self, clinic_key: &ClinicKey, write: &PatientWrite) {
        let next = &write.next;
        let patient_key = key(clinic_key.clinic(), next.patient.id.as_str());
        self.write_patient(clinic_key, &next.patient, next.cards.clone(), next.version);
        match &next.order {
            Some(order) => self
                .patient_orders
                .insert(patient_key.clone(), order.clone()),
            None => self.patient_orders.remove(&patient_key),
        };
        match next.language {
            Some(language) => self.languages.insert(patient_key, language),
            None => self.languages.remove(&patient_key),
        };
    }

    fn write_planned_appointment(&mut self, clinic: &ClinicId, write: &AppointmentWrite) {
        let appointment_key = key(clinic, write.appointment.id.as_str());
        self.appointment_patients
            .insert(appointment_key.clone(), write.patient.clone());
        self.appointments.insert(
            appointment_key.clone(),
            Appointment {
                starts_at: to_second(write.appointment.starts_at),
                ..write.appointment.clone()
            },
        );
        self.appointment_orders
            .insert(appointment_key.clone(), write.order.clone());
        self.emr_statuses
            .insert(appointment_key.clone(), write.emr_status);
        self.appointment_versions
            .insert(appointment_key, write.version);
    }
}

#[async_trait]
impl EmrRecords for MemoryStore {
    async fn sync_together(
        &self,
        clinic_key: &ClinicKey,
        batch: &SyncBatch,
    ) -> Result<BatchSynced, DependencyError> {
        let clinic = clinic_key.clinic();
        let mut tables = self.tables.lock().expect("store lock");
        let appointments: BTreeMap<AppointmentId, StoredAppointment> = batch
            .appointments
            .iter()
            .filter_map(|update| {
                let id = &update.appointment.id;
                Some((id.clone(), tables.stored_appointment(clinic, id)?))
            })
            .collect();
        let patients: BTreeMap<PatientId, StoredPatient> = batch
            .patient_ids()
            .into_iter()
            .chain(
                appointments
                    .values()
                    .map(|stored| stored.patient_id.clone()),
            )
            .filter_map(|id| Some((id.clone(), tables.stored_patient(clinic, &id)?)))
            .collect();
        let plan = batch.plan(clinic_key, &patients, &appointments);
        for write in &plan.patients {
            tables.write_planned_patient(clinic_key, write);
        }
        for write in &plan.appointments {
            tables.write_planned_appointment(clinic, write);
        }
        Ok(plan.answer)
    }

    async fn patient_with_health_number(
        &self,
        clinic_key: &ClinicKey,
        number: &Phn,
    ) -> Result<Option<PatientId>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let pk = phn_key(clinic_key, number.as_str());
        let found = tables.lookup.keys().find(|lookup| lookup.pk == pk);
        Ok(found.and_then(|lookup| PatientId::parse(&lookup.sk).ok()))
    }
}

#[async_trait]
impl ImportStore for MemoryStore {
    async fn create_import(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
    ) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let import_key = key(clinic, record.id.as_str());
        if tables.imports.contains_key(&import_key) {
            return Err(refused("CreateImport", "ConditionalCheckFailedException"));
        }
        tables.imports.insert(import_key, record.clone());
        Ok(())
    }

    async fn get_import(
        &self,
        clinic: &ClinicId,
        id: &ImportId,
    ) -> Result<Option<ImportRecord>, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        Ok(tables.imports.get(&key(clinic, id.as_str())).cloned())
    }

    async fn save_import_progress(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
        previous: (ImportStatus, ImportCheckpoint),
    ) -> Result<bool, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let import_key = key(clinic, record.id.as_str());
        match tables.imports.get(&import_key) {
            Some(stored) if (stored.status, stored.checkpoint) == previous => {
                tables.imports.insert(import_key, record.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl UnclearWorklist for MemoryStore {
    async fn unclear_page(
        &self,
        clinic: &ClinicId,
        query: &WorklistQuery,
    ) -> Result<WorklistPage, DependencyError> {
        let tables = self.tables.lock().expect("store lock");
        let (low, high) = (
            WorklistKey::first_at(query.from),
            WorklistKey::last_at(query.to),
        );
        let mut on_list: Vec<(&(String, String), &WorklistKey)> = tables
            .unclear
            .iter()
            .filter(|((owner, _), place)| {
                owner == clinic.as_str()
                    && (&low..=&high).contains(place)
                    && query.after.as_ref().is_none_or(|after| *place < after)
            })
            .collect();
        on_list.sort_by(|(_, a), (_, b)| b.cmp(a));
        let entries: Vec<WorklistEntry> = on_list
            .into_iter()
            .take(query.limit)
            .filter_map(|(appointment_key, place)| {
                Some(WorklistEntry {
                    key: place.clone(),
                    appointment: tables.appointments.get(appointment_key)?.clone(),
                    patient: tables
                        .appointment_patients
                        .get(appointment_key)?
                        .patient
                        .clone(),
                    replied_at: place.replied_at()?,
                })
            })
            .collect();
        let more_after = (entries.len() == query.limit)
            .then(|| entries.last().map(|entry| entry.key.clone()))
            .flatten();
        Ok(WorklistPage {
            entries,
            more_after,
        })
    }

    async fn clear_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Cleared, DependencyError> {
        let mut tables = self.tables.lock().expect("store lock");
        let appointment_key = key(clinic, id.as_str());
        let emr_status = tables.emr_statuses.get(&appointment_key).copied();
        let Some(appointment) = tables.appointments.get_mut(&appointment_key) else {
            return Ok(Cleared::NoAppointment);
        };
        match (appointment.status, emr_status) {
            (AppointmentStatus::Unclear, Some(status)) => {
                appointment.status = status;
                tables.unclear.remove(&appointment_key);
                Ok(Cleared::Cleared { status })
            }
            (status, _) => Ok(Cleared::NotUnclear { status }),
        }
    }
}
