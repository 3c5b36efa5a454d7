//! The AWS requests the emulator received, counted by service and operation
//! (`DynamoDB.Query 1, SNS.Publish 1`), from its request recorder.

use std::{collections::BTreeMap, fmt};

use anyhow::{Context, Result};
use base64::Engine;
use serde::Deserialize;

/// Controls the emulator's request recorder (moto's `/moto-api/recorder/`).
#[derive(Debug, Clone)]
pub struct RequestRecorder {
    endpoint: String,
    http: reqwest::Client,
}

impl RequestRecorder {
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
            .with_context(|| format!("the emulator's recorder: {action}"))?;
        Ok(())
    }

    /// Forgets what was recorded and records from now on.
    pub async fn restart(&self) -> Result<()> {
        self.post("reset-recording").await?;
        self.post("start-recording").await
    }

    pub async fn stop(&self) -> Result<()> {
        self.post("stop-recording").await
    }

    /// The requests recorded since the last `restart`.
    pub async fn counts(&self) -> Result<OperationCounts> {
        let text = self
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
            .await?;
        let mut counts = OperationCounts::default();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let request: RecordedRequest =
                serde_json::from_str(line).context("a recorded request")?;
            *counts.0.entry(request.operation()).or_default() += 1;
        }
        Ok(counts)
    }
}

/// Requests per `Service.Operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationCounts(pub BTreeMap<String, usize>);

impl OperationCounts {
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    pub fn of(&self, operation: &str) -> usize {
        self.0.get(operation).copied().unwrap_or_default()
    }

    pub fn of_service(&self, service: &str) -> usize {
        self.0
            .iter()
            .filter(|(operation, _)| operation.split('.').next() == Some(service))
            .map(|(_, count)| count)
            .sum()
    }
}

