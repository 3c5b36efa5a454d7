//! The JSON the dashboard gets from `search` (documented in infra/openapi.yaml).

use domain::{
    appointment_details::AppointmentDetails,
    appointment_status::AppointmentStatus,
    model::{AppointmentCard, Chat, MessageStatus, Patient, SentMessage, Template},
    outbox::OutboxResult,
    search::{ForClinic, SearchPage},
    worklist::WorklistResult,
};
use jiff::{Timestamp, tz::TimeZone};
use serde::Serialize;

fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[derive(Debug, Serialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
}

pub type Templates = Listing<Template>;
pub type Chats = Listing<Chat>;

#[derive(Debug, Serialize)]
pub struct AppointmentSummary {
    id: String,
    starts_at: Timestamp,
    /// The start in the clinic's time zone, with its offset.
    starts_at_local: String,
    provider_name: String,
}

impl AppointmentSummary {
    fn of(card: &AppointmentCard, zone: &TimeZone) -> Self {
        AppointmentSummary {
            id: card.id.to_string(),
            starts_at: card.starts_at,
            starts_at_local: local(card.starts_at, zone),
            provider_name: card.provider_name.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PatientResult {
    patient: Patient,
    appointments: Vec<AppointmentSummary>,
}

#[derive(Debug, Serialize)]
pub struct PatientResults {
    items: Vec<PatientResult>,
    next_cursor: Option<String>,
}

impl PatientResults {
    pub fn of(found: ForClinic<SearchPage>) -> Self {
        let zone = found.clinic.zone();
        let page = found.value;
        let items = page
            .matches
            .into_iter()
            .map(|found| PatientResult {
                appointments: found
                    .appointments
                    .iter()
                    .map(|card| AppointmentSummary::of(card, &zone))
                    .collect(),
                patient: found.patient,
            })
            .collect();
        PatientResults {
            items,
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AppointmentView {
    #[serde(flatten)]
    summary: AppointmentSummary,
    status: AppointmentStatus,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    #[serde(flatten)]
    message: SentMessage,
    /// Secure messages: whether the patient has opened it; basic ones: null.
    opened: Option<bool>,
    /// Secure messages: whether it is past its expiry (checked now, not by TTL).
    expired: Option<bool>,
    /// Its status line now: the state, and why when it failed.
    status: MessageStatus,
}

impl MessageView {
    fn of(message: SentMessage, now: Timestamp) -> Self {
        MessageView {
            opened: message
                .kind
                .expires()
                .then_some(message.opened_at.is_some()),
            expired: message.expired(now),
            status: message.status(now),
            message,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AppointmentDetailsView {
    patient: Patient,
    appointment: AppointmentView,
    messages: Vec<MessageView>,
}

impl AppointmentDetailsView {
    pub fn of(found: ForClinic<AppointmentDetails>) -> Self {
        let ForClinic {
            clinic,
            now,
            value: details,
        } = found;
        let zone = clinic.zone();
        let appointment = AppointmentView {
            summary: AppointmentSummary::of(&AppointmentCard::of(&details.appointment), &zone),
            status: details.appointment.status,
        };
        let messages = details
            .messages
            .into_iter()
            .map(|message| MessageView::of(message, now))
            .collect();
        AppointmentDetailsView {
            patient: details.patient,
            appointment,
            messages,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WorklistItem {
    patient: Patient,
    appointment: AppointmentView,
    /// When the patient's latest reply came (never its text).
    replied_at: Timestamp,
}

/// The Unclear worklist's page, newest reply first.
#[derive(Debug, Serialize)]
pub struct WorklistView {
    items: Vec<WorklistItem>,
    next_cursor: Option<String>,
}

impl WorklistView {
    pub fn of(found: ForClinic<WorklistResult>) -> Self {
        let zone = found.clinic.zone();
        let items = found
            .value
            .entries
            .into_iter()
            .map(|entry| WorklistItem {
                appointment: AppointmentView {
                    summary: AppointmentSummary::of(
                        &AppointmentCard::of(&entry.appointment),
                        &zone,
                    ),
                    status: entry.appointment.status,
                },
                patient: entry.patient,
                replied_at: entry.replied_at,
            })
            .collect();
        WorklistView {
            items,
            next_cursor: found.value.next_cursor,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OutboxItem {
    appointment_id: String,
    #[serde(flatten)]
    message: MessageView,
    /// When it was sent, in the clinic's time zone.
    sent_at_local: String,
}

/// A page of the clinic's outbox, newest first.
#[derive(Debug, Serialize)]
pub struct OutboxView {
    items: Vec<OutboxItem>,
    next_cursor: Option<String>,
}

impl OutboxView {
    pub fn of(zone: TimeZone, result: OutboxResult) -> Self {
        let items = result
            .entries
            .into_iter()
            .map(|entry| OutboxItem {
                appointment_id: entry.appointment_id.to_string(),
                sent_at_local: local(entry.message.sent_at, &zone),
                message: MessageView::of(entry.message, result.now),
            })
            .collect();
        OutboxView {
            items,
            next_cursor: result.next_cursor,
        }
    }
}
