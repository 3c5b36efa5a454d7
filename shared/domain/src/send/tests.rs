//! Sending rules against in-memory fakes.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::{
    appointment_status::AppointmentStatus,
    attachments::MAX_ATTACHMENT_BYTES,
    clinic_keyring::ClinicKeyring,
    email::Email,
    fakes::{
        CountingRandom, FakeKeyService, FixedClock, MemoryBlobStore, MemoryStore,
        RecordingSmsSender,
    },
    ids::{ChatId, ClinicId, PatientId, StaffUserId, TemplateId},
    language::Language,
    model::{Appointment, Chat, ChatKind, Patient, SmsStatus, Template},
    phn::Phn,
    phone::PhoneNumber,
    ports::{AppointmentStore, BlobInfo, ClinicStore, MessageStore, PatientRecord, StalledSends},
    secure_content::Unsealed,
    sms_encoding::SmsEncoding,
};

pub(crate) const KEY_ARN: &str = "arn:aws:kms:ca-central-1:000000000000:key/project-key";

pub(crate) use crate::fakes::records::now;

pub(crate) struct World {
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) sms: Arc<RecordingSmsSender>,
    pub(crate) blobs: Arc<MemoryBlobStore>,
    pub(crate) keys: Arc<FakeKeyService>,
    pub(crate) keyring: Arc<ClinicKeyring>,
    sender: MessageSender,
    pub(crate) caller: Caller,
}

fn patient(phn: Option<&str>, phone: Option<&str>) -> Patient {
    Patient {
        id: PatientId::parse("p1").unwrap(),
        phn: phn.map(|p| Phn::parse(p).unwrap()),
        first_name: "Sentinelava".into(),
        last_name: "Sentinelsmith".into(),
        date_of_birth: None,
        phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
        email: Some(Email::parse("sentinel@example.com").unwrap()),
    }
}

async fn world_with(patient: Patient, starts_at: Timestamp) -> World {
    let store = Arc::new(MemoryStore::default());
    let clinic = crate::fakes::records::clinic();
    store.put_clinic(&clinic).await.unwrap();
    store
        .put_template(
            &clinic.id,
            &Template {
                id: TemplateId::parse("reminder").unwrap(),
                name: "Reminder".into(),
                kind: MessageKind::Basic,
                text: Some(
                    "Hi {patient_first_name}, see you {appointment_date} at {appointment_time}."
                        .into(),
                ),
                text_fr: None,
                version: 1,
            },
        )
        .await
        .unwrap();
    store
        .put_chat(
            &clinic.id,
            &Chat {
                id: ChatId::parse("intake").unwrap(),
                title: "Intake".into(),
                kind: ChatKind::Form,
                link: "https://forms.example/intake".into(),
                version: 1,
            },
        )
        .await
        .unwrap();
    let appointment = Appointment {
        id: AppointmentId::parse("a1").unwrap(),
        patient_id: patient.id.clone(),
        starts_at,
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    };
    store
        .upsert_appointment_with_patient(
            &crate::fakes::test_clinic_key(&clinic.id),
            &patient,
            &appointment,
        )
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::at(now()));
    let clock_handle = clock.clone();
    let sms = Arc::new(RecordingSmsSender::default());
    let blobs = Arc::new(MemoryBlobStore::default());
    let keys = Arc::new(FakeKeyService::default());
    let root_key = keys
        .generate_wrapped_key(&crate::clinic_key::encryption_context(&clinic.id))
        .await
        .unwrap();
    store.put_root_key(&clinic.id, &root_key).await.unwrap();
    let keyring = Arc::new(ClinicKeyring::new(
        keys.clone(),
        store.clone(),
        clock.clone(),
    ));
    let sender = MessageSender {
        clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
        store: store.clone(),
        opt_outs: store.clone(),
        messages: store.clone(),
        unlocks: store.clone(),
        links: store.clone(),
        sms: sms.clone(),
        blobs: blobs.clone(),
        keys: keys.clone(),
        keyring: keyring.clone(),
        clock,
        random: Arc::new(CountingRandom::default()),
        unlock_base_url: "https://unlock.example".into(),
        content_key_id: KEY_ARN.into(),
    };
    let caller = Caller::staff(clinic.id.clone(), StaffUserId::parse("staff-1").unwrap());
    World {
        clock: clock_handle,
        store,
        sms,
        blobs,
        keys,
        keyring,
        sender,
        caller,
    }
}

pub(crate) async fn world() -> World {
    world_with(
        patient(Some("9698658215"), Some("+16045550123")),
        now() + SignedDuration::from_hours(48),
    )
    .await
}

fn request(json: &str) -> SendRequest {
    serde_json::from_str(json).unwrap()
}

fn key(value: &str) -> IdempotencyKey {
    IdempotencyKey::parse(Some(value)).unwrap()
}

impl World {
    pub(crate) async fn send(
        &self,
        key_value: &str,
        json: &str,
    ) -> Result<StoredResponse, DomainError> {
        self.send_for("a1", key_value, json).await
    }

    pub(crate) async fn send_for(
        &self,
        appointment: &str,
        key_value: &str,
        json: &str,
    ) -> Result<StoredResponse, DomainError> {
        self.sender
            .send(
                &self.caller,
                &AppointmentId::parse(appointment).unwrap(),
                &key(key_value),
                &request(json),
            )
            .await
    }

    /// `number` as the world's clinic's keys hold it.
    pub(crate) async fn number_tag(&self, number: &PhoneNumber) -> crate::clinic_key::NumberTag {
        let key = self.keyring.key(&self.caller.clinic_id).await.unwrap();
        key.number_tag(number)
    }

