//! Starting an attachment's upload: a presigned PUT under the clinic's prefix, so that the
//! file goes straight to the bucket and never through the API.

use std::time::Duration;

use jiff::Timestamp;

use crate::{
    attachments::{UPLOAD_URL_LIFETIME, UploadRequest, attachment_object_key},
    error::DomainError,
    ids::{AttachmentId, ClinicId},
    ports::PresignedUpload,
    random,
};

use super::MessageSender;

/// Where and how to upload one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    pub attachment_id: AttachmentId,
    pub upload: PresignedUpload,
    pub expires_at: Timestamp,
}

impl MessageSender {
    pub async fn start_upload(
        &self,
        clinic: &ClinicId,
        request: &UploadRequest,
    ) -> Result<UploadTicket, DomainError> {
        let content_type = request.check()?;
        let attachment_id = AttachmentId::from_random(random::bytes(self.random.as_ref()));
        let lifetime = Duration::try_from(UPLOAD_URL_LIFETIME).expect("a positive lifetime");
        let upload = self
            .blobs
            .presign_upload(
                &attachment_object_key(clinic, &attachment_id),
                content_type,
                Some(request.size),
                lifetime,
            )
            .await?;
        tracing::info!(clinic_id = %clinic, attachment_id = %attachment_id, "attachment upload started");
        Ok(UploadTicket {
            attachment_id,
            upload,
            expires_at: self.clock.now() + UPLOAD_URL_LIFETIME,
        })
    }
}
