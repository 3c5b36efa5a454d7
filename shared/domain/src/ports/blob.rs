//! The attachments store: files go up and down by presigned URLs, never through the API.

use std::time::Duration;

use async_trait::async_trait;

pub use crate::attachments::BlobInfo;
use crate::error::DependencyError;

/// A URL the dashboard uploads one file to, and the headers it must send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// A presigned PUT that only succeeds with this content type and the project's key, and
    /// only once: it never replaces an object. With a `content_length`, the length is signed
    /// too: a body of another size is refused.
    async fn presign_upload(
        &self,
        object_key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, DependencyError>;
    async fn head(&self, object_key: &str) -> Result<Option<BlobInfo>, DependencyError>;
    /// Up to `length` bytes of the object from byte `offset`: fewer at its end, none past
    /// it; `None` when there is no such object.
    async fn read_range(
        &self,
        object_key: &str,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, DependencyError>;
    /// A presigned GET of that version of the object alone, downloaded under `file_name`
    /// (`Content-Disposition`) and never kept by a browser or proxy cache.
    async fn presign_download(
        &self,
        object_key: &str,
        version_id: &str,
        file_name: &str,
        expires_in: Duration,
    ) -> Result<String, DependencyError>;
    /// Deletes the object, every version of it: nothing is left to restore. Nothing when
    /// there is none (deleting twice is harmless).
    async fn delete(&self, object_key: &str) -> Result<(), DependencyError>;
}
