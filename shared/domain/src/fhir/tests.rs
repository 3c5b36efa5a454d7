//! The mapping of FHIR R4 Patients and Appointments, on the specification's own examples
//! and on what Canadian EMRs send.

use serde_json::json;

use super::*;
use crate::fhir::outcome::Severity;

/// The R4 specification's `Patient/example` (Peter James Chalmers), abridged of its
/// narrative: an Australian patient without a Canadian health number or phone.
fn specification_patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": "example",
        "identifier": [{
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": "urn:oid:1.2.36.146.595.217.0.1",
            "value": "12345",
            "period": {"start": "2001-05-06"},
            "assigner": {"display": "Acme Healthcare"}
        }],
        "active": true,
        "name": [
            {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
            {"use": "usual", "given": ["Jim"]},
            {"use": "maiden", "family": "Windsor", "given": ["Peter", "James"], "period": {"end": "2002"}}
        ],
        "telecom": [
            {"use": "home"},
            {"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1},
            {"system": "phone", "value": "(03) 3410 5613", "use": "mobile", "rank": 2},
            {"system": "phone", "value": "(03) 5555 8834", "use": "old", "period": {"end": "2014"}}
        ],
        "gender": "male",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
            "valueDateTime": "1974-12-25T14:35:45-05:00"
        }]},
        "deceasedBoolean": false,
        "address": [{
            "use": "home", "type": "both",
            "text": "534 Erewhon St PeasantVille, Rainbow, Vic  3999",
            "line": ["534 Erewhon St"], "city": "PleasantVille", "district": "Rainbow",
            "state": "Vic", "postalCode": "3999", "period": {"start": "1974-12-25"}
        }],
        "contact": [{
            "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}],
            "name": {"family": "du Marché", "given": ["Bénédicte"]},
            "telecom": [{"system": "phone", "value": "+33 (237) 998327"}],
            "gender": "female"
        }],
        "managingOrganization": {"reference": "Organization/1"}
    })
}

/// The R4 specification's `Appointment/example`, abridged of its narrative and codings.
fn specification_appointment() -> serde_json::Value {
    json!({
        "resourceType": "Appointment",
        "id": "example",
        "status": "booked",
        "serviceCategory": [{"coding": [{"system": "http://example.org/service-category", "code": "gp", "display": "General Practice"}]}],
        "reasonReference": [{"reference": "Condition/example", "display": "Severe burn of left ear"}],
        "priority": 5,
        "description": "Discussion on the results of your recent MRI",
        "start": "2013-12-10T09:00:00Z",
        "end": "2013-12-10T11:00:00Z",
        "created": "2013-10-10",
        "comment": "Further expand on the results of the MRI and determine the next actions that may be appropriate.",
        "basedOn": [{"reference": "ServiceRequest/myringotomy"}],
        "participant": [
            {"actor": {"reference": "Patient/example", "display": "Peter James Chalmers"}, "required": "required", "status": "accepted"},
            {
                "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                "actor": {"reference": "Practitioner/example", "display": "Dr Adam Careful"},
                "required": "required", "status": "accepted"
            },
            {"actor": {"reference": "Location/1", "display": "South Wing, second floor"}, "required": "required", "status": "accepted"}
        ]
    })
}

/// A BC patient as a Canadian EMR sends one.
fn bc_patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": "emr.1042",
        "meta": {"versionId": "7", "lastUpdated": "2026-11-30T17:05:00.120Z"},
        "identifier": [
            {"system": "https://fhir.infoway-inforoute.ca/NamingSystem/ca-on-patient-hcn", "value": "1234567890"},
            {"system": BC_PHN_SYSTEM, "value": "9698 658 215"}
        ],
        "name": [{"use": "usual", "given": ["Zo"]}, {"use": "official", "family": "Côté", "given": ["Zoë", "Anne"]}],
        "birthDate": "1980-02-29",
        "telecom": [
            {"system": "phone", "value": "604-555-0101", "use": "home"},
            {"system": "phone", "value": "(604) 555-0123", "use": "mobile"},
            {"system": "email", "value": "zoe@example.com"}
        ],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-CA"}]}},
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr-CA"}]}, "preferred": true}
        ]
    })
}

fn patient_of(value: serde_json::Value) -> Result<PatientUpdate, Vec<Issue>> {
    patient_update(&serde_json::from_value(value).expect("a Patient"))
}

fn appointment_of(value: serde_json::Value) -> Result<AppointmentUpdate, Vec<Issue>> {
    appointment_update(&serde_json::from_value(value).expect("an Appointment"))
}

fn expressions(issues: &[Issue]) -> Vec<&str> {
    issues
        .iter()
        .flat_map(|issue| issue.expression.iter().map(String::as_str))
        .collect()
}

