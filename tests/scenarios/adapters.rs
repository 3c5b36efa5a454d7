//! The AWS adapters, through the real SDK, against the emulator.

use std::time::Duration;

use direct_messages::{
    adapters::{kms::KmsKeyService, s3::S3BlobStore, sns::SnsSmsSender},
    appointment_status::AppointmentStatus,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Patient},
    patient_keys::{first_name_key, last_name_key, phone_key},
    phn::Phn,
    phone::PhoneNumber,
    ports::{
        AppointmentStore, BlobStore, ClinicStore, EncryptionContext, KeyService, OutboundSms,
        SmsSender,
    },
};
use integration_tests::TestStack;

fn patient(id: &str, phone: &str) -> Patient {
    Patient {
        id: PatientId::parse(id).unwrap(),
        phn: Some(Phn::parse("9698658215").unwrap()),
        first_name: "Ava".into(),
        last_name: "Smith".into(),
        date_of_birth: Some(jiff::civil::date(1984, 3, 12)),
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        email: None,
    }
}

fn appointment(id: &str, patient: &str) -> Appointment {
    Appointment {
        id: AppointmentId::parse(id).unwrap(),
        patient_id: PatientId::parse(patient).unwrap(),
        starts_at: "2030-01-02T17:30:00Z".parse().unwrap(),
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    }
}

async fn lookup_items(test: &TestStack, pk: &str) -> Vec<String> {
    let output = test
        .stack
        .clients
        .dynamodb()
        .query()
        .table_name(&test.stack.config.tables.patient_lookup)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
        )
        .send()
        .await
        .unwrap();
    output
        .items()
        .iter()
        .map(|item| item["sk"].as_s().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn upsert_writes_appointment_patient_and_lookup_keys_together() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let ava = patient("p-ava", "+16045550140");
    test.store
        .upsert_appointment_with_patient(&clinic, &ava, &appointment("a-1", "p-ava"))
        .await
        .unwrap();

    assert_eq!(
        test.store.get_patient(&clinic, &ava.id).await.unwrap(),
        Some(ava.clone())
    );
    let stored = test
        .store
        .get_appointment(&clinic, &AppointmentId::parse("a-1").unwrap())
        .await
        .unwrap();
    assert_eq!(stored, Some(appointment("a-1", "p-ava")));
    assert_eq!(
        lookup_items(&test, &phone_key(&clinic, "+16045550140")).await,
        ["p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &last_name_key(&clinic)).await,
        ["smith\u{1}ava\u{1}p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &first_name_key(&clinic)).await,
        ["ava\u{1}smith\u{1}p-ava"]
    );
}

#[tokio::test]
async fn a_changed_phone_replaces_the_old_lookup_key() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let before = patient("p-ava", "+16045550141");
    test.store
        .upsert_appointment_with_patient(&clinic, &before, &appointment("a-1", "p-ava"))
        .await
        .unwrap();
    let after = patient("p-ava", "+16045550142");
    test.store
        .upsert_appointment_with_patient(&clinic, &after, &appointment("a-2", "p-ava"))
        .await
        .unwrap();

    assert!(
        lookup_items(&test, &phone_key(&clinic, "+16045550141"))
            .await
            .is_empty()
    );
    assert_eq!(
        lookup_items(&test, &phone_key(&clinic, "+16045550142")).await,
        ["p-ava"]
    );
    assert_eq!(
        test.store.get_patient(&clinic, &after.id).await.unwrap(),
        Some(after)
    );
}

#[tokio::test]
async fn changed_name_phn_and_email_replace_their_old_lookup_keys() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let mut before = patient("p-ava", "+16045550151");
    before.email = Some(direct_messages::email::Email::parse("old@example.com").unwrap());
    test.store
        .upsert_appointment_with_patient(&clinic, &before, &appointment("a-1", "p-ava"))
        .await
        .unwrap();
    let mut after = before.clone();
    after.first_name = "Eva".into();
    after.last_name = "Jones".into();
    after.phn = Some(Phn::parse("9890608412").unwrap());
    after.email = Some(direct_messages::email::Email::parse("new@example.com").unwrap());
    test.store
        .upsert_appointment_with_patient(&clinic, &after, &appointment("a-1", "p-ava"))
        .await
        .unwrap();

    use direct_messages::patient_keys::{email_key, phn_key};
    assert!(
        lookup_items(&test, &phn_key(&clinic, "9698658215"))
            .await
            .is_empty()
    );
    assert!(
        lookup_items(&test, &email_key(&clinic, "old@example.com"))
            .await
            .is_empty()
    );
    assert_eq!(
        lookup_items(&test, &phn_key(&clinic, "9890608412")).await,
        ["p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &email_key(&clinic, "new@example.com")).await,
        ["p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &last_name_key(&clinic)).await,
        ["jones\u{1}eva\u{1}p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &first_name_key(&clinic)).await,
        ["eva\u{1}jones\u{1}p-ava"]
    );
}

#[tokio::test]
async fn concurrent_upserts_of_one_patient_leave_consistent_lookup_keys() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let phones = [
        "+16045550143",
        "+16045550144",
        "+16045550145",
        "+16045550146",
    ];
    let writes = phones.iter().enumerate().map(|(n, phone)| {
        let store = test.store.clone();
        let clinic = clinic.clone();
        let patient = patient("p-ava", phone);
        let appointment = appointment(&format!("a-{n}"), "p-ava");
        async move {
            store
                .upsert_appointment_with_patient(&clinic, &patient, &appointment)
                .await
        }
    });
    let results = futures_join_all(writes).await;
    assert!(results.iter().any(Result::is_ok));
    let stored = test
        .store
        .get_patient(&clinic, &PatientId::parse("p-ava").unwrap())
        .await
        .unwrap()
        .unwrap();
    let current = stored.phone.unwrap();
    for phone in phones {
        let keys = lookup_items(&test, &phone_key(&clinic, phone)).await;
        if phone == current.as_e164() {
            assert_eq!(keys, ["p-ava"]);
        } else {
            assert!(keys.is_empty(), "a stale phone key was left behind");
        }
    }
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("task"));
    }
    outputs
}

