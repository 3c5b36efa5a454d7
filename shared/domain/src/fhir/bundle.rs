//! FHIR `Bundle`s of type `batch` and `transaction` as the EMR posts them, and the response
//! bundle that answers each entry.

use serde::{Deserialize, Serialize};

use super::outcome::OperationOutcome;

/// The most entries one bundle may carry: larger loads go through the bulk import.
pub const MAX_BUNDLE_ENTRIES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleType {
    Batch,
    Transaction,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    #[serde(rename = "type")]
    pub bundle_type: Option<BundleType>,
    #[serde(default)]
    pub entry: Vec<BundleEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    pub full_url: Option<String>,
    /// Kept as JSON: its type is read from `resourceType`.
    pub resource: Option<serde_json::Value>,
    pub request: Option<EntryRequest>,
}

impl std::fmt::Debug for BundleEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleEntry")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EntryRequest {
    pub method: Option<String>,
    pub url: Option<String>,
}

/// The answer to one entry (FHIR's `Bundle.entry.response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryResponse {
    /// The HTTP status and its phrase, e.g. `201 Created`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OperationOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseEntry {
    pub response: EntryResponse,
}

/// A `batch-response` or `transaction-response` bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseBundle {
    resource_type: &'static str,
    #[serde(rename = "type")]
    pub bundle_type: &'static str,
    pub entry: Vec<ResponseEntry>,
}

impl ResponseBundle {
    pub fn new(bundle_type: &'static str, entry: Vec<ResponseEntry>) -> ResponseBundle {
        ResponseBundle {
            resource_type: "Bundle",
            bundle_type,
            entry,
        }
    }
}

/// An HTTP status with its reason phrase, as bundle responses write it.
pub fn status_line(status: u16) -> String {
    let phrase = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        502 => "Bad Gateway",
        _ => "",
    };
    format!("{status} {phrase}").trim_end().to_owned()
}