#[test]
fn the_specifications_example_patient_is_stored_without_phone_or_phn_and_says_so() {
    let update = patient_of(specification_patient()).expect("accepted as it is");
    let patient = &update.patient;
    assert_eq!(patient.id.as_str(), "example");
    assert_eq!(
        (patient.first_name.as_str(), patient.last_name.as_str()),
        ("Peter", "Chalmers")
    );
    assert_eq!(patient.date_of_birth, Some(jiff::civil::date(1974, 12, 25)));
    assert_eq!(
        patient.phn, None,
        "urn:oid identifiers are not health numbers"
    );
    assert_eq!(
        patient.phone, None,
        "an Australian number cannot be texted from here"
    );
    assert_eq!(update.language, None);
    assert_eq!(
        expressions(&update.notices),
        ["Patient.identifier", "Patient.telecom"]
    );
    assert!(
        update
            .notices
            .iter()
            .all(|issue| issue.severity == Severity::Information)
    );
}

#[test]
fn the_specifications_example_appointment_is_accepted_with_its_patient_and_practitioner() {
    let update = appointment_of(specification_appointment()).expect("accepted as it is");
    assert_eq!(update.id.as_str(), "example");
    assert_eq!(
        update.patient,
        PatientReference::Id(PatientId::parse("example").unwrap())
    );
    assert_eq!(update.provider_name, "Dr Adam Careful");
    assert_eq!(update.status, AppointmentStatus::Booked);
    assert_eq!(update.starts_at, "2013-12-10T09:00:00Z".parse().unwrap());
}

#[test]
fn a_bc_patient_keeps_the_bc_phn_official_name_mobile_email_and_preferred_language() {
    let update = patient_of(bc_patient()).expect("accepted");
    let patient = &update.patient;
    assert_eq!(patient.phn.as_ref().map(Phn::as_str), Some("9698658215"));
    assert_eq!(
        (patient.first_name.as_str(), patient.last_name.as_str()),
        ("Zoë", "Côté")
    );
    assert_eq!(
        patient.phone.as_ref().map(PhoneNumber::as_e164),
        Some("+16045550123")
    );
    assert_eq!(
        patient.email.as_ref().map(Email::as_str),
        Some("zoe@example.com")
    );
    assert_eq!(patient.date_of_birth, Some(jiff::civil::date(1980, 2, 29)));
    assert_eq!(update.language, Some(Language::Fr));
    assert!(update.notices.is_empty());
    assert_eq!(
        update.order,
        UpdateOrder::new(Some("2026-11-30T17:05:00.120Z".parse().unwrap()), Some("7"))
    );
}

#[test]
fn another_provinces_health_number_is_kept_when_there_is_no_bc_phn() {
    let mut value = bc_patient();
    value["identifier"].as_array_mut().unwrap().pop();
    let update = patient_of(value).expect("accepted");
    assert_eq!(
        update.patient.phn.as_ref().map(Phn::as_str),
        Some("1234567890")
    );
    assert!(!update.patient.phn.unwrap().is_bc());
}

#[test]
fn a_bc_phn_with_a_wrong_check_digit_refuses_the_patient_naming_the_identifier_not_its_value() {
    let mut value = bc_patient();
    value["identifier"][1]["value"] = json!("9698658216");
    let issues = patient_of(value).unwrap_err();
    assert_eq!(expressions(&issues), ["Patient.identifier[1]"]);
    let shown = serde_json::to_string(&issues).unwrap();
    assert!(
        !shown.contains("9698658216") && !shown.contains("969865"),
        "{shown}"
    );
    assert!(shown.contains("check digit"), "{shown}");
}

#[test]
fn names_that_could_carry_a_link_or_control_character_or_are_too_long_refuse_the_patient() {
    for (given, family, expression) in [
        ("Ava visit evil.example", "Côté", "Patient.name.given"),
        ("Zoë", "Côté\nCall 604 555 0199", "Patient.name.family"),
        ("Zoë", "Côté\u{202E}", "Patient.name.family"),
        (&*"Z".repeat(61), "Côté", "Patient.name.given"),
    ] {
        let mut value = bc_patient();
        value["name"][1]["given"][0] = json!(given);
        value["name"][1]["family"] = json!(family);
        let issues = patient_of(value).unwrap_err();
        assert_eq!(expressions(&issues), [expression], "{given:?} {family:?}");
        let shown = serde_json::to_string(&issues).unwrap();
        assert!(
            !shown.contains("evil") && !shown.contains("604 555") && !shown.contains("ZZZ"),
            "{shown}"
        );
        assert!(shown.contains("text messages"), "{shown}");
    }
    let mut initials = bc_patient();
    initials["name"][1]["given"][0] = json!("J. R.");
    initials["name"][1]["family"] = json!("O'Brien-Côté");
    assert!(patient_of(initials).is_ok());
}

