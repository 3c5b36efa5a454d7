//! Bundles from the EMR: a `batch`, each entry on its own, and a `transaction`, written in
//! one transaction or not at all.

use std::collections::HashMap;

use crate::{
    clinic_key::ClinicKey,
    fhir::{
        bundle::{
            Bundle, BundleEntry, BundleType, MAX_BUNDLE_ENTRIES, ResponseBundle, ResponseEntry,
        },
        outcome::{Issue, IssueCode},
    },
    ids::{ClinicId, PatientId},
    ports::{BatchSynced, PatientSync, SyncBatch},
};

use super::{
    Checked, EmrSync, ResourceType, SyncAnswer, answer, appointment_sync, check, unknown_patient,
};

impl EmrSync {
    pub async fn bundle(
        &self,
        clinic: &ClinicId,
        body: &[u8],
    ) -> Result<ResponseBundle, SyncAnswer> {
        let bundle = read_bundle(body)?;
        let key = self
            .keyring
            .key(clinic)
            .await
            .map_err(|error| SyncAnswer::failed(&error))?;
        let key = &key;
        let checked: Vec<Result<(Option<String>, Checked), SyncAnswer>> =
            bundle.entry.iter().map(check_entry).collect();
        if bundle.bundle_type == Some(BundleType::Transaction) {
            let entries = self.transaction(key, checked).await?;
            return Ok(ResponseBundle::new("transaction-response", entries));
        }
        // Patients first: appointments in the bundle may reference them by `fullUrl`.
        let mut answers: Vec<Option<SyncAnswer>> = vec![None; checked.len()];
        let entry_patients = entry_patients(&checked);
        for (index, entry) in checked.iter().enumerate() {
            if let Ok((_, Checked::Patient(update))) = entry {
                answers[index] = Some(self.write_patient(key, update).await);
            }
        }
        for (index, entry) in checked.into_iter().enumerate() {
            answers[index] = Some(match entry {
                Err(refused) => refused,
                Ok((_, Checked::Patient(_))) => continue,
                Ok((_, appointment)) => self.write(key, appointment, &entry_patients).await,
            });
        }
        let entries = answers
            .into_iter()
            .map(|answer| answer.expect("every entry answered").entry())
            .collect();
        Ok(ResponseBundle::new("batch-response", entries))
    }

    /// A transaction's entries, all checked and their patients resolved, then written in
    /// one transaction; any refusal refuses them all and writes nothing.
    async fn transaction(
        &self,
        key: &ClinicKey,
        checked: Vec<Result<(Option<String>, Checked), SyncAnswer>>,
    ) -> Result<Vec<ResponseEntry>, SyncAnswer> {
        let refusals: Vec<(usize, SyncAnswer)> = checked
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| Some((index, entry.as_ref().err()?.clone())))
            .collect();
        if !refusals.is_empty() {
            return Err(refused_entries(refusals));
        }
        let entry_patients = entry_patients(&checked);
        let mut batch = SyncBatch::default();
        // Where each entry's record is in the batch: patients, then appointments.
        let mut places = Vec::new();
        for (index, entry) in checked.into_iter().enumerate() {
            let (_, checked) = entry.expect("refusals answered above");
            match checked {
                Checked::Patient(update) => {
                    places.push((ResourceType::Patient, batch.patients.len(), update.notices));
                    batch.patients.push(PatientSync {
                        patient: update.patient,
                        language: update.language,
                        order: update.order,
                    });
                }
                Checked::Appointment(update) => {
                    let patient_id = match self
                        .patient_of(key, &update.patient, &entry_patients)
                        .await
                    {
                        Ok(Some(id)) => id,
                        Ok(None) => return Err(refused_entries(vec![(index, unknown_patient())])),
                        Err(error) => return Err(SyncAnswer::failed(&error)),
                    };
                    places.push((
                        ResourceType::Appointment,
                        batch.appointments.len(),
                        Vec::new(),
                    ));
                    batch
                        .appointments
                        .push(appointment_sync(update, patient_id));
                }
            }
        }
        if let Some(repeated) = repeated_record(&batch) {
            let index = places
                .iter()
                .position(|(kind, place, _)| (*kind, *place) == repeated)
                .unwrap_or_default();
            return Err(refused_entries(vec![(
                index,
                SyncAnswer::refused(
                    422,
                    vec![Issue::error(
                        IssueCode::Value,
                        "Bundle.entry",
                        "a transaction writes each record once: merge the entries of the same resource",
                    )],
                ),
            )]));
        }
        let (patients, appointments) = match self.records.sync_together(key, &batch).await {
            Ok(BatchSynced::Written {
                patients,
                appointments,
            }) => (patients, appointments),
            Ok(BatchSynced::NoPatient { appointment }) => {
                let index = places
                    .iter()
                    .position(|(kind, place, _)| {
                        *kind == ResourceType::Appointment && *place == appointment
                    })
                    .unwrap_or_default();
                return Err(refused_entries(vec![(index, unknown_patient())]));
            }
            Ok(BatchSynced::TooLarge) => {
                return Err(SyncAnswer::refused(
                    413,
                    vec![Issue::error(
                        IssueCode::TooCostly,
                        "Bundle.entry",
                        "this transaction changes more records than one transaction can hold: split it into smaller transactions, or send a batch",
                    )],
                ));
            }
            Err(error) => return Err(SyncAnswer::failed(&error)),
        };
        Ok(places
            .into_iter()
            .map(|(kind, place, notices)| {
                let (id, synced) = match kind {
                    ResourceType::Patient => {
                        (batch.patients[place].patient.id.as_str(), patients[place])
                    }
                    ResourceType::Appointment => (
                        batch.appointments[place].appointment.id.as_str(),
                        appointments[place],
                    ),
                };
                answer(kind, id, synced, notices).entry()
            })
            .collect())
    }
}

