//! The carrier, as SNS's delivery logs would tell of it: for each SMS the emulator took, a
//! SUCCESS receipt (FAILURE, unreachable, for the numbers the demo data marks so), fed to
//! the real `delivery-status` handler in the CloudWatch Logs event a subscription filter
//! delivers.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry, LogsEvent};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD},
};
use delivery_status::DeliveryStatusFunction;
use domain::delivery_status::ReceiptCounts;
use serde::Deserialize;

/// One SMS SNS took, as the emulator kept it.
#[derive(Debug, Deserialize)]
struct Published {
    message_id: String,
    phone_number: String,
}

pub struct LocalCarrier {
    endpoint: String,
    http: reqwest::Client,
    /// Numbers whose receipts say FAILURE: the phone is unreachable.
    unreachable: BTreeSet<String>,
    answered: BTreeSet<String>,
    /// The last batch fed, to feed again as CloudWatch Logs may.
    last: Option<serde_json::Value>,
}

impl LocalCarrier {
    /// A carrier for the SMS published from now on (the emulator's earlier ones are not
    /// this run's).
    pub async fn starting_now(
        endpoint: &str,
        unreachable: impl IntoIterator<Item = String>,
    ) -> Result<Self> {
        let mut carrier = Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            unreachable: unreachable.into_iter().collect(),
            answered: BTreeSet::new(),
            last: None,
        };
        carrier.answered = carrier
            .published()
            .await?
            .into_iter()
            .map(|sms| sms.message_id)
            .collect();
        Ok(carrier)
    }

    /// From now on, SMS to `number` (E.164) fail: the phone is unreachable.
    pub fn mark_unreachable(&mut self, number: &str) {
        self.unreachable.insert(number.to_owned());
    }

    async fn published(&self) -> Result<Vec<Published>> {
        self.http
            .get(format!("{}/local/published-sms", self.endpoint))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("the emulator's published SMS")?
            .json()
            .await
            .context("the emulator's published SMS")
    }

    /// Feeds one receipt for each SMS published since the last call, in one batch.
    pub async fn deliver(&mut self, function: &DeliveryStatusFunction) -> Result<ReceiptCounts> {
        let published = self.published().await?;
        let now = jiff::Timestamp::now();
        let new: Vec<Published> = published
            .into_iter()
            .filter(|sms| self.answered.insert(sms.message_id.clone()))
            .collect();
        let lines: Vec<LogEntry> = new
            .iter()
            .map(|sms| {
                let mut entry = LogEntry::default();
                entry.id = sms.message_id.clone();
                entry.timestamp = now.as_millisecond();
                entry.message = self.receipt(sms, now);
                entry
            })
            .collect();
        if lines.is_empty() {
            return Ok(ReceiptCounts::default());
        }
        let mut data = LogData::default();
        data.owner = "000000000000".into();
        data.log_group = "sns/ca-central-1/000000000000/DirectPublishToPhoneNumber".into();
        data.log_stream = "local".into();
        data.subscription_filters = vec!["local-delivery-status".into()];
        data.message_type = "DATA_MESSAGE".into();
        data.log_events = lines;
        let mut event = LogsEvent::default();
        event.aws_logs.data = data;
        let mut event = serde_json::to_value(&event).context("a CloudWatch Logs event")?;
        // The crate writes `data` in unpadded base64 but reads it padded, as CloudWatch Logs
        // sends it: pad it.
        let unpadded = event["awslogs"]["data"].as_str().unwrap_or_default();
        let gzipped = STANDARD_NO_PAD
            .decode(unpadded)
            .context("the crate's own base64")?;
        event["awslogs"]["data"] = STANDARD.encode(gzipped).into();
        self.last = Some(event.clone());
        function
            .handle(event)
            .await
            .map_err(|error| anyhow::anyhow!(error))
    }

    /// Feeds the last batch again, as it was: the same receipts twice.
    pub async fn deliver_again(&self, function: &DeliveryStatusFunction) -> Result<ReceiptCounts> {
        let event = self.last.clone().context("no batch fed yet")?;
        function
            .handle(event)
            .await
            .map_err(|error| anyhow::anyhow!(error))
    }

    /// The log line SNS writes for `sms`.
    fn receipt(&self, sms: &Published, at: jiff::Timestamp) -> String {
        let (status, response) = if self.unreachable.contains(&sms.phone_number) {
            ("FAILURE", "Phone is currently unreachable/unavailable")
        } else {
            ("SUCCESS", "Message has been accepted by phone carrier")
        };
        serde_json::json!({
            "notification": {
                "messageId": sms.message_id,
                "timestamp": at.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            },
            "delivery": {
                "destination": sms.phone_number,
                "providerResponse": response,
                "smsType": "Transactional",
                "numberOfMessageParts": 1,
                "dwellTimeMs": 200,
            },
            "status": status,
        })
        .to_string()
    }
}
