//! Staff actions on a secure message once it was sent: clearing its lock after the patient
//! called (wrong PHNs locked it for 15 minutes or for good), and withdrawing it (its link
//! then says so, its content and files are deleted at once). Audited; each is idempotent
//! by nature: doing it twice changes nothing more.

use std::sync::Arc;

use crate::{
    caller::Caller,
    error::{DependencyError, DomainError},
    ids::{ClinicId, MessageId},
    link_token::TokenHash,
    message_kind::has_expired,
    model::AuditEntry,
    ports::{
        AuditLog, BlobStore, Clock, MessageLink, MessageLinks, MessageStore, UnlockState,
        UnlockStore, Withdrawal,
    },
    unlock_attempts::Lock,
};

/// The clinic's message a staff action is about: another clinic's is 404, like a missing one.
pub(crate) async fn clinic_message(
    messages: &dyn MessageStore,
    clinic: &ClinicId,
    id: &MessageId,
) -> Result<MessageLink, DomainError> {
    messages
        .message_link(clinic, id)
        .await?
        .ok_or(DomainError::NotFound {
            what: "the message",
        })
}

/// A secure message's content behind its link at `now`: gone (TTL) or past its 8 days,
/// nothing is left to act on (422 `message-expired`).
pub(crate) async fn live_content(
    unlocks: &dyn UnlockStore,
    token_hash: &TokenHash,
    now: jiff::Timestamp,
) -> Result<UnlockState, DomainError> {
    match unlocks.get_unlock(token_hash).await? {
        Some(state) if !state.record.expired(now) => Ok(state),
        _ => Err(DomainError::MessageExpired),
    }
}

/// What clearing a message's lock found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCleared {
    /// It was locked; the link takes a PHN again, every count reset.
    Cleared,
    /// It was not locked: nothing changed (clearing twice is harmless).
    NotLocked,
}

impl LockCleared {
    pub fn as_str(self) -> &'static str {
        match self {
            LockCleared::Cleared => "cleared",
            LockCleared::NotLocked => "not-locked",
        }
    }
}

pub struct MessageActions {
    pub messages: Arc<dyn MessageStore>,
    pub unlocks: Arc<dyn UnlockStore>,
    pub links: Arc<dyn MessageLinks>,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// What withdrawing a message found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawn {
    pub withdrawn_at: jiff::Timestamp,
    /// `false` when it was withdrawn before (nothing changed).
    pub now: bool,
}

/// Attempts to write the cleared counters over a concurrent wrong PHN before giving up.
const CLEAR_ATTEMPTS: usize = 3;
/// Attempts to withdraw a message whose link a concurrent resend keeps changing.
const WITHDRAW_ATTEMPTS: usize = 3;

impl MessageActions {
    /// `POST /messages/{messageId}/clear-lock`: another clinic's message is 404, like a
    /// missing one; a basic or expired one has no lock to clear (422).
    pub async fn clear_lock(
        &self,
        caller: &Caller,
        id: &MessageId,
    ) -> Result<LockCleared, DomainError> {
        let link = clinic_message(self.messages.as_ref(), &caller.clinic_id, id).await?;
        let token_hash = link.token_hash.ok_or(DomainError::NotSecure)?;
        if link.withdrawn_at.is_some() {
            return Err(DomainError::MessageWithdrawn);
        }
        for _ in 0..CLEAR_ATTEMPTS {
            let now = self.clock.now();
            // Its content gone (TTL) or past its 8 days: nothing is left to unlock.
            let state = live_content(self.unlocks.as_ref(), &token_hash, now).await?;
            if matches!(state.attempts.lock(now), Lock::Open { .. }) {
                // A lockout that ended by itself may still show on the status line.
                self.show_unlocked(caller, id).await;
                return Ok(LockCleared::NotLocked);
            }
            let cleared = state.attempts.cleared();
            if self
                .unlocks
                .save_attempts(&token_hash, state.attempts.version, &cleared)
                .await?
            {
                self.audit
                    .record(&AuditEntry {
                        route: Some("POST /messages/{messageId}/clear-lock".to_owned()),
                        message_id: Some(id.clone()),
                        staff_user: Some(caller.user.clone()),
                        kind: Some(link.kind),
                        ..AuditEntry::new(caller.clinic_id.clone(), now, "lock-cleared", "cleared")
                    })
                    .await;
                self.show_unlocked(caller, id).await;
                tracing::info!(message_id = %id, "lock cleared");
                return Ok(LockCleared::Cleared);
            }
        }
        Err(DomainError::Dependency(DependencyError::new(
            "dynamodb",
            "ClearLock",
            "ConflictingAttempts",
        )))
    }

    /// Takes the lock off the message's status line. The lock itself is the counters',
    /// cleared already: a failed write here is logged, and a second clear retries it.
    async fn show_unlocked(&self, caller: &Caller, id: &MessageId) {
        if let Err(error) = self.unlocks.record_lock(&caller.clinic_id, id, None).await {
            tracing::error!(code = %error.code, message_id = %id, "lock still shown on the message");
        }
    }

