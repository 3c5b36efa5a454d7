//! An attachments store in memory, versioned as the bucket is: tests put files in directly,
//! and each put under a key adds a version (`v1`, `v2`, …) as S3 does.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ports::{BlobInfo, BlobStore, PresignedUpload},
};

/// One version of an object: what HeadObject says of it, and its bytes when a test gave
/// them.
#[derive(Debug, Clone)]
struct Version {
    info: BlobInfo,
    content: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct MemoryBlobStore {
    /// Each object's versions, oldest first.
    objects: Mutex<HashMap<String, Vec<Version>>>,
    /// Every content length each upload URL signed, by object key.
    signed_lengths: Mutex<HashMap<String, Option<u64>>>,
}

impl MemoryBlobStore {
    /// Adds a version of the object described by `info` (its version id is the store's).
    pub fn insert(&self, object_key: &str, info: BlobInfo) {
        self.add_version(object_key, info, Vec::new());
    }

    /// Puts a file with this content, as an upload would: a new version.
    pub fn put(&self, object_key: &str, content_type: &str, content: &[u8]) {
        self.put_encrypted(object_key, content_type, None, content);
    }

    /// Puts a file encrypted under `kms_key_id`, as an upload with the project's key would.
    pub fn put_encrypted(
        &self,
        object_key: &str,
        content_type: &str,
        kms_key_id: Option<&str>,
        content: &[u8],
    ) {
        let info = BlobInfo {
            size: content.len() as u64,
            content_type: Some(content_type.to_owned()),
            kms_key_id: kms_key_id.map(str::to_owned),
            version_id: None,
        };
        self.add_version(object_key, info, content.to_vec());
    }

    fn add_version(&self, object_key: &str, info: BlobInfo, content: Vec<u8>) {
        let mut objects = self.objects.lock().expect("blob lock");
        let versions = objects.entry(object_key.to_owned()).or_default();
        let info = BlobInfo {
            version_id: Some(format!("v{}", versions.len() + 1)),
            ..info
        };
        versions.push(Version { info, content });
    }

    /// The content length the upload URL of `object_key` signed, if one was made.
    pub fn signed_length(&self, object_key: &str) -> Option<Option<u64>> {
        self.signed_lengths
            .lock()
            .expect("blob lock")
            .get(object_key)
            .copied()
    }

    /// What a download URL made by this store serves: the bytes of the version it names.
    pub fn download(&self, url: &str) -> Option<Vec<u8>> {
        let rest = url.strip_prefix("memory://download/")?;
        let (object_key, query) = rest.split_once('?')?;
        let version = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("version="))?;
        let objects = self.objects.lock().expect("blob lock");
        objects
            .get(object_key)?
            .iter()
            .find(|kept| kept.info.version_id.as_deref() == Some(version))
            .map(|kept| kept.content.clone())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn presign_upload(
        &self,
        object_key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, DependencyError> {
        self.signed_lengths
            .lock()
            .expect("blob lock")
            .insert(object_key.to_owned(), content_length);
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        if let Some(length) = content_length {
            headers.push(("content-length".to_owned(), length.to_string()));
        }
        Ok(PresignedUpload {
            url: format!(
                "memory://upload/{object_key}?expires={}",
                expires_in.as_secs()
            ),
            headers,
        })
    }

    async fn head(&self, object_key: &str) -> Result<Option<BlobInfo>, DependencyError> {
        let objects = self.objects.lock().expect("blob lock");
        Ok(objects
            .get(object_key)
            .and_then(|versions| versions.last())
            .map(|latest| latest.info.clone()))
    }

    async fn read_range(
        &self,
        object_key: &str,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        let objects = self.objects.lock().expect("blob lock");
        Ok(objects
            .get(object_key)
            .and_then(|versions| versions.last())
            .map(|latest| {
                let content = &latest.content;
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(content.len());
                let end = start
                    .saturating_add(usize::try_from(length).unwrap_or(usize::MAX))
                    .min(content.len());
                content[start..end].to_vec()
            }))
    }

    async fn presign_download(
        &self,
        object_key: &str,
        version_id: &str,
        _file_name: &str,
        expires_in: Duration,
    ) -> Result<String, DependencyError> {
        Ok(format!(
            "memory://download/{object_key}?version={version_id}&expires={}",
            expires_in.as_secs()
        ))
    }

    async fn delete(&self, object_key: &str) -> Result<(), DependencyError> {
        self.objects.lock().expect("blob lock").remove(object_key);
        Ok(())
    }
}
