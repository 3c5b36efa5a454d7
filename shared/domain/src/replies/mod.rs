//! Patients' SMS replies: one-way messaging. A reply marks the appointment of the message
//! it answers (the SMS the carrier names, else the latest) `Unclear` and gets the clinic's unclear response, once per inbound SMS however
//! often SNS delivers it. Carrier keywords opt the number out or in, and nothing else.

use std::sync::Arc;

use jiff::SignedDuration;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::{
    clinic_key::NumberTag,
    clinic_keyring::ClinicKeyring,
    error::DependencyError,
    ids::MessageId,
    inbound_sms::{AutoReply, InboundSms},
    model::{AuditEntry, Clinic},
    opt_outs,
    ports::{
        AppointmentStore, AuditLog, ClinicStore, Clock, InboundClaim, InboundLog, InboundProgress,
        MessageMatch, MessageStore, OutboundSms, SmsSender,
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
    /// The clinics' keys: the patient's number is looked up by its tag.
    pub keyring: Arc<ClinicKeyring>,
    pub messages: Arc<dyn MessageStore>,
    pub appointments: Arc<dyn AppointmentStore>,
    pub inbound: Arc<dyn InboundLog>,
    pub sms: Arc<dyn SmsSender>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

impl ReplyHandler {
    /// Handles one inbound SMS. An error is transient (retrying can fix it): the caller
    /// fails the invocation so that Lambda retries, and the retry does only what is left.
    pub async fn handle(&self, sms: &InboundSms) -> Result<ReplyOutcome, DependencyError> {
        let now = self.clock.now();
        let mut progress = match self
            .inbound
            .claim_inbound(&sms.inbound_message_id, now)
            .await?
        {
            InboundClaim::Mine(progress) => progress,
            InboundClaim::Done => return Ok(ReplyOutcome::Duplicate),
            InboundClaim::Busy => return Ok(ReplyOutcome::InProgress),
        };
        let Some(clinic) = self.clinics.find_clinic_by_sms_number(&sms.to).await? else {
            self.inbound.finish_inbound(&sms.inbound_message_id).await?;
            return Ok(ReplyOutcome::NoClinic);
        };
        let from = self.keyring.key(&clinic.id).await?.number_tag(&sms.from);
        if let Some(word) = keyword(&sms.body) {
            match word {
                Keyword::OptOut => self.clinics.set_opted_out(&clinic.id, &from, true).await?,
                Keyword::OptIn => self.clinics.set_opted_out(&clinic.id, &from, false).await?,
                Keyword::Help => {
                    // Answered for the patients the clinic texts, once a day at most.
                    let matched = self.message_replied_to(&clinic, &from, sms).await?;
                    if let Some(matched) = &matched {
                        let help = AutoReply::Help;
                        self.answer_once(&clinic, &from, sms, &mut progress, matched, help)
                            .await?;
                    }
                }
            }
            self.record(&clinic, sms, None, &format!("{word:?}").to_lowercase())
                .await;
            self.inbound.finish_inbound(&sms.inbound_message_id).await?;
            return Ok(ReplyOutcome::Keyword(word));
        }
        let Some(matched) = self.message_replied_to(&clinic, &from, sms).await? else {
            self.inbound.finish_inbound(&sms.inbound_message_id).await?;
            return Ok(ReplyOutcome::NoMatch);
        };
        if !progress.status_set {
            // `false`: the appointment was deleted after the message went. Retrying cannot
            // bring it back, so the reply is still answered.
            if !self
                .appointments
                .mark_unclear(&clinic.id, &matched.appointment_id, now)
                .await?
            {
                tracing::warn!(
                    inbound_message_id = %sms.inbound_message_id,
                    message_id = %matched.message_id,
                    "the replied-to appointment is gone; no status set"
                );
            }
            progress.status_set = true;
            self.inbound
                .record_progress(&sms.inbound_message_id, progress)
                .await?;
        }
        let auto_reply = self
            .answer_once(
                &clinic,
                &from,
                sms,
                &mut progress,
                &matched,
                AutoReply::Unclear,
            )
            .await?;
        self.record(&clinic, sms, Some(&matched), "unclear").await;
        self.inbound.finish_inbound(&sms.inbound_message_id).await?;
        Ok(ReplyOutcome::Unclear {
            message_id: matched.message_id,
            auto_reply,
        })
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

    /// Sends the clinic's `reply` back to the patient once per inbound SMS, unless they
    /// opted out or one was sent to their number in the last [`AutoReply::INTERVAL`];
    /// whether it was (or had been) sent. A retry that finds it
    /// sent asks nothing more.
    async fn answer_once(
        &self,
        clinic: &Clinic,
        from: &NumberTag,
        sms: &InboundSms,
        progress: &mut InboundProgress,
        matched: &MessageMatch,
        reply: AutoReply,
    ) -> Result<bool, DependencyError> {
        if progress.reply_sent {
            return Ok(true);
        }
        if opt_outs::is_opted_out(
            self.clinics.as_ref(),
            self.sms.as_ref(),
            &clinic.id,
            &sms.from,
            from,
        )
        .await?
        {
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
                message_id = %matched.message_id,
                "auto-reply held back: one a day to a number"
            );
            return Ok(false);
        }
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
            // Not sent: the day's answer goes back, for this SMS's retry or the next reply.
            self.clinics
                .release_auto_reply(&clinic.id, from, reply, &sms.inbound_message_id)
                .await?;
            return Err(error);
        }
        progress.reply_sent = true;
        self.inbound
            .record_progress(&sms.inbound_message_id, *progress)
            .await?;
        Ok(true)
    }

    /// The audit trail keeps ids and the outcome; never the reply's words or numbers.
    async fn record(
        &self,
        clinic: &Clinic,
        sms: &InboundSms,
        message: Option<&MessageMatch>,
        outcome: &str,
    ) {
        let mut entry = AuditEntry::new(clinic.id.clone(), self.clock.now(), "reply", outcome);
        entry.message_id = message.map(|matched| matched.message_id.clone());
        entry.appointment_id = message.map(|matched| matched.appointment_id.clone());
        entry.reference = Some(sms.inbound_message_id.clone());
        self.audit.record(&entry).await;
    }
}

#[cfg(test)]
mod tests;