impl fmt::Display for OperationCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(operation, count)| format!("{operation} {count}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, Deserialize)]
struct RecordedRequest {
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_encoded: bool,
}

impl RecordedRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn body_text(&self) -> String {
        let body = self.body.clone().unwrap_or_default();
        if self.body_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(&body)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default()
        } else {
            body
        }
    }

    /// The SigV4 scope names the service: `Credential=<key>/<date>/<region>/<service>/aws4_request`,
    /// in the Authorization header or, for a presigned URL, the query string.
    fn service(&self) -> String {
        let credential = self
            .header("authorization")
            .and_then(|auth| auth.split("Credential=").nth(1))
            .map(str::to_owned)
            .or_else(|| {
                self.query()
                    .into_iter()
                    .find(|(name, _)| name == "X-Amz-Credential")
                    .map(|(_, value)| value)
            })
            .unwrap_or_default();
        let service = credential.split('/').nth(3).unwrap_or("unknown");
        match service {
            "dynamodb" => "DynamoDB".to_owned(),
            "kms" => "KMS".to_owned(),
            "sns" => "SNS".to_owned(),
            "s3" => "S3".to_owned(),
            other => other.to_owned(),
        }
    }

    fn path_and_query(&self) -> (&str, &str) {
        let after_host = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        let path = after_host
            .find('/')
            .map_or("/", |slash| &after_host[slash..]);
        path.split_once('?').unwrap_or((path, ""))
    }

    fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.path_and_query().1.as_bytes())
            .into_owned()
            .collect()
    }

    fn operation(&self) -> String {
        let service = self.service();
        // JSON protocols (DynamoDB, KMS): `X-Amz-Target: DynamoDB_20120810.Query`.
        if let Some(target) = self.header("x-amz-target") {
            let name = target.rsplit('.').next().unwrap_or(target);
            return format!("{service}.{name}");
        }
        if service == "S3" {
            return format!("S3.{}", self.s3_operation());
        }
        // Query protocol (SNS): `Action=Publish&…` in the form body.
        let action = form_urlencoded::parse(self.body_text().as_bytes())
            .find(|(name, _)| name == "Action")
            .map(|(_, value)| value.into_owned());
        format!(
            "{service}.{}",
            action.unwrap_or_else(|| self.method.clone())
        )
    }

    /// S3's REST API: the operation follows from the method, whether the path names an
    /// object (path style: `/bucket/key`) and a few query flags.
    fn s3_operation(&self) -> String {
        let (path, _) = self.path_and_query();
        let query = self.query();
        let has = |flag: &str| query.iter().any(|(name, _)| name == flag);
        let object = path.trim_start_matches('/').contains('/');
        match (self.method.as_str(), object) {
            ("HEAD", true) => "HeadObject",
            ("GET", true) => "GetObject",
            ("PUT", true) if self.header("x-amz-copy-source").is_some() => "CopyObject",
            ("PUT", true) => "PutObject",
            ("DELETE", true) => "DeleteObject",
            ("POST", false) if has("delete") => "DeleteObjects",
            ("GET", false) if has("list-type") => "ListObjectsV2",
            ("HEAD", false) => "HeadBucket",
            (method, true) => return format!("{method}Object"),
            (method, false) => return format!("{method}Bucket"),
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(json: serde_json::Value) -> RecordedRequest {
        serde_json::from_value(json).unwrap()
    }

    const SCOPE: &str = "AWS4-HMAC-SHA256 Credential=testing/20261125/ca-central-1";

    #[test]
    fn json_protocol_requests_are_named_by_their_target() {
        let query = recorded(serde_json::json!({
            "headers": {
                "Authorization": format!("{SCOPE}/dynamodb/aws4_request, SignedHeaders=host"),
                "X-Amz-Target": "DynamoDB_20120810.Query"
            },
            "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{}"
        }));
        assert_eq!(query.operation(), "DynamoDB.Query");
        let key = recorded(serde_json::json!({
            "headers": {
                "authorization": format!("{SCOPE}/kms/aws4_request"),
                "x-amz-target": "TrentService.GenerateDataKey"
            },
            "method": "POST", "url": "http://127.0.0.1:5000/"
        }));
        assert_eq!(key.operation(), "KMS.GenerateDataKey");
    }

    #[test]
    fn query_protocol_requests_are_named_by_their_action_also_when_encoded() {
        let body = base64::engine::general_purpose::STANDARD
            .encode("Action=Publish&Version=2010-03-31&PhoneNumber=%2B16045551234");
        let publish = recorded(serde_json::json!({
            "headers": {"Authorization": format!("{SCOPE}/sns/aws4_request")},
            "method": "POST", "url": "http://127.0.0.1:5000/",
            "body": body, "body_encoded": true
        }));
        assert_eq!(publish.operation(), "SNS.Publish");
    }

    #[test]
    fn s3_requests_are_named_by_method_and_path() {
        let s3 = |method: &str, url: &str| {
            recorded(serde_json::json!({
                "headers": {"Authorization": format!("{SCOPE}/s3/aws4_request")},
                "method": method, "url": url
            }))
            .operation()
        };
        assert_eq!(
            s3("HEAD", "http://127.0.0.1:5000/bucket/attachments/c/a1"),
            "S3.HeadObject"
        );
        assert_eq!(
            s3(
                "PUT",
                "http://127.0.0.1:5000/bucket/attachments/c/a1?x-id=PutObject"
            ),
            "S3.PutObject"
        );
        assert_eq!(
            s3("GET", "http://127.0.0.1:5000/bucket?list-type=2"),
            "S3.ListObjectsV2"
        );
        let presigned = recorded(serde_json::json!({
            "headers": {},
            "method": "PUT",
            "url": "http://127.0.0.1:5000/bucket/k?X-Amz-Credential=testing%2F20261125%2Fca-central-1%2Fs3%2Faws4_request"
        }));
        assert_eq!(presigned.operation(), "S3.PutObject");
    }

    #[test]
    fn counts_print_per_operation_and_add_up() {
        let counts = OperationCounts(BTreeMap::from([
            ("DynamoDB.Query".to_owned(), 1),
            ("DynamoDB.TransactWriteItems".to_owned(), 2),
            ("SNS.Publish".to_owned(), 1),
        ]));
        assert_eq!(
            counts.to_string(),
            "DynamoDB.Query 1, DynamoDB.TransactWriteItems 2, SNS.Publish 1"
        );
        assert_eq!(counts.total(), 4);
        assert_eq!(counts.of_service("DynamoDB"), 3);
        assert_eq!(counts.of("S3.HeadObject"), 0);
    }
}
