//! Files for secure messages: which types may be attached, how large and how many, where
//! they are kept, and what makes an uploaded file fit to send. Every attachment limit is
//! stated here.

use jiff::SignedDuration;
use serde::Deserialize;

use crate::{
    error::DomainError,
    ids::{AttachmentId, ClinicId},
};

/// The largest file a secure message may carry.
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
/// The same, as staff read it.
pub const MAX_ATTACHMENT_MB: u64 = MAX_ATTACHMENT_BYTES / (1024 * 1024);
/// Most files one secure message carries.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest file name kept (the name the patient sees).
pub const MAX_FILE_NAME_CHARS: usize = 200;
/// How long an upload URL works.
pub const UPLOAD_URL_LIFETIME: SignedDuration = SignedDuration::from_mins(15);
/// Longest content type echoed back in an error.
const MAX_SHOWN_CONTENT_TYPE: usize = 60;

/// The file types a clinic may attach: prescriptions, requisitions and results.
pub const ALLOWED_CONTENT_TYPES: [&str; 3] = ["application/pdf", "image/png", "image/jpeg"];

/// Checks a content type (parameters such as `; charset=` are ignored).
pub fn allowed_content_type(content_type: &str) -> Result<&'static str, DomainError> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    ALLOWED_CONTENT_TYPES
        .into_iter()
        .find(|allowed| *allowed == essence)
        .ok_or_else(|| DomainError::UnsupportedFileType {
            content_type: essence.chars().take(MAX_SHOWN_CONTENT_TYPE).collect(),
        })
}

/// Where a clinic's attachment is kept in the bucket: under the clinic's own prefix.
pub fn attachment_object_key(clinic: &ClinicId, attachment: &AttachmentId) -> String {
    format!("attachments/{clinic}/{attachment}")
}

/// What the attachments store knows of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub content_type: Option<String>,
    /// The KMS key the object is encrypted with, if any.
    pub kms_key_id: Option<String>,
    /// The version read (the bucket is versioned): what a send pins, so that a file put
    /// under the same key later never reaches the patient.
    pub version_id: Option<String>,
}

impl BlobInfo {
    /// Whether the uploaded file may be sent: its size and type within the limits, and
    /// encrypted with the project's key (`content_key_id`, an id or ARN). The reason, for
    /// staff, when not.
    pub fn check_sendable(&self, content_key_id: &str) -> Result<(), String> {
        if self.size > MAX_ATTACHMENT_BYTES {
            return Err(format!("is larger than {MAX_ATTACHMENT_MB} MB"));
        }
        let content_type = self.content_type.as_deref().unwrap_or_default();
        if !ALLOWED_CONTENT_TYPES.contains(&content_type) {
            return Err("is not a PDF, PNG or JPEG".to_owned());
        }
        // S3 reports the key's ARN; a key id is the ARN's last part.
        let key_id = |key: &str| key.rsplit('/').next().unwrap_or(key).to_owned();
        let same_key = self
            .kms_key_id
            .as_deref()
            .is_some_and(|key| key == content_key_id || key_id(key) == key_id(content_key_id));
        if !same_key {
            return Err("is not encrypted with the project's key: upload it again".to_owned());
        }
        Ok(())
    }
}

/// Refuses a file name the patient could not be shown safely: empty, over-long, with a
/// slash or a control character.
pub fn check_file_name(file_name: &str) -> Result<(), DomainError> {
    let name = file_name.trim();
    let chars = name.chars().count();
    let plain = !name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\');
    if chars == 0 || chars > MAX_FILE_NAME_CHARS || !plain {
        return Err(DomainError::InvalidBody {
            reason: format!(
                "attachments: file_name must be 1 to {MAX_FILE_NAME_CHARS} characters, without slashes or control characters"
            ),
        });
    }
    Ok(())
}

/// Refuses a secure message with more files than it may carry.
pub fn check_count(count: usize) -> Result<(), DomainError> {
    if count > MAX_ATTACHMENTS {
        return Err(DomainError::TooManyAttachments { count });
    }
    Ok(())
}

/// What the dashboard sends to start an upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub content_type: String,
    /// The file's size in bytes: the upload URL signs it as the `Content-Length`, so S3
    /// refuses a body of any other size.
    #[serde(deserialize_with = "whole_number")]
    pub size: u64,
}

