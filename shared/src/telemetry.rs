//! Structured JSON logs for the functions. Log ids and outcomes only: never PHNs, names,
//! phone numbers, emails, message text or link tokens.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the JSON subscriber once; later calls (tests, the local runner) are no-ops.
pub fn init_json_logs() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time() // Lambda stamps each line itself.
        .try_init();
}
