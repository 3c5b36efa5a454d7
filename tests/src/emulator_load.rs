//! Seeding the emulator's DynamoDB from the benches: items made exactly as
//! `DynamoStore::bulk_load` writes them, put by the emulator's own loading route
//! (`POST /local/dynamodb/load`, `infra/local/emulator_server.py`) thousands a request.
//! BatchWriteItem takes 25 and costs the emulator about a millisecond of CPU per item; this
//! route, under a tenth of that: 100,000 patients in minutes instead of hours.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use aws::dynamodb::{DynamoStore, Item};
use domain::{
    clinic_key::ClinicKey,
    model::{Appointment, Patient},
};
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

/// Patients per load request: about 22 items each, some 15 MB of JSON.
const CHUNK: usize = 5_000;

/// The emulator's loading route.
#[derive(Clone)]
pub struct EmulatorLoad {
    http: reqwest::Client,
    url: String,
}

/// The route's body: BatchWriteItem's, puts only.
#[derive(Serialize)]
struct LoadRequest<'a> {
    #[serde(rename = "RequestItems")]
    request_items: BTreeMap<&'a str, Vec<PutRequest>>,
}

#[derive(Serialize)]
struct PutRequest {
    #[serde(rename = "PutRequest")]
    put: PutItem,
}

#[derive(Serialize)]
struct PutItem {
    #[serde(rename = "Item")]
    item: serde_dynamo::Item,
}

/// What seeding took.
pub struct Seeded {
    pub items: usize,
    pub duration: Duration,
    /// The emulator's peak memory after the last load, in KiB.
    pub emulator_peak_kib: u64,
}

impl EmulatorLoad {
    pub fn new(endpoint: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/local/dynamodb/load", endpoint.trim_end_matches('/')),
        }
    }

    /// The body that loads the items, each into its table.
    fn body(items: Vec<(&str, Item)>) -> Result<Vec<u8>> {
        let mut request = LoadRequest {
            request_items: BTreeMap::new(),
        };
        for (table, item) in items {
            request
                .request_items
                .entry(table)
                .or_default()
                .push(PutRequest {
                    put: PutItem { item: item.into() },
                });
        }
        Ok(serde_json::to_vec(&request)?)
    }

    /// Sends a body of `items` items. The emulator's peak memory then, in KiB.
    async fn send(self, items: usize, body: Vec<u8>) -> Result<u64> {
        let answer: Value = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .context("the emulator's load route")?
            .json()
            .await?;
        ensure!(
            answer["loaded"].as_u64() == Some(items as u64),
            "the emulator loaded {answer}"
        );
        Ok(answer["peak_memory_kib"].as_u64().unwrap_or_default())
    }

    /// Seeds `count` patients, the n-th with its appointments as `record(n)` makes them,
    /// with their lookup keys under `key`. The next chunk's items are made (and sealed)
    /// while the emulator loads the last.
    pub async fn seed_patients(
        &self,
        store: &DynamoStore,
        key: &ClinicKey,
        count: usize,
        record: impl Fn(usize) -> (Patient, Vec<Appointment>) + Send + Sync + 'static,
    ) -> Result<Seeded> {
        let record = Arc::new(record);
        let started = Instant::now();
        let (mut items, mut emulator_peak_kib) = (0, 0);
        let mut loading: Option<JoinHandle<Result<u64>>> = None;
        for first in (0..count).step_by(CHUNK) {
            let (store, key, record) = (store.clone(), key.clone(), record.clone());
            let (made, body) = tokio::task::spawn_blocking(move || {
                let records: Vec<_> = (first..count.min(first + CHUNK)).map(&*record).collect();
                let items = store.bulk_load_items(&key, &records)?;
                anyhow::Ok((items.len(), Self::body(items)?))
            })
            .await??;
            if let Some(last) = loading.take() {
                emulator_peak_kib = last.await??;
            }
            items += made;
            loading = Some(tokio::spawn(self.clone().send(made, body)));
            if first > 0 && first % 20_000 == 0 {
                eprintln!(
                    "  {first} of {count} patients seeded ({:.0?})",
                    started.elapsed()
                );
            }
        }
        if let Some(last) = loading {
            emulator_peak_kib = last.await??;
        }
        Ok(Seeded {
            items,
            duration: started.elapsed(),
            emulator_peak_kib,
        })
    }
}
