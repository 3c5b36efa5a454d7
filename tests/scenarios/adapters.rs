//! The AWS adapters, through the real SDK, against the emulator.

use std::{sync::Arc, time::Duration};

use aws::{kms::KmsKeyService, s3::S3BlobStore, sns::SnsSmsSender, system::SystemClock};
use domain::{
    appointment_status::AppointmentStatus,
    clinic_key::{self, ClinicKey},
    clinic_keyring::ClinicKeyring,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Patient},
    patient_keys::{Part, email_key, name_key, phn_key, phone_key},
    phn::Phn,
    phone::PhoneNumber,
    ports::{
        AppointmentStore, BlobStore, ClinicStore, EncryptionContext, KeyService, OutboundSms,
        SmsSender,
    },
};
use integration_tests::{
    TestStack,
    fixtures::{demo::demo_clinic_record, uploads::put_file},
    sentinels::{self, FIRST_NAME, LAST_NAME, NEW_PHN, PHN},
};

fn patient(id: &str, phone: &str) -> Patient {
    Patient {
        id: PatientId::parse(id).unwrap(),
        phn: Some(Phn::parse(PHN).unwrap()),
        first_name: FIRST_NAME.into(),
        last_name: LAST_NAME.into(),
        date_of_birth: Some(jiff::civil::date(1984, 3, 12)),
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        email: None,
    }
}

/// The key the store is given for the clinic's lookup keys (it keeps keys as they come).
fn key(clinic: &ClinicId) -> ClinicKey {
    domain::fakes::test_clinic_key(clinic)
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
    let phone = sentinels::phone(240);
    let ava = patient("p-ava", &phone);
    test.store
        .upsert_appointment_with_patient(&key(&clinic), &ava, &appointment("a-1", "p-ava"))
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
        lookup_items(&test, &phone_key(&key(&clinic), &phone)).await,
        ["p-ava"]
    );
    // Names under their prefixes' tags, "Sentinel-Bédard" and "Renée-Sentinelle" folded.
    for (part, prefix) in [
        (Part::Last, "sentinel"),
        (Part::First, "renee se"),
        (Part::First, "r"),
    ] {
        assert_eq!(
            lookup_items(&test, &name_key(&key(&clinic), part, prefix)).await,
            ["p-ava"]
        );
    }
}

