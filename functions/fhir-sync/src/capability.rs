//! `GET /fhir/metadata`: the CapabilityStatement saying what this FHIR endpoint takes.

use domain::fhir::bundle::MAX_BUNDLE_ENTRIES;
use serde_json::{Value, json};

pub fn statement() -> Value {
    let interactions = json!([{"code": "update"}]);
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "implementation": {
            "description": "Clinic-initiated direct patient messages: the clinic's EMR writes its patients and appointments here"
        },
        "rest": [{
            "mode": "server",
            "documentation": format!(
                "Authenticate with the EMR integration's machine client (OAuth client credentials, scope fhir/write); the client is bound to one clinic. Updates are ordered by meta.lastUpdated, then meta.versionId: an older update is acknowledged and ignored. Bundles: batch or transaction, at most {MAX_BUNDLE_ENTRIES} entries."
            ),
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "OAuth"}]}]
            },
            "resource": [
                {
                    "type": "Patient",
                    "interaction": interactions,
                    "updateCreate": true,
                    "conditionalUpdate": false,
                    "documentation": "identifier: the BC PHN (https://fhir.infoway-inforoute.ca/NamingSystem/ca-bc-patient-healthcare-id, mod-11 checked) or another province's health number of the same registry; name (official first); birthDate; telecom (a Canadian mobile, else any Canadian phone; email); communication (preferred en or fr)."
                },
                {
                    "type": "Appointment",
                    "interaction": interactions,
                    "updateCreate": true,
                    "conditionalUpdate": false,
                    "documentation": "status, start, the Patient participant (Patient/{id}, Patient?identifier=<system>|<health number>, or a bundle entry's fullUrl) and the Practitioner participant's display."
                }
            ],
            "interaction": [{"code": "batch"}, {"code": "transaction"}]
        }]
    })
}
