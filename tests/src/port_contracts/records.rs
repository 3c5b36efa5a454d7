//! The records the port suites write: a clinic scene of sentinel patient data at fixed
//! times (never the wall clock), and the messages, keys and entries built from it.

use domain::{
    appointment_status::AppointmentStatus,
    clinic_key::{ClinicKey, NumberTag},
    envelope::SealedContent,
    idempotency::{IdempotencyKey, ScopedIdempotencyKey},
    ids::{AppointmentId, ChatId, ClinicId, MessageId, PatientId, StaffUserId, TemplateId},
    link_token::{LinkToken, TokenHash},
    message_kind::MessageKind,
    model::{
        Appointment, AuditEntry, Chat, ChatKind, Clinic, DEFAULT_UNCLEAR_RESPONSE, NewMessage,
        Patient, SmsOutcome, Template, UnlockRecord,
    },
    phn::Phn,
    phone::PhoneNumber,
    ports::{BeginOutcome, BeginSend, FinishSend, StoredResponse},
    random::RandomSource,
    sms_encoding::measure,
};
use jiff::{SignedDuration, Timestamp};

use super::StorePorts;
use crate::sentinels::{self, EMAIL, FIRST_NAME, LAST_NAME, PHN};

/// The scenes' "now": whole seconds, so that only the tests about sub-second times see any.
pub fn t0() -> Timestamp {
    "2026-03-02T17:00:00Z".parse().expect("a timestamp")
}

pub fn t0_plus(seconds: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(seconds)
}

pub fn clinic_id(id: &str) -> ClinicId {
    ClinicId::parse(id).expect("a clinic id")
}

pub fn number(e164: &str) -> PhoneNumber {
    PhoneNumber::parse(e164).expect("a phone number")
}

/// The key a store is given for `clinic`'s lookup keys (a store keeps keys as they come).
pub fn key(clinic: &ClinicId) -> ClinicKey {
    domain::fakes::test_clinic_key(clinic)
}

/// `number` as the stores are given it: a clinic key's tag (one fixed key: a store keeps
/// tags as they come).
pub fn tag(number: &PhoneNumber) -> NumberTag {
    ClinicKey::from_root(&clinic_id("clinic-a"), &[7; 32])
        .expect("a 32-byte root")
        .number_tag(number)
}

/// A patient's number, a sentinel of the PHI guard (`slot` as in [`sentinels::phone`]).
pub fn patient_number(slot: u16) -> PhoneNumber {
    number(&sentinels::phone(slot))
}

/// A clinic whose SMS number is `+1 604 555 01nn` (a clinic's number is not PHI).
pub fn clinic(id: &str, number_suffix: u8) -> Clinic {
    Clinic {
        id: clinic_id(id),
        name: "Contract Clinic".into(),
        time_zone: "America/Vancouver".into(),
        activated_on: jiff::civil::date(2025, 1, 6),
        sms_number: number(&format!("+1604555{:04}", 100 + u16::from(number_suffix))),
        phone: number("+16045550199"),
        unclear_response: DEFAULT_UNCLEAR_RESPONSE.into(),
        help_response: String::new(),
        default_language: Default::default(),
        unclear_response_fr: String::new(),
        help_response_fr: String::new(),
    }
}

/// The scene patient: sentinel PHN, names and email, and the phone in `slot`.
pub fn patient(id: &str, slot: u16) -> Patient {
    Patient {
        id: PatientId::parse(id).expect("a patient id"),
        phn: Some(Phn::parse(PHN).expect("a PHN")),
        first_name: FIRST_NAME.into(),
        last_name: LAST_NAME.into(),
        date_of_birth: Some(jiff::civil::date(1984, 3, 12)),
        phone: Some(patient_number(slot)),
        email: Some(domain::email::Email::parse(EMAIL).expect("an email")),
    }
}