#[test]
fn a_provider_name_that_could_carry_a_link_refuses_the_appointment() {
    let mut value = specification_appointment();
    value["participant"][1]["actor"]["display"] = json!("Dr Adam https://careful.example");
    let issues = appointment_of(value).unwrap_err();
    assert_eq!(
        expressions(&issues),
        ["Appointment.participant.actor.display"]
    );
}

#[test]
fn a_phone_that_is_not_a_number_is_stored_as_missing_with_a_notice() {
    let mut value = bc_patient();
    value["telecom"] =
        json!([{"system": "phone", "value": "call the front desk", "use": "mobile"}]);
    let update = patient_of(value).expect("accepted");
    assert_eq!(update.patient.phone, None);
    assert_eq!(expressions(&update.notices), ["Patient.telecom"]);
}

#[test]
fn without_a_mobile_any_canadian_phone_is_used() {
    let mut value = bc_patient();
    value["telecom"] = json!([
        {"system": "phone", "value": "+1 212 555 0199", "use": "mobile"},
        {"system": "phone", "value": "250 555 0188", "use": "home"}
    ]);
    let update = patient_of(value).expect("accepted");
    assert_eq!(
        update.patient.phone.as_ref().map(PhoneNumber::as_e164),
        Some("+12505550188")
    );
}

#[test]
fn a_language_other_than_english_or_french_is_not_kept() {
    let mut value = bc_patient();
    value["communication"] = json!([{"language": {"coding": [{"code": "pa"}]}, "preferred": true}]);
    assert_eq!(patient_of(value).unwrap().language, None);
}

#[test]
fn a_patient_without_an_id_or_with_a_bad_last_updated_is_refused_with_each_element_named() {
    let mut value = bc_patient();
    value.as_object_mut().unwrap().remove("id");
    value["meta"]["lastUpdated"] = json!("yesterday");
    let issues = patient_of(value).unwrap_err();
    assert_eq!(
        expressions(&issues),
        ["Patient.id", "Patient.meta.lastUpdated"]
    );
}

#[test]
fn a_partial_birth_date_is_valid_fhir_and_not_kept() {
    let mut value = bc_patient();
    value["birthDate"] = json!("1980-02");
    assert_eq!(patient_of(value).unwrap().patient.date_of_birth, None);
}

#[test]
fn appointment_statuses_starts_and_patients_are_required_and_checked() {
    let mut value = specification_appointment();
    value["status"] = json!("done");
    value.as_object_mut().unwrap().remove("start");
    value["participant"] = json!([{"actor": {"reference": "Location/1"}}]);
    let issues = appointment_of(value).unwrap_err();
    assert_eq!(
        expressions(&issues),
        [
            "Appointment.status",
            "Appointment.start",
            "Appointment.participant"
        ]
    );
}

#[test]
fn a_patient_may_be_referenced_by_health_number_or_bundle_entry() {
    let by_phn = format!("Patient?identifier={BC_PHN_SYSTEM}|9698658215");
    let cases = [
        (
            json!({"reference": by_phn}),
            PatientReference::HealthNumber(Phn::parse("9698658215").unwrap()),
        ),
        (
            json!({"identifier": {"system": BC_PHN_SYSTEM, "value": "9698658215"}}),
            PatientReference::HealthNumber(Phn::parse("9698658215").unwrap()),
        ),
        (
            json!({"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}),
            PatientReference::BundleEntry("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a".into()),
        ),
        (
            json!({"reference": "Patient/emr.1042/_history/3"}),
            PatientReference::Id(PatientId::parse("emr.1042").unwrap()),
        ),
    ];
    for (actor, expected) in cases {
        let mut value = specification_appointment();
        value["participant"][0]["actor"] = actor;
        assert_eq!(appointment_of(value).unwrap().patient, expected);
    }
}

#[test]
fn a_conditional_reference_with_a_bad_phn_is_refused_without_echoing_it() {
    let mut value = specification_appointment();
    value["participant"][0]["actor"] =
        json!({"reference": format!("Patient?identifier={BC_PHN_SYSTEM}|9698658216")});
    let issues = appointment_of(value).unwrap_err();
    assert_eq!(expressions(&issues), ["Appointment.participant[0].actor"]);
    assert!(
        !serde_json::to_string(&issues)
            .unwrap()
            .contains("9698658216")
    );
}

#[test]
fn resources_print_their_id_only() {
    let patient: resources::PatientResource = serde_json::from_value(bc_patient()).unwrap();
    let shown = format!("{patient:?}");
    assert!(shown.contains("emr.1042"));
    for secret in ["Côté", "9698", "604", "zoe@"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
