//! The records the product keeps: clinics, patients, appointments, templates and chats.

use std::fmt;

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::{
    appointment_status::AppointmentStatus,
    clinic_key::NumberTag,
    delivery_receipt::{Delivery, DeliveryOutcome, FailureReason},
    email::Email,
    envelope::SealedContent,
    ids::{AppointmentId, ChatId, ClinicId, MessageId, PatientId, StaffUserId, TemplateId},
    language::Language,
    link_token::TokenHash,
    message_kind::{MessageKind, has_expired},
    phn::Phn,
    phone::PhoneNumber,
    search_window::SearchWindow,
    sms_encoding::SmsMeasure,
    template_text::{StartAsWritten, TemplateValues},
};

/// Sent back to a patient who replies to a one-way message, unless the clinic set its own.
/// It asks patients to call, because some replies ("cancel") are carrier opt-out words.
pub const DEFAULT_UNCLEAR_RESPONSE: &str = "This number does not accept replies. \
     Please call the clinic if you need to reach us.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clinic {
    pub id: ClinicId,
    pub name: String,
    /// IANA time zone name, e.g. `America/Vancouver`; templates and the window use it.
    pub time_zone: String,
    /// The day the clinic's account was activated: the search window starts there.
    pub activated_on: Date,
    /// The clinic's SMS origination number: messages come from it, replies arrive at it.
    pub sms_number: PhoneNumber,
    /// The clinic's voice line, shown to patients who need to call.
    pub phone: PhoneNumber,
    /// Sent back to a patient who replies; empty: [`DEFAULT_UNCLEAR_RESPONSE`].
    pub unclear_response: String,
    /// Sent back to a patient who texts HELP; empty: [`DEFAULT_HELP_RESPONSE`].
    #[serde(default)]
    pub help_response: String,
    /// The language of patients whose EMR record names none (or one other than en/fr).
    #[serde(default)]
    pub default_language: Language,
    /// The unclear and HELP responses in French, for French-speaking patients; empty: the
    /// responses above.
    #[serde(default)]
    pub unclear_response_fr: String,
    #[serde(default)]
    pub help_response_fr: String,
}

/// Sent back to a patient who texts HELP, unless the clinic set its own.
pub const DEFAULT_HELP_RESPONSE: &str = "This number sends appointment messages from your clinic \
     and does not accept replies. Please call the clinic. Reply STOP to opt out.";

impl Clinic {
    /// The clinic's zone, or UTC if the stored name is unknown (validated when written).
    pub fn zone(&self) -> TimeZone {
        TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC)
    }

    pub fn search_window(&self, now: Timestamp) -> SearchWindow {
        SearchWindow::new(self.activated_on, self.zone(), now)
    }

    /// What a patient's reply gets back.
    pub fn unclear_reply(&self) -> &str {
        match self.unclear_response.trim() {
            "" => DEFAULT_UNCLEAR_RESPONSE,
            text => text,
        }
    }

    /// What a patient's HELP gets back.
    pub fn help_reply(&self) -> &str {
        match self.help_response.trim() {
            "" => DEFAULT_HELP_RESPONSE,
            text => text,
        }
    }

    /// What a reply of a patient written to in `language` gets back: the clinic's French
    /// response when it gave one and the patient is French-speaking, else the other.
    pub fn unclear_reply_in(&self, language: Language) -> &str {
        match (language, self.unclear_response_fr.trim()) {
            (Language::Fr, text) if !text.is_empty() => text,
            _ => self.unclear_reply(),
        }
    }

    /// What a HELP from a patient written to in `language` gets back, likewise.
    pub fn help_reply_in(&self, language: Language) -> &str {
        match (language, self.help_response_fr.trim()) {
            (Language::Fr, text) if !text.is_empty() => text,
            _ => self.help_reply(),
        }
    }
}

/// A patient of one clinic. Every field but the id is PHI, so `Debug` shows only the id
/// and which fields are on file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    pub id: PatientId,
    pub phn: Option<Phn>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<Date>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("id", &self.id)
            .field("has_phn", &self.phn.is_some())
            .field("has_phone", &self.phone.is_some())
            .field("has_email", &self.email.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub starts_at: Timestamp,
    pub provider_name: String,
    pub status: AppointmentStatus,
}

