//! The attachments bucket on Amazon S3: presigned uploads and downloads, object metadata.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{presigning::PresigningConfig, types::ServerSideEncryption};

use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ports::{BlobInfo, BlobStore, PresignedUpload},
};

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: String,
}

impl S3BlobStore {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        kms_key_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            kms_key_id: kms_key_id.into(),
        }
    }
}

fn presigning(
    expires_in: Duration,
    operation: &'static str,
) -> Result<PresigningConfig, DependencyError> {
    PresigningConfig::expires_in(expires_in)
        .map_err(|_| DependencyError::new("s3", operation, "InvalidExpiry"))
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn presign_upload(
        &self,
        object_key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, DependencyError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key_id)
            // The URL creates the object once: a second PUT to it cannot swap the file (an
            // attachment already sent, an import being read).
            .if_none_match("*")
            // Signed: S3 refuses a body of any other length than the size declared.
            .set_content_length(
                content_length.map(|length| i64::try_from(length).unwrap_or(i64::MAX)),
            )
            .presigned(presigning(expires_in, "PresignPutObject")?)
            .await
            .map_err(sdk_failure("s3", "PresignPutObject"))?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(PresignedUpload {
            url: request.uri().to_owned(),
            headers,
        })
    }

    async fn head(&self, object_key: &str) -> Result<Option<BlobInfo>, DependencyError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(BlobInfo {
                size: output.content_length.unwrap_or_default().max(0) as u64,
                content_type: output.content_type,
                kms_key_id: output.ssekms_key_id,
                version_id: output.version_id,
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(sdk_failure("s3", "HeadObject")(error)),
        }
    }

    async fn read_range(
        &self,
        object_key: &str,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        const OP: &str = "GetObject";
        if length == 0 {
            return Ok(Some(Vec::new()));
        }
        let last = offset.saturating_add(length - 1);
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .range(format!("bytes={offset}-{last}"))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            // A range starting at or past the end of the object (an empty object too).
            Err(error)
                if error
                    .raw_response()
                    .is_some_and(|raw| raw.status().as_u16() == 416) =>
            {
                return Ok(Some(Vec::new()));
            }
            Err(error) => return Err(sdk_failure("s3", OP)(error)),
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|_| DependencyError::new("s3", OP, "ReadBody"))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn presign_download(
        &self,
        object_key: &str,
        version_id: &str,
        file_name: &str,
        expires_in: Duration,
    ) -> Result<String, DependencyError> {
        // The key holds ids only; the name the patient sees travels in the signed
        // `response-content-disposition`, and `no-store` keeps the file out of caches.
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .version_id(version_id)
            .response_content_disposition(content_disposition(file_name))
            .response_cache_control("no-store")
            .presigned(presigning(expires_in, "PresignGetObject")?)
            .await
            .map_err(sdk_failure("s3", "PresignGetObject"))?;
        Ok(request.uri().to_owned())
    }

    async fn delete(&self, object_key: &str) -> Result<(), DependencyError> {
        // The bucket is versioned: deleting the key would only hide the file behind a
        // delete marker. Every version goes (and any marker), so nothing is left to restore.
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let listed = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(object_key)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(sdk_failure("s3", "ListObjectVersions"))?;
            let versions = listed
                .versions()
                .iter()
                .map(|version| (version.key(), version.version_id()));
            let markers = listed
                .delete_markers()
                .iter()
                .map(|marker| (marker.key(), marker.version_id()));
            for (key, version) in versions.chain(markers) {
                if key != Some(object_key) {
                    continue;
                }
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(object_key)
                    .set_version_id(version.map(str::to_owned))
                    .send()
                    .await
                    .map_err(sdk_failure("s3", "DeleteObjectVersion"))?;
            }
            if listed.is_truncated() != Some(true) {
                return Ok(());
            }
            key_marker = listed.next_key_marker().map(str::to_owned);
            version_marker = listed.next_version_id_marker().map(str::to_owned);
        }
    }
}

/// `attachment` with the original name (RFC 6266): an ASCII fallback and the UTF-8 name.
fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_an_attachment_with_safe_names() {
        assert_eq!(
            content_disposition("résultat \"final\".pdf"),
            "attachment; filename=\"r_sultat _final_.pdf\"; filename*=UTF-8''r%C3%A9sultat%20%22final%22.pdf"
        );
    }
}
