//! Patients' SMS replies: one-way messaging. A reply marks the appointment of the message
//! it answers (the SMS the carrier names, else the latest) `Unclear` and gets the clinic's unclear response, once per inbound SMS however
//! often SNS delivers it. Carrier keywords opt the number out or in, and nothing else.

use std::sync::Arc;

use futures_util::future::{join, join3};
use jiff::SignedDuration;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::{
    clinic_cache::ClinicCache,
    clinic_key::NumberTag,
    clinic_keyring::ClinicKeyring,
    error::DependencyError,
    ids::MessageId,
    inbound_sms::{AutoReply, InboundSms},
    model::{AuditEntry, Clinic},
    ports::{
        AuditLog, AutoReplyClaim, ClinicStore, Clock, InboundClaim, InboundLog, MessageMatch,
        MessageStore, OutboundSms, SmsSender, UnclearReply,
    },
};

/// Replies match messages sent at most this long ago.
pub const MATCH_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Words that opt a number out of a sender's texts in Canada.
pub const OPT_OUT_WORDS: [&str; 10] = [
    "ARRET",
    "CANCEL",
    "END",
    "OPT-OUT",
    "OPTOUT",
    "QUIT",
    "REMOVE",
    "STOP",
    "TD",
    "UNSUBSCRIBE",
];
pub const OPT_IN_WORDS: [&str; 2] = ["START", "UNSTOP"];
pub const HELP_WORDS: [&str; 1] = ["HELP"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

/// The carrier keyword a reply is, if the whole reply is one ("Stop.", "arrêt" count).
pub fn keyword(body: &str) -> Option<Keyword> {
    let word: String = body
        .trim()
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_uppercase)
        .collect::<String>()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned();
    if OPT_OUT_WORDS.contains(&word.as_str()) {
        Some(Keyword::OptOut)
    } else if OPT_IN_WORDS.contains(&word.as_str()) {
        Some(Keyword::OptIn)
    } else if HELP_WORDS.contains(&word.as_str()) {
        Some(Keyword::Help)
    } else {
        None
    }
}

/// What became of one inbound SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// No clinic sends from the number it was sent to.
    NoClinic,
    Keyword(Keyword),
    /// No message to this number from this clinic in the last 30 days.
    NoMatch,
    /// The appointment is `Unclear`; `auto_reply` unless the patient opted out.
    Unclear {
        message_id: MessageId,
        auto_reply: bool,
    },
    /// Handled before: a repeated delivery.
    Duplicate,
    /// Another delivery is handling it right now.
    InProgress,
}

