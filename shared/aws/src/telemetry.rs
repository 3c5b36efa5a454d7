//! Structured JSON logs for the functions. Log ids and outcomes only: never PHNs, names,
//! phone numbers, emails, message text or link tokens.

use tracing::Level;
use tracing_subscriber::{
    filter::{LevelFilter, Targets},
    fmt,
    prelude::*,
};

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

/// The runtime's, the HTTP stack's and the AWS SDK's targets: at debug and trace they log
/// raw events (link tokens, typed PHNs, queries, JWTs) and request bodies.
const AT_MOST_INFO: [&str; 20] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_lambda_events",
    "hyper",
    "hyper_util",
    "h2",
    "http",
    "tower",
    "rustls",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_smithy_json",
    "aws_sdk",
];

/// `RUST_LOG` as a level (`debug`) or per-target levels (`domain=debug,info`);
/// `Targets` rather than `EnvFilter`, whose regex-based span and field filters the functions
/// never need. Unset or invalid means `info`. Whatever it says, the runtime's, the HTTP
/// stack's and the SDK's targets stay at `info` at most.
pub fn log_filter(rust_log: Option<&str>) -> Targets {
    let asked = rust_log
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    let unnamed = asked.default_level().unwrap_or(LevelFilter::OFF);
    AT_MOST_INFO.iter().fold(asked, |filter, target| {
        let asked_for = filter
            .iter()
            .find(|(named, _)| named == target)
            .map_or(unnamed, |(_, level)| level);
        filter.with_target(*target, asked_for.min(LevelFilter::INFO))
    })
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

    #[test]
    fn the_runtime_http_stack_and_sdk_stay_at_info_whatever_rust_log_says() {
        for rust_log in [
            "trace",
            "debug",
            "lambda_runtime=trace,aws_smithy_runtime=trace,trace",
        ] {
            let filter = log_filter(Some(rust_log));
            assert!(filter.would_enable("domain::send", &Level::TRACE) || rust_log == "debug");
            for target in AT_MOST_INFO {
                let nested = format!("{target}::inner");
                assert!(
                    filter.would_enable(target, &Level::INFO),
                    "{rust_log}: {target}"
                );
                assert!(
                    !filter.would_enable(target, &Level::DEBUG),
                    "{rust_log}: {target}"
                );
                assert!(
                    !filter.would_enable(&nested, &Level::DEBUG),
                    "{rust_log}: {nested}"
                );
            }
        }
        let trace = log_filter(Some("trace"));
        for sdk in [
            "aws_sdk_dynamodb::operation",
            "aws_sdk_s3",
            "aws_sdk_kms",
            "aws_sdk_sns",
        ] {
            assert!(!trace.would_enable(sdk, &Level::DEBUG), "{sdk}");
        }
        // Quieter than info stays quieter.
        let quiet = log_filter(Some("hyper=warn,info"));
        assert!(!quiet.would_enable("hyper", &Level::INFO));
        assert!(quiet.would_enable("hyper", &Level::WARN));
    }
}
