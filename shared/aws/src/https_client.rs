//! The one HTTPS client of every AWS call.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::{
    Builder,
    tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode},
};

/// The roots of Amazon Trust Services, which every AWS service endpoint's certificate
/// chains to (Amazon Root CA 1 to 4, and Starfield Services Root G2 that cross-signs
/// them), as Debian's ca-certificates 20230311 ships them from Mozilla's store. Compiled
/// in, so that a cold start reads no certificate store (the host's took most of init)
/// and trusts no authority that AWS does not use.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("https_client/amazon-trust-services.pem");

/// The HTTP client for every AWS call: HTTPS through rustls with ring's cryptography,
/// verifying servers against Amazon Trust Services' roots, like the SDK's default client
/// does against the system's (it uses aws-lc, far larger in a Lambda binary). Plain HTTP
/// works too, for the local emulator.
pub fn https_client() -> SharedHttpClient {
    let roots = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES);
    https_client_with(
        TlsContext::builder()
            .with_trust_store(roots)
            .build()
            .expect("a TLS context of compiled-in roots"),
    )
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
