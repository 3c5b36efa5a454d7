//! Domain crate for clinic-initiated direct patient messages: validated types, rules, ports
//! (traits for the outside world) and their AWS adapters.

pub mod adapters;
pub mod appointment_details;
pub mod appointment_status;
pub mod attachments;
pub mod caller;
pub mod clinic_cache;
pub mod config;
pub mod email;
pub mod envelope;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod ids;
pub mod inbound_sms;
pub mod link_token;
pub mod message_kind;
pub mod model;
pub mod opt_outs;
pub mod patient_keys;
pub mod phn;
pub mod phone;
pub mod ports;
#[cfg(any(test, feature = "properties"))]
pub mod properties;
pub mod replies;
pub mod request;
pub mod responses;
pub mod search;
pub mod search_window;
pub mod send;
pub mod sms_encoding;
pub mod telemetry;
pub mod template_text;
pub mod unlock;

pub use error::DomainError;
