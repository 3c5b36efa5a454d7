//! Bench (not a test): DynamoDB items read and requests per patient search, for clinics of
//! several sizes, against the local AWS emulator. Run with `tests/bench`.
//!
//! Usage: bench-search [PATIENTS ...]   (default: 1000 10000 100000)

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
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
    phn::Phn,
    phone::PhoneNumber,
    ports::{ClinicStore, DirectoryPage, DirectoryQuery, PatientDirectory},
    search::{SearchRequest, find_patients},
};
use integration_tests::{
    emulator_load::EmulatorLoad,
    fixtures::{demo::demo_clinic_record, emr::first_bc_phns},
};
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

fn patient(n: usize, phn: &Phn) -> Patient {
    Patient {
        id: PatientId::parse(&format!("bench-{n}")).unwrap(),
        phn: Some(phn.clone()),
        first_name: format!("Given{}", n % 997),
        last_name: format!("Family{n}"),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&format!("+1604{:07}", 2_000_000 + n)).unwrap()),
        email: Some(Email::parse(&format!("patient{n}@bench.example")).unwrap()),
    }
}

/// 1.5 appointments per patient: one each, and a second for every other patient.
fn appointments(n: usize, now: Timestamp) -> Vec<Appointment> {
    (0..1 + usize::from(n.is_multiple_of(2)))
        .map(|second| Appointment {
            id: AppointmentId::parse(&format!("bench-a-{n}-{second}")).unwrap(),
            patient_id: PatientId::parse(&format!("bench-{n}")).unwrap(),
            starts_at: now + SignedDuration::from_hours(24 * (1 + (n + 7 * second) as i64 % 300)),
            provider_name: "Dr. Bench".into(),
            status: AppointmentStatus::Booked,
        })
        .collect()
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
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| anyhow::anyhow!("run through tests/bench"))?;
    let loader = EmulatorLoad::new(&endpoint);
    let phns = Arc::new(first_bc_phns(
        sizes.iter().copied().max().unwrap_or_default(),
    ));
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
        let (all, now) = (phns.clone(), Timestamp::now());
        let seeded = loader
            .seed_patients(&store, &key, size, move |n| {
                (patient(n, &all[n]), appointments(n, now))
            })
            .await?;
        eprintln!("seeded {size} patients in {:.1?}", seeded.duration);
        let probe = size / 2;
        let queries = [
            ("phn", phns[probe].as_str().to_owned()),
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
        timings.push((size, seeded, started.elapsed()));
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
    for (size, seeded, searching) in timings {
        println!(
            "- {size} patients with 1.5 appointments each: seeded in {} ({} items as `bulk_load` \
             writes them, put straight into the emulator's tables 5,000 patients a request; \
             the emulator's peak memory then {:.1} GiB); the five searches took {:.2} s.",
            seconds(seeded.duration),
            seeded.items,
            seeded.emulator_peak_kib as f64 / (1024.0 * 1024.0),
            searching.as_secs_f64(),
        );
    }
    Ok(())
}
