//! Patients and appointments arriving from the clinic's EMR over FHIR R4: one resource at a
//! time (`PUT`) or in a bundle. Each resource is checked, its patient reference resolved,
//! and written unless what is stored is newer; every answer says what became of it.

use std::{collections::HashMap, sync::Arc};

use crate::{
    error::DependencyError,
    fhir::{
        self, AppointmentUpdate, PatientReference, PatientUpdate,
        bundle::{
            Bundle, BundleEntry, BundleType, EntryResponse, MAX_BUNDLE_ENTRIES, ResponseBundle,
            ResponseEntry, status_line,
        },
        outcome::{Issue, IssueCode, OperationOutcome},
        resources::{AppointmentResource, PatientResource},
    },
    ids::{ClinicId, IntegrationClientId, PatientId},
    model::Appointment,
    ports::{
        AppointmentSync, BatchSynced, ClinicStore, EmrRecords, PatientSync, SyncBatch, Synced,
    },
};

/// The resource types the EMR may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Patient,
    Appointment,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Patient => "Patient",
            ResourceType::Appointment => "Appointment",
        }
    }

    fn of(name: &str) -> Option<ResourceType> {
        match name {
            "Patient" => Some(ResourceType::Patient),
            "Appointment" => Some(ResourceType::Appointment),
            _ => None,
        }
    }
}

/// What became of one resource: the HTTP status and what the answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAnswer {
    pub status: u16,
    /// The stored resource, when there is one: its type, id and version.
    pub stored: Option<(ResourceType, String, u64)>,
    pub outcome: Option<OperationOutcome>,
}

impl SyncAnswer {
    pub fn refused(status: u16, issues: Vec<Issue>) -> SyncAnswer {
        SyncAnswer {
            status,
            stored: None,
            outcome: Some(OperationOutcome::of(issues)),
        }
    }

    fn failed(error: &DependencyError) -> SyncAnswer {
        tracing::error!(
            service = error.service,
            operation = error.operation,
            code = %error.code,
            "EMR sync failed"
        );
        SyncAnswer::refused(
            502,
            vec![Issue::error(
                IssueCode::Transient,
                "",
                "a service this depends on failed; nothing was changed for this resource, send it again shortly",
            )],
        )
    }

    /// `W/"<version>"`.
    pub fn etag(&self) -> Option<String> {
        self.stored
            .as_ref()
            .map(|(_, _, version)| format!("W/\"{version}\""))
    }

    /// `<Type>/<id>/_history/<version>`.
    pub fn location(&self) -> Option<String> {
        self.stored
            .as_ref()
            .map(|(kind, id, version)| format!("{}/{id}/_history/{version}", kind.as_str()))
    }

    fn entry(&self) -> ResponseEntry {
        ResponseEntry {
            response: EntryResponse {
                status: status_line(self.status),
                location: self.location(),
                etag: self.etag(),
                outcome: self.outcome.clone(),
            },
        }
    }
}

pub struct EmrSync {
    pub records: Arc<dyn EmrRecords>,
    pub clinics: Arc<dyn ClinicStore>,
}

/// A resource that passed its checks, ready to write.
enum Checked {
    Patient(PatientUpdate),
    Appointment(AppointmentUpdate),
}

impl EmrSync {
    /// The clinic the EMR integration's machine client writes for; a client bound to none
    /// is refused.
    pub async fn clinic_of(&self, client: &IntegrationClientId) -> Result<ClinicId, SyncAnswer> {
        match self.clinics.clinic_of_integration_client(client).await {
            Ok(Some(clinic)) => Ok(clinic),
            Ok(None) => Err(SyncAnswer::refused(
                403,
                vec![Issue::error(
                    IssueCode::Forbidden,
                    "",
                    "this machine client is bound to no clinic: ask the operator to onboard the clinic's EMR integration",
                )],
            )),
            Err(error) => Err(SyncAnswer::failed(&error)),
        }
    }

