//! Writing a clinic's records from its administration: onboarding, settings, and the
//! library of templates and chats, each change conditioned so that none is lost.

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ids::{ClinicId, IntegrationClientId},
    language::Language,
    model::{AuditEntry, Chat, Clinic, Template},
    phone::PhoneNumber,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicCreated {
    Created,
    /// Another clinic holds the SMS number: nothing was written.
    SmsNumberTaken,
}

/// The settings an administrator changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub unclear_response: Option<String>,
    pub help_response: Option<String>,
    pub default_language: Option<Language>,
    pub unclear_response_fr: Option<String>,
    pub help_response_fr: Option<String>,
}

impl SettingsChange {
    /// The settings it changes, by their field names.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("phone", self.phone.is_some()),
            ("unclear_response", self.unclear_response.is_some()),
            ("help_response", self.help_response.is_some()),
            ("default_language", self.default_language.is_some()),
            ("unclear_response_fr", self.unclear_response_fr.is_some()),
            ("help_response_fr", self.help_response_fr.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }

    /// `clinic` with the change made.
    pub fn apply(&self, mut clinic: Clinic) -> Clinic {
        if let Some(name) = &self.name {
            clinic.name.clone_from(name);
        }
        if let Some(phone) = &self.phone {
            clinic.phone = phone.clone();
        }
        if let Some(text) = &self.unclear_response {
            clinic.unclear_response.clone_from(text);
        }
        if let Some(text) = &self.help_response {
            clinic.help_response.clone_from(text);
        }
        if let Some(language) = self.default_language {
            clinic.default_language = language;
        }
        if let Some(text) = &self.unclear_response_fr {
            clinic.unclear_response_fr.clone_from(text);
        }
        if let Some(text) = &self.help_response_fr {
            clinic.help_response_fr.clone_from(text);
        }
        clinic
    }
}

/// What a clinic's library holds: templates and chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibraryKind {
    Template,
    Chat,
}

impl LibraryKind {
    /// As errors name it: "the template".
    pub fn what(self) -> &'static str {
        match self {
            LibraryKind::Template => "the template",
            LibraryKind::Chat => "the chat",
        }
    }

    /// As a name conflict names it: "a template".
    pub fn one(self) -> &'static str {
        match self {
            LibraryKind::Template => "a template",
            LibraryKind::Chat => "a chat",
        }
    }
}

/// A template or a chat, as the library writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryItem {
    Template(Template),
    Chat(Chat),
}

impl LibraryItem {
    pub fn kind(&self) -> LibraryKind {
        match self {
            LibraryItem::Template(_) => LibraryKind::Template,
            LibraryItem::Chat(_) => LibraryKind::Chat,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            LibraryItem::Template(template) => template.id.as_str(),
            LibraryItem::Chat(chat) => chat.id.as_str(),
        }
    }

    /// Its name, unique in the clinic's library of its kind.
    pub fn name(&self) -> &str {
        match self {
            LibraryItem::Template(template) => &template.name,
            LibraryItem::Chat(chat) => &chat.title,
        }
    }

    pub fn version(&self) -> u64 {
        match self {
            LibraryItem::Template(template) => template.version,
            LibraryItem::Chat(chat) => chat.version,
        }
    }

    /// The item at `version`.
    pub fn at_version(mut self, version: u64) -> LibraryItem {
        match &mut self {
            LibraryItem::Template(template) => template.version = version,
            LibraryItem::Chat(chat) => chat.version = version,
        }
        self
    }
}

/// What became of a change to the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryWrite {
    /// Written (or deleted); the item's version now.
    Done { version: u64 },
    /// No such item in the clinic.
    Missing,
    /// A create whose id exists, or a change to a version that is no longer the stored one.
    Stale,
    /// Another item of the kind has the name.
    NameTaken,
}

impl LibraryWrite {
    /// Why a change that expects the stored version `expected` (none: a create) cannot be
    /// made over the version `stored` (none: no such item); `None` when it can.
    pub fn refusal(stored: Option<u64>, expected: Option<u64>) -> Option<LibraryWrite> {
        match (stored, expected) {
            (None, Some(_)) => Some(LibraryWrite::Missing),
            (Some(_), None) => Some(LibraryWrite::Stale),
            (Some(stored), Some(expected)) if stored != expected => Some(LibraryWrite::Stale),
            _ => None,
        }
    }
}

/// Every change is written together with its audit entry (`audit`), or not at all.
#[async_trait]
pub trait ClinicAdmin: Send + Sync {
    /// Writes a new clinic with its wrapped root key (`clinic_key`) and takes its SMS
    /// number, in one transaction: two clinics never share a number, however their
    /// onboardings race.
    async fn create_clinic(
        &self,
        clinic: &Clinic,
        wrapped_root_key: &[u8],
        audit: &AuditEntry,
    ) -> Result<ClinicCreated, DependencyError>;
    /// Binds the EMR integration's machine client to the clinic; `false` when it is bound
    /// to another clinic (a client writes for one clinic, for good).
    async fn bind_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError>;
    /// Changes the given settings only (a concurrent change of others is kept); the clinic
    /// as it is now, or `None` when there is no such clinic.
    async fn change_settings(
        &self,
        clinic: &ClinicId,
        change: &SettingsChange,
        audit: &AuditEntry,
    ) -> Result<Option<Clinic>, DependencyError>;
    /// Creates the item (`expected` none: its id must be new) or replaces it (its stored
    /// version must be `expected`), at the next version, with its name unique in the
    /// clinic's library of its kind.
    async fn save_library_item(
        &self,
        clinic: &ClinicId,
        item: &LibraryItem,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError>;
    /// Deletes the item if its stored version is `expected`, and frees its name.
    async fn delete_library_item(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        id: &str,
        expected: u64,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError>;
}