/// A patient found by name only; both names must start with [`sentinels::FAMILY`].
pub fn named_patient(id: &str, first_name: &str, last_name: &str) -> Patient {
    assert!(first_name.starts_with(sentinels::FAMILY) && last_name.starts_with(sentinels::FAMILY));
    Patient {
        id: PatientId::parse(id).expect("a patient id"),
        phn: None,
        first_name: first_name.into(),
        last_name: last_name.into(),
        date_of_birth: None,
        phone: None,
        email: None,
    }
}

pub fn appointment(id: &str, patient: &Patient, starts_at: Timestamp) -> Appointment {
    Appointment {
        id: AppointmentId::parse(id).expect("an appointment id"),
        patient_id: patient.id.clone(),
        starts_at,
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    }
}

pub fn template(id: &str, text: &str) -> Template {
    Template {
        id: TemplateId::parse(id).expect("a template id"),
        name: format!("Template {id}"),
        kind: MessageKind::Basic,
        text: Some(text.into()),
        text_fr: None,
        version: 1,
    }
}

pub fn chat(id: &str) -> Chat {
    Chat {
        id: ChatId::parse(id).expect("a chat id"),
        title: format!("Intake form {id}"),
        kind: ChatKind::Form,
        link: format!("https://forms.example/{id}"),
        version: 1,
    }
}

pub fn message_id(id: &str) -> MessageId {
    MessageId::parse(id).expect("a message id")
}

/// The idempotency key `key` as a send of `clinic` scopes it.
pub fn idempotency_key(clinic: &ClinicId, key: &str) -> ScopedIdempotencyKey {
    IdempotencyKey::parse(Some(key))
        .expect("an idempotency key")
        .scoped(&format!("send#{clinic}"))
}

/// Fills every byte with one value: a token that is the same in every run.
struct Filled(u8);

impl RandomSource for Filled {
    fn fill(&self, buffer: &mut [u8]) {
        buffer.fill(self.0);
    }
}

/// The link token numbered `n`, a sentinel of the PHI guard, as stored: its hash.
pub fn token_hash(n: u8) -> TokenHash {
    let token = LinkToken::generate(&Filled(n));
    sentinels::link_token(token.as_str());
    token.hash()
}

/// A basic message for `appointment` to `to`, sent at `sent_at`.
pub fn basic_message(
    clinic: &ClinicId,
    id: &str,
    appointment: &Appointment,
    to: &PhoneNumber,
    sent_at: Timestamp,
) -> NewMessage {
    NewMessage {
        clinic_id: clinic.clone(),
        id: message_id(id),
        appointment_id: appointment.id.clone(),
        patient_id: appointment.patient_id.clone(),
        kind: MessageKind::Basic,
        sent_at,
        sent_by: StaffUserId::parse("staff-1").expect("a staff id"),
        recipient: tag(to),
        sms: measure("Sentinel reminder: see you soon"),
        expires_at: None,
        unlock: None,
        attachment_keys: Vec::new(),
        // Not the default: a store that drops the language fails the contracts.
        language: domain::language::Language::Fr,
    }
}

/// A secure message like [`basic_message`], unlocked by the link token numbered `token`.
pub fn secure_message(
    clinic: &ClinicId,
    id: &str,
    appointment: &Appointment,
    to: &PhoneNumber,
    sent_at: Timestamp,
    token: u8,
) -> NewMessage {
    let expires_at = MessageKind::Secure.expires_at(sent_at);
    NewMessage {
        kind: MessageKind::Secure,
        expires_at,
        unlock: Some(UnlockRecord {
            token_hash: token_hash(token),
            clinic_id: clinic.clone(),
            message_id: message_id(id),
            encrypted_key: vec![7; 184],
            sealed: SealedContent {
                nonce: vec![token; 12],
                ciphertext: vec![9; 48],
            },
            phn_check: "a0c1".repeat(16),
            expires_at: expires_at.expect("secure messages expire"),
            // Not the default: a store that drops the language fails the contracts.
            language: domain::language::Language::Fr,
        }),
        attachment_keys: vec![format!("attachments/{clinic}/f-{token}")],
        ..basic_message(clinic, id, appointment, to, sent_at)
    }
}

