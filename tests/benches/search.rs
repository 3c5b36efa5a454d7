//! Bench (not a test): DynamoDB items read and requests per patient search, for clinics of
//! several sizes, against the local AWS emulator. Run with `tests/bench`.
//!
//! Usage: bench-search [PATIENTS ...]   (default: 1000 10000)

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use aws::dynamodb::DynamoStore;
use domain::{
    appointment_status::AppointmentStatus,
    clinic_key::ClinicKey,
    email::Email,
    error::DependencyError,
    ids::{AppointmentId, PatientId},
    model::{Appointment, Patient},
    patient_keys::lookup_keys,
    phn::Phn,
    phone::PhoneNumber,
    ports::{ClinicStore, DirectoryPage, DirectoryQuery, PatientDirectory},
    search::{SearchRequest, find_patients},
};
use integration_tests::fixtures::{demo::demo_clinic_record, emr::nth_bc_phn};
use jiff::{SignedDuration, Timestamp};
use local_stack::LocalStack;

/// Counts the Queries a search makes.
struct Counting<'a> {
    inner: &'a DynamoStore,
    requests: AtomicUsize,
}

#[async_trait]
impl PatientDirectory for Counting<'_> {
    async fn lookup(&self, query: &DirectoryQuery<'_>) -> Result<DirectoryPage, DependencyError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup(query).await
    }
}

fn patient(n: usize) -> Patient {
    Patient {
        id: PatientId::parse(&format!("bench-{n}")).unwrap(),
        phn: Some(Phn::parse(&nth_bc_phn(n)).unwrap()),
        first_name: format!("Given{}", n % 997),
        last_name: format!("Family{n}"),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&format!("+1604{:07}", 2_000_000 + n)).unwrap()),
        email: Some(Email::parse(&format!("patient{n}@bench.example")).unwrap()),
    }
}

fn appointment(n: usize, now: Timestamp) -> Appointment {
    Appointment {
        id: AppointmentId::parse(&format!("bench-a-{n}")).unwrap(),
        patient_id: PatientId::parse(&format!("bench-{n}")).unwrap(),
        starts_at: now + SignedDuration::from_hours(24 * (1 + n as i64 % 300)),
        provider_name: "Dr. Bench".into(),
        status: AppointmentStatus::Booked,
    }
}

/// Patients per `bulk_load` call (about 20 items each: patient, appointment, PHN, phone and
/// email keys, and a key per name prefix).
const CHUNK: usize = 500;

/// Seeds `count` patients with BatchWriteItem, one request at a time: the emulator spends
/// about a millisecond of CPU per item under Python's global lock, so writers in parallel
/// measured no faster (2,000 patients: 42.3 s with one, 42.7 s with four). The items
/// written.
async fn seed_patients(
    store: &DynamoStore,
    key: &ClinicKey,
    count: usize,
) -> anyhow::Result<usize> {
    let now = Timestamp::now();
    let started = Instant::now();
    let mut items = 0;
    for first in (0..count).step_by(CHUNK) {
        let records: Vec<_> = (first..count.min(first + CHUNK))
            .map(|n| (patient(n), vec![appointment(n, now)]))
            .collect();
        items += records
            .iter()
            .map(|(patient, _)| 2 + lookup_keys(key, patient).len())
            .sum::<usize>();
        store.bulk_load(key, &records).await?;
        let done = first + records.len();
        if done % 10_000 == 0 && done < count {
            eprintln!(
                "  {done} of {count} patients seeded ({:.0?})",
                started.elapsed()
            );
        }
    }
    Ok(items)
}

struct Row {
    patients: usize,
    search: &'static str,
    results: usize,
    items_read: usize,
    requests: usize,
}

impl Row {
    fn exact(&self) -> bool {
        !self.search.starts_with("name")
    }
}

/// The goal per row: an exact search reads at most one item more than it returns, in one
/// request; a name search reads as many items whatever the clinic's size.
fn goal(row: &Row, smallest: Option<&Row>) -> (String, bool) {
    if row.exact() {
        let met = row.items_read <= row.results + 1 && row.requests == 1;
        ("≤ results + 1, 1 request".to_owned(), met)
    } else {
        match smallest {
            Some(first) if first.patients != row.patients => (
                format!(
                    "flat: {} as at {} patients",
                    first.items_read, first.patients
                ),
                row.items_read <= first.items_read,
            ),
            _ => ("flat (the smallest size sets it)".to_owned(), true),
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.0} s", duration.as_secs_f64())
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
    let mut rows: Vec<Row> = Vec::new();
    let mut timings = Vec::new();
    for &size in &sizes {
        let stack =
            LocalStack::create(&endpoint, &format!("bench{size}-"), "https://unlock.bench").await?;
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let clinic = demo_clinic_record();
        store.put_clinic(&clinic).await?;
        // Search is measured on the directory alone: any clinic key tags as the real one.
        let key = ClinicKey::from_root(&clinic.id, &[7; 32])?;
        let started = Instant::now();
        let items = seed_patients(&store, &key, size).await?;
        let seeding = started.elapsed();
        eprintln!("seeded {size} patients in {seeding:.1?}");
        let probe = size / 2;
        let queries = [
            ("phn", nth_bc_phn(probe)),
            ("phone", format!("+1604{:07}", 2_000_000 + probe)),
            ("email", format!("patient{probe}@bench.example")),
            ("name (one match)", format!("Family{probe}")),
            ("name (first page)", "given1".to_owned()),
        ];
        let started = Instant::now();
        for (search, q) in queries {
            let directory = Counting {
                inner: &store,
                requests: AtomicUsize::new(0),
            };
            let request = SearchRequest::parse(Some(&q), None, None, None)?;
            let page = find_patients(&directory, &key, &clinic, &request, Timestamp::now()).await?;
            rows.push(Row {
                patients: size,
                search,
                results: page.matches.len(),
                items_read: page.items_read,
                requests: directory.requests.into_inner(),
            });
        }
        timings.push((size, items, seeding, started.elapsed()));
    }
    println!(
        "| patients | search | results | items read | DynamoDB requests | goal | met |\n\
         | ---: | --- | ---: | ---: | ---: | --- | --- |"
    );
    for row in &rows {
        let smallest = rows.iter().find(|first| first.search == row.search);
        let (goal, met) = goal(row, smallest);
        println!(
            "| {} | {} | {} | {} | {} | {goal} | {} |",
            row.patients,
            row.search,
            row.results,
            row.items_read,
            row.requests,
            if met { "met" } else { "missed" }
        );
    }
    println!();
    for (size, items, seeding, searching) in timings {
        println!(
            "- {size} patients: seeded in {} ({} items with BatchWriteItem), the five searches took {} \
             (the emulator sorts the whole table on every Query).",
            seconds(seeding),
            items,
            seconds(searching),
        );
    }
    Ok(())
}