    /// Another booked appointment of the world's patient, a week after the first.
    pub(crate) async fn book_another(&self, id: &str) {
        let appointment = Appointment {
            id: AppointmentId::parse(id).unwrap(),
            patient_id: PatientId::parse("p1").unwrap(),
            starts_at: now() + SignedDuration::from_hours(7 * 24),
            provider_name: "Dr. Chen".into(),
            status: AppointmentStatus::Booked,
        };
        self.store
            .upsert_appointment_with_patient(
                &crate::fakes::test_clinic_key(&self.caller.clinic_id),
                &patient(Some("9698658215"), Some("+16045550123")),
                &appointment,
            )
            .await
            .unwrap();
    }
}

fn receipt(response: &StoredResponse) -> SendReceipt {
    serde_json::from_str(&response.body).unwrap()
}

#[tokio::test]
async fn a_basic_message_fills_the_template_appends_chat_links_and_is_sent_once() {
    let w = world().await;
    let response = w
        .send(
            "k1",
            r#"{"kind":"basic","template_id":"reminder","chat_ids":["intake"]}"#,
        )
        .await
        .unwrap();
    assert_eq!(response.status, 201);
    let sent = w.sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        "Hi Sentinelava, see you Friday, November 27, 2026 at 10:00 AM.\nhttps://forms.example/intake"
    );
    assert_eq!(sent[0].to.as_e164(), "+16045550123");
    assert_eq!(sent[0].from.as_e164(), "+12505550100");
    let receipt = receipt(&response);
    assert_eq!(receipt.kind, MessageKind::Basic);
    assert_eq!(receipt.expires_at, None);
    assert_eq!(receipt.sms.encoding, SmsEncoding::Gsm7);
    let details = w
        .store
        .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
        .await
        .unwrap();
    assert_eq!(details[0].sms_status, SmsStatus::Sent);
    let audit = w.store.audit();
    assert_eq!((audit.len(), audit[0].outcome.as_str()), (1, "sent"));
}

impl World {
    /// The EMR says the world's patient writes `language`.
    pub(crate) async fn patient_speaks(&self, language: Language) {
        use crate::ports::{EmrRecords, PatientSync};
        let sync = PatientSync {
            patient: patient(Some("9698658215"), Some("+16045550123")),
            language: Some(language),
            order: crate::update_order::UpdateOrder::new(Some(now()), Some("1")),
        };
        self.store
            .sync_patient(
                &crate::fakes::test_clinic_key(&self.caller.clinic_id),
                &sync,
            )
            .await
            .unwrap();
    }

    /// A basic template `id` with the texts given.
    pub(crate) async fn template(&self, id: &str, text: Option<&str>, text_fr: Option<&str>) {
        let template = Template {
            id: TemplateId::parse(id).unwrap(),
            name: id.into(),
            kind: MessageKind::Basic,
            text: text.map(str::to_owned),
            text_fr: text_fr.map(str::to_owned),
            version: 1,
        };
        self.store
            .put_template(&self.caller.clinic_id, &template)
            .await
            .unwrap();
    }
}