    /// `POST /messages/{messageId}/withdraw`: the link says "withdrawn by the clinic", the
    /// content is deleted now (not at its expiry), then its files. Another clinic's message
    /// is 404; a basic one has nothing to withdraw, an expired one nothing left (422). A
    /// second withdraw answers the first's time and deletes any file left.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        id: &MessageId,
    ) -> Result<Withdrawn, DomainError> {
        for _ in 0..WITHDRAW_ATTEMPTS {
            let link = clinic_message(self.messages.as_ref(), &caller.clinic_id, id).await?;
            let (Some(token_hash), Some(expires_at)) = (&link.token_hash, link.expires_at) else {
                return Err(DomainError::NotSecure);
            };
            // To the second, as the log entry keeps it: a second withdraw answers the same.
            let now = self.clock.now();
            let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
            let withdrawn = match link.withdrawn_at {
                Some(withdrawn_at) => Withdrawn {
                    withdrawn_at,
                    now: false,
                },
                None if has_expired(expires_at, now) => return Err(DomainError::MessageExpired),
                None => {
                    let audit = AuditEntry {
                        route: Some("POST /messages/{messageId}/withdraw".to_owned()),
                        message_id: Some(id.clone()),
                        appointment_id: Some(link.appointment_id.clone()),
                        staff_user: Some(caller.user.clone()),
                        kind: Some(link.kind),
                        ..AuditEntry::new(caller.clinic_id.clone(), now, "withdraw", "withdrawn")
                    };
                    let withdrawal = Withdrawal {
                        clinic: &caller.clinic_id,
                        message: id,
                        token_hash,
                        at: now,
                        expires_at,
                        language: link.language,
                        audit: &audit,
                    };
                    if !self.links.withdraw(&withdrawal).await? {
                        // Withdrawn, or resent to another link, meanwhile: read it again.
                        continue;
                    }
                    Withdrawn {
                        withdrawn_at: now,
                        now: true,
                    }
                }
            };
            // After the write, so that the link is closed first; a retry deletes what is left.
            for object_key in &link.attachment_keys {
                self.blobs.delete(object_key).await?;
            }
            tracing::info!(message_id = %id, first = withdrawn.now, "message withdrawn");
            return Ok(withdrawn);
        }
        Err(DomainError::Dependency(DependencyError::new(
            "dynamodb",
            "Withdraw",
            "LinkKeptChanging",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{ClinicId, StaffUserId},
        ports::{MessageLinks, MessageStore, UnlockStore},
        send::tests::{World, message_actions, world},
        unlock_attempts::MAX_FAILURES_IN_ROW,
    };

    fn actions(w: &World) -> MessageActions {
        message_actions(w)
    }

    async fn sent(w: &World, kind: &str) -> MessageId {
        let body = format!(r#"{{"kind":"{kind}","text":"See you Friday"}}"#);
        let sent = w.send(&format!("key-{kind}"), &body).await.unwrap();
        let receipt: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
        MessageId::parse(receipt["message_id"].as_str().unwrap()).unwrap()
    }

    /// The message's link locked by wrong PHNs.
    async fn lock(w: &World, id: &MessageId) {
        let hash = w
            .store
            .message_link(&w.caller.clinic_id, id)
            .await
            .unwrap()
            .unwrap()
            .token_hash
            .unwrap();
        let mut state = w.store.get_unlock(&hash).await.unwrap().unwrap();
        for _ in 0..MAX_FAILURES_IN_ROW {
            let next = state.attempts.after_failure(w.clock.now());
            assert!(
                w.store
                    .save_attempts(&hash, state.attempts.version, &next)
                    .await
                    .unwrap()
            );
            state = w.store.get_unlock(&hash).await.unwrap().unwrap();
        }
        assert!(matches!(state.attempts.lock(w.clock.now()), Lock::Until(_)));
    }

    #[tokio::test]
    async fn staff_clear_a_locked_message_once_and_a_second_clear_changes_nothing() {
        let w = world().await;
        let id = sent(&w, "secure").await;
        lock(&w, &id).await;
        let actions = actions(&w);
        assert_eq!(
            actions.clear_lock(&w.caller, &id).await.unwrap(),
            LockCleared::Cleared
        );
        assert_eq!(
            actions.clear_lock(&w.caller, &id).await.unwrap(),
            LockCleared::NotLocked
        );
        let audited: Vec<_> = w
            .store
            .audit()
            .into_iter()
            .filter(|entry| entry.event == "lock-cleared")
            .collect();
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].message_id.as_ref(), Some(&id));
        assert_eq!(audited[0].staff_user.as_ref(), Some(&w.caller.user));
    }

    /// A secure message with one uploaded file.
    async fn sent_with_file(w: &World) -> MessageId {
        w.blobs.insert(
            "attachments/c1/f1",
            crate::ports::BlobInfo {
                size: 1000,
                content_type: Some("application/pdf".into()),
                kms_key_id: Some(crate::send::tests::KEY_ARN.into()),
                version_id: None,
            },
        );
        let body =
            r#"{"kind":"secure","text":"Results","attachments":[{"id":"f1","file_name":"a.pdf"}]}"#;
        let sent = w.send("key-file", body).await.unwrap();
        let receipt: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
        MessageId::parse(receipt["message_id"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_withdrawn_message_loses_its_content_and_files_once_and_its_link_says_so() {
        let w = world().await;
        let id = sent_with_file(&w).await;
        let link = w
            .store
            .message_link(&w.caller.clinic_id, &id)
            .await
            .unwrap()
            .unwrap();
        let hash = link.token_hash.clone().unwrap();
        let actions = actions(&w);
        let first = actions.withdraw(&w.caller, &id).await.unwrap();
        assert!(first.now);
        assert_eq!(
            w.store.get_unlock(&hash).await.unwrap(),
            None,
            "content deleted"
        );
        assert_eq!(
            crate::ports::BlobStore::head(w.blobs.as_ref(), "attachments/c1/f1")
                .await
                .unwrap(),
            None,
            "file deleted"
        );
        let closed = w.store.closed_link(&hash).await.unwrap().unwrap();
        assert_eq!(closed.why, crate::ports::LinkClosed::Withdrawn);
        w.clock.advance(jiff::SignedDuration::from_mins(5));
        let again = actions.withdraw(&w.caller, &id).await.unwrap();
        assert_eq!((again.now, again.withdrawn_at), (false, first.withdrawn_at));
        let audited = w
            .store
            .audit()
            .into_iter()
            .filter(|entry| entry.event == "withdraw")
            .count();
        assert_eq!(audited, 1);
        let listed = w
            .store
            .messages_for_appointment(&w.caller.clinic_id, &link.appointment_id)
            .await
            .unwrap();
        let withdrawn = listed.iter().find(|message| message.id == id).unwrap();
        assert_eq!(
            withdrawn.status(w.clock.now()).state,
            crate::model::MessageState::Withdrawn
        );
        assert!(matches!(
            actions.clear_lock(&w.caller, &id).await,
            Err(DomainError::MessageWithdrawn)
        ));
    }

    /// What clearing the lock and withdrawing each answer for a message.
    async fn both(
        actions: &MessageActions,
        caller: &Caller,
        id: &MessageId,
    ) -> [Result<(), DomainError>; 2] {
        [
            actions.clear_lock(caller, id).await.map(|_| ()),
            actions.withdraw(caller, id).await.map(|_| ()),
        ]
    }

    #[tokio::test]
    async fn a_basic_expired_or_other_clinics_message_has_no_lock_to_clear_or_link_to_withdraw() {
        let w = world().await;
        let actions = actions(&w);
        let basic = sent(&w, "basic").await;
        for answer in both(&actions, &w.caller, &basic).await {
            assert!(matches!(answer, Err(DomainError::NotSecure)), "{answer:?}");
        }
        let secure = sent(&w, "secure").await;
        let other = Caller::staff(
            ClinicId::parse("c2").unwrap(),
            StaffUserId::parse("u").unwrap(),
        );
        for answer in both(&actions, &other, &secure).await {
            assert!(
                matches!(answer, Err(DomainError::NotFound { .. })),
                "{answer:?}"
            );
        }
        w.clock
            .advance(crate::message_kind::SECURE_LIFETIME + jiff::SignedDuration::from_secs(1));
        for answer in both(&actions, &w.caller, &secure).await {
            assert!(
                matches!(answer, Err(DomainError::MessageExpired)),
                "{answer:?}"
            );
        }
    }

    /// Links where another request withdraws the message just before this one.
    struct WithdrawnMeanwhile(Arc<crate::fakes::MemoryStore>, jiff::Timestamp);

    #[async_trait::async_trait]
    impl MessageLinks for WithdrawnMeanwhile {
        async fn closed_link(
            &self,
            token_hash: &crate::link_token::TokenHash,
        ) -> Result<Option<crate::ports::ClosedLink>, DependencyError> {
            self.0.closed_link(token_hash).await
        }
        async fn withdraw(&self, withdrawal: &Withdrawal<'_>) -> Result<bool, DependencyError> {
            let winner = Withdrawal {
                at: self.1,
                ..*withdrawal
            };
            assert!(self.0.withdraw(&winner).await?);
            self.0.withdraw(withdrawal).await
        }
        async fn begin_resend(
            &self,
            resend: &crate::ports::BeginResend<'_>,
        ) -> Result<crate::ports::ResendOutcome, DependencyError> {
            self.0.begin_resend(resend).await
        }
    }

    #[tokio::test]
    async fn a_withdraw_that_loses_a_race_answers_the_winners_time() {
        let w = world().await;
        let id = sent(&w, "secure").await;
        let winner_at = jiff::Timestamp::from_second(w.clock.now().as_second() - 5).unwrap();
        let actions = MessageActions {
            links: Arc::new(WithdrawnMeanwhile(w.store.clone(), winner_at)),
            ..actions(&w)
        };
        let lost = actions.withdraw(&w.caller, &id).await.unwrap();
        assert_eq!(
            lost,
            Withdrawn {
                withdrawn_at: winner_at,
                now: false
            }
        );
    }
}
