//! The local AWS emulator (moto server): SDK settings that reach it, and its request
//! recorder, from which the SMS that were "sent" are read back.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use base64::Engine;
use serde::Deserialize;

/// The region the local stack runs in.
pub const REGION: &str = "ca-central-1";

/// SDK settings for the emulator at `endpoint`, with static test credentials.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .http_client(aws::https_client())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-emulator",
            )),
        )
        .build()
}

#[derive(Debug, Clone)]
pub struct Recorder {
    endpoint: String,
    http: reqwest::Client,
}

/// One request as the recorder keeps it.
#[derive(Debug, Deserialize)]
pub struct RecordedRequest {
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_encoded: bool,
}

/// One SMS published through SNS, as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedSms {
    pub phone_number: String,
    pub message: String,
    /// `AWS.SNS.SMS.SMSType`, `AWS.MM.SMS.OriginationNumber`, …
    pub attributes: HashMap<String, String>,
}

impl Recorder {
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, action: &str) -> Result<()> {
        self.http
            .post(format!("{}/moto-api/recorder/{action}", self.endpoint))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("the emulator's request recorder: {action}"))?;
        Ok(())
    }

    /// Starts recording (idempotent: recording already on stays on).
    pub async fn start(&self) -> Result<()> {
        self.post("start-recording").await
    }

    /// Forgets what was recorded (recording stays as it is).
    pub async fn reset(&self) -> Result<()> {
        self.post("reset-recording").await
    }

    pub async fn stop(&self) -> Result<()> {
        self.post("stop-recording").await
    }

    /// The recording: one JSON request a line.
    async fn recording(&self) -> Result<String> {
        Ok(self
            .http
            .get(format!(
                "{}/moto-api/recorder/download-recording",
                self.endpoint
            ))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("downloading the emulator's recording")?
            .text()
            .await?)
    }

    /// Every request recorded, in order.
    pub async fn recorded_requests(&self) -> Result<Vec<RecordedRequest>> {
        self.recording()
            .await?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).context("a recorded request"))
            .collect()
    }

    /// Every SMS published since recording started, in order.
    pub async fn published_sms(&self) -> Result<Vec<PublishedSms>> {
        Ok(self
            .recording()
            .await?
            .lines()
            .filter_map(|line| serde_json::from_str::<RecordedRequest>(line).ok())
            .filter_map(|request| request.published_sms())
            .collect())
    }
}

impl RecordedRequest {
    /// A header's value, whatever the case of its name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (the recorder keeps binary bodies base64-encoded).
    pub fn body_text(&self) -> Option<String> {
        let body = self.body.as_ref()?;
        if self.body_encoded {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .ok()?;
            String::from_utf8(bytes).ok()
        } else {
            Some(body.clone())
        }
    }

    fn published_sms(&self) -> Option<PublishedSms> {
        let body = self.body_text()?;
        if self
            .header("x-amz-target")
            .is_some_and(|target| target.ends_with(".Publish"))
        {
            return sms_from_json(&body);
        }
        sms_from_form(&body)
    }
}

/// SNS's JSON protocol.
fn sms_from_json(body: &str) -> Option<PublishedSms> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let attributes = value["MessageAttributes"]
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(name, attribute)| {
                    Some((name.clone(), attribute["StringValue"].as_str()?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(PublishedSms {
        phone_number: value["PhoneNumber"].as_str()?.to_owned(),
        message: value["Message"].as_str()?.to_owned(),
        attributes,
    })
}

/// SNS's query protocol: `Action=Publish&PhoneNumber=…&MessageAttributes.entry.N.Name=…`.
fn sms_from_form(body: &str) -> Option<PublishedSms> {
    let fields: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if fields.get("Action").map(String::as_str) != Some("Publish") {
        return None;
    }
    let attributes = (1..)
        .map_while(|n| {
            let name = fields.get(&format!("MessageAttributes.entry.{n}.Name"))?;
            let value = fields
                .get(&format!("MessageAttributes.entry.{n}.Value.StringValue"))
                .cloned()
                .unwrap_or_default();
            Some((name.clone(), value))
        })
        .collect();
    Some(PublishedSms {
        phone_number: fields.get("PhoneNumber")?.clone(),
        message: fields.get("Message")?.clone(),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_protocol_publish_is_read_with_its_attributes() {
        let body = "Action=Publish&Version=2010-03-31&PhoneNumber=%2B16045551234&Message=Hi+there\
                    &MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType\
                    &MessageAttributes.entry.1.Value.DataType=String\
                    &MessageAttributes.entry.1.Value.StringValue=Transactional";
        let sms = sms_from_form(body).expect("a publish");
        assert_eq!(sms.phone_number, "+16045551234");
        assert_eq!(sms.message, "Hi there");
        assert_eq!(sms.attributes["AWS.SNS.SMS.SMSType"], "Transactional");
    }

    #[test]
    fn other_actions_are_not_sms() {
        assert!(sms_from_form("Action=CreateTopic&Name=x").is_none());
    }
}
