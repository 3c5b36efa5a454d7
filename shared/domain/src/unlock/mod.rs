//! Opening a secure message from its SMS link: the PHN check, attempt limits, expiry, and
//! the content with short-lived download links.

pub use crate::unlock_attempts::{
    Attempts, LOCKOUT, Lock, MAX_FAILURES_IN_ROW, MAX_FAILURES_TOTAL,
};

use std::{sync::Arc, time::Duration};

use jiff::{SignedDuration, Timestamp};

use crate::{
    clinic_cache::ClinicCache,
    error::{DependencyError, DomainError},
    ids::{ClinicId, MessageId},
    language::Language,
    link_token::LinkToken,
    message_kind::MessageKind,
    model::{AuditEntry, Chat, Clinic, MessageLock},
    phn::{Phn, PhnError},
    ports::{
        AuditLog, BlobStore, Clock, KeyService, LinkClosed, MessageLinks, Opening, UnlockState,
        UnlockStore,
    },
    secure_content::{self, SecureContent, Unsealed},
};

/// How long a download link shown after unlocking works.
pub const DOWNLOAD_LINK_LIFETIME: SignedDuration = SignedDuration::from_mins(5);
/// How often an attempt re-reads after losing a race with a concurrent attempt.
const ATTEMPT_RETRIES: usize = 8;

/// A file of an opened message, with a download link made for this view.
#[derive(Clone, PartialEq, Eq)]
pub struct Download {
    pub file_name: String,
    pub url: String,
}

/// The opened message. PHI: never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedMessage {
    pub text: String,
    pub chats: Vec<Chat>,
    pub downloads: Vec<Download>,
}

/// What the unlock page shows.
#[derive(Clone, PartialEq, Eq)]
pub enum UnlockView {
    /// Unknown or malformed token: reveals nothing.
    NotValid,
    Expired {
        clinic: Clinic,
        language: Language,
    },
    /// The clinic withdrew the message.
    Withdrawn {
        clinic: Clinic,
        language: Language,
    },
    /// The clinic sent a newer link to the same message.
    Replaced {
        clinic: Clinic,
        language: Language,
    },
    Locked {
        clinic: Clinic,
        language: Language,
        until: Option<Timestamp>,
    },
    /// The PHN form; `wrong` after a PHN that did not match, `problem` for a PHN that is
    /// not a PHN (not counted).
    Form {
        clinic: Clinic,
        language: Language,
        tries_left: u32,
        wrong: bool,
        problem: Option<PhnError>,
    },
    Opened {
        clinic: Clinic,
        language: Language,
        message: OpenedMessage,
    },
}

impl UnlockView {
    /// The language the page is written in: the patient's when the message was sent (the
    /// clinic's default for a link without its message); `None` for a link not valid.
    pub fn language(&self) -> Option<Language> {
        match self {
            UnlockView::NotValid => None,
            UnlockView::Expired { language, .. }
            | UnlockView::Withdrawn { language, .. }
            | UnlockView::Replaced { language, .. }
            | UnlockView::Locked { language, .. }
            | UnlockView::Form { language, .. }
            | UnlockView::Opened { language, .. } => Some(*language),
        }
    }
}

impl std::fmt::Debug for UnlockView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnlockView::NotValid => "NotValid",
            UnlockView::Expired { .. } => "Expired",
            UnlockView::Withdrawn { .. } => "Withdrawn",
            UnlockView::Replaced { .. } => "Replaced",
            UnlockView::Locked { .. } => "Locked",
            UnlockView::Form { .. } => "Form",
            UnlockView::Opened { .. } => "Opened",
        })
    }
}

