//! `POST`, `PUT` and `DELETE` of `/templates` and `/chats`: a clinic's administrators
//! manage the templates and chats staff pick from. A template is checked with the rules a
//! send applies; every change names the version it replaces (`If-Match`), so two
//! administrators never overwrite each other. Messages already sent keep their own text.

use std::sync::Arc;

use serde::Deserialize;

use crate::{
    caller::Caller,
    clinic_profile::{chat_link, display_name},
    error::DomainError,
    ids::{ChatId, TemplateId},
    language::Language,
    message_kind::MessageKind,
    model::{AuditEntry, Chat, ChatKind, Clinic, Template},
    ports::{ClinicAdmin, ClinicStore, Clock, LibraryItem, LibraryKind, LibraryWrite},
    random::{RandomSource, bytes},
    template_text::{TemplateValues, placeholders, render},
};

/// The body of `POST /templates` and `PUT /templates/{templateId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateForm {
    pub name: String,
    pub kind: MessageKind,
    /// The English text.
    #[serde(default)]
    pub text: Option<String>,
    /// The French text.
    #[serde(default)]
    pub text_fr: Option<String>,
}

impl TemplateForm {
    /// The template, refused at save for what would refuse it at every send: no text in
    /// either language, an unknown placeholder or unclosed brace, or a text too long even
    /// with the shortest values of its language.
    fn check(&self, id: TemplateId, clinic: &Clinic) -> Result<Template, DomainError> {
        let name = display_name("name", &self.name)?;
        let text = self.checked_text(self.text.as_deref(), Language::En, clinic)?;
        let text_fr = self.checked_text(self.text_fr.as_deref(), Language::Fr, clinic)?;
        if text.is_none() && text_fr.is_none() {
            return Err(DomainError::InvalidField {
                field: "text",
                reason: "write the template's text in English (text), in French (text_fr), or both"
                    .to_owned(),
            });
        }
        Ok(Template {
            id,
            name,
            kind: self.kind,
            text,
            text_fr,
            version: 0,
        })
    }

    /// A text in `language`, if given and not blank, checked.
    fn checked_text(
        &self,
        text: Option<&str>,
        language: Language,
        clinic: &Clinic,
    ) -> Result<Option<String>, DomainError> {
        let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
            return Ok(None);
        };
        placeholders(text)?;
        let shortest = render(text, &TemplateValues::shortest(&clinic.name, language))?;
        // The kind's own length rule, on the shortest text the template can make.
        let shortest = shortest.trim();
        self.kind
            .check_length(shortest)
            .map_err(|_| DomainError::TemplateTooLong {
                max: self.kind.max_chars(),
                chars: shortest.chars().count(),
            })?;
        Ok(Some(text.to_owned()))
    }
}

/// The body of `POST /chats` and `PUT /chats/{chatId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatForm {
    pub title: String,
    pub kind: ChatKind,
    pub link: String,
}

impl ChatForm {
    fn check(&self, id: ChatId) -> Result<Chat, DomainError> {
        Ok(Chat {
            id,
            title: display_name("title", &self.title)?,
            kind: self.kind,
            link: chat_link(&self.link)?,
            version: 0,
        })
    }
}

/// The version an `If-Match` header names (`"3"`, or `W/"3"`), required to change an item.
pub fn parse_if_match(header: Option<&str>, kind: LibraryKind) -> Result<u64, DomainError> {
    let Some(header) = header.map(str::trim).filter(|header| !header.is_empty()) else {
        return Err(DomainError::VersionRequired { what: kind.what() });
    };
    header
        .strip_prefix("W/")
        .unwrap_or(header)
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| DomainError::InvalidParameter {
            parameter: "If-Match",
            reason: "must be the ETag you read, quotes included, e.g. \"3\"".to_owned(),
        })
}

/// A template or chat to save: a new one, or a new version of the one read.
#[derive(Debug, Clone)]
pub enum LibraryRequest {
    CreateTemplate(TemplateForm),
    ReplaceTemplate {
        id: TemplateId,
        version: u64,
        form: TemplateForm,
    },
    CreateChat(ChatForm),
    ReplaceChat {
        id: ChatId,
        version: u64,
        form: ChatForm,
    },
}

pub struct Library {
    pub clinics: Arc<dyn ClinicStore>,
    /// Writes each change with its audit entry.
    pub store: Arc<dyn ClinicAdmin>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
}