/// A non-negative whole number, also when written with a zero fraction (`2048.0`): JSON
/// does not tell them apart, and the contract's `type: integer` allows both.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(whole);
    }
    match number.as_f64() {
        // Saturates above u64::MAX, which the size limit refuses anyway.
        Some(value) if value >= 0.0 && value.fract() == 0.0 => Ok(value as u64),
        _ => Err(serde::de::Error::custom("expected a whole number of bytes")),
    }
}

impl UploadRequest {
    /// The content type to upload with, when the file may be attached at all.
    pub fn check(&self) -> Result<&'static str, DomainError> {
        let content_type = allowed_content_type(&self.content_type)?;
        if self.size == 0 || self.size > MAX_ATTACHMENT_BYTES {
            return Err(DomainError::InvalidBody {
                reason: format!(
                    "size: a file is 1 byte to {MAX_ATTACHMENT_MB} MB: send the file's size in bytes"
                ),
            });
        }
        Ok(content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, size: u64) -> UploadRequest {
        UploadRequest {
            content_type: content_type.into(),
            size,
        }
    }

    #[test]
    fn only_pdf_png_and_jpeg_may_be_attached() {
        for ok in ["application/pdf", "image/PNG", "image/jpeg; charset=binary"] {
            assert!(allowed_content_type(ok).is_ok(), "{ok}");
        }
        for refused in ["text/html", "application/zip", "image/svg+xml", ""] {
            let error = allowed_content_type(refused).unwrap_err();
            assert_eq!(error.status(), 415, "{refused}");
            assert!(error.to_string().contains("PDF, PNG or JPEG"));
        }
    }

    #[test]
    fn a_size_is_a_whole_number_however_it_is_written() {
        let size = |json: &str| {
            serde_json::from_str::<UploadRequest>(&format!(
                r#"{{"content_type":"image/png","size":{json}}}"#
            ))
            .map(|request| request.size)
        };
        assert_eq!(size("2048").unwrap(), 2048);
        assert_eq!(size("2507.0").unwrap(), 2507);
        assert_eq!(size("0").unwrap(), 0);
        assert_eq!(size("1e30").unwrap(), u64::MAX);
        for refused in ["2507.5", "-1", "-1.0", "\"12\"", "null"] {
            assert!(size(refused).is_err(), "{refused}");
        }
        let missing = serde_json::from_str::<UploadRequest>(r#"{"content_type":"image/png"}"#);
        assert!(missing.unwrap_err().to_string().contains("size"));
    }

    #[test]
    fn an_empty_file_or_one_over_twenty_megabytes_is_refused_before_upload() {
        for size in [0, MAX_ATTACHMENT_BYTES + 1] {
            let error = request("image/png", size).check().unwrap_err();
            assert!(error.to_string().contains("1 byte to 20 MB"), "{size}");
        }
        assert_eq!(
            request("image/png", MAX_ATTACHMENT_BYTES).check().unwrap(),
            "image/png"
        );
    }

    #[test]
    fn a_secure_message_carries_at_most_ten_files() {
        assert!(check_count(10).is_ok());
        let error = check_count(11).unwrap_err();
        assert_eq!(error.status(), 422);
        assert!(error.to_string().contains("at most 10 files"));
    }

    fn uploaded(size: u64, content_type: &str, key: &str) -> BlobInfo {
        BlobInfo {
            size,
            content_type: Some(content_type.into()),
            kms_key_id: Some(key.into()),
            version_id: Some("v1".into()),
        }
    }

    const KEY_ARN: &str = "arn:aws:kms:ca-central-1:123456789012:key/k-1";

    #[test]
    fn an_uploaded_file_is_sendable_within_the_limits_under_the_project_key() {
        assert_eq!(
            uploaded(MAX_ATTACHMENT_BYTES, "application/pdf", KEY_ARN).check_sendable("k-1"),
            Ok(())
        );
        assert_eq!(
            uploaded(1, "image/png", KEY_ARN).check_sendable(KEY_ARN),
            Ok(())
        );
        let refused = [
            (
                uploaded(MAX_ATTACHMENT_BYTES + 1, "application/pdf", KEY_ARN),
                "larger than 20 MB",
            ),
            (uploaded(1, "text/html", KEY_ARN), "not a PDF, PNG or JPEG"),
            (
                uploaded(1, "image/png", "arn:aws:kms:ca-central-1:1:key/other"),
                "project's key",
            ),
            (
                BlobInfo {
                    kms_key_id: None,
                    ..uploaded(1, "image/png", KEY_ARN)
                },
                "project's key",
            ),
        ];
        for (file, reason) in refused {
            let error = file.check_sendable("k-1").unwrap_err();
            assert!(error.contains(reason), "{error}");
        }
    }
}
