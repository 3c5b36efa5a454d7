//! The domain of clinic-initiated direct patient messages. Its modules form layers, and
//! imports run one way, down this list (`tests/scenarios/layering.rs` checks it):
//! - values: types that validate when built, each holding its own rules;
//! - model: the records the product keeps, made of values;
//! - ports: one trait per outside thing, speaking values and model;
//! - use cases: the rules in order, over the ports;
//! - fakes: in-memory ports for fast tests.
//!
//! No AWS, Lambda or HTTP-client crate is used here: `aws` adapts the ports to AWS.

// Values.
pub mod appointment_status;
pub mod attachments;
pub mod caller;
pub mod clinic_key;
pub mod clinic_profile;
pub mod delivery_receipt;
pub mod email;
pub mod envelope;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod inbound_sms;
pub mod language;
pub mod link_token;
pub mod message_kind;
pub mod name_text;
pub mod phn;
pub mod phone;
pub mod problem;
pub mod random;
pub mod search_window;
pub mod sms_encoding;
pub mod sms_text;
pub mod template_text;
pub mod unlock_attempts;
pub mod update_order;

// Model.
pub mod fhir;
pub mod model;
pub mod patient_keys;

// Ports.
pub mod ports;

// Use cases.
pub mod admin;
pub mod appointment_details;
pub mod audit_trail;
pub mod clinic_cache;
pub mod clinic_keyring;
pub mod delivery_status;
pub mod emr_sync;
pub mod message_actions;
pub mod opt_outs;
pub mod outbox;
pub mod replies;
pub mod search;
pub mod secure_content;
pub mod send;
pub mod unlock;
pub mod worklist;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
#[cfg(any(test, feature = "properties"))]
pub mod properties;

pub use error::DomainError;
