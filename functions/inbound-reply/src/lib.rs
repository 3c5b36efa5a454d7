//! The `inbound-reply` function: patients' SMS replies, delivered by SNS.

use aws_lambda_events::sns::SnsEvent;
use direct_messages::inbound_sms::InboundSms;

#[derive(Debug, Default)]
pub struct InboundReply;

/// What became of each record of one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub parsed: usize,
    /// Malformed records: acknowledged, since retrying cannot fix them.
    pub malformed: usize,
}

impl InboundReply {
    pub fn new() -> Self {
        Self
    }

    pub async fn handle(&self, event: SnsEvent) -> Outcome {
        let mut outcome = Outcome::default();
        for record in event.records {
            match InboundSms::parse(&record.sns.message) {
                Ok(sms) => {
                    outcome.parsed += 1;
                    tracing::info!(
                        sns_message_id = %record.sns.message_id,
                        inbound_message_id = %sms.inbound_message_id,
                        "inbound reply received; matching replies is not built yet"
                    );
                }
                Err(error) => {
                    outcome.malformed += 1;
                    tracing::warn!(sns_message_id = %record.sns.message_id, %error, "malformed inbound record acknowledged");
                }
            }
        }
        outcome
    }
}
