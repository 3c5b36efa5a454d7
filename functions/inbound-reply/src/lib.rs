//! The `inbound-reply` function: patients' SMS replies, delivered by SNS.

use aws::{AwsClients, config::Config, wiring::OnAws};
use aws_lambda_events::sns::SnsEvent;
use domain::{
    inbound_sms::InboundSms,
    replies::{ReplyHandler, ReplyOutcome},
};

pub struct InboundReply {
    replies: ReplyHandler,
}

impl OnAws for InboundReply {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        Self::new(ReplyHandler::on_aws(config, clients))
    }
}

/// What became of each record of one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records handled (or found handled before).
    pub handled: usize,
    /// Malformed records: acknowledged, since retrying cannot fix them.
    pub malformed: usize,
    /// Records that met a transient failure: the invocation fails so that Lambda retries.
    pub failed: usize,
    /// Records another delivery is handling right now: retried too, in case it stops
    /// half-way (the retry then finds them done, or takes them over).
    pub busy: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("{failed} inbound SMS could not be handled now; retry")]
pub struct RetryLater {
    pub failed: usize,
}

impl InboundReply {
    pub fn new(replies: ReplyHandler) -> Self {
        Self { replies }
    }

    /// Handles every record; a malformed one is logged (without its content) and skipped,
    /// a transient failure of one does not stop the others.
    pub async fn handle(&self, event: SnsEvent) -> Outcome {
        let mut outcome = Outcome::default();
        for record in event.records {
            let sns_message_id = record.sns.message_id;
            let sms = match InboundSms::parse(&record.sns.message) {
                Ok(sms) => sms,
                Err(error) => {
                    outcome.malformed += 1;
                    tracing::warn!(%sns_message_id, %error, "malformed inbound record acknowledged");
                    continue;
                }
            };
            match self.replies.handle(&sms).await {
                Ok(ReplyOutcome::InProgress) => outcome.busy += 1,
                Ok(result) => {
                    outcome.handled += 1;
                    tracing::info!(
                        %sns_message_id,
                        inbound_message_id = %sms.inbound_message_id,
                        outcome = outcome_name(&result),
                        "inbound reply"
                    );
                }
                Err(error) => {
                    outcome.failed += 1;
                    tracing::error!(
                        %sns_message_id,
                        inbound_message_id = %sms.inbound_message_id,
                        service = error.service,
                        operation = error.operation,
                        code = %error.code,
                        "inbound reply failed; it will be retried"
                    );
                }
            }
        }
        outcome
    }

    /// For the Lambda runtime: an event with a transient failure fails, so that Lambda
    /// retries it and, after its retries, sends it to the on-failure destination.
    pub async fn handle_event(&self, event: SnsEvent) -> Result<Outcome, RetryLater> {
        let outcome = self.handle(event).await;
        match outcome.failed + outcome.busy {
            0 => Ok(outcome),
            failed => Err(RetryLater { failed }),
        }
    }
}

fn outcome_name(outcome: &ReplyOutcome) -> &'static str {
    match outcome {
        ReplyOutcome::NoClinic => "no_clinic",
        ReplyOutcome::Keyword(_) => "keyword",
        ReplyOutcome::NoMatch => "no_match",
        ReplyOutcome::Unclear { .. } => "unclear",
        ReplyOutcome::Duplicate => "duplicate",
        ReplyOutcome::InProgress => "in_progress",
    }
}