pub struct Unlocker {
    pub unlocks: Arc<dyn UnlockStore>,
    pub links: Arc<dyn MessageLinks>,
    /// Clinics' profiles, cached for a minute: the page shows the clinic's name.
    pub clinics: Arc<ClinicCache>,
    pub keys: Arc<dyn KeyService>,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// What the link leads to, before any PHN is checked.
enum Found {
    NotValid,
    /// Expired, locked, withdrawn or replaced: shown as it is; `outcome` names it in the
    /// audit.
    Closed {
        view: UnlockView,
        about: (ClinicId, MessageId),
        outcome: &'static str,
    },
    Open {
        state: UnlockState,
        clinic: Clinic,
        tries_left: u32,
    },
}

impl Unlocker {
    /// The page for `GET /m/{token}`.
    pub async fn view(&self, token: &str) -> Result<UnlockView, DomainError> {
        Ok(match self.find(token).await? {
            Found::NotValid => UnlockView::NotValid,
            Found::Closed { view, .. } => view,
            Found::Open {
                state,
                clinic,
                tries_left,
            } => UnlockView::Form {
                clinic,
                language: state.record.language,
                tries_left,
                wrong: false,
                problem: None,
            },
        })
    }

    /// The page for `POST /m/{token}` with a PHN typed by the patient.
    pub async fn attempt(&self, token: &str, typed_phn: &str) -> Result<UnlockView, DomainError> {
        for _ in 0..ATTEMPT_RETRIES {
            let (state, clinic, tries_left) = match self.find(token).await? {
                Found::NotValid => return Ok(UnlockView::NotValid),
                Found::Closed {
                    view,
                    about: (clinic, message),
                    outcome,
                } => {
                    self.audit(&clinic, &message, outcome).await;
                    return Ok(view);
                }
                Found::Open {
                    state,
                    clinic,
                    tries_left,
                } => (state, clinic, tries_left),
            };
            let language = state.record.language;
            let phn = match Phn::parse(typed_phn) {
                Ok(phn) => phn,
                Err(error) => {
                    return Ok(UnlockView::Form {
                        clinic,
                        language,
                        tries_left,
                        wrong: false,
                        problem: Some(error),
                    });
                }
            };
            let record = &state.record;
            let unsealed = secure_content::unseal(self.keys.as_ref(), record, &phn).await?;
            let now = self.clock.now();
            if let Unsealed::Opened(content) = unsealed {
                // The counters, the first opening and the audit entry in one write.
                let audit = self.audit_entry(&record.clinic_id, &record.message_id, "opened");
                if !self
                    .unlocks
                    .record_opening(&Opening {
                        token_hash: &record.token_hash,
                        read_version: state.attempts.version,
                        attempts: &state.attempts.after_success(),
                        clinic: &record.clinic_id,
                        message: &record.message_id,
                        at: now,
                        audit: &audit,
                    })
                    .await?
                {
                    continue;
                }
                tracing::info!(message_id = %record.message_id, outcome = "opened", "unlock attempt");
                let message = self.downloads_for(content).await?;
                return Ok(UnlockView::Opened {
                    clinic,
                    language,
                    message,
                });
            }
            let next = state.attempts.after_failure(now);
            if !self
                .unlocks
                .save_attempts(&record.token_hash, state.attempts.version, &next)
                .await?
            {
                continue;
            }
            self.audit(&record.clinic_id, &record.message_id, "wrong_phn")
                .await;
            let lock = match next.lock(now) {
                Lock::Open { .. } => None,
                Lock::Until(until) => Some(MessageLock { until: Some(until) }),
                Lock::Forever => Some(MessageLock { until: None }),
            };
            if let Some(lock) = lock {
                self.record_lock(&record.clinic_id, &record.message_id, lock)
                    .await;
            }
            return Ok(match next.lock(now) {
                Lock::Open { tries_left } => UnlockView::Form {
                    clinic,
                    language,
                    tries_left,
                    wrong: true,
                    problem: None,
                },
                Lock::Until(until) => UnlockView::Locked {
                    clinic,
                    language,
                    until: Some(until),
                },
                Lock::Forever => UnlockView::Locked {
                    clinic,
                    language,
                    until: None,
                },
            });
        }
        Err(DomainError::Dependency(DependencyError::new(
            "dynamodb",
            "SaveAttempts",
            "Contention",
        )))
    }