#[tokio::test]
async fn a_changed_phone_replaces_the_old_lookup_key() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let (old, new) = (sentinels::phone(241), sentinels::phone(242));
    let before = patient("p-ava", &old);
    test.store
        .upsert_appointment_with_patient(&key(&clinic), &before, &appointment("a-1", "p-ava"))
        .await
        .unwrap();
    let after = patient("p-ava", &new);
    test.store
        .upsert_appointment_with_patient(&key(&clinic), &after, &appointment("a-2", "p-ava"))
        .await
        .unwrap();

    assert!(
        lookup_items(&test, &phone_key(&key(&clinic), &old))
            .await
            .is_empty()
    );
    assert_eq!(
        lookup_items(&test, &phone_key(&key(&clinic), &new)).await,
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
    let mut before = patient("p-ava", &sentinels::phone(251));
    before.email = Some(domain::email::Email::parse("sentinel.old@example.com").unwrap());
    test.store
        .upsert_appointment_with_patient(&key(&clinic), &before, &appointment("a-1", "p-ava"))
        .await
        .unwrap();
    let mut after = before.clone();
    after.first_name = "Sentinelnew".into();
    after.last_name = "Sentinelchanged".into();
    after.phn = Some(Phn::parse(NEW_PHN).unwrap());
    after.email = Some(domain::email::Email::parse("sentinel.new@example.com").unwrap());
    test.store
        .upsert_appointment_with_patient(&key(&clinic), &after, &appointment("a-1", "p-ava"))
        .await
        .unwrap();

    assert!(
        lookup_items(&test, &phn_key(&key(&clinic), PHN))
            .await
            .is_empty()
    );
    assert!(
        lookup_items(&test, &email_key(&key(&clinic), "sentinel.old@example.com"))
            .await
            .is_empty()
    );
    assert_eq!(
        lookup_items(&test, &phn_key(&key(&clinic), NEW_PHN)).await,
        ["p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &email_key(&key(&clinic), "sentinel.new@example.com")).await,
        ["p-ava"]
    );
    assert!(
        lookup_items(&test, &name_key(&key(&clinic), Part::First, "renee se"))
            .await
            .is_empty()
    );
    assert_eq!(
        lookup_items(&test, &name_key(&key(&clinic), Part::First, "sentinel")).await,
        ["p-ava"]
    );
    assert_eq!(
        lookup_items(&test, &name_key(&key(&clinic), Part::Last, "sentinel")).await,
        ["p-ava"]
    );
}

#[tokio::test]
async fn concurrent_upserts_of_one_patient_leave_consistent_lookup_keys() {
    let test = TestStack::new().await;
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let phones = [243, 244, 245, 246].map(sentinels::phone);
    let writes = phones.iter().enumerate().map(|(n, phone)| {
        let store = test.store.clone();
        let key = key(&clinic);
        let patient = patient("p-ava", phone);
        let appointment = appointment(&format!("a-{n}"), "p-ava");
        async move {
            store
                .upsert_appointment_with_patient(&key, &patient, &appointment)
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
    for phone in &phones {
        let keys = lookup_items(&test, &phone_key(&key(&clinic), phone)).await;
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
            &key(&owner),
            &patient("p-ava", &sentinels::phone(247)),
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
    let clinic = demo_clinic_record();
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
    let unknown = PhoneNumber::parse(&sentinels::phone(248)).unwrap();
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
    let phone = sentinels::phone(249);
    let sms = OutboundSms {
        to: PhoneNumber::parse(&phone).unwrap(),
        from: PhoneNumber::parse("+12505550100").unwrap(),
        body: "Sentinel adapter test message".into(),
    };
    let receipt = sender.send(&sms).await.expect("published");
    assert!(!receipt.provider_message_id.is_empty());
    assert!(!sender.is_opted_out(&sms.to).await.unwrap());

    let published = test.published_sms().await;
    let ours: Vec<_> = published
        .iter()
        .filter(|p| p.phone_number == phone)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].message, "Sentinel adapter test message");
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
    assert_eq!(key.plaintext.expose().len(), 32);
    assert_ne!(key.ciphertext, key.plaintext.expose());
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

/// A clinic's root key comes from KMS wrapped only, is kept beside its profile, and opens for
/// that clinic alone.
#[tokio::test]
async fn a_clinics_root_key_is_made_wrapped_and_opens_for_that_clinic_only() {
    let test = TestStack::new().await;
    let keys = Arc::new(KmsKeyService::new(
        test.stack.clients.kms(),
        &test.stack.config.content_key_id,
    ));
    let clinic = ClinicId::parse("clinic-a").unwrap();
    let context = clinic_key::encryption_context(&clinic);
    let wrapped = keys.generate_wrapped_key(&context).await.unwrap();
    let root = keys.decrypt_data_key(&wrapped, &context).await.unwrap();
    assert_eq!(root.expose().len(), clinic_key::ROOT_KEY_BYTES);
    assert!(
        !wrapped.windows(32).any(|part| part == root.expose()),
        "only the wrapped root is returned"
    );
    assert!(test.store.put_root_key(&clinic, &wrapped).await.unwrap());
    let keyring = ClinicKeyring::new(keys, Arc::new(test.store.clone()), Arc::new(SystemClock));
    let key = keyring.key(&clinic).await.unwrap();
    assert_eq!(key.clinic(), &clinic);

    // Copied onto another clinic, it does not open: KMS binds it to its clinic's id.
    let other = ClinicId::parse("clinic-b").unwrap();
    assert!(test.store.put_root_key(&other, &wrapped).await.unwrap());
    let refused = keyring.key(&other).await.unwrap_err();
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
        .presign_upload(key, "application/pdf", Some(13), Duration::from_secs(900))
        .await
        .unwrap();
    assert!(upload.url.contains("X-Amz-Expires=900"));
    let response = put_file(&upload, b"%PDF-1.7 test").await.unwrap();
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

    let version = info.version_id.expect("the bucket is versioned");
    let url = blobs
        .presign_download(key, &version, "results.pdf", Duration::from_secs(300))
        .await
        .unwrap();
    let (path, query) = url.split_once('?').unwrap();
    assert!(
        !path.contains("results"),
        "the file name is not in the path"
    );
    assert!(query.contains(&format!("versionId={version}")));
    let downloaded = reqwest::get(&url).await.unwrap();
    assert!(downloaded.status().is_success());
    assert_eq!(downloaded.headers()["cache-control"], "no-store");
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
    let clinic = demo_clinic_record();
    let mut upcoming = appointment("a-bulk", "p-bulk");
    // Appointment times are kept to the second.
    let in_two_days = jiff::Timestamp::now().as_second() + 48 * 3600;
    upcoming.starts_at = jiff::Timestamp::from_second(in_two_days).unwrap();
    test.store
        .bulk_load(
            &key(&clinic.id),
            &[(
                patient("p-bulk", &sentinels::phone(250)),
                vec![upcoming.clone()],
            )],
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
        domain::search::SearchRequest::parse(Some("250 555 0250"), None, None, None).unwrap();
    let page = domain::search::find_patients(
        &test.store,
        &key(&clinic.id),
        &clinic,
        &request,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(page.matches.len(), 1);
    assert_eq!(page.matches[0].appointments[0].id.as_str(), "a-bulk");
}
