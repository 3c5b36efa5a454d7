//! Bench (not a test): DynamoDB items read and requests per patient search, for clinics of
//! several sizes, against the local AWS emulator. Run with `tests/bench`.
//!
//! Usage: bench-search [PATIENTS ...]   (default: 1000 10000)

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use async_trait::async_trait;
use direct_messages::{
    adapters::dynamodb::DynamoStore,
    appointment_status::AppointmentStatus,
    email::Email,
    error::DependencyError,
    ids::{AppointmentId, PatientId},
    model::{Appointment, Clinic, Patient},
    phn::Phn,
    phone::PhoneNumber,
    ports::{ClinicStore, DirectoryPage, PatientDirectory},
    search::{SearchRequest, find_patients},
};
use jiff::{SignedDuration, Timestamp};
use local_stack::{LocalStack, seed::DemoData};

/// Counts the Queries a search makes.
struct Counting<'a> {
    inner: &'a DynamoStore,
    requests: AtomicUsize,
}

#[async_trait]
impl PatientDirectory for Counting<'_> {
    async fn lookup(
        &self,
        key: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<DirectoryPage, DependencyError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup(key, prefix, after, limit).await
    }
}

/// The n-th valid BC PHN after 9000000000.
fn bc_phn(n: usize) -> String {
    const WEIGHTS: [u32; 8] = [2, 4, 8, 5, 10, 9, 7, 3];
    let mut seen = 0;
    for body in 0u32.. {
        let digits: Vec<u32> = format!("{body:08}")
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .collect();
        let check = 11 - digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 11;
        if check < 10 {
            if seen == n {
                return format!("9{body:08}{check}");
            }
            seen += 1;
        }
    }
    unreachable!()
}

fn patient(n: usize) -> Patient {
    Patient {
        id: PatientId::parse(&format!("bench-{n}")).unwrap(),
        phn: Some(Phn::parse(&bc_phn(n)).unwrap()),
        first_name: format!("Given{}", n % 997),
        last_name: format!("Family{n}"),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&format!("+1604{:07}", 2_000_000 + n)).unwrap()),
        email: Some(Email::parse(&format!("patient{n}@bench.example")).unwrap()),
    }
}

async fn seed_patients(store: &DynamoStore, clinic: &Clinic, count: usize) -> anyhow::Result<()> {
    let now = Timestamp::now();
    for first in (0..count).step_by(1000) {
        let records: Vec<_> = (first..count.min(first + 1000))
            .map(|n| {
                let patient = patient(n);
                let appointment = Appointment {
                    id: AppointmentId::parse(&format!("bench-a-{n}")).unwrap(),
                    patient_id: patient.id.clone(),
                    starts_at: now + SignedDuration::from_hours(24 * (1 + n as i64 % 300)),
                    provider_name: "Dr. Bench".into(),
                    status: AppointmentStatus::Booked,
                };
                (patient, vec![appointment])
            })
            .collect();
        store.bulk_load(&clinic.id, &records).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| anyhow::anyhow!("run through tests/bench"))?;
    let mut rows = Vec::new();
    for &size in &sizes {
        let stack =
            LocalStack::create(&endpoint, &format!("bench{size}-"), "https://unlock.bench").await?;
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let clinic = DemoData::load()?.clinic(Timestamp::now())?;
        store.put_clinic(&clinic).await?;
        let started = Instant::now();
        seed_patients(&store, &clinic, size).await?;
        eprintln!("seeded {size} patients in {:.1?}", started.elapsed());
        let probe = size / 2;
        let queries = [
            ("phn", bc_phn(probe)),
            ("phone", format!("+1604{:07}", 2_000_000 + probe)),
            ("email", format!("patient{probe}@bench.example")),
            ("name (one match)", format!("Family{probe}")),
            ("name (first page)", "given1".to_owned()),
        ];
        for (kind, q) in queries {
            let directory = Counting {
                inner: &store,
                requests: AtomicUsize::new(0),
            };
            let request = SearchRequest::parse(Some(&q), None, None, None)?;
            let page = find_patients(&directory, &clinic, &request, Timestamp::now()).await?;
            rows.push((
                size,
                kind,
                page.matches.len(),
                page.items_read,
                directory.requests.into_inner(),
            ));
        }
    }
    let mut table = String::from(
        "| patients | search | results | items read | DynamoDB requests |\n| ---: | --- | ---: | ---: | ---: |\n",
    );
    for (size, kind, results, items, requests) in rows {
        table.push_str(&format!(
            "| {size} | {kind} | {results} | {items} | {requests} |\n"
        ));
    }
    println!("{table}");
    Ok(())
}
