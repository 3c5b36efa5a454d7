//! An attachments store in memory: tests put files in directly.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ports::{BlobInfo, BlobStore, PresignedUpload},
};

#[derive(Debug, Default)]
pub struct MemoryBlobStore {
    objects: Mutex<HashMap<String, BlobInfo>>,
    contents: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryBlobStore {
    pub fn insert(&self, object_key: &str, info: BlobInfo) {
        self.objects
            .lock()
            .expect("blob lock")
            .insert(object_key.to_owned(), info);
    }

    /// Puts a file with this content, as an upload would.
    pub fn put(&self, object_key: &str, content_type: &str, content: &[u8]) {
        self.insert(
            object_key,
            BlobInfo {
                size: content.len() as u64,
                content_type: Some(content_type.to_owned()),
                kms_key_id: None,
            },
        );
        self.contents
            .lock()
            .expect("blob lock")
            .insert(object_key.to_owned(), content.to_vec());
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn presign_upload(
        &self,
        object_key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, DependencyError> {
        Ok(PresignedUpload {
            url: format!(
                "memory://upload/{object_key}?expires={}",
                expires_in.as_secs()
            ),
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
        })
    }

    async fn head(&self, object_key: &str) -> Result<Option<BlobInfo>, DependencyError> {
        Ok(self
            .objects
            .lock()
            .expect("blob lock")
            .get(object_key)
            .cloned())
    }

    async fn read_range(
        &self,
        object_key: &str,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        let contents = self.contents.lock().expect("blob lock");
        Ok(contents.get(object_key).map(|content| {
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
        _file_name: &str,
        expires_in: Duration,
    ) -> Result<String, DependencyError> {
        Ok(format!(
            "memory://download/{object_key}?expires={}",
            expires_in.as_secs()
        ))
    }

    async fn delete(&self, object_key: &str) -> Result<(), DependencyError> {
        self.objects.lock().expect("blob lock").remove(object_key);
        self.contents.lock().expect("blob lock").remove(object_key);
        Ok(())
    }
}