pub struct ReplyHandler {
    pub clinics: Arc<dyn ClinicStore>,
    /// The clinic an SMS was sent to, by its number, cached for a minute.
    pub profiles: Arc<ClinicCache>,
    /// The clinics' keys: the patient's number is looked up by its tag.
    pub keyring: Arc<ClinicKeyring>,
    pub messages: Arc<dyn MessageStore>,
    /// Inbound SMS, and the one write of a reply to a message.
    pub inbound: Arc<dyn InboundLog>,
    pub sms: Arc<dyn SmsSender>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

impl ReplyHandler {
    /// Handles one inbound SMS. An error is transient (retrying can fix it): the caller
    /// fails the invocation so that Lambda retries, and the retry does only what is left.
    ///
    /// A reply waits for four AWS round trips: the claim of the SMS, the message it answers
    /// and the SMS service's opt-out, together; one write of the status, the day's
    /// auto-reply (the clinic's STOP list checked in it), the progress and the audit entry;
    /// the auto-reply; the finish.
    pub async fn handle(&self, sms: &InboundSms) -> Result<ReplyOutcome, DependencyError> {
        let now = self.clock.now();
        let Some(clinic) = self.profiles.find_by_sms_number(&sms.to).await? else {
            return Ok(ReplyOutcome::NoClinic);
        };
        let from = self.keyring.key(&clinic.id).await?.number_tag(&sms.from);
        let word = keyword(&sms.body);
        // STOP and START need neither the message nor the opt-outs.
        let answers = !matches!(word, Some(Keyword::OptOut | Keyword::OptIn));
        let (claim, matched, opted_out_at_sms_service) = join3(
            self.inbound.claim_inbound(&sms.inbound_message_id, now),
            async {
                match answers {
                    true => self.message_replied_to(&clinic, &from, sms).await,
                    false => Ok(None),
                }
            },
            async {
                match answers {
                    true => self.sms.is_opted_out(&sms.from).await,
                    false => Ok(false),
                }
            },
        )
        .await;
        let progress = match claim? {
            InboundClaim::Mine(progress) => progress,
            InboundClaim::Done => return Ok(ReplyOutcome::Duplicate),
            InboundClaim::Busy => return Ok(ReplyOutcome::InProgress),
        };
        let matched = matched?;
        if let Some(word) = word {
            match word {
                Keyword::OptOut => self.clinics.set_opted_out(&clinic.id, &from, true).await?,
                Keyword::OptIn => self.clinics.set_opted_out(&clinic.id, &from, false).await?,
                // Answered for the patients the clinic texts, once a day at most.
                Keyword::Help => {
                    if let Some(matched) = &matched {
                        let help = AutoReply::Help;
                        let opted_out = opted_out_at_sms_service?;
                        if self
                            .claim_answer(&clinic, &from, sms, opted_out, help)
                            .await?
                        {
                            self.answer(&clinic, &from, sms, matched, help).await?;
                        }
                    }
                }
            }
            let outcome = format!("{word:?}").to_lowercase();
            let entry = self.audit_entry(&clinic, sms, None, &outcome);
            join(
                self.audit.record(&entry),
                self.inbound.finish_inbound(&sms.inbound_message_id),
            )
            .await
            .1?;
            return Ok(ReplyOutcome::Keyword(word));
        }
        let Some(matched) = matched else {
            self.inbound.finish_inbound(&sms.inbound_message_id).await?;
            return Ok(ReplyOutcome::NoMatch);
        };
        let claimed = match progress.status_set {
            false => {
                // An opt-out that could not be asked holds the auto-reply back only: the
                // status is set all the same, and the retry answers.
                let auto_reply =
                    matches!(opted_out_at_sms_service, Ok(false)).then_some(AutoReply::Unclear);
                self.record_unclear(&clinic, &from, sms, &matched, auto_reply, now)
                    .await?
            }
            // A retry after the status was set: the auto-reply is still to claim.
            true => {
                let opted_out = !matches!(opted_out_at_sms_service, Ok(false));
                self.claim_answer(&clinic, &from, sms, opted_out, AutoReply::Unclear)
                    .await?
            }
        };
        opted_out_at_sms_service?;
        if claimed {
            self.answer(&clinic, &from, sms, &matched, AutoReply::Unclear)
                .await?;
        }
        self.inbound.finish_inbound(&sms.inbound_message_id).await?;
        Ok(ReplyOutcome::Unclear {
            message_id: matched.message_id,
            auto_reply: claimed,
        })
    }

    /// The reply's one write: the appointment `Unclear`, the day's `auto_reply` claimed
    /// unless the clinic's STOP list has the number, the progress, the audit entry. Whether
    /// the auto-reply may go.
    async fn record_unclear(
        &self,
        clinic: &Clinic,
        from: &NumberTag,
        sms: &InboundSms,
        matched: &MessageMatch,
        auto_reply: Option<AutoReply>,
        now: jiff::Timestamp,
    ) -> Result<bool, DependencyError> {
        let audit = self.audit_entry(clinic, sms, Some(matched), "unclear");
        let recorded = self
            .inbound
            .record_unclear(&UnclearReply {
                inbound_id: &sms.inbound_message_id,
                clinic: &clinic.id,
                appointment: &matched.appointment_id,
                number: from,
                auto_reply,
                at: now,
                since: now - AutoReply::INTERVAL,
                audit: &audit,
            })
            .await?;
        if !recorded.status_set {
            // Deleted after the message went: retrying cannot bring it back, so the reply
            // is still answered.
            tracing::warn!(
                inbound_message_id = %sms.inbound_message_id,
                message_id = %matched.message_id,
                "the replied-to appointment is gone; no status set"
            );
        }
        if recorded.auto_reply == AutoReplyClaim::TooSoon {
            tracing::info!(
                inbound_message_id = %sms.inbound_message_id,
                "auto-reply held back: one a day to a number"
            );
        }
        Ok(recorded.auto_reply == AutoReplyClaim::Claimed)
    }

