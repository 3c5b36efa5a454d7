//! Files for secure messages: which types may be attached, where they are kept, and the
//! presigned upload that puts them there without passing through the API.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::{
    error::DomainError,
    ids::{AttachmentId, ClinicId},
    ports::{BlobStore, Clock, PresignedUpload, RandomSource},
};

/// The largest file a secure message may carry.
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
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

/// Where a clinic's attachment is kept: under the clinic's own prefix.
pub fn attachment_key(clinic: &ClinicId, attachment: &AttachmentId) -> String {
    format!("attachments/{clinic}/{attachment}")
}

/// What the dashboard sends to start an upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub content_type: String,
    /// The file's size, when the dashboard knows it: refused early if too large.
    #[serde(default, deserialize_with = "whole_number")]
    pub size: Option<u64>,
}

/// A non-negative whole number, also when written with a zero fraction (`2048.0`): JSON
/// does not tell them apart, and the contract's `type: integer` allows both.
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_u64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        // Saturates above u64::MAX, which the size limit refuses anyway.
        Some(value) if value >= 0.0 && value.fract() == 0.0 => Ok(Some(value as u64)),
        _ => Err(serde::de::Error::custom("expected a whole number of bytes")),
    }
}

/// Where and how to upload one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    pub attachment_id: AttachmentId,
    pub upload: PresignedUpload,
    pub expires_at: Timestamp,
}

pub async fn start_upload(
    blobs: &dyn BlobStore,
    random: &dyn RandomSource,
    clock: &dyn Clock,
    clinic: &ClinicId,
    request: &UploadRequest,
) -> Result<UploadTicket, DomainError> {
    let content_type = allowed_content_type(&request.content_type)?;
    if request.size.is_some_and(|size| size > MAX_ATTACHMENT_BYTES) {
        return Err(DomainError::InvalidBody {
            reason: format!(
                "size: files may be at most {} MB",
                MAX_ATTACHMENT_BYTES / (1024 * 1024)
            ),
        });
    }
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let attachment_id = AttachmentId::from_random(bytes);
    let lifetime = Duration::try_from(UPLOAD_URL_LIFETIME).expect("a positive lifetime");
    let upload = blobs
        .presign_upload(
            &attachment_key(clinic, &attachment_id),
            content_type,
            lifetime,
        )
        .await?;
    Ok(UploadTicket {
        attachment_id,
        upload,
        expires_at: clock.now() + UPLOAD_URL_LIFETIME,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{CountingRandom, FixedClock, MemoryBlobStore};

    fn request(content_type: &str, size: Option<u64>) -> UploadRequest {
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

    #[tokio::test]
    async fn an_upload_goes_under_the_clinic_prefix_for_fifteen_minutes() {
        let now: Timestamp = "2026-11-25T18:00:00Z".parse().unwrap();
        let clinic = ClinicId::parse("c1").unwrap();
        let ticket = start_upload(
            &MemoryBlobStore::default(),
            &CountingRandom::default(),
            &FixedClock::at(now),
            &clinic,
            &request("application/pdf", Some(1000)),
        )
        .await
        .unwrap();
        assert!(
            ticket
                .upload
                .url
                .contains(&format!("attachments/c1/{}", ticket.attachment_id))
        );
        assert!(ticket.upload.url.ends_with("expires=900"));
        assert_eq!(ticket.expires_at, now + SignedDuration::from_mins(15));
    }

    #[test]
    fn a_size_is_a_whole_number_however_it_is_written() {
        let size = |json: &str| {
            serde_json::from_str::<UploadRequest>(&format!(
                r#"{{"content_type":"image/png","size":{json}}}"#
            ))
            .map(|request| request.size)
        };
        assert_eq!(size("2048").unwrap(), Some(2048));
        assert_eq!(size("2507.0").unwrap(), Some(2507));
        assert_eq!(size("0").unwrap(), Some(0));
        assert_eq!(size("null").unwrap(), None);
        assert_eq!(size("1e30").unwrap(), Some(u64::MAX));
        for refused in ["2507.5", "-1", "-1.0", "\"12\""] {
            assert!(size(refused).is_err(), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_file_over_twenty_megabytes_is_refused_before_upload() {
        let result = start_upload(
            &MemoryBlobStore::default(),
            &CountingRandom::default(),
            &FixedClock::at(Timestamp::UNIX_EPOCH),
            &ClinicId::parse("c1").unwrap(),
            &request("image/png", Some(MAX_ATTACHMENT_BYTES + 1)),
        )
        .await;
        assert!(result.unwrap_err().to_string().contains("at most 20 MB"));
    }
}