/// A French-speaking patient (from the EMR) gets the secure notice in French, and a
/// template's French text with the date and time as French writes them.
#[tokio::test]
async fn a_french_speaking_patient_is_written_to_in_french() {
    let w = world().await;
    w.patient_speaks(Language::Fr).await;
    w.template(
        "rappel",
        Some("See you {appointment_date} at {appointment_time}."),
        Some("Rendez-vous {appointment_date} à {appointment_time}."),
    )
    .await;
    let basic = w
        .send("k1", r#"{"kind":"basic","template_id":"rappel"}"#)
        .await
        .unwrap();
    assert_eq!(
        w.sms.sent()[0].body,
        "Rendez-vous le vendredi 27 novembre 2026 à 10 h."
    );
    let basic = receipt(&basic);
    assert_eq!(basic.language, Some(Language::Fr));
    assert_eq!(basic.language_note, None);
    w.send("k2", r#"{"kind":"secure","text":"Résultats"}"#)
        .await
        .unwrap();
    let notice = &w.sms.sent()[1].body;
    assert!(
        notice.starts_with("Harbourview Clinic : vous avez un message sécurisé. Ouvrez-le d'ici le 3 déc. : https://unlock.example/m/"),
        "{notice}"
    );
}

/// A template with only a French text, for an English-speaking patient, is sent in French,
/// and the answer says so.
#[tokio::test]
async fn a_template_without_the_patients_language_is_sent_in_the_other_with_a_note() {
    let w = world().await;
    w.template("rappel", None, Some("Rappel : {appointment_date}."))
        .await;
    let response = w
        .send("k1", r#"{"kind":"basic","template_id":"rappel"}"#)
        .await
        .unwrap();
    assert_eq!(
        w.sms.sent()[0].body,
        "Rappel : le vendredi 27 novembre 2026."
    );
    let receipt = receipt(&response);
    assert_eq!(receipt.language, Some(Language::En));
    let note = receipt.language_note.expect("a note");
    assert!(
        note.contains("no English text") && note.contains("French"),
        "{note}"
    );
}

/// A patient whose EMR record names no language (or one other than en and fr, which the
/// FHIR mapping leaves out) is written to in the clinic's default language.
#[tokio::test]
async fn without_a_language_from_the_emr_the_clinics_default_is_used() {
    let w = world().await;
    let mut clinic = w
        .store
        .get_clinic(&w.caller.clinic_id)
        .await
        .unwrap()
        .unwrap();
    clinic.default_language = Language::Fr;
    w.store.put_clinic(&clinic).await.unwrap();
    w.send("k1", r#"{"kind":"secure","text":"Résultats"}"#)
        .await
        .unwrap();
    assert!(
        w.sms.sent()[0]
            .body
            .contains("vous avez un message sécurisé")
    );
}

impl World {
    pub(crate) async fn preview(&self, json: &str) -> Result<MessagePreview, DomainError> {
        self.sender
            .preview(
                &self.caller,
                &AppointmentId::parse("a1").unwrap(),
                &request(json),
            )
            .await
    }
}

fn problem_types(preview: &MessagePreview) -> Vec<&str> {
    preview
        .problems
        .iter()
        .map(|p| p.kind.trim_start_matches("urn:direct-messages:problem:"))
        .collect()
}

/// A preview answers the SMS as it would go, sends nothing and writes nothing.
#[tokio::test]
async fn a_preview_shows_the_sms_that_would_go_and_sends_and_writes_nothing() {
    let w = world().await;
    let preview = w
        .preview(r#"{"kind":"basic","template_id":"reminder","chat_ids":["intake"]}"#)
        .await
        .unwrap();
    assert_eq!(
        preview.sms_text.as_deref(),
        Some(
            "Hi Sentinelava, see you Friday, November 27, 2026 at 10:00 AM.\nhttps://forms.example/intake"
        )
    );
    let sms = preview.sms.unwrap();
    assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
    assert_eq!(preview.characters, Some(91));
    assert_eq!(preview.language, Language::En);
    assert!(preview.problems.is_empty() && preview.ucs2_characters.is_empty());
    assert!(w.sms.sent().is_empty());
    assert!(w.store.recorded().is_empty() && w.store.audit().is_empty());
}

/// A 161-character basic text is not refused: the preview reports the rule, with any other
/// the send would break.
#[tokio::test]
async fn a_preview_reports_every_rule_the_send_would_break() {
    let w = world().await;
    let long = serde_json::json!({"kind": "basic", "text": "a".repeat(161), "chat_ids": ["nope"]});
    let preview = w.preview(&long.to_string()).await.unwrap();
    assert_eq!(problem_types(&preview), ["not-found", "basic-too-long"]);
    assert_eq!(preview.characters, Some(161));
    assert_eq!(preview.sms.unwrap().segments, 2);

    let no_phn = world_with(
        patient(None, Some("+16045550123")),
        now() + SignedDuration::from_hours(48),
    )
    .await;
    let secure = no_phn
        .preview(r#"{"kind":"secure","text":"Results"}"#)
        .await
        .unwrap();
    assert_eq!(problem_types(&secure), ["phn-required-for-secure"]);
    // The notice as the patient would get it, its token the length of a real one.
    let notice = secure.sms_text.unwrap();
    assert!(notice.starts_with("Harbourview Clinic: you have a secure message. Open it by Dec 3: https://unlock.example/m/xxx"), "{notice}");
    assert!(notice.ends_with(&"x".repeat(43)));
}

/// `ç` keeps the SMS UCS-2: the preview names it and where it is; curly quotes do not.
#[tokio::test]
async fn a_preview_names_the_characters_that_force_ucs2_and_the_replacements() {
    let w = world().await;
    let preview = w
        .preview(r#"{"kind":"basic","text":"Re\u00e7u \u201cok\u201d"}"#)
        .await
        .unwrap();
    assert_eq!(preview.sms_text.as_deref(), Some("Reçu \"ok\""));
    assert_eq!(preview.sms.unwrap().encoding, SmsEncoding::Ucs2);
    let forcing: Vec<(&str, &str, usize)> = preview
        .ucs2_characters
        .iter()
        .map(|c| (c.character.as_str(), c.code_point.as_str(), c.position))
        .collect();
    assert_eq!(forcing, [("ç", "U+00E7", 2)]);
    assert_eq!(preview.replacements.len(), 2);
}

/// A patient who texted STOP is a rule the send would break, not an error of the preview.
#[tokio::test]
async fn a_preview_for_a_patient_who_opted_out_says_so() {
    let w = world().await;
    let tag = w
        .number_tag(&PhoneNumber::parse("+16045550123").unwrap())
        .await;
    w.store
        .set_opted_out(&w.caller.clinic_id, &tag, true)
        .await
        .unwrap();
    let preview = w.preview(r#"{"kind":"basic","text":"Hi"}"#).await.unwrap();
    assert_eq!(problem_types(&preview), ["opted-out"]);
}

/// Another clinic's appointment, like a missing one, is not found.
#[tokio::test]
async fn a_preview_of_another_clinics_appointment_is_not_found() {
    let w = world().await;
    let other = Caller::staff(
        ClinicId::parse("other-clinic").unwrap(),
        StaffUserId::parse("staff-9").unwrap(),
    );
    let refused = w
        .sender
        .preview(
            &other,
            &AppointmentId::parse("a1").unwrap(),
            &request(r#"{"kind":"basic","text":"Hi"}"#),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, DomainError::NotFound { .. }), "{refused}");
}

/// One curly apostrophe pasted from a word processor would make a 150-character basic SMS
/// three UCS-2 segments: it is sent as a plain apostrophe, one GSM-7 segment, and the
/// receipt says what was replaced.
#[tokio::test]
async fn a_pasted_curly_apostrophe_is_sent_plain_in_one_gsm7_segment_and_reported() {
    let w = world().await;
    let text = format!("{}\u{2019}s \u{201C}ok\u{201D}", "a".repeat(140));
    let body = serde_json::json!({"kind": "basic", "text": text}).to_string();
    let response = w.send("k1", &body).await.unwrap();
    let sent = &w.sms.sent()[0].body;
    assert_eq!(sent, &format!("{}'s \"ok\"", "a".repeat(140)));
    let receipt = receipt(&response);
    assert_eq!(receipt.sms.encoding, SmsEncoding::Gsm7);
    assert_eq!(receipt.sms.segments, 1);
    let replaced: Vec<(&str, &str, usize)> = receipt
        .replacements
        .iter()
        .map(|r| (r.code_point.as_str(), r.replaced_by.as_str(), r.count))
        .collect();
    assert_eq!(
        replaced,
        [("U+2019", "'", 1), ("U+201C", "\"", 1), ("U+201D", "\"", 1)]
    );
}

/// A secure message's text never goes in its SMS: it is sealed as written.
#[tokio::test]
async fn a_secure_text_is_sealed_as_written_with_nothing_replaced() {
    let w = world().await;
    let body = serde_json::json!({"kind": "secure", "text": "Results \u{2013} fine"}).to_string();
    let response = w.send("k1", &body).await.unwrap();
    assert!(receipt(&response).replacements.is_empty());
}

#[tokio::test]
async fn edited_text_is_what_is_sent() {
    let w = world().await;
    w.send(
        "k1",
        r#"{"kind":"basic","template_id":"reminder","text":"Clinic closed {appointment_date}."}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        w.sms.sent()[0].body,
        "Clinic closed Friday, November 27, 2026."
    );
}

#[tokio::test]
async fn a_patient_changed_through_another_appointment_is_texted_as_they_are_now() {
    let w = world().await;
    // Another appointment brings the patient's new number and name; the appointment being
    // messaged still holds the patient as they were.
    let mut moved = patient(Some("9698658215"), Some("+16045550199"));
    moved.first_name = "Sentinelnova".into();
    let other = Appointment {
        id: AppointmentId::parse("a2").unwrap(),
        patient_id: moved.id.clone(),
        starts_at: now() + SignedDuration::from_hours(72),
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    };
    w.store
        .upsert_appointment_with_patient(
            &crate::fakes::test_clinic_key(&w.caller.clinic_id),
            &moved,
            &other,
        )
        .await
        .unwrap();
    w.send("k1", r#"{"kind":"basic","text":"Hi {patient_first_name}"}"#)
        .await
        .unwrap();
    let sent = w.sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_e164(), "+16045550199");
    assert_eq!(sent[0].body, "Hi Sentinelnova");
}

#[tokio::test]
async fn a_secure_template_is_never_sent_in_a_basic_sms() {
    let w = world().await;
    let results = Template {
        id: TemplateId::parse("results").unwrap(),
        name: "Results".into(),
        kind: MessageKind::Secure,
        text: Some("Your results from {provider_name} are in.".into()),
        text_fr: None,
        version: 1,
    };
    w.store
        .put_template(&w.caller.clinic_id, &results)
        .await
        .unwrap();
    let refused = w
        .send("k1", r#"{"kind":"basic","template_id":"results"}"#)
        .await
        .unwrap_err();
    assert!(matches!(refused, DomainError::SecureTemplateOnBasic));
    assert_eq!(refused.status(), 422);
    assert!(w.sms.sent().is_empty());
    // A basic template may go in a secure message.
    w.send("k2", r#"{"kind":"secure","template_id":"reminder"}"#)
        .await
        .unwrap();
    assert_eq!(w.sms.sent().len(), 1);
}

#[tokio::test]
async fn a_key_holds_its_answer_for_24_hours_and_then_sends_again() {
    let w = world().await;
    let json = r#"{"kind":"basic","text":"Hi"}"#;
    let first = w.send("k1", json).await.unwrap();
    w.clock.advance(SignedDuration::from_hours(23));
    assert_eq!(w.send("k1", json).await.unwrap(), first, "a replay");
    assert_eq!(w.sms.sent().len(), 1);
    w.clock.advance(SignedDuration::from_hours(2));
    let later = w.send("k1", json).await.unwrap();
    assert_ne!(later, first, "a new message once the key expired");
    assert_eq!(w.sms.sent().len(), 2);
}

#[tokio::test]
async fn broken_rules_are_refused_and_nothing_is_sent() {
    let w = world().await;
    let long = "x".repeat(161);
    type Expected = fn(&DomainError) -> bool;
    let cases: Vec<(String, Expected)> = vec![
        (format!(r#"{{"kind":"basic","text":"{long}"}}"#), |e| {
            matches!(e, DomainError::BasicTooLong { chars: 161 })
        }),
        (
            r#"{"kind":"basic","text":"Hi","attachments":[{"id":"f1","file_name":"a.pdf"}]}"#
                .into(),
            |e| matches!(e, DomainError::AttachmentsOnBasic),
        ),
        (
            r#"{"kind":"basic","text":"Hi {patient_age}"}"#.into(),
            |e| e.to_string().contains("patient_age"),
        ),
        (r#"{"kind":"basic","text":"  "}"#.into(), |e| {
            matches!(e, DomainError::EmptyMessage)
        }),
        (r#"{"kind":"basic","template_id":"nope"}"#.into(), |e| {
            matches!(
                e,
                DomainError::NotFound {
                    what: "the template"
                }
            )
        }),
        (
            r#"{"kind":"basic","text":"Hi","chat_ids":["nope"]}"#.into(),
            |e| matches!(e, DomainError::NotFound { what: "a chat" }),
        ),
        (
            format!(r#"{{"kind":"secure","text":"{}"}}"#, "y".repeat(5001)),
            |e| matches!(e, DomainError::SecureTooLong { chars: 5001 }),
        ),
    ];
    for (n, (json, expected)) in cases.iter().enumerate() {
        let error = w.send(&format!("k{n}"), json).await.unwrap_err();
        assert!(expected(&error), "{json}: {error}");
        assert_eq!(
            error.status(),
            if matches!(error, DomainError::NotFound { .. }) {
                404
            } else {
                422
            }
        );
    }
    assert!(w.sms.sent().is_empty());
    assert!(w.store.recorded().is_empty());
}

#[tokio::test]
async fn a_basic_message_of_exactly_160_characters_is_sent() {
    let w = world().await;
    w.send(
        "k1",
        &format!(r#"{{"kind":"basic","text":"{}"}}"#, "x".repeat(160)),
    )
    .await
    .unwrap();
    assert_eq!(w.sms.sent().len(), 1);
}

#[tokio::test]
async fn secure_messages_need_a_phn_on_file() {
    let w = world_with(
        patient(None, Some("+16045550123")),
        now() + SignedDuration::from_hours(48),
    )
    .await;
    let error = w
        .send("k1", r#"{"kind":"secure","text":"Results"}"#)
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::PhnRequiredForSecure));
    assert!(
        w.send("k2", r#"{"kind":"basic","text":"Closed Friday"}"#)
            .await
            .is_ok(),
        "basic needs no PHN"
    );
}

#[tokio::test]
async fn a_patient_without_a_phone_or_outside_the_window_is_refused() {
    let w = world_with(
        patient(Some("9698658215"), None),
        now() + SignedDuration::from_hours(48),
    )
    .await;
    assert!(matches!(
        w.send("k1", r#"{"kind":"basic","text":"Hi"}"#).await,
        Err(DomainError::NoPhoneOnFile)
    ));
    let before_activation: Timestamp = "2024-06-01T17:00:00Z".parse().unwrap();
    let w = world_with(
        patient(Some("9698658215"), Some("+16045550123")),
        before_activation,
    )
    .await;
    assert!(matches!(
        w.send("k1", r#"{"kind":"basic","text":"Hi"}"#).await,
        Err(DomainError::OutsideSearchWindow)
    ));
}

#[tokio::test]
async fn opted_out_patients_are_refused_before_anything_is_published() {
    let w = world().await;
    let phone = PhoneNumber::parse("+16045550123").unwrap();
    let tag = w.number_tag(&phone).await;
    w.store
        .set_opted_out(&w.caller.clinic_id, &tag, true)
        .await
        .unwrap();
    assert!(matches!(
        w.send("k1", r#"{"kind":"basic","text":"Hi"}"#).await,
        Err(DomainError::OptedOut)
    ));
    w.store
        .set_opted_out(&w.caller.clinic_id, &tag, false)
        .await
        .unwrap();
    w.sms.opt_out(&phone);
    assert!(matches!(
        w.send("k2", r#"{"kind":"basic","text":"Hi"}"#).await,
        Err(DomainError::OptedOut)
    ));
    assert!(w.sms.sent().is_empty());
    // Found out beside the message's first write: the key is given back, so the same
    // request goes once the number is opted in again.
    w.sms.opt_in(&phone);
    w.send("k2", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap();
    assert_eq!(w.sms.sent().len(), 1);
}

#[tokio::test]
async fn the_same_key_and_request_send_once_and_answer_the_same() {
    let w = world().await;
    let first = w
        .send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap();
    let second = w
        .send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(w.sms.sent().len(), 1);
    let other = w
        .send("k1", r#"{"kind":"basic","text":"Hello"}"#)
        .await
        .unwrap_err();
    assert!(matches!(other, DomainError::IdempotencyKeyReused));
    assert_eq!(other.status(), 422);
}

#[tokio::test]
async fn a_failed_publish_is_recorded_failed_and_a_retry_sends() {
    let w = world().await;
    w.sms.fail_sends(true);
    let error = w
        .send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::SmsFailed));
    assert_eq!(error.status(), 502);
    let appointment = AppointmentId::parse("a1").unwrap();
    let messages = w
        .store
        .messages_for_appointment(&w.caller.clinic_id, &appointment)
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].sms_status,
        SmsStatus::Failed,
        "never recorded as sent"
    );
    assert_eq!(w.store.audit()[0].outcome, "failed");

    w.sms.fail_sends(false);
    w.send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .expect("the retry goes through");
    assert_eq!(w.sms.sent().len(), 1);
}

#[tokio::test]
async fn a_secure_sms_holds_only_the_clinic_link_and_expiry_and_the_content_is_sealed() {
    let w = world().await;
    w.blobs.insert(
        "attachments/c1/f1",
        BlobInfo {
            size: 1000,
            content_type: Some("application/pdf".into()),
            kms_key_id: Some(KEY_ARN.into()),
            version_id: None,
        },
    );
    let json = r#"{"kind":"secure","text":"Sentinel result for {patient_first_name}","chat_ids":["intake"],"attachments":[{"id":"f1","file_name":"results.pdf"}]}"#;
    let response = w.send("k1", json).await.unwrap();
    let receipt = receipt(&response);
    assert_eq!(
        receipt.expires_at,
        Some(now() + SignedDuration::from_hours(8 * 24))
    );

    let body = &w.sms.sent()[0].body;
    assert!(body.starts_with(
        "Harbourview Clinic: you have a secure message. Open it by Dec 3: https://unlock.example/m/"
    ));
    for secret in ["Sentinel", "9698658215", "results.pdf", "intake"] {
        assert!(!body.contains(secret), "{secret} in the SMS");
    }

    let recorded = w.store.recorded();
    let unlock = recorded[0].unlock.clone().expect("an unlock record");
    assert!(!String::from_utf8_lossy(&unlock.sealed.ciphertext).contains("Sentinel"));
    let Unsealed::Opened(content) =
        crate::secure_content::unseal(w.keys.as_ref(), &unlock, &Phn::parse("9698658215").unwrap())
            .await
            .unwrap()
    else {
        panic!("the patient's PHN opens the message");
    };
    assert_eq!(content.text, "Sentinel result for Sentinelava");
    assert_eq!(content.attachments[0].file_name, "results.pdf");
    assert_eq!(content.chats[0].link, "https://forms.example/intake");
    let token = body.rsplit("/m/").next().unwrap();
    assert_eq!(
        unlock.token_hash,
        LinkToken::parse(token).unwrap().hash(),
        "only the token's hash is kept"
    );
}

#[tokio::test]
async fn attachments_are_checked_before_sending() {
    let w = world().await;
    let pdf = |size, key: &str| BlobInfo {
        size,
        content_type: Some("application/pdf".into()),
        kms_key_id: Some(key.into()),
        version_id: None,
    };
    w.blobs
        .insert("attachments/c1/big", pdf(MAX_ATTACHMENT_BYTES + 1, KEY_ARN));
    w.blobs.insert(
        "attachments/c1/otherkey",
        pdf(10, "arn:aws:kms:ca-central-1:000000000000:key/other"),
    );
    w.blobs.insert(
        "attachments/c1/html",
        BlobInfo {
            size: 10,
            content_type: Some("text/html".into()),
            kms_key_id: Some(KEY_ARN.into()),
            version_id: None,
        },
    );
    w.blobs.insert("attachments/c2/theirs", pdf(10, KEY_ARN));
    for (id, expected) in [
        ("missing", "was not uploaded"),
        ("theirs", "was not uploaded"),
        ("big", "larger than 20 MB"),
        ("otherkey", "project's key"),
        ("html", "PDF, PNG or JPEG"),
    ] {
        let json = format!(
            r#"{{"kind":"secure","text":"Results","attachments":[{{"id":"{id}","file_name":"a.pdf"}}]}}"#
        );
        let error = w.send(id, &json).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{id}: {error}");
        assert_eq!(error.status(), 422);
    }
    let eleven: Vec<_> = (0..11)
        .map(|n| format!(r#"{{"id":"f{n}","file_name":"a.pdf"}}"#))
        .collect();
    let json = format!(
        r#"{{"kind":"secure","text":"Results","attachments":[{}]}}"#,
        eleven.join(",")
    );
    assert!(matches!(
        w.send("k11", &json).await,
        Err(DomainError::TooManyAttachments { count: 11 })
    ));
    assert!(w.sms.sent().is_empty());
}

/// The store as it is when the function stops after publishing: the outcome is never
/// written.
struct OutcomeNeverWritten(Arc<MemoryStore>);

#[async_trait::async_trait]
impl SendStore for OutcomeNeverWritten {
    async fn read_for_send(&self, lookup: &SendLookup<'_>) -> Result<SendRecords, DependencyError> {
        self.0.read_for_send(lookup).await
    }
    async fn patient_record(
        &self,
        clinic: &ClinicId,
        patient: &PatientId,
    ) -> Result<Option<PatientRecord>, DependencyError> {
        self.0.patient_record(clinic, patient).await
    }
    async fn begin_send(&self, begin: &BeginSend<'_>) -> Result<BeginOutcome, DependencyError> {
        self.0.begin_send(begin).await
    }
    async fn finish_send(&self, _: &FinishSend<'_>) -> Result<(), DependencyError> {
        Err(DependencyError::new("memory", "FinishSend", "Unavailable"))
    }
}

#[tokio::test]
async fn a_send_that_stopped_half_way_is_reported_as_unfinished_not_resent() {
    let mut w = world().await;
    w.sender.store = Arc::new(OutcomeNeverWritten(w.store.clone()));
    let json = r#"{"kind":"basic","text":"Hi"}"#;
    w.send("k1", json).await.unwrap();
    assert_eq!(w.sms.sent().len(), 1);
    let busy = w.send("k1", json).await.unwrap_err();
    assert!(matches!(busy, DomainError::SendInProgress));
    w.clock
        .advance(SEND_STALLED_AFTER + SignedDuration::from_secs(1));
    let stalled = w.send("k1", json).await.unwrap_err();
    assert!(matches!(stalled, DomainError::SendUnfinished));
    assert_eq!(stalled.status(), 409);
    assert_eq!(w.sms.sent().len(), 1, "never sent again under the same key");
    let messages = w
        .store
        .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        messages[0].sms_status,
        SmsStatus::Sending,
        "never marked sent unrecorded"
    );
}

fn sweeper(w: &World) -> sweeper::SendSweeper {
    sweeper::SendSweeper {
        store: w.store.clone(),
        clock: w.clock.clone(),
    }
}

async fn only_message(w: &World) -> crate::model::SentMessage {
    let messages = w
        .store
        .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    messages[0].clone()
}

#[tokio::test]
async fn a_send_left_sending_is_swept_unconfirmed_after_ten_minutes_and_its_key_answered() {
    let mut w = world().await;
    w.sender.store = Arc::new(OutcomeNeverWritten(w.store.clone()));
    let json = r#"{"kind":"secure","text":"Results"}"#;
    w.send("k1", json).await.unwrap();
    w.clock.advance(SignedDuration::from_mins(9));
    assert_eq!(
        sweeper(&w).sweep().await.unwrap(),
        sweeper::Swept::default()
    );
    assert_eq!(only_message(&w).await.sms_status, SmsStatus::Sending);

    w.clock.advance(SignedDuration::from_mins(2));
    let swept = sweeper(&w).sweep().await.unwrap();
    assert_eq!(swept.unconfirmed, 1);
    let message = only_message(&w).await;
    assert_eq!(message.sms_status, SmsStatus::Unconfirmed);
    assert_eq!(
        message.status(w.clock.now()).state,
        crate::model::MessageState::Unconfirmed
    );
    let again = w.send("k1", json).await.expect("the key is answered");
    let receipt = receipt(&again);
    assert_eq!(
        (receipt.message_id, receipt.sms_status),
        (message.id.clone(), SmsStatus::Unconfirmed)
    );
    assert_eq!(w.sms.sent().len(), 1, "a retry never sends again");
    let audit = w.store.audit();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.outcome.as_str()),
        ("send-unconfirmed", "unconfirmed")
    );
    assert_eq!(last.message_id, Some(message.id));
    assert_eq!(
        sweeper(&w).sweep().await.unwrap(),
        sweeper::Swept::default(),
        "swept once"
    );
}

/// A send that published its SMS and stopped, 11 minutes ago, and what the sweeper reads.
async fn stalled_send() -> (World, crate::ports::StalledSend) {
    let mut w = world().await;
    w.sender.store = Arc::new(OutcomeNeverWritten(w.store.clone()));
    w.send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap();
    w.clock.advance(SignedDuration::from_mins(11));
    let stalled = w
        .store
        .stalled_sends(w.clock.now() - sweeper::UNCONFIRMED_AFTER, 10)
        .await
        .unwrap();
    assert_eq!(stalled.len(), 1);
    (w, stalled[0].clone())
}

/// The send's own outcome, written late.
async fn finish_late(w: &World, stalled: &crate::ports::StalledSend) {
    let audit = AuditEntry::new(stalled.clinic.clone(), now(), "send", "sent");
    let response = StoredResponse {
        status: 201,
        body: "{\"late\":true}".into(),
    };
    w.store
        .finish_send(&FinishSend {
            idempotency_key: &stalled.request,
            clinic: &stalled.clinic,
            message: &stalled.message,
            outcome: &SmsOutcome::Sent {
                provider_message_id: "late".into(),
            },
            response: Some(&response),
            delete_content: None,
            audit: &audit,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_outcome_written_between_the_sweepers_read_and_write_stands() {
    let (w, stalled) = stalled_send().await;
    finish_late(&w, &stalled).await;
    let response = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    let audit = AuditEntry::new(stalled.clinic.clone(), now(), "send-unconfirmed", "x");
    let marked = w
        .store
        .mark_unconfirmed(&stalled, &response, &audit)
        .await
        .unwrap();
    assert!(!marked);
    assert_eq!(only_message(&w).await.sms_status, SmsStatus::Sent);
    let again = w
        .send("k1", r#"{"kind":"basic","text":"Hi"}"#)
        .await
        .unwrap();
    assert_eq!(again.body, "{\"late\":true}", "the send's own answer");
}

#[tokio::test]
async fn an_outcome_written_after_the_sweeper_replaces_unconfirmed() {
    let (w, stalled) = stalled_send().await;
    assert_eq!(sweeper(&w).sweep().await.unwrap().unconfirmed, 1);
    finish_late(&w, &stalled).await;
    assert_eq!(only_message(&w).await.sms_status, SmsStatus::Sent);
    assert_eq!(
        sweeper(&w).sweep().await.unwrap(),
        sweeper::Swept::default()
    );
}

#[tokio::test]
async fn a_secure_message_whose_sms_failed_has_its_content_deleted_at_once() {
    let w = world().await;
    w.sms.fail_sends(true);
    w.send("k1", r#"{"kind":"secure","text":"Results"}"#)
        .await
        .unwrap_err();
    let recorded = w.store.recorded();
    let token_hash = &recorded[0].unlock.as_ref().unwrap().token_hash;
    assert_eq!(
        crate::ports::UnlockStore::get_unlock(w.store.as_ref(), token_hash)
            .await
            .unwrap(),
        None
    );
    assert_eq!(only_message(&w).await.sms_status, SmsStatus::Failed);
}

/// The unlock page's use case over this world's fakes.
pub(crate) fn unlocker(w: &World) -> crate::unlock::Unlocker {
    crate::unlock::Unlocker {
        unlocks: w.store.clone(),
        links: w.store.clone(),
        clinics: Arc::new(ClinicCache::new(w.store.clone(), w.clock.clone())),
        keys: w.keys.clone(),
        blobs: w.blobs.clone(),
        audit: w.store.clone(),
        clock: w.clock.clone(),
    }
}

/// Staff actions on messages over this world's fakes.
pub(crate) fn message_actions(w: &World) -> crate::message_actions::MessageActions {
    crate::message_actions::MessageActions {
        messages: w.store.clone(),
        unlocks: w.store.clone(),
        links: w.store.clone(),
        blobs: w.blobs.clone(),
        audit: w.store.clone(),
        clock: w.clock.clone(),
    }
}

/// The token of the latest SMS's link.
fn latest_token(w: &World) -> String {
    let body = w.sms.sent().last().unwrap().body.clone();
    body.rsplit("/m/").next().unwrap().to_owned()
}

async fn sent_id(w: &World, key: &str, json: &str) -> MessageId {
    let response = w.send(key, json).await.unwrap();
    receipt(&response).message_id
}

#[tokio::test]
async fn a_resent_link_opens_the_same_message_once_per_key_and_the_old_one_says_replaced() {
    let w = world().await;
    let id = sent_id(&w, "k1", r#"{"kind":"secure","text":"Results"}"#).await;
    let old = latest_token(&w);
    w.clock.advance(SignedDuration::from_hours(1));
    let resent = w.sender.resend(&w.caller, &id, &key("r1")).await.unwrap();
    assert_eq!(resent.status, 200);
    let again = w.sender.resend(&w.caller, &id, &key("r1")).await.unwrap();
    assert_eq!(again, resent, "the same answer, one SMS");
    assert_eq!(w.sms.sent().len(), 2);
    let new = latest_token(&w);
    assert_ne!(new, old);
    let first_expiry = receipt(
        &w.send("k1", r#"{"kind":"secure","text":"Results"}"#)
            .await
            .unwrap(),
    )
    .expires_at;
    assert_eq!(receipt(&resent).expires_at, first_expiry, "the same expiry");
    assert!(matches!(
        unlocker(&w).view(&old).await.unwrap(),
        crate::unlock::UnlockView::Replaced { .. }
    ));
    assert!(matches!(
        unlocker(&w).attempt(&new, "9698658215").await.unwrap(),
        crate::unlock::UnlockView::Opened { .. }
    ));
    let message = only_message(&w).await;
    assert_eq!(message.resent_at, Some(w.clock.now()));
    assert_eq!(message.sms_status, SmsStatus::Sent);
    let resends: Vec<_> = w
        .store
        .audit()
        .into_iter()
        .filter(|entry| entry.event == "resend")
        .collect();
    assert_eq!(resends.len(), 1);
    // The key of one resend, used for another message's.
    let other = sent_id(&w, "k2", r#"{"kind":"secure","text":"More results"}"#).await;
    assert!(matches!(
        w.sender.resend(&w.caller, &other, &key("r1")).await,
        Err(DomainError::IdempotencyKeyReused)
    ));
}

#[tokio::test]
async fn a_basic_withdrawn_expired_or_other_clinics_message_is_not_resent() {
    let w = world().await;
    let basic = sent_id(&w, "k1", r#"{"kind":"basic","text":"Hi"}"#).await;
    assert!(matches!(
        w.sender.resend(&w.caller, &basic, &key("r1")).await,
        Err(DomainError::NotSecure)
    ));
    let secure = sent_id(&w, "k2", r#"{"kind":"secure","text":"Results"}"#).await;
    let other = Caller::staff(
        ClinicId::parse("c2").unwrap(),
        StaffUserId::parse("u").unwrap(),
    );
    assert!(matches!(
        w.sender.resend(&other, &secure, &key("r2")).await,
        Err(DomainError::NotFound { .. })
    ));
    w.clock
        .advance(crate::message_kind::SECURE_LIFETIME + SignedDuration::from_secs(1));
    assert!(matches!(
        w.sender.resend(&w.caller, &secure, &key("r3")).await,
        Err(DomainError::MessageExpired)
    ));
    let w = world().await;
    let secure = sent_id(&w, "k1", r#"{"kind":"secure","text":"Results"}"#).await;
    let actions = message_actions(&w);
    actions.withdraw(&w.caller, &secure).await.unwrap();
    assert!(matches!(
        w.sender.resend(&w.caller, &secure, &key("r4")).await,
        Err(DomainError::MessageWithdrawn)
    ));
    assert_eq!(w.sms.sent().len(), 1, "nothing resent");
}

#[tokio::test]
async fn a_resent_link_keeps_the_lock_wrong_phns_put_on_the_message() {
    let w = world().await;
    let id = sent_id(&w, "k1", r#"{"kind":"secure","text":"Results"}"#).await;
    let old = latest_token(&w);
    for _ in 0..5 {
        unlocker(&w).attempt(&old, "9890608412").await.unwrap();
    }
    w.sender.resend(&w.caller, &id, &key("r1")).await.unwrap();
    assert!(matches!(
        unlocker(&w)
            .attempt(&latest_token(&w), "9698658215")
            .await
            .unwrap(),
        crate::unlock::UnlockView::Locked { .. }
    ));
}

#[tokio::test]
async fn a_resend_left_sending_is_swept_and_its_key_answered_as_a_resend() {
    let mut w = world().await;
    let id = sent_id(&w, "k1", r#"{"kind":"secure","text":"Results"}"#).await;
    w.sender.store = Arc::new(OutcomeNeverWritten(w.store.clone()));
    w.sender.resend(&w.caller, &id, &key("r1")).await.unwrap();
    w.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(sweeper(&w).sweep().await.unwrap().unconfirmed, 1);
    let again = w.sender.resend(&w.caller, &id, &key("r1")).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(receipt(&again).sms_status, SmsStatus::Unconfirmed);
    assert_eq!(w.sms.sent().len(), 2, "never resent again");
}

#[tokio::test]
async fn an_upload_url_signs_the_declared_size() {
    let w = world().await;
    let request: crate::attachments::UploadRequest =
        serde_json::from_str(r#"{"content_type":"application/pdf","size":48213}"#).unwrap();
    let ticket = w
        .sender
        .start_upload(&w.caller.clinic_id, &request)
        .await
        .unwrap();
    let object_key = attachment_object_key(&w.caller.clinic_id, &ticket.attachment_id);
    assert_eq!(w.blobs.signed_length(&object_key), Some(Some(48213)));
}