#[tokio::test]
async fn another_clinics_appointment_is_not_found() {
    let test = TestStack::new().await;
    let owner = ClinicId::parse("clinic-a").unwrap();
    let other = ClinicId::parse("clinic-b").unwrap();
    test.store
        .upsert_appointment_with_patient(
            &owner,
            &patient("p-ava", "+16045550147"),
            &appointment("a-1", "p-ava"),
        )
        .await
        .unwrap();
    let id = AppointmentId::parse("a-1").unwrap();
    assert!(
        test.store
            .get_appointment(&other, &id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        test.store
            .get_patient(&other, &PatientId::parse("p-ava").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn clinics_are_found_by_their_sms_number() {
    let test = TestStack::new().await;
    let data = local_stack::seed::DemoData::load().unwrap();
    let clinic = data.clinic(jiff::Timestamp::now()).unwrap();
    test.store.put_clinic(&clinic).await.unwrap();
    assert_eq!(
        test.store.get_clinic(&clinic.id).await.unwrap(),
        Some(clinic.clone())
    );
    let found = test
        .store
        .find_clinic_by_sms_number(&clinic.sms_number)
        .await
        .unwrap();
    assert_eq!(found, Some(clinic));
    let unknown = PhoneNumber::parse("+16045550148").unwrap();
    assert!(
        test.store
            .find_clinic_by_sms_number(&unknown)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn sms_is_published_transactional_from_the_clinic_number() {
    let test = TestStack::new().await;
    let sender = SnsSmsSender::new(test.stack.clients.sns());
    let sms = OutboundSms {
        to: PhoneNumber::parse("+16045550149").unwrap(),
        from: PhoneNumber::parse("+12505550100").unwrap(),
        body: "Adapter test message".into(),
    };
    let receipt = sender.send(&sms).await.expect("published");
    assert!(!receipt.provider_message_id.is_empty());
    assert!(!sender.is_opted_out(&sms.to).await.unwrap());

    let published = test.recorder.published_sms().await.unwrap();
    let ours: Vec<_> = published
        .iter()
        .filter(|p| p.phone_number == "+16045550149")
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].message, "Adapter test message");
    assert_eq!(ours[0].attributes["AWS.SNS.SMS.SMSType"], "Transactional");
    assert_eq!(
        ours[0].attributes["AWS.MM.SMS.OriginationNumber"],
        "+12505550100"
    );
}

#[tokio::test]
async fn data_keys_decrypt_only_under_their_encryption_context() {
    let test = TestStack::new().await;
    let keys = KmsKeyService::new(test.stack.clients.kms(), &test.stack.config.content_key_id);
    let context: EncryptionContext = [
        ("clinic_id".to_owned(), "clinic-a".to_owned()),
        ("message_id".to_owned(), "m-1".to_owned()),
    ]
    .into();
    let key = keys.generate_data_key(&context).await.unwrap();
    assert_eq!(key.plaintext.len(), 32);
    assert_ne!(key.ciphertext, key.plaintext);
    assert_eq!(
        keys.decrypt_data_key(&key.ciphertext, &context)
            .await
            .unwrap(),
        key.plaintext
    );

    let mut other = context.clone();
    other.insert("message_id".to_owned(), "m-2".to_owned());
    let refused = keys
        .decrypt_data_key(&key.ciphertext, &other)
        .await
        .expect_err("wrong context");
    assert_eq!(refused.service, "kms");
}

#[tokio::test]
async fn attachments_go_up_and_down_by_presigned_urls_encrypted_with_the_project_key() {
    let test = TestStack::new().await;
    let config = &test.stack.config;
    let blobs = S3BlobStore::new(
        test.stack.clients.s3(),
        &config.attachments_bucket,
        &config.content_key_id,
    );
    let key = "attachments/clinic-a/att-1";
    let upload = blobs
        .presign_upload(key, "application/pdf", Duration::from_secs(900))
        .await
        .unwrap();
    assert!(upload.url.contains("X-Amz-Expires=900"));
    let http = reqwest::Client::new();
    let mut put = http.put(&upload.url).body(b"%PDF-1.7 test".to_vec());
    for (name, value) in &upload.headers {
        put = put.header(name, value);
    }
    let response = put.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "upload failed: {}",
        response.status()
    );

    let info = blobs.head(key).await.unwrap().expect("uploaded");
    assert_eq!(info.size, 13);
    assert_eq!(info.content_type.as_deref(), Some("application/pdf"));
    let kms_key = info.kms_key_id.expect("SSE-KMS");
    assert!(
        config
            .content_key_id
            .ends_with(kms_key.rsplit('/').next().unwrap())
    );

    let url = blobs
        .presign_download(key, "results.pdf", Duration::from_secs(300))
        .await
        .unwrap();
    let downloaded = http.get(&url).send().await.unwrap();
    assert!(downloaded.status().is_success());
    let disposition = downloaded.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;") && disposition.contains("results.pdf"));
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), b"%PDF-1.7 test");

    assert!(
        blobs
            .head("attachments/clinic-a/missing")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bulk_loaded_patients_are_found_like_upserted_ones() {
    let test = TestStack::new().await;
    let data = local_stack::seed::DemoData::load().unwrap();
    let clinic = data.clinic(jiff::Timestamp::now()).unwrap();
    let mut upcoming = appointment("a-bulk", "p-bulk");
    // Appointment times are kept to the second.
    let in_two_days = jiff::Timestamp::now().as_second() + 48 * 3600;
    upcoming.starts_at = jiff::Timestamp::from_second(in_two_days).unwrap();
    test.store
        .bulk_load(
            &clinic.id,
            &[(patient("p-bulk", "+16045550150"), vec![upcoming.clone()])],
        )
        .await
        .unwrap();

    assert_eq!(
        test.store
            .get_appointment(&clinic.id, &upcoming.id)
            .await
            .unwrap(),
        Some(upcoming)
    );
    let request =
        direct_messages::search::SearchRequest::parse(Some("604 555 0150"), None, None, None)
            .unwrap();
    let page = direct_messages::search::find_patients(
        &test.store,
        &clinic,
        &request,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(page.matches.len(), 1);
    assert_eq!(page.matches[0].appointments[0].id.as_str(), "a-bulk");
}