    async fn find(&self, token: &str) -> Result<Found, DomainError> {
        let Ok(token) = LinkToken::parse(token) else {
            return Ok(Found::NotValid);
        };
        let Some(state) = self.unlocks.get_unlock(&token.hash()).await? else {
            return self.closed_link(&token).await;
        };
        let Some(clinic) = self.clinics.find(&state.record.clinic_id).await? else {
            return Ok(Found::NotValid);
        };
        let now = self.clock.now();
        let about = (
            state.record.clinic_id.clone(),
            state.record.message_id.clone(),
        );
        let closed = |view, outcome| Found::Closed {
            view,
            about: about.clone(),
            outcome,
        };
        let language = state.record.language;
        // The item may outlive its TTL by days: expiry is decided here, on every read.
        if state.record.expired(now) {
            return Ok(closed(UnlockView::Expired { clinic, language }, "expired"));
        }
        Ok(match state.attempts.lock(now) {
            Lock::Open { tries_left } => Found::Open {
                state,
                clinic,
                tries_left,
            },
            Lock::Until(until) => closed(
                UnlockView::Locked {
                    clinic,
                    language,
                    until: Some(until),
                },
                "locked",
            ),
            Lock::Forever => closed(
                UnlockView::Locked {
                    clinic,
                    language,
                    until: None,
                },
                "locked",
            ),
        })
    }

    /// A link without content: one staff closed (its message withdrawn, or a newer link
    /// sent), else not valid (unknown, or its time passed).
    async fn closed_link(&self, token: &LinkToken) -> Result<Found, DomainError> {
        let Some(closed) = self.links.closed_link(&token.hash()).await? else {
            return Ok(Found::NotValid);
        };
        let Some(clinic) = self.clinics.find(&closed.clinic_id).await? else {
            return Ok(Found::NotValid);
        };
        let language = closed.language;
        let view = match closed.why {
            LinkClosed::Withdrawn => UnlockView::Withdrawn { clinic, language },
            LinkClosed::Replaced => UnlockView::Replaced { clinic, language },
        };
        Ok(Found::Closed {
            view,
            about: (closed.clinic_id, closed.message_id),
            outcome: closed.why.as_str(),
        })
    }

    /// The opened content, with a download link made for this view for each file.
    async fn downloads_for(&self, content: SecureContent) -> Result<OpenedMessage, DomainError> {
        let lifetime = Duration::try_from(DOWNLOAD_LINK_LIFETIME).expect("a positive lifetime");
        let mut downloads = Vec::new();
        for file in &content.attachments {
            let url = self
                .blobs
                .presign_download(
                    &file.object_key,
                    &file.version_id,
                    &file.file_name,
                    lifetime,
                )
                .await?;
            downloads.push(Download {
                file_name: file.file_name.clone(),
                url,
            });
        }
        Ok(OpenedMessage {
            text: content.text,
            chats: content.chats,
            downloads,
        })
    }

    /// Shows the lock on the message's status line. The lock itself is the counters',
    /// saved already: a failed write here is logged, and the patient still gets the page.
    async fn record_lock(&self, clinic: &ClinicId, message: &MessageId, lock: MessageLock) {
        if let Err(error) = self.unlocks.record_lock(clinic, message, Some(lock)).await {
            tracing::error!(code = %error.code, message_id = %message, "lock not shown on the message");
        }
    }

    async fn audit(&self, clinic: &ClinicId, message: &MessageId, outcome: &str) {
        let entry = self.audit_entry(clinic, message, outcome);
        self.audit.record(&entry).await;
        tracing::info!(message_id = %message, outcome, "unlock attempt");
    }

    fn audit_entry(&self, clinic: &ClinicId, message: &MessageId, outcome: &str) -> AuditEntry {
        AuditEntry {
            clinic_id: clinic.clone(),
            at: self.clock.now(),
            event: "unlock".to_owned(),
            route: Some("POST /m/{token}".to_owned()),
            patient_id: None,
            message_id: Some(message.clone()),
            reference: None,
            appointment_id: None,
            staff_user: None,
            kind: Some(MessageKind::Secure),
            outcome: outcome.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
