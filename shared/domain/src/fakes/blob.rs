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
}

impl MemoryBlobStore {
    pub fn insert(&self, object_key: &str, info: BlobInfo) {
        self.objects
            .lock()
            .expect("blob lock")
            .insert(object_key.to_owned(), info);
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
}