/// The patients of a bundle by their entries' `fullUrl`.
fn entry_patients(
    checked: &[Result<(Option<String>, Checked), SyncAnswer>],
) -> HashMap<String, PatientId> {
    checked
        .iter()
        .filter_map(|entry| match entry {
            Ok((Some(full_url), Checked::Patient(update))) => {
                Some((full_url.clone(), update.patient.id.clone()))
            }
            _ => None,
        })
        .collect()
}

/// A transaction refused for these entries' reasons, each issue saying which entry.
fn refused_entries(refusals: Vec<(usize, SyncAnswer)>) -> SyncAnswer {
    let issues = refusals
        .into_iter()
        .flat_map(|(index, answer)| {
            answer.outcome.into_iter().flat_map(move |outcome| {
                outcome.issue.into_iter().map(move |mut issue| {
                    issue.diagnostics = format!("entry {index}: {}", issue.diagnostics);
                    issue
                })
            })
        })
        .collect();
    SyncAnswer::refused(422, issues)
}

/// A record that appears twice in the batch: its kind and place there.
fn repeated_record(batch: &SyncBatch) -> Option<(ResourceType, usize)> {
    let mut patients = std::collections::HashSet::new();
    let mut appointments = std::collections::HashSet::new();
    let patient_twice = batch
        .patients
        .iter()
        .position(|update| !patients.insert(update.patient.id.clone()));
    let appointment_twice = batch
        .appointments
        .iter()
        .position(|update| !appointments.insert(update.appointment.id.clone()));
    patient_twice
        .map(|place| (ResourceType::Patient, place))
        .or(appointment_twice.map(|place| (ResourceType::Appointment, place)))
}

fn check_entry(entry: &BundleEntry) -> Result<(Option<String>, Checked), SyncAnswer> {
    let Some(resource) = &entry.resource else {
        return Err(SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::Required,
                "Bundle.entry.resource",
                "each entry carries the resource to write",
            )],
        ));
    };
    let checked = check(resource, None)?;
    if let Some(request) = &entry.request {
        let method = request.method.as_deref().unwrap_or_default();
        let expected_url = match &checked {
            Checked::Patient(update) => format!("Patient/{}", update.patient.id),
            Checked::Appointment(update) => format!("Appointment/{}", update.id),
        };
        let url = request.url.as_deref().unwrap_or_default();
        let accepted = match method {
            "PUT" => url == expected_url,
            "POST" => url == expected_url.split('/').next().unwrap_or_default(),
            _ => false,
        };
        if !accepted {
            return Err(SyncAnswer::refused(
                400,
                vec![Issue::error(
                    IssueCode::Value,
                    "Bundle.entry.request",
                    "an entry's request must be PUT <type>/<the resource's id> (or POST <type>)",
                )],
            ));
        }
    }
    Ok((entry.full_url.clone(), checked))
}

fn read_bundle(body: &[u8]) -> Result<Bundle, SyncAnswer> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::Structure,
                "",
                format!(
                    "the body is not JSON (line {}, column {}): post a FHIR R4 Bundle as application/fhir+json",
                    error.line(),
                    error.column()
                ),
            )],
        )
    })?;
    if value.get("resourceType").and_then(|value| value.as_str()) != Some("Bundle") {
        return Err(SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::NotSupported,
                "",
                "POST /fhir takes a Bundle of type batch or transaction",
            )],
        ));
    }
    let bundle: Bundle = serde_json::from_value(value).map_err(|_| {
        SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::Structure,
                "Bundle",
                "the Bundle does not have the structure of an R4 Bundle",
            )],
        )
    })?;
    match bundle.bundle_type {
        Some(BundleType::Batch | BundleType::Transaction) => {}
        _ => {
            return Err(SyncAnswer::refused(
                400,
                vec![Issue::error(
                    IssueCode::Value,
                    "Bundle.type",
                    "only batch and transaction bundles are taken",
                )],
            ));
        }
    }
    if bundle.entry.len() > MAX_BUNDLE_ENTRIES {
        return Err(SyncAnswer::refused(
            413,
            vec![Issue::error(
                IssueCode::TooCostly,
                "Bundle.entry",
                format!(
                    "a bundle carries at most {MAX_BUNDLE_ENTRIES} entries; this one has {}: split it, or load the clinic's records with the bulk import",
                    bundle.entry.len()
                ),
            )],
        ));
    }
    Ok(bundle)
}