/// What the store's answer means to the administrator.
fn written(kind: LibraryKind, written: LibraryWrite) -> Result<u64, DomainError> {
    match written {
        LibraryWrite::Done { version } => Ok(version),
        LibraryWrite::Missing => Err(DomainError::NotFound { what: kind.what() }),
        LibraryWrite::Stale => Err(DomainError::StaleVersion { what: kind.what() }),
        LibraryWrite::NameTaken => Err(DomainError::NameTaken { what: kind.one() }),
    }
}

/// What a change did to a template or chat, as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Changed,
    Deleted,
}

impl Library {
    /// Saves the template or chat; the item as saved, at its new version.
    pub async fn save(
        &self,
        caller: &Caller,
        request: LibraryRequest,
    ) -> Result<LibraryItem, DomainError> {
        let (item, expected) = self.checked(caller, request).await?;
        let kind = item.kind();
        let (change, version) = match expected {
            Some(read) => (Change::Changed, read + 1),
            None => (Change::Created, 1),
        };
        let audit = self.audit_entry(caller, kind, item.id(), change, version);
        written(
            kind,
            self.store
                .save_library_item(&caller.clinic_id, &item, expected, &audit)
                .await?,
        )?;
        Ok(item.at_version(version))
    }

    /// Deletes the template or chat at the version read.
    pub async fn delete(
        &self,
        caller: &Caller,
        kind: LibraryKind,
        id: &str,
        version: u64,
    ) -> Result<(), DomainError> {
        match kind {
            LibraryKind::Template => drop(TemplateId::parse(id)?),
            LibraryKind::Chat => drop(ChatId::parse(id)?),
        }
        let audit = self.audit_entry(caller, kind, id, Change::Deleted, version);
        let deleted = self
            .store
            .delete_library_item(&caller.clinic_id, kind, id, version, &audit)
            .await?;
        written(kind, deleted)?;
        Ok(())
    }

    async fn checked(
        &self,
        caller: &Caller,
        request: LibraryRequest,
    ) -> Result<(LibraryItem, Option<u64>), DomainError> {
        let new_id = || -> String {
            let id: [u8; 8] = bytes(self.random.as_ref());
            id.iter().map(|b| format!("{b:02x}")).collect()
        };
        Ok(match request {
            LibraryRequest::CreateTemplate(form) => {
                let clinic = self.clinic(caller).await?;
                let id = TemplateId::parse(&format!("tpl-{}", new_id()))?;
                (LibraryItem::Template(form.check(id, &clinic)?), None)
            }
            LibraryRequest::ReplaceTemplate { id, version, form } => {
                let clinic = self.clinic(caller).await?;
                (
                    LibraryItem::Template(form.check(id, &clinic)?),
                    Some(version),
                )
            }
            LibraryRequest::CreateChat(form) => {
                let id = ChatId::parse(&format!("chat-{}", new_id()))?;
                (LibraryItem::Chat(form.check(id)?), None)
            }
            LibraryRequest::ReplaceChat { id, version, form } => {
                (LibraryItem::Chat(form.check(id)?), Some(version))
            }
        })
    }

    async fn clinic(&self, caller: &Caller) -> Result<Clinic, DomainError> {
        self.clinics
            .get_clinic(&caller.clinic_id)
            .await?
            .ok_or(DomainError::NotFound {
                what: "your clinic's profile",
            })
    }

    /// The audit entry of a change, written with it.
    fn audit_entry(
        &self,
        caller: &Caller,
        kind: LibraryKind,
        id: &str,
        change: Change,
        version: u64,
    ) -> AuditEntry {
        let (name, collection, parameter) = match kind {
            LibraryKind::Template => ("template", "/templates", "{templateId}"),
            LibraryKind::Chat => ("chat", "/chats", "{chatId}"),
        };
        let (event, route) = match change {
            Change::Created => ("created", format!("POST {collection}")),
            Change::Changed => ("changed", format!("PUT {collection}/{parameter}")),
            Change::Deleted => ("deleted", format!("DELETE {collection}/{parameter}")),
        };
        AuditEntry {
            route: Some(route),
            reference: Some(id.to_owned()),
            staff_user: Some(caller.user.clone()),
            ..AuditEntry::new(
                caller.clinic_id.clone(),
                self.clock.now(),
                &format!("{name}-{event}"),
                &format!("version {version}"),
            )
        }
    }
}