    /// `PUT /fhir/{type}/{id}`: update as create.
    pub async fn put(
        &self,
        clinic: &ClinicId,
        resource_type: ResourceType,
        url_id: &str,
        body: &[u8],
    ) -> SyncAnswer {
        let resource = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(resource) => resource,
            Err(error) => {
                return SyncAnswer::refused(
                    400,
                    vec![Issue::error(
                        IssueCode::Structure,
                        "",
                        format!(
                            "the body is not JSON (line {}, column {}): send a FHIR R4 {} resource as application/fhir+json",
                            error.line(),
                            error.column(),
                            resource_type.as_str()
                        ),
                    )],
                );
            }
        };
        let checked = match check(&resource, Some(resource_type)) {
            Ok(checked) => checked,
            Err(refused) => return refused,
        };
        if id_of(&checked) != url_id {
            return SyncAnswer::refused(
                400,
                vec![Issue::error(
                    IssueCode::Value,
                    &format!("{}.id", resource_type.as_str()),
                    "the resource's id must be the id in the URL",
                )],
            );
        }
        self.write(clinic, checked, &HashMap::new()).await
    }

    /// `POST /fhir` with a `batch` bundle: each entry on its own, patients before the
    /// appointments that may reference them. A `transaction` bundle is written in one
    /// transaction, or not at all.
    pub async fn bundle(
        &self,
        clinic: &ClinicId,
        body: &[u8],
    ) -> Result<ResponseBundle, SyncAnswer> {
        let bundle = read_bundle(body)?;
        let checked: Vec<Result<(Option<String>, Checked), SyncAnswer>> =
            bundle.entry.iter().map(check_entry).collect();
        if bundle.bundle_type == Some(BundleType::Transaction) {
            let entries = self.transaction(clinic, checked).await?;
            return Ok(ResponseBundle::new("transaction-response", entries));
        }
        // Patients first: appointments in the bundle may reference them by `fullUrl`.
        let mut answers: Vec<Option<SyncAnswer>> = vec![None; checked.len()];
        let entry_patients = entry_patients(&checked);
        for (index, entry) in checked.iter().enumerate() {
            if let Ok((_, Checked::Patient(update))) = entry {
                answers[index] = Some(self.write_patient(clinic, update).await);
            }
        }
        for (index, entry) in checked.into_iter().enumerate() {
            answers[index] = Some(match entry {
                Err(refused) => refused,
                Ok((_, Checked::Patient(_))) => continue,
                Ok((_, appointment)) => self.write(clinic, appointment, &entry_patients).await,
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
        clinic: &ClinicId,
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
                        .patient_of(clinic, &update.patient, &entry_patients)
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
                    batch.appointments.push(AppointmentSync {
                        appointment: Appointment {
                            id: update.id,
                            patient_id,
                            starts_at: update.starts_at,
                            provider_name: update.provider_name,
                            status: update.status,
                        },
                        order: update.order,
                    });
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
        let (patients, appointments) = match self.records.sync_together(clinic, &batch).await {
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

    async fn write(
        &self,
        clinic: &ClinicId,
        checked: Checked,
        entry_patients: &HashMap<String, PatientId>,
    ) -> SyncAnswer {
        match checked {
            Checked::Patient(update) => self.write_patient(clinic, &update).await,
            Checked::Appointment(update) => {
                self.write_appointment(clinic, update, entry_patients).await
            }
        }
    }

    async fn write_patient(&self, clinic: &ClinicId, update: &PatientUpdate) -> SyncAnswer {
        let sync = PatientSync {
            patient: update.patient.clone(),
            language: update.language,
            order: update.order.clone(),
        };
        match self.records.sync_patient(clinic, &sync).await {
            Ok(synced) => answer(
                ResourceType::Patient,
                update.patient.id.as_str(),
                synced,
                update.notices.clone(),
            ),
            Err(error) => SyncAnswer::failed(&error),
        }
    }

    async fn write_appointment(
        &self,
        clinic: &ClinicId,
        update: AppointmentUpdate,
        entry_patients: &HashMap<String, PatientId>,
    ) -> SyncAnswer {
        let patient_id = match self
            .patient_of(clinic, &update.patient, entry_patients)
            .await
        {
            Ok(Some(id)) => id,
            Ok(None) => return unknown_patient(),
            Err(error) => return SyncAnswer::failed(&error),
        };
        let id = update.id.as_str().to_owned();
        let sync = AppointmentSync {
            appointment: Appointment {
                id: update.id,
                patient_id,
                starts_at: update.starts_at,
                provider_name: update.provider_name,
                status: update.status,
            },
            order: update.order,
        };
        match self.records.sync_appointment(clinic, &sync).await {
            Ok(Synced::NoPatient) => unknown_patient(),
            Ok(synced) => answer(ResourceType::Appointment, &id, synced, Vec::new()),
            Err(error) => SyncAnswer::failed(&error),
        }
    }

    async fn patient_of(
        &self,
        clinic: &ClinicId,
        reference: &PatientReference,
        entry_patients: &HashMap<String, PatientId>,
    ) -> Result<Option<PatientId>, DependencyError> {
        Ok(match reference {
            PatientReference::Id(id) => Some(id.clone()),
            PatientReference::BundleEntry(full_url) => entry_patients.get(full_url).cloned(),
            PatientReference::HealthNumber(number) => {
                self.records
                    .patient_with_health_number(clinic, number)
                    .await?
            }
        })
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

fn unknown_patient() -> SyncAnswer {
    SyncAnswer::refused(
        422,
        vec![Issue::error(
            IssueCode::NotFound,
            "Appointment.participant",
            "the appointment's patient is not known here: send the Patient first, or in the same bundle",
        )],
    )
}

/// The answer to a write: 201 when the record was created, 200 when it was updated or an
/// older update was acknowledged and ignored.
fn answer(kind: ResourceType, id: &str, synced: Synced, mut notices: Vec<Issue>) -> SyncAnswer {
    let (status, version) = match synced {
        Synced::Written { version } => (if version == 1 { 201 } else { 200 }, version),
        Synced::Stale { version } => {
            notices.push(Issue::information(
                &format!("{}.meta", kind.as_str()),
                "a newer update of this record is stored: this one was acknowledged and ignored",
            ));
            (200, version)
        }
        Synced::NoPatient => return unknown_patient(),
    };
    SyncAnswer {
        status,
        stored: Some((kind, id.to_owned(), version)),
        outcome: (!notices.is_empty()).then(|| OperationOutcome::of(notices)),
    }
}

fn id_of(checked: &Checked) -> &str {
    match checked {
        Checked::Patient(update) => update.patient.id.as_str(),
        Checked::Appointment(update) => update.id.as_str(),
    }
}

/// Reads the resource's type, and maps it when it is one we take (and, for a `PUT`, the
/// one its URL names).
fn check(
    resource: &serde_json::Value,
    expected: Option<ResourceType>,
) -> Result<Checked, SyncAnswer> {
    let Some(name) = resource
        .get("resourceType")
        .and_then(|value| value.as_str())
    else {
        return Err(SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::Structure,
                "",
                "the JSON is not a FHIR resource: it has no resourceType",
            )],
        ));
    };
    let Some(resource_type) =
        ResourceType::of(name).filter(|found| expected.is_none_or(|e| e == *found))
    else {
        let taken = expected.map_or("Patient and Appointment", ResourceType::as_str);
        return Err(SyncAnswer::refused(
            if expected.is_some() { 400 } else { 422 },
            vec![Issue::error(
                IssueCode::NotSupported,
                "",
                format!("this resource type is not taken here: send {taken} resources"),
            )],
        ));
    };
    let structure = |_| {
        SyncAnswer::refused(
            400,
            vec![Issue::error(
                IssueCode::Structure,
                resource_type.as_str(),
                format!(
                    "the {} does not have the structure of an R4 {0}: an element has the wrong type",
                    resource_type.as_str()
                ),
            )],
        )
    };
    let mapped = match resource_type {
        ResourceType::Patient => {
            let parsed: PatientResource =
                serde_json::from_value(resource.clone()).map_err(structure)?;
            fhir::patient_update(&parsed).map(Checked::Patient)
        }
        ResourceType::Appointment => {
            let parsed: AppointmentResource =
                serde_json::from_value(resource.clone()).map_err(structure)?;
            fhir::appointment_update(&parsed).map(Checked::Appointment)
        }
    };
    mapped.map_err(|issues| SyncAnswer::refused(422, issues))
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

#[cfg(test)]
mod tests;
