//! The FHIR R4 JSON we read, as serde structs of the elements we use: unknown elements
//! (extensions, narrative, `_element` primitives) are ignored, and every element is optional
//! or defaults to empty, so that every valid R4 Patient and Appointment parses.

use serde::Deserialize;

/// `Resource.meta`: the EMR's version of the resource, which orders updates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub version_id: Option<String>,
    pub last_updated: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Identifier {
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub name_use: Option<String>,
    pub family: Option<String>,
    #[serde(default)]
    pub given: Vec<String>,
    pub text: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ContactPoint {
    pub system: Option<String>,
    pub value: Option<String>,
    #[serde(rename = "use")]
    pub contact_use: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Communication {
    #[serde(default)]
    pub language: CodeableConcept,
    pub preferred: Option<bool>,
}

/// A reference: literal (`Patient/123`, or a bundle entry's `urn:uuid:…`), or logical
/// (an identifier).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Reference {
    pub reference: Option<String>,
    pub identifier: Option<Identifier>,
    pub display: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Participant {
    pub actor: Option<Reference>,
}

/// A Patient resource; PHI, so `Debug` shows its id only.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientResource {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub name: Vec<HumanName>,
    pub birth_date: Option<String>,
    #[serde(default)]
    pub telecom: Vec<ContactPoint>,
    #[serde(default)]
    pub communication: Vec<Communication>,
}

/// An Appointment resource; its participants' names are PHI, so `Debug` shows its id only.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentResource {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub start: Option<String>,
    #[serde(default)]
    pub participant: Vec<Participant>,
}

macro_rules! debug_shows_id_only {
    ($($name:ident),*) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("id", &self.id)
                    .finish_non_exhaustive()
            }
        })*
    };
}

debug_shows_id_only!(PatientResource, AppointmentResource);

/// Types of PHI-holding parts print nothing but their type.
macro_rules! debug_redacted {
    ($($name:ident),*) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        })*
    };
}

debug_redacted!(Identifier, HumanName, ContactPoint, Reference, Participant);