pub fn audit_entry(
    clinic: &ClinicId,
    at: Timestamp,
    event: &str,
    message: Option<&MessageId>,
) -> AuditEntry {
    AuditEntry {
        clinic_id: clinic.clone(),
        at,
        event: event.into(),
        route: None,
        patient_id: None,
        message_id: message.cloned(),
        reference: None,
        appointment_id: None,
        staff_user: Some(StaffUserId::parse("staff-1").expect("a staff id")),
        kind: Some(MessageKind::Basic),
        outcome: "sent".into(),
    }
}

/// A clinic with one patient and one of their appointments, written through the store:
/// what the suites of sends, messages and unlocks start from.
pub struct Scene {
    pub clinic: ClinicId,
    pub patient: Patient,
    pub appointment: Appointment,
    /// The patient's version after the scene's upsert.
    pub version: u64,
}

impl Scene {
    pub async fn write(store: &impl StorePorts, phone_slot: u16) -> Scene {
        let clinic = clinic_id("clinic-a");
        let patient = patient("p-ava", phone_slot);
        let appointment = appointment("a-1", &patient, t0_plus(7 * 24 * 3600));
        store
            .upsert_appointment_with_patient(&key(&clinic), &patient, &appointment)
            .await
            .expect("the scene is written");
        let version = store
            .patient_record(&clinic, &patient.id)
            .await
            .expect("the patient is read")
            .expect("the patient is stored")
            .version;
        Scene {
            clinic,
            patient,
            appointment,
            version,
        }
    }

    /// The patient's phone: where the scene's messages go.
    pub fn phone(&self) -> &PhoneNumber {
        self.patient
            .phone
            .as_ref()
            .expect("the scene patient has a phone")
    }

    /// The patient's number as the stores are given it.
    pub fn number_tag(&self) -> NumberTag {
        tag(self.phone())
    }

    pub fn basic(&self, id: &str, sent_at: Timestamp) -> NewMessage {
        basic_message(&self.clinic, id, &self.appointment, self.phone(), sent_at)
    }

    pub fn secure(&self, id: &str, sent_at: Timestamp, token: u8) -> NewMessage {
        secure_message(
            &self.clinic,
            id,
            &self.appointment,
            self.phone(),
            sent_at,
            token,
        )
    }

    pub fn key(&self, key: &str) -> ScopedIdempotencyKey {
        idempotency_key(&self.clinic, key)
    }

    /// Begins sending `message` under `key` for the scene patient's current version.
    pub async fn begin(
        &self,
        store: &impl StorePorts,
        key: &ScopedIdempotencyKey,
        message: &NewMessage,
    ) -> BeginOutcome {
        self.begin_at_version(store, key, message, self.version)
            .await
    }

    pub async fn begin_at_version(
        &self,
        store: &impl StorePorts,
        key: &ScopedIdempotencyKey,
        message: &NewMessage,
        patient_version: u64,
    ) -> BeginOutcome {
        store
            .begin_send(&BeginSend {
                idempotency_key: key,
                fingerprint: &format!("fingerprint of {}", message.id),
                message,
                patient_version,
            })
            .await
            .expect("begin_send answers")
    }

    /// Finishes sending `message`: SNS took it as `provider_message_id`.
    pub async fn finish_sent(
        &self,
        store: &impl StorePorts,
        key: &ScopedIdempotencyKey,
        message: &NewMessage,
        provider_message_id: &str,
    ) {
        let audit = audit_entry(&self.clinic, message.sent_at, "send", Some(&message.id));
        store
            .finish_send(&FinishSend {
                idempotency_key: key,
                clinic: &self.clinic,
                message: &message.id,
                outcome: &SmsOutcome::Sent {
                    provider_message_id: provider_message_id.into(),
                },
                response: Some(&StoredResponse {
                    status: 201,
                    body: format!(r#"{{"message_id":"{}"}}"#, message.id),
                }),
                delete_content: None,
                audit: &audit,
            })
            .await
            .expect("finish_send answers");
    }
}
