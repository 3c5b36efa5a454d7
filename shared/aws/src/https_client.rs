//! The one HTTPS client of every AWS call.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::{
    Builder,
    tls::{self, TlsContext, rustls_provider::CryptoMode},
};

/// The HTTP client for every AWS call: HTTPS through rustls with ring's cryptography,
/// verifying servers against the system's root certificates, like the SDK's default client
/// (which uses aws-lc, far larger in a Lambda binary). Plain HTTP works too, for the
/// local emulator.
pub fn https_client() -> SharedHttpClient {
    https_client_with(TlsContext::default())
}

/// `https_client` trusting what `tls` says; tests trust a test authority this way.
fn https_client_with(tls: TlsContext) -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https()
}

#[cfg(test)]
mod tests;