impl Appointment {
    /// What a template's placeholders are filled with for this appointment of `patient` at
    /// `clinic`: its start as the patient reads it, in the clinic's time zone.
    pub fn template_values(
        &self,
        patient: &Patient,
        clinic: &Clinic,
        language: Language,
    ) -> TemplateValues {
        let start = StartAsWritten::of(self.starts_at, &clinic.zone(), language);
        TemplateValues {
            patient_first_name: patient.first_name.clone(),
            patient_last_name: patient.last_name.clone(),
            clinic_name: clinic.name.clone(),
            appointment_date: start.date,
            appointment_time: start.time,
            provider_name: self.provider_name.clone(),
        }
    }
}

/// What search shows of an appointment, kept with the patient's lookup keys so that one
/// Query answers a search. The status is not copied: it changes (replies make it
/// `Unclear`) and is read from the appointment itself in its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentCard {
    pub id: AppointmentId,
    pub starts_at: Timestamp,
    pub provider_name: String,
}

impl AppointmentCard {
    pub fn of(appointment: &Appointment) -> Self {
        AppointmentCard {
            id: appointment.id.clone(),
            starts_at: appointment.starts_at,
            provider_name: appointment.provider_name.clone(),
        }
    }
}

/// A patient's appointment cards with `appointment`'s card added or replaced, in start order.
pub fn with_card(
    mut cards: Vec<AppointmentCard>,
    appointment: &Appointment,
) -> Vec<AppointmentCard> {
    cards.retain(|card| card.id != appointment.id);
    cards.push(AppointmentCard::of(appointment));
    cards.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.id.cmp(&b.id)));
    cards
}

/// Where an SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsStatus {
    /// Recorded, not yet handed to SNS (or the function stopped before it knew).
    Sending,
    Sent,
    Failed,
    /// Still `Sending` well after its send stopped (the function ended between Publish and
    /// recording how it went): SNS may or may not have taken it. A send that records SNS's
    /// answer late replaces it (and its receipt can then be matched).
    Unconfirmed,
}

/// A message as the appointment's details list it: never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    pub id: MessageId,
    pub kind: MessageKind,
    pub sent_at: Timestamp,
    pub sent_by: StaffUserId,
    pub sms_status: SmsStatus,
    /// Secure messages only.
    pub expires_at: Option<Timestamp>,
    /// Secure messages only: when the patient first unlocked it.
    pub opened_at: Option<Timestamp>,
    /// What the carrier's latest receipt said, once one arrived.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// Secure messages: when staff withdrew it (its link closed, its content deleted).
    #[serde(default)]
    pub withdrawn_at: Option<Timestamp>,
    /// Secure messages: when staff last sent a new link to it (its SMS status and delivery
    /// are the new link's).
    #[serde(default)]
    pub resent_at: Option<Timestamp>,
    /// Secure messages: the lock wrong PHNs put on its link, until staff clear it.
    #[serde(default)]
    pub locked: Option<MessageLock>,
}

/// A message's link locked by wrong PHNs, as its log entry keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLock {
    /// The end of a 15-minute lockout; `None`: locked for good.
    pub until: Option<Timestamp>,
}

