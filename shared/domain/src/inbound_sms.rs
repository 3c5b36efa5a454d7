//! A patient's SMS reply as AWS End User Messaging delivers it inside an SNS message.

use std::fmt;

use serde::Deserialize;

use crate::phone::PhoneNumber;

/// The two-way SMS payload. The body is the patient's words, so `Debug` hides it and the
/// numbers.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSms {
    /// The patient's number.
    pub from: PhoneNumber,
    /// The clinic's number the patient replied to.
    pub to: PhoneNumber,
    pub body: String,
    pub inbound_message_id: String,
    pub previous_published_message_id: Option<String>,
}

impl fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSms")
            .field("inbound_message_id", &self.inbound_message_id)
            .finish_non_exhaustive()
    }
}

/// How long one delivery holds an inbound SMS before another delivery may take it over
/// (the holder crashed): longer than handling one SMS takes.
pub const INBOUND_CLAIM_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// What the system texts back by itself to a patient's SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReply {
    /// The clinic's unclear response, to a reply.
    Unclear,
    /// The clinic's HELP text, to HELP.
    Help,
}

impl AutoReply {
    /// At most one of each kind in this interval from a clinic to a patient's number: an
    /// auto-responder on a patient's phone answering ours must not start an endless paid
    /// exchange.
    pub const INTERVAL: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InboundSmsError {
    #[error("the SNS message is not a two-way SMS payload")]
    NotAPayload,
    #[error("the payload's {field} is missing or empty")]
    MissingField { field: &'static str },
    #[error("the payload's {field} is not a valid phone number")]
    BadNumber { field: &'static str },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    origination_number: Option<String>,
    destination_number: Option<String>,
    message_body: Option<String>,
    inbound_message_id: Option<String>,
    previous_published_message_id: Option<String>,
}

fn required(value: Option<String>, field: &'static str) -> Result<String, InboundSmsError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(InboundSmsError::MissingField { field })
}

impl InboundSms {
    /// Parses `Sns.Message`. Errors never carry the payload's content.
    pub fn parse(message: &str) -> Result<InboundSms, InboundSmsError> {
        let payload: Payload =
            serde_json::from_str(message).map_err(|_| InboundSmsError::NotAPayload)?;
        let number = |value: Option<String>, field| {
            PhoneNumber::parse(&required(value, field)?)
                .map_err(|_| InboundSmsError::BadNumber { field })
        };
        Ok(InboundSms {
            from: number(payload.origination_number, "originationNumber")?,
            to: number(payload.destination_number, "destinationNumber")?,
            body: payload.message_body.unwrap_or_default(),
            inbound_message_id: required(payload.inbound_message_id, "inboundMessageId")?,
            previous_published_message_id: payload
                .previous_published_message_id
                .filter(|id| !id.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "originationNumber": "+16045551234",
        "destinationNumber": "+12505550100",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": "Sentinel body text",
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": "wJ0sGLXe7tRFhrKGDgSbm9WbBQ6YzTL2"
    }"#;

    #[test]
    fn two_way_payload_is_parsed() {
        let sms = InboundSms::parse(SAMPLE).expect("valid payload");
        assert_eq!(sms.from.as_e164(), "+16045551234");
        assert_eq!(sms.to.as_e164(), "+12505550100");
        assert_eq!(
            sms.inbound_message_id,
            "cae173d2-66b9-564c-8309-21f858e9fb84"
        );
        assert_eq!(sms.body, "Sentinel body text");
    }

    #[test]
    fn debug_hides_body_and_numbers() {
        let shown = format!("{:?}", InboundSms::parse(SAMPLE).unwrap());
        assert!(!shown.contains("Sentinel"));
        assert!(!shown.contains("5551234"));
    }

    #[test]
    fn malformed_payloads_are_refused_without_echoing_them() {
        assert_eq!(
            InboundSms::parse("Sentinel not json"),
            Err(InboundSmsError::NotAPayload)
        );
        let no_id = SAMPLE.replace("\"inboundMessageId\"", "\"other\"");
        assert_eq!(
            InboundSms::parse(&no_id),
            Err(InboundSmsError::MissingField {
                field: "inboundMessageId"
            })
        );
        let bad_number = SAMPLE.replace("+16045551234", "Sentinel");
        let error = InboundSms::parse(&bad_number).unwrap_err();
        assert_eq!(
            error,
            InboundSmsError::BadNumber {
                field: "originationNumber"
            }
        );
        assert!(!error.to_string().contains("Sentinel"));
    }
}
