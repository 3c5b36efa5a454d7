//! S3 → EventBridge → `fhir-import` on localhost. The emulator sends no events, so the local
//! stack lists the attachments bucket under each prefix the template's rule matches and
//! hands every object created since to `fhir-import`, as the rule would; an invocation that
//! ends in error is invoked again, as Lambda retries an asynchronous one.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use aws::wiring::OnAws;
use domain::emr_sync::import::ImportRun;
use fhir_sync::imports::{FhirImports, ObjectCreatedEvent};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::LocalStack;

/// Lambda's asynchronous invocations: the first and two retries.
const INVOCATIONS: usize = 3;
/// The import function's time limit (its template `Timeout`).
const TIME_LIMIT: SignedDuration = SignedDuration::from_mins(15);

/// What became of one created object.
#[derive(Debug)]
pub struct Delivered {
    pub key: String,
    /// The last invocation's outcome: a run, or why it stopped.
    pub outcome: Result<ImportRun, String>,
}

pub struct ImportWatcher {
    imports: FhirImports,
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefixes: Vec<String>,
    /// Objects already handed over, by key and ETag (a file uploaded again is new).
    seen: BTreeSet<(String, String)>,
}

/// S3's `Object Created` event for `key`, as EventBridge delivers it.
pub fn object_created_event(bucket: &str, key: &str, now: Timestamp) -> ObjectCreatedEvent {
    let event = json!({
        "version": "0",
        "id": format!("local-{}", now.as_nanosecond()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": now.to_string(),
        "region": "ca-central-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key},
            "reason": "PutObject"
        }
    });
    serde_json::from_value(event).expect("an Object Created event")
}

impl ImportWatcher {
    pub fn new(stack: &LocalStack) -> Result<ImportWatcher> {
        let function = stack
            .template
            .function("fhir-import")
            .context("the template has no fhir-import function")?;
        Ok(ImportWatcher {
            imports: FhirImports::on_aws(&stack.config, &stack.clients),
            s3: stack.clients.s3(),
            bucket: stack.config.attachments_bucket.clone(),
            prefixes: function.created_object_prefixes.clone(),
            seen: BTreeSet::new(),
        })
    }

    /// Hands each object created since the last call to `fhir-import`.
    pub async fn deliver_new(&mut self) -> Result<Vec<Delivered>> {
        let mut delivered = Vec::new();
        for prefix in self.prefixes.clone() {
            let mut pages = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.context("listing the bucket's new objects")?;
                for object in page.contents() {
                    let key = object.key().unwrap_or_default().to_owned();
                    let etag = object.e_tag().unwrap_or_default().to_owned();
                    if self.seen.insert((key.clone(), etag)) {
                        let outcome = self.invoke(&key).await;
                        delivered.push(Delivered { key, outcome });
                    }
                }
            }
        }
        Ok(delivered)
    }

    async fn invoke(&self, key: &str) -> Result<ImportRun, String> {
        let mut last = Err(String::new());
        for _ in 0..INVOCATIONS {
            let now = Timestamp::now();
            let event = object_created_event(&self.bucket, key, now);
            match self.imports.handle(&event, now + TIME_LIMIT).await {
                Ok(run) => return Ok(run),
                Err(stopped) => last = Err(stopped.to_string()),
            }
        }
        last
    }

    /// Delivers new objects every second, printing what became of each.
    pub async fn run(mut self) {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match self.deliver_new().await {
                Ok(delivered) => {
                    for Delivered { key, outcome } in delivered {
                        println!("\n--- import file {key}: {outcome:?} ---");
                    }
                }
                Err(error) => eprintln!("import watcher: {error:#}"),
            }
        }
    }
}