impl MessageLock {
    pub fn holds_at(self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// A message's status line, in the order it can move: sending → sent (or unconfirmed) →
/// delivered | failed → opened | locked (wrong PHNs) | expired (unopened); a secure one
/// may be withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Sending,
    Unconfirmed,
    Sent,
    Delivered,
    Failed,
    Opened,
    Locked,
    Expired,
    Withdrawn,
}

impl MessageState {
    pub const ALL: [MessageState; 9] = [
        MessageState::Sending,
        MessageState::Unconfirmed,
        MessageState::Sent,
        MessageState::Delivered,
        MessageState::Failed,
        MessageState::Opened,
        MessageState::Locked,
        MessageState::Expired,
        MessageState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Sending => "sending",
            MessageState::Unconfirmed => "unconfirmed",
            MessageState::Sent => "sent",
            MessageState::Delivered => "delivered",
            MessageState::Failed => "failed",
            MessageState::Opened => "opened",
            MessageState::Locked => "locked",
            MessageState::Expired => "expired",
            MessageState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<MessageState> {
        MessageState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// Where a message stands, and why when its SMS failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStatus {
    pub state: MessageState,
    /// `failed` only: the carrier's reason, or `null` when SNS refused the SMS at send.
    pub reason: Option<FailureReason>,
}

impl SentMessage {
    /// The message's status line at `now`: withdrawn beats everything, then opened; an SMS
    /// that failed (at send or by the carrier's receipt) says why; a secure message past its
    /// expiry unopened is expired, else locked while wrong PHNs lock it; a receipt upgrades
    /// sent and unconfirmed to delivered.
    pub fn status(&self, now: Timestamp) -> MessageStatus {
        let state = |state| MessageStatus {
            state,
            reason: None,
        };
        if self.withdrawn_at.is_some() {
            return state(MessageState::Withdrawn);
        }
        if self.opened_at.is_some() {
            return state(MessageState::Opened);
        }
        match (
            self.sms_status,
            self.delivery.map(|delivery| delivery.outcome),
        ) {
            (SmsStatus::Failed, _) => return state(MessageState::Failed),
            (_, Some(DeliveryOutcome::Failed(reason))) => {
                return MessageStatus {
                    state: MessageState::Failed,
                    reason: Some(reason),
                };
            }
            _ => {}
        }
        if self.expired(now) == Some(true) {
            return state(MessageState::Expired);
        }
        if self.locked.is_some_and(|lock| lock.holds_at(now)) {
            return state(MessageState::Locked);
        }
        match (self.sms_status, self.delivery) {
            (_, Some(_)) => state(MessageState::Delivered),
            (SmsStatus::Sending, None) => state(MessageState::Sending),
            (SmsStatus::Unconfirmed, None) => state(MessageState::Unconfirmed),
            (SmsStatus::Sent | SmsStatus::Failed, None) => state(MessageState::Sent),
        }
    }

    /// Secure messages: whether the message has expired at `now`; `None` for kinds that
    /// never expire.
    pub fn expired(&self, now: Timestamp) -> Option<bool> {
        self.kind
            .expires()
            .then(|| self.expires_at.is_some_and(|at| has_expired(at, now)))
    }
}

/// A message about to be sent: recorded as `Sending` before its SMS is published, so that a
/// publish that fails or never returns leaves a trace, never a message marked sent.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub clinic_id: ClinicId,
    pub id: MessageId,
    pub appointment_id: AppointmentId,
    pub patient_id: PatientId,
    pub kind: MessageKind,
    pub sent_at: Timestamp,
    pub sent_by: StaffUserId,
    /// The patient's number as the clinic's keys hold it (the recipient index).
    pub recipient: NumberTag,
    pub sms: SmsMeasure,
    /// Secure messages: 8 days after sending.
    pub expires_at: Option<Timestamp>,
    /// Secure messages: what the unlock page needs, content sealed.
    pub unlock: Option<UnlockRecord>,
    /// Secure messages: the object keys of its files (deleted when it is withdrawn).
    pub attachment_keys: Vec<String>,
    /// The patient's language: a reply to it is answered in it.
    pub language: Language,
}

impl fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMessage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A secure message as its unlock link reaches it: keyed by the hash of the link token, its
/// content sealed with a KMS data key bound to the clinic and message.
#[derive(Clone, PartialEq, Eq)]
pub struct UnlockRecord {
    pub token_hash: TokenHash,
    pub clinic_id: ClinicId,
    pub message_id: MessageId,
    /// The data key, encrypted by KMS under the context {clinic_id, message_id}.
    pub encrypted_key: Vec<u8>,
    pub sealed: SealedContent,
    /// HMAC-SHA256 of the PHN under the data key: checks a typed PHN without storing it.
    pub phn_check: String,
    pub expires_at: Timestamp,
    /// The patient's language when it was sent: the unlock page's.
    pub language: Language,
}

impl UnlockRecord {
    /// Whether the message has expired at `now`, whether or not TTL deleted its item yet.
    pub fn expired(&self, now: Timestamp) -> bool {
        has_expired(self.expires_at, now)
    }
}

impl fmt::Debug for UnlockRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockRecord")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// What SNS made of a message's SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsOutcome {
    Sent { provider_message_id: String },
    Failed { code: String },
}

/// An append-only record of something done in a clinic: a send, an unlock attempt, a
/// reply, a clear, an admin change, a staff read of patient data. Ids and outcomes only,
/// never PHI or content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub clinic_id: ClinicId,
    pub at: Timestamp,
    pub event: String,
    /// The API route that did it (`GET /patients`); none for SNS and EventBridge events.
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    pub message_id: Option<MessageId>,
    /// Another id the event is about, e.g. an inbound SMS's id or a template's.
    pub reference: Option<String>,
    pub appointment_id: Option<AppointmentId>,
    /// The signed-in user (staff, admin, privacy officer or operator).
    pub staff_user: Option<StaffUserId>,
    pub kind: Option<MessageKind>,
    pub outcome: String,
}

impl AuditEntry {
    /// An entry of `event` at `at` with no ids yet: set the ones the event is about.
    pub fn new(clinic_id: ClinicId, at: Timestamp, event: &str, outcome: &str) -> AuditEntry {
        AuditEntry {
            clinic_id,
            at,
            event: event.to_owned(),
            route: None,
            patient_id: None,
            message_id: None,
            reference: None,
            appointment_id: None,
            staff_user: None,
            kind: None,
            outcome: outcome.to_owned(),
        }
    }
}

