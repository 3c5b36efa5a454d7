//! The AWS clients' HTTPS, through the SDK against a local TLS server. `testdata/` holds a
//! test certificate authority and a `localhost` certificate it signed (P-256, made with
//! openssl, valid until 2126); they protect nothing.

use std::{sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    config::{BehaviorVersion, Credentials, Region, retry::RetryConfig},
    error::SdkError,
};
use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

use super::{AMAZON_TRUST_SERVICES, SharedHttpClient, https_client, https_client_with};

const TEST_CA: &str = include_str!("testdata/test-ca.pem");
const LOCALHOST_CERT: &str = include_str!("testdata/localhost.pem");
const LOCALHOST_KEY: &str = include_str!("testdata/localhost.key");

#[derive(Debug, PartialEq, Eq)]
enum Served {
    /// The TLS handshake failed: the client refused the server's certificate.
    HandshakeFailed,
    /// The head of the HTTP request read over TLS.
    Request(String),
}

/// Accepts one connection on 127.0.0.1 with the `localhost` certificate and answers a
/// DynamoDB `ListTables` with one table.
async fn serve_once() -> (u16, JoinHandle<Served>) {
    let certs = CertificateDer::pem_slice_iter(LOCALHOST_CERT.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(LOCALHOST_KEY.as_bytes()).expect("test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return Served::HandshakeFailed;
        };
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        let head_end = loop {
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let read = tls.read(&mut buffer).await.expect("read request");
            assert!(read > 0, "the client closed before sending a request");
            request.extend_from_slice(&buffer[..read]);
        };
        let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
        let body_length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while request.len() < head_end + body_length {
            let read = tls.read(&mut buffer).await.expect("read body");
            assert!(read > 0, "the client closed before sending its body");
            request.extend_from_slice(&buffer[..read]);
        }
        let body = br#"{"TableNames":["over-tls"]}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        tls.write_all(response.as_bytes()).await.expect("write");
        tls.write_all(body).await.expect("write");
        tls.shutdown().await.expect("close");
        Served::Request(head)
    });
    (port, server)
}

fn dynamodb(endpoint: String, http: SharedHttpClient) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ca-central-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        // One attempt, so that the server's single connection is the one tried.
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// What the server saw; the guard only keeps a broken client from hanging the test.
async fn served(server: JoinHandle<Served>) -> Served {
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the client never connected")
        .expect("server task")
}

fn trusting_test_ca() -> SharedHttpClient {
    let trust = TrustStore::empty().with_pem_certificate(TEST_CA.as_bytes());
    https_client_with(
        TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .expect("TLS context"),
    )
}

#[tokio::test]
async fn the_https_client_talks_to_a_server_whose_certificate_it_trusts() {
    let (port, server) = serve_once().await;
    let client = dynamodb(format!("https://localhost:{port}"), trusting_test_ca());

    let tables = client
        .list_tables()
        .send()
        .await
        .expect("ListTables over TLS");

    assert_eq!(tables.table_names(), ["over-tls"]);
    let Served::Request(head) = served(server).await else {
        panic!("the TLS handshake failed");
    };
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amz-target: dynamodb_20120810.listtables"),
        "{head}"
    );
}

#[test]
fn the_functions_trust_the_five_roots_of_amazon_trust_services_only() {
    let roots = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES)
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates");
    let mut store = rustls::RootCertStore::empty();
    assert_eq!(store.add_parsable_certificates(roots), (5, 0));
    let subjects: Vec<String> = store
        .roots
        .iter()
        .map(|anchor| String::from_utf8_lossy(anchor.subject.as_ref()).into_owned())
        .collect();
    for name in [
        "Amazon Root CA 1",
        "Amazon Root CA 2",
        "Amazon Root CA 3",
        "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2",
    ] {
        assert!(
            subjects.iter().any(|subject| subject.contains(name)),
            "{name} missing"
        );
    }
}

#[tokio::test]
async fn the_https_client_refuses_a_certificate_from_an_unknown_authority() {
    let (port, server) = serve_once().await;
    // The functions' client: Amazon Trust Services' roots, not the test authority.
    let client = dynamodb(format!("https://localhost:{port}"), https_client());

    let error = client.list_tables().send().await.expect_err("untrusted");

    assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
    assert_eq!(served(server).await, Served::HandshakeFailed);
}

#[tokio::test]
async fn the_https_client_refuses_a_certificate_for_another_host() {
    let (port, server) = serve_once().await;
    // Trusted authority, but the certificate names `localhost`, not this address.
    let client = dynamodb(format!("https://127.0.0.1:{port}"), trusting_test_ca());

    let error = client.list_tables().send().await.expect_err("wrong host");

    assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
    assert_eq!(served(server).await, Served::HandshakeFailed);
}