    /// The message `sms` answers, among the clinic's messages to its number in the match
    /// window: the one whose SMS the carrier says it replies to
    /// (`previousPublishedMessageId`), else the latest. A message id of another number's or
    /// another clinic's SMS matches nothing here, so it cannot steer a reply.
    async fn message_replied_to(
        &self,
        clinic: &Clinic,
        from: &NumberTag,
        sms: &InboundSms,
    ) -> Result<Option<MessageMatch>, DependencyError> {
        let since = self.clock.now() - MATCH_WINDOW;
        let recent = self
            .messages
            .recent_messages_to(&clinic.id, from, since)
            .await?;
        let named = sms.previous_published_message_id.as_deref().and_then(|id| {
            recent
                .iter()
                .find(|message| message.sent_as.as_deref() == Some(id))
        });
        Ok(named.or(recent.first()).cloned())
    }

    /// Claims the day's `reply` to the patient's number for this inbound SMS, unless the
    /// number is opted out (of the SMS service, as asked already, or of the clinic's
    /// texts) or one went to it for another inbound SMS in the last [`AutoReply::INTERVAL`]:
    /// whether it may go.
    async fn claim_answer(
        &self,
        clinic: &Clinic,
        from: &NumberTag,
        sms: &InboundSms,
        opted_out_at_sms_service: bool,
        reply: AutoReply,
    ) -> Result<bool, DependencyError> {
        if opted_out_at_sms_service || self.clinics.is_opted_out(&clinic.id, from).await? {
            return Ok(false);
        }
        let now = self.clock.now();
        let claimed = self
            .clinics
            .claim_auto_reply(
                &clinic.id,
                from,
                reply,
                &sms.inbound_message_id,
                now,
                now - AutoReply::INTERVAL,
            )
            .await?;
        if !claimed {
            tracing::info!(
                inbound_message_id = %sms.inbound_message_id,
                "auto-reply held back: one a day to a number"
            );
        }
        Ok(claimed)
    }

    /// Sends the clinic's claimed `reply` back to the patient. Not sent: the day's answer
    /// goes back, for this SMS's retry or the next reply. Sent: the SMS's finish, the next
    /// write, records it (a retry finds the SMS done).
    async fn answer(
        &self,
        clinic: &Clinic,
        from: &NumberTag,
        sms: &InboundSms,
        matched: &MessageMatch,
        reply: AutoReply,
    ) -> Result<(), DependencyError> {
        let text = match reply {
            AutoReply::Unclear => clinic.unclear_reply_in(matched.language),
            AutoReply::Help => clinic.help_reply_in(matched.language),
        };
        let sent = self
            .sms
            .send(&OutboundSms {
                to: sms.from.clone(),
                from: clinic.sms_number.clone(),
                body: text.to_owned(),
            })
            .await;
        if let Err(error) = sent {
            self.clinics
                .release_auto_reply(&clinic.id, from, reply, &sms.inbound_message_id)
                .await?;
            return Err(error);
        }
        Ok(())
    }

    /// The audit trail keeps ids and the outcome; never the reply's words or numbers.
    fn audit_entry(
        &self,
        clinic: &Clinic,
        sms: &InboundSms,
        message: Option<&MessageMatch>,
        outcome: &str,
    ) -> AuditEntry {
        let mut entry = AuditEntry::new(clinic.id.clone(), self.clock.now(), "reply", outcome);
        entry.message_id = message.map(|matched| matched.message_id.clone());
        entry.appointment_id = message.map(|matched| matched.appointment_id.clone());
        entry.reference = Some(sms.inbound_message_id.clone());
        entry
    }
}

#[cfg(test)]
mod tests;
