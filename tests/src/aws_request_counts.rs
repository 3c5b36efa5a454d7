//! The AWS requests the emulator received, counted by service and operation
//! (`DynamoDB.Query 1, SNS.Publish 1`), from its request recorder.

use std::{collections::BTreeMap, fmt};

use anyhow::Result;
use local_stack::emulator::{RecordedRequest, Recorder};

/// The emulator's request recorder, counting what it recorded by operation.
#[derive(Debug, Clone)]
pub struct RequestRecorder(Recorder);

impl RequestRecorder {
    pub fn new(endpoint: &str) -> Self {
        Self(Recorder::new(endpoint))
    }

    /// Forgets what was recorded and records from now on.
    pub async fn restart(&self) -> Result<()> {
        self.0.reset().await?;
        self.0.start().await
    }

    pub async fn stop(&self) -> Result<()> {
        self.0.stop().await
    }

    /// The requests recorded since the last `restart`.
    pub async fn counts(&self) -> Result<OperationCounts> {
        let mut counts = OperationCounts::default();
        for request in self.0.recorded_requests().await? {
            *counts.0.entry(operation(&request)).or_default() += 1;
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

/// The SigV4 scope names the service: `Credential=<key>/<date>/<region>/<service>/aws4_request`,
/// in the Authorization header or, for a presigned URL, the query string.
fn service(request: &RecordedRequest) -> String {
    let credential = request
        .header("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(str::to_owned)
        .or_else(|| {
            query(request)
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

fn path_and_query(request: &RecordedRequest) -> (&str, &str) {
    let after_host = request
        .url
        .split_once("://")
        .map_or(request.url.as_str(), |(_, rest)| rest);
    let path = after_host
        .find('/')
        .map_or("/", |slash| &after_host[slash..]);
    path.split_once('?').unwrap_or((path, ""))
}

fn query(request: &RecordedRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(path_and_query(request).1.as_bytes())
        .into_owned()
        .collect()
}

fn operation(request: &RecordedRequest) -> String {
    let service = service(request);
    // JSON protocols (DynamoDB, KMS): `X-Amz-Target: DynamoDB_20120810.Query`.
    if let Some(target) = request.header("x-amz-target") {
        let name = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}.{name}");
    }
    if service == "S3" {
        return format!("S3.{}", s3_operation(request));
    }
    // Query protocol (SNS): `Action=Publish&…` in the form body.
    let action = form_urlencoded::parse(request.body_text().unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "Action")
        .map(|(_, value)| value.into_owned());
    format!(
        "{service}.{}",
        action.unwrap_or_else(|| request.method.clone())
    )
}

/// S3's REST API: the operation follows from the method, whether the path names an
/// object (path style: `/bucket/key`) and a few query flags.
fn s3_operation(request: &RecordedRequest) -> String {
    let (path, _) = path_and_query(request);
    let query = query(request);
    let has = |flag: &str| query.iter().any(|(name, _)| name == flag);
    let object = path.trim_start_matches('/').contains('/');
    match (request.method.as_str(), object) {
        ("HEAD", true) => "HeadObject",
        ("GET", true) => "GetObject",
        ("PUT", true) if request.header("x-amz-copy-source").is_some() => "CopyObject",
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

#[cfg(test)]
mod tests {
    use base64::Engine;

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
        assert_eq!(operation(&query), "DynamoDB.Query");
        let key = recorded(serde_json::json!({
            "headers": {
                "authorization": format!("{SCOPE}/kms/aws4_request"),
                "x-amz-target": "TrentService.GenerateDataKey"
            },
            "method": "POST", "url": "http://127.0.0.1:5000/"
        }));
        assert_eq!(operation(&key), "KMS.GenerateDataKey");
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
        assert_eq!(operation(&publish), "SNS.Publish");
    }

    #[test]
    fn s3_requests_are_named_by_method_and_path() {
        let s3 = |method: &str, url: &str| {
            operation(&recorded(serde_json::json!({
                "headers": {"Authorization": format!("{SCOPE}/s3/aws4_request")},
                "method": method, "url": url
            })))
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
        assert_eq!(operation(&presigned), "S3.PutObject");
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