/// Where an audit entry sorts in its clinic's trail: its time (whole seconds, sortable),
/// what it is about, its event, and a random suffix so that entries alike to the second
/// (two wrong PHNs typed within one second) are each kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditKey(String);

impl AuditKey {
    pub fn new(entry: &AuditEntry, unique: [u8; 8]) -> AuditKey {
        let unique: String = unique.iter().map(|b| format!("{b:02x}")).collect();
        let about = entry
            .message_id
            .as_ref()
            .map(|id| id.as_str())
            .or(entry.reference.as_deref())
            .unwrap_or("-");
        AuditKey(format!(
            "{}#{about}#{}#{unique}",
            sortable_timestamp(entry.at),
            entry.event
        ))
    }

    /// A key as stored, or `None` when it is not one (a tampered cursor).
    pub fn from_stored(text: &str) -> Option<AuditKey> {
        let time = text.get(..20)?;
        (text.len() <= 256
            && text.as_bytes().get(20) == Some(&b'#')
            && time.parse::<Timestamp>().is_ok())
        .then(|| AuditKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A clinic's message template, in English, French or both; each text holds placeholders
/// such as `{patient_first_name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub name: String,
    pub kind: MessageKind,
    /// The English text; `None` in a template written in French only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The French text; `None` in a template written in English only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_fr: Option<String>,
    /// Bumped by every change: the `ETag` that keeps two admins from overwriting each other.
    #[serde(default)]
    pub version: u64,
}

impl Template {
    /// The text in `language`, or in the other language when the template has none in
    /// `language`; with the language it is in.
    pub fn text_in(&self, language: Language) -> Option<(&str, Language)> {
        let text = |language| match language {
            Language::En => self.text.as_deref(),
            Language::Fr => self.text_fr.as_deref(),
        };
        text(language)
            .map(|found| (found, language))
            .or_else(|| text(language.other()).map(|found| (found, language.other())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// Pre-visit instructions.
    Prep,
    /// An information-collection form.
    Form,
}

/// A chat (prep or form) a message can link to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub id: ChatId,
    pub title: String,
    pub kind: ChatKind,
    pub link: String,
    /// Bumped by every change, as a template's.
    #[serde(default)]
    pub version: u64,
}

/// Timestamps as stored in sort keys: whole seconds, UTC, fixed width, so they sort as text.
pub fn sortable_timestamp(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_debug_shows_no_phi() {
        let patient = Patient {
            id: PatientId::parse("p-1").unwrap(),
            phn: Some(Phn::parse("9698658215").unwrap()),
            first_name: "Sentinelfirst".into(),
            last_name: "Sentinellast".into(),
            date_of_birth: Some(jiff::civil::date(1980, 1, 2)),
            phone: Some(PhoneNumber::parse("+1 604 555 1234").unwrap()),
            email: Some(Email::parse("sentinel@example.com").unwrap()),
        };
        let shown = format!("{patient:?}");
        for secret in ["9698658215", "Sentinel", "604", "sentinel@", "1980"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
        assert!(shown.contains("p-1"));
    }

    #[test]
    fn template_values_come_from_the_patient_clinic_and_appointment_in_its_zone() {
        use crate::fakes::records::{appointment, clinic, patient};
        let clinic = clinic();
        let patient = patient(None, None);
        let appointment = appointment("a1", &patient, "2026-11-26T17:30:00Z".parse().unwrap());
        let values = appointment.template_values(&patient, &clinic, Language::En);
        let rendered = crate::template_text::render(
            "{patient_first_name} {patient_last_name}, {clinic_name}, {appointment_date} {appointment_time}, {provider_name}",
            &values,
        )
        .unwrap();
        assert_eq!(
            rendered,
            "Ava Smith, Harbourview Clinic, Thursday, November 26, 2026 9:30 AM, Dr. Chen"
        );
    }

    #[test]
    fn cards_stay_one_per_appointment_in_start_order() {
        let appointment = |id: &str, at: &str| Appointment {
            id: AppointmentId::parse(id).unwrap(),
            patient_id: PatientId::parse("p").unwrap(),
            starts_at: at.parse().unwrap(),
            provider_name: "Dr. Chen".into(),
            status: AppointmentStatus::Booked,
        };
        let cards = with_card(Vec::new(), &appointment("b", "2030-01-02T00:00:00Z"));
        let cards = with_card(cards, &appointment("a", "2030-01-03T00:00:00Z"));
        let cards = with_card(cards, &appointment("b", "2030-01-04T00:00:00Z"));
        let ids: Vec<_> = cards.iter().map(|card| card.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn sortable_timestamps_sort_as_text_in_time_order() {
        let earlier: Timestamp = "2026-01-02T03:04:05.9Z".parse().unwrap();
        let later: Timestamp = "2026-01-02T03:04:06Z".parse().unwrap();
        assert_eq!(sortable_timestamp(earlier), "2026-01-02T03:04:05Z");
        assert!(sortable_timestamp(earlier) < sortable_timestamp(later));
    }

    fn message(kind: MessageKind, sms_status: SmsStatus) -> SentMessage {
        let sent_at: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        SentMessage {
            id: MessageId::from_random([1; 16]),
            kind,
            sent_at,
            sent_by: StaffUserId::parse("u1").unwrap(),
            sms_status,
            expires_at: kind.expires_at(sent_at),
            opened_at: None,
            delivery: None,
            withdrawn_at: None,
            resent_at: None,
            locked: None,
        }
    }

    fn delivery(outcome: DeliveryOutcome) -> Option<Delivery> {
        Some(Delivery {
            outcome,
            at: "2026-12-01T10:00:05Z".parse().unwrap(),
        })
    }

    #[test]
    fn a_status_line_moves_from_sending_to_its_end() {
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        let after_expiry: Timestamp = "2026-12-10T10:00:00Z".parse().unwrap();
        let unreachable = DeliveryOutcome::Failed(FailureReason::Unreachable);
        let secure = MessageKind::Secure;
        let cases = [
            (
                message(secure, SmsStatus::Sending),
                now,
                MessageState::Sending,
                None,
            ),
            (
                message(secure, SmsStatus::Unconfirmed),
                now,
                MessageState::Unconfirmed,
                None,
            ),
            (
                message(secure, SmsStatus::Sent),
                now,
                MessageState::Sent,
                None,
            ),
            (
                message(secure, SmsStatus::Failed),
                now,
                MessageState::Failed,
                None,
            ),
            (
                SentMessage {
                    delivery: delivery(DeliveryOutcome::Delivered),
                    ..message(secure, SmsStatus::Unconfirmed)
                },
                now,
                MessageState::Delivered,
                None,
            ),
            (
                SentMessage {
                    delivery: delivery(unreachable),
                    ..message(secure, SmsStatus::Sent)
                },
                after_expiry,
                MessageState::Failed,
                Some(FailureReason::Unreachable),
            ),
            (
                SentMessage {
                    delivery: delivery(DeliveryOutcome::Delivered),
                    ..message(secure, SmsStatus::Sent)
                },
                after_expiry,
                MessageState::Expired,
                None,
            ),
            (
                SentMessage {
                    delivery: delivery(DeliveryOutcome::Delivered),
                    opened_at: Some(now),
                    ..message(secure, SmsStatus::Sent)
                },
                after_expiry,
                MessageState::Opened,
                None,
            ),
            (
                SentMessage {
                    locked: Some(MessageLock { until: None }),
                    delivery: delivery(DeliveryOutcome::Delivered),
                    ..message(secure, SmsStatus::Sent)
                },
                now,
                MessageState::Locked,
                None,
            ),
            (
                SentMessage {
                    locked: Some(MessageLock {
                        until: Some(now - jiff::SignedDuration::from_secs(1)),
                    }),
                    delivery: delivery(DeliveryOutcome::Delivered),
                    ..message(secure, SmsStatus::Sent)
                },
                now,
                MessageState::Delivered,
                None,
            ),
            (
                SentMessage {
                    withdrawn_at: Some(now),
                    opened_at: Some(now),
                    ..message(secure, SmsStatus::Sent)
                },
                now,
                MessageState::Withdrawn,
                None,
            ),
            // A basic message never expires.
            (
                SentMessage {
                    delivery: delivery(DeliveryOutcome::Delivered),
                    ..message(MessageKind::Basic, SmsStatus::Sent)
                },
                after_expiry,
                MessageState::Delivered,
                None,
            ),
        ];
        for (message, at, state, reason) in cases {
            assert_eq!(
                message.status(at),
                MessageStatus { state, reason },
                "{:?} {:?}",
                message.sms_status,
                message.delivery
            );
        }
    }

    #[test]
    fn every_state_reads_back_from_its_name() {
        for state in MessageState::ALL {
            assert_eq!(MessageState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::json!(state.as_str())
            );
        }
        assert_eq!(MessageState::parse("lost"), None);
    }
}
