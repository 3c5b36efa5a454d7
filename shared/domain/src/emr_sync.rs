//! Patients and appointments arriving from the clinic's EMR over FHIR R4: one resource at a
//! time (`PUT`) or in a bundle. Each resource is checked, its patient reference resolved,
//! and written unless what is stored is newer; every answer says what became of it.

use std::{collections::HashMap, sync::Arc};

use crate::{
    clinic_key::ClinicKey,
    clinic_keyring::ClinicKeyring,
    error::DependencyError,
    fhir::{
        self, AppointmentUpdate, PatientReference, PatientUpdate,
        bundle::{EntryResponse, ResponseEntry, status_line},
        outcome::{Issue, IssueCode, OperationOutcome},
        resources::{AppointmentResource, PatientResource},
    },
    ids::{ClinicId, IntegrationClientId, PatientId},
    model::Appointment,
    ports::{AppointmentSync, ClinicStore, EmrRecords, PatientSync, Synced},
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
    /// Opens the clinic's key, under which the patients' lookup keys are tags.
    pub keyring: Arc<ClinicKeyring>,
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
        let key = match self.keyring.key(clinic).await {
            Ok(key) => key,
            Err(error) => return SyncAnswer::failed(&error),
        };
        self.write(&key, checked, &HashMap::new()).await
    }

    /// `POST /fhir` with a `batch` bundle: each entry on its own, patients before the
    /// appointments that may reference them. A `transaction` bundle is written in one
    /// transaction, or not at all.
    async fn write(
        &self,
        key: &ClinicKey,
        checked: Checked,
        entry_patients: &HashMap<String, PatientId>,
    ) -> SyncAnswer {
        match checked {
            Checked::Patient(update) => self.write_patient(key, &update).await,
            Checked::Appointment(update) => {
                self.write_appointment(key, update, entry_patients).await
            }
        }
    }

    async fn write_patient(&self, key: &ClinicKey, update: &PatientUpdate) -> SyncAnswer {
        let sync = PatientSync {
            patient: update.patient.clone(),
            language: update.language,
            order: update.order.clone(),
        };
        match self.records.sync_patient(key, &sync).await {
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
        key: &ClinicKey,
        update: AppointmentUpdate,
        entry_patients: &HashMap<String, PatientId>,
    ) -> SyncAnswer {
        let patient_id = match self.patient_of(key, &update.patient, entry_patients).await {
            Ok(Some(id)) => id,
            Ok(None) => return unknown_patient(),
            Err(error) => return SyncAnswer::failed(&error),
        };
        let id = update.id.as_str().to_owned();
        let sync = appointment_sync(update, patient_id);
        match self.records.sync_appointment(key, &sync).await {
            Ok(Synced::NoPatient) => unknown_patient(),
            Ok(synced) => answer(ResourceType::Appointment, &id, synced, Vec::new()),
            Err(error) => SyncAnswer::failed(&error),
        }
    }

    async fn patient_of(
        &self,
        key: &ClinicKey,
        reference: &PatientReference,
        entry_patients: &HashMap<String, PatientId>,
    ) -> Result<Option<PatientId>, DependencyError> {
        Ok(match reference {
            PatientReference::Id(id) => Some(id.clone()),
            PatientReference::BundleEntry(full_url) => entry_patients.get(full_url).cloned(),
            PatientReference::HealthNumber(number) => {
                self.records.patient_with_health_number(key, number).await?
            }
        })
    }
}

/// The appointment to write: the EMR's, with its patient resolved.
fn appointment_sync(update: AppointmentUpdate, patient_id: PatientId) -> AppointmentSync {
    AppointmentSync {
        appointment: Appointment {
            id: update.id,
            patient_id,
            starts_at: update.starts_at,
            provider_name: update.provider_name,
            status: update.status,
        },
        order: update.order,
    }
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

mod bundle;
pub mod import;

#[cfg(test)]
mod tests;
