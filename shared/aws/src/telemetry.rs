//! Structured JSON logs for the functions. Log ids and outcomes only: never PHNs, names,
//! phone numbers, emails, message text or link tokens.

use tracing::Level;
use tracing_subscriber::{filter::Targets, fmt, prelude::*};

/// Installs the JSON subscriber once; later calls (tests, the local runner) are no-ops.
pub fn init_json_logs() {
    let _ = tracing_subscriber::registry()
        .with(
            fmt::layer()
                .json()
                .with_current_span(false)
                .with_target(false)
                .without_time(), // Lambda stamps each line itself.
        )
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// `RUST_LOG` as a level (`debug`) or per-target levels (`domain=debug,info`);
/// `Targets` rather than `EnvFilter`, whose regex-based span and field filters the functions
/// never need. Unset or invalid means `info`.
fn log_filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_sets_the_level_and_defaults_to_info() {
        let default = log_filter(None);
        assert!(default.would_enable("domain", &Level::INFO));
        assert!(!default.would_enable("domain", &Level::DEBUG));

        let debug = log_filter(Some("debug"));
        assert!(debug.would_enable("send", &Level::DEBUG));

        let per_target = log_filter(Some("domain=debug,warn"));
        assert!(per_target.would_enable("domain::send", &Level::DEBUG));
        assert!(!per_target.would_enable("hyper", &Level::INFO));

        let invalid = log_filter(Some("loud=please"));
        assert!(invalid.would_enable("send", &Level::INFO));
        assert!(!invalid.would_enable("send", &Level::DEBUG));
    }
}
