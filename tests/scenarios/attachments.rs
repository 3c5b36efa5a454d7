//! Attachment uploads: presigned PUTs straight to the bucket, encrypted with the project key.

use aws::s3::S3BlobStore;
use domain::ports::BlobStore;
use integration_tests::{
    TestStack,
    fixtures::uploads::{UploadTicket, put_file, request_upload},
};

#[tokio::test]
async fn a_file_uploads_through_the_presigned_url_under_the_clinic_prefix_with_the_project_key() {
    let test = TestStack::new().await;
    let (status, answer) = request_upload(
        &test,
        "clinic-a",
        r#"{"content_type":"application/pdf","size":8}"#,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let ticket = UploadTicket::from_answer(&answer).unwrap();
    let url = &ticket.upload.url;
    assert!(url.contains("X-Amz-Expires=900"), "valid for 15 minutes");
    let id = &ticket.attachment_id;
    assert!(url.contains(&format!("attachments/clinic-a/{id}")));

    let uploaded = put_file(&ticket.upload, b"%PDF-1.7").await.unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    // The URL creates the file once: the file cannot be swapped after it is attached.
    let swapped = put_file(&ticket.upload, b"%PDF-1.8").await.unwrap();
    assert_eq!(swapped.status(), 412);

    let config = &test.stack.config;
    let blobs = S3BlobStore::new(
        test.stack.clients.s3(),
        &config.attachments_bucket,
        &config.content_key_id,
    );
    let info = blobs
        .head(&format!("attachments/clinic-a/{id}"))
        .await
        .unwrap()
        .expect("uploaded");
    assert_eq!(info.content_type.as_deref(), Some("application/pdf"));
    let key = info.kms_key_id.expect("SSE-KMS");
    assert!(
        config
            .content_key_id
            .ends_with(key.rsplit('/').next().unwrap())
    );
}

/// S3 refuses a presigned PUT whose signed headers are missing or changed. The emulator does
/// not check signatures, so this checks what the URL signs: the declared size as the
/// `Content-Length` (a larger body is refused), the content type and SSE-KMS with the
/// project key (the bucket policy refuses uploads without them, too), and that it creates
/// the object only (`If-None-Match: *`).
#[tokio::test]
async fn the_upload_url_signs_the_content_type_and_the_encryption_headers() {
    let test = TestStack::new().await;
    let (_, ticket) = request_upload(
        &test,
        "clinic-a",
        r#"{"content_type":"image/png","size":1200}"#,
    )
    .await;
    let url = ticket["upload"]["url"].as_str().unwrap();
    let signed = url
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("X-Amz-SignedHeaders="))
        .expect("a SigV4 presigned URL");
    for header in [
        "content-length",
        "content-type",
        "if-none-match",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
    ] {
        assert!(
            signed.split("%3B").any(|h| h == header),
            "{header} is not signed: {signed}"
        );
    }
    let headers = ticket["upload"]["headers"].as_object().unwrap();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["content-length"], "1200", "the declared size");
    assert_eq!(headers["x-amz-server-side-encryption"], "aws:kms");
    assert_eq!(
        headers["x-amz-server-side-encryption-aws-kms-key-id"],
        test.stack.config.content_key_id.as_str()
    );
}

#[tokio::test]
async fn unsupported_types_oversized_files_and_bad_bodies_are_refused_clearly() {
    let test = TestStack::new().await;
    #[rustfmt::skip]
    let cases = [
        (r#"{"content_type":"text/html","size":10}"#, 415, "unsupported-file-type", "PDF, PNG or JPEG"),
        (r#"{"content_type":"application/zip","size":10}"#, 415, "unsupported-file-type", "PDF, PNG or JPEG"),
        (r#"{"content_type":"image/jpeg","size":20971521}"#, 400, "invalid-body", "1 byte to 20 MB"),
        (r#"{"content_type":"image/jpeg","size":0}"#, 400, "invalid-body", "1 byte to 20 MB"),
        (r#"{"content_type":"image/jpeg"}"#, 400, "invalid-body", "missing field `size`"),
        (r#"{"size":10}"#, 400, "invalid-body", "missing field `content_type`"),
        ("not json", 400, "invalid-body", "not valid JSON"),
        ("", 400, "invalid-body", "send a JSON object"),
    ];
    for (body, status, kind, expected) in cases {
        let (got, problem) = request_upload(&test, "clinic-a", body).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(
            problem["type"],
            format!("urn:direct-messages:problem:{kind}"),
            "{body}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(expected),
            "{body}: {problem}"
        );
    }
}
