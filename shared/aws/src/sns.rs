//! SMS through Amazon SNS: direct Publish to a phone number.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::sdk_failure;
use domain::{
    error::DependencyError,
    phone::PhoneNumber,
    ports::{OutboundSms, SmsReceipt, SmsSender},
};

#[derive(Debug, Clone)]
pub struct SnsSmsSender {
    client: aws_sdk_sns::Client,
}

impl SnsSmsSender {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, DependencyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|_| DependencyError::new("sns", "Publish", "InvalidAttribute"))
}

#[async_trait]
impl SmsSender for SnsSmsSender {
    async fn send(&self, sms: &OutboundSms) -> Result<SmsReceipt, DependencyError> {
        let output = self
            .client
            .publish()
            .phone_number(sms.to.as_e164())
            .message(&sms.body)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?)
            .message_attributes(
                "AWS.MM.SMS.OriginationNumber",
                string_attribute(sms.from.as_e164())?,
            )
            .send()
            .await
            .map_err(sdk_failure("sns", "Publish"))?;
        let provider_message_id = output
            .message_id
            .ok_or_else(|| DependencyError::new("sns", "Publish", "NoMessageId"))?;
        Ok(SmsReceipt {
            provider_message_id,
        })
    }

    async fn is_opted_out(&self, number: &PhoneNumber) -> Result<bool, DependencyError> {
        let output = self
            .client
            .check_if_phone_number_is_opted_out()
            .phone_number(number.as_e164())
            .send()
            .await
            .map_err(sdk_failure("sns", "CheckIfPhoneNumberIsOptedOut"))?;
        Ok(output.is_opted_out)
    }
}
