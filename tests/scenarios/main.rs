//! Scenarios across the functions against the local AWS emulator (started by `tests/run`).

mod adapters;
mod administration;
mod attachments;
mod contract;
mod events;
mod faults;
mod fhir;
mod fhir_import;
mod handlers;
mod layering;
mod lifecycle;
mod local_api;
mod phi_guard;
mod port_contracts;
mod provisioning;
mod replies;
mod runtime_logs;
mod search;
mod security_table;
mod seeding;
mod sending;
mod stored_keys;
mod template_rules;
mod unlocking;
