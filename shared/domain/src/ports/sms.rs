//! Outbound SMS.

use std::fmt;

use async_trait::async_trait;

use crate::{error::DependencyError, phone::PhoneNumber};

/// One text message to a patient. The body may hold PHI (basic messages), so `Debug`
/// shows neither the number nor the text.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundSms {
    pub to: PhoneNumber,
    /// The clinic's origination number.
    pub from: PhoneNumber,
    pub body: String,
}

impl fmt::Debug for OutboundSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundSms")
            .field("chars", &self.body.chars().count())
            .finish_non_exhaustive()
    }
}

/// What the SMS service gave back for a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    pub provider_message_id: String,
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, sms: &OutboundSms) -> Result<SmsReceipt, DependencyError>;
    /// Whether the carrier or SMS service has this number opted out of texts.
    async fn is_opted_out(&self, number: &PhoneNumber) -> Result<bool, DependencyError>;
}
