//! Onboarding, settings and the library against the in-memory stores.

use std::sync::Arc;

use jiff::civil::date;

use super::*;
use crate::{
    caller::{Caller, Role},
    clinic_keyring::ClinicKeyring,
    error::DomainError,
    fakes::{CountingRandom, FakeKeyService, FixedClock, MemoryStore, records},
    ids::{ChatId, ClinicId, StaffUserId, TemplateId},
    language::Language,
    model::ChatKind,
    ports::{ClinicStore, LibraryItem, LibraryKind},
};

struct Admin {
    store: Arc<MemoryStore>,
    onboarding: Onboarding,
    settings: ClinicSettings,
    library: Library,
    admin: Caller,
}

async fn admin() -> Admin {
    let store = Arc::new(MemoryStore::default());
    store.put_clinic(&records::clinic()).await.unwrap();
    // 17:00 in Vancouver on 25 November is already the 26th in UTC.
    let clock = Arc::new(FixedClock::at("2026-11-26T01:00:00Z".parse().unwrap()));
    let random = Arc::new(CountingRandom::default());
    Admin {
        onboarding: Onboarding {
            clinics: store.clone(),
            store: store.clone(),
            keys: Arc::new(FakeKeyService::default()),
            clock: clock.clone(),
            random: random.clone(),
        },
        settings: ClinicSettings {
            clinics: store.clone(),
            store: store.clone(),
            clock: clock.clone(),
        },
        library: Library {
            clinics: store.clone(),
            store: store.clone(),
            clock,
            random,
        },
        admin: Caller {
            clinic_id: ClinicId::parse("c1").unwrap(),
            user: StaffUserId::parse("admin-1").unwrap(),
            roles: [Role::ClinicAdmin].into(),
        },
        store,
    }
}

fn new_clinic(sms_number: &str) -> NewClinicForm {
    NewClinicForm {
        name: " Oak Bay Family Practice ".into(),
        time_zone: "America/Vancouver".into(),
        sms_number: sms_number.into(),
        phone: "778-555-0151".into(),
        unclear_response: "This number takes no replies. Please call 778-555-0151.".into(),
        help_response: "Oak Bay Family Practice appointment texts. Call 778-555-0151.".into(),
        default_language: Some("fr".into()),
        unclear_response_fr: Some(
            "Ce numéro ne reçoit pas de réponses. Appelez le 778-555-0151.".into(),
        ),
        help_response_fr: None,
    }
}

fn operator() -> StaffUserId {
    StaffUserId::parse("operator-1").unwrap()
}

#[tokio::test]
async fn an_onboarded_clinic_is_activated_today_in_its_own_zone_and_can_be_found_by_its_number() {
    let a = admin().await;
    let onboarded = a
        .onboarding
        .onboard(&operator(), &new_clinic("+1 778 555 0150"))
        .await
        .unwrap();
    let clinic = onboarded.clinic;
    assert!(clinic.id.as_str().starts_with("clinic-"));
    assert_eq!(clinic.name, "Oak Bay Family Practice");
    assert_eq!(clinic.activated_on, date(2026, 11, 25));
    assert_eq!(clinic.default_language, Language::Fr);
    assert_eq!(
        clinic.unclear_response_fr,
        "Ce numéro ne reçoit pas de réponses. Appelez le 778-555-0151."
    );
    assert!(onboarded.warnings.is_empty());
    assert_eq!(
        a.store.get_clinic(&clinic.id).await.unwrap(),
        Some(clinic.clone())
    );
    let by_number = a
        .store
        .find_clinic_by_sms_number(&clinic.sms_number)
        .await
        .unwrap();
    assert_eq!(by_number.map(|found| found.id), Some(clinic.id.clone()));
    // Its root key, wrapped under its own id and the purpose, opens into its key.
    let keyring = ClinicKeyring::new(
        a.onboarding.keys.clone(),
        a.store.clone(),
        a.onboarding.clock.clone(),
    );
    let key = keyring.key(&clinic.id).await.unwrap();
    assert_eq!(key.clinic(), &clinic.id);
    let audit = a.store.audit();
    let entry = audit.last().unwrap();
    assert_eq!(
        (entry.event.as_str(), entry.clinic_id.clone()),
        ("clinic-onboarded", clinic.id)
    );
    assert_eq!(entry.staff_user, Some(operator()));
}

#[tokio::test]
async fn onboarding_refuses_a_number_another_clinic_sends_from_and_unknown_time_zones() {
    let a = admin().await;
    // Harbourview (c1) texts from +1 250 555 0100.
    let taken = a
        .onboarding
        .onboard(&operator(), &new_clinic("(250) 555-0100"))
        .await;
    assert!(matches!(taken, Err(DomainError::SmsNumberTaken)));
    let mars = NewClinicForm {
        time_zone: "Mars/Base".into(),
        ..new_clinic("+17785550150")
    };
    match a.onboarding.onboard(&operator(), &mars).await {
        Err(DomainError::InvalidField { field, .. }) => assert_eq!(field, "time_zone"),
        other => panic!("{other:?}"),
    }
    let language = NewClinicForm {
        default_language: Some("es".into()),
        ..new_clinic("+17785550150")
    };
    assert!(matches!(
        a.onboarding.onboard(&operator(), &language).await,
        Err(DomainError::InvalidField {
            field: "default_language",
            ..
        })
    ));
    assert_eq!(a.store.audit().len(), 0, "nothing written, nothing audited");
}

#[tokio::test]
async fn two_onboardings_racing_for_one_number_create_one_clinic() {
    let a = admin().await;
    let (who, form) = (operator(), new_clinic("+17785550150"));
    let (first, second) = tokio::join!(
        a.onboarding.onboard(&who, &form),
        a.onboarding.onboard(&who, &form),
    );
    let won = [first.is_ok(), second.is_ok()];
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{won:?}");
    assert!(
        [first, second]
            .into_iter()
            .any(|result| matches!(result, Err(DomainError::SmsNumberTaken)))
    );
}

#[tokio::test]
async fn an_unclear_response_without_a_phone_number_is_saved_with_a_warning() {
    let a = admin().await;
    let form = NewClinicForm {
        unclear_response: "This number does not take replies.".into(),
        ..new_clinic("+17785550150")
    };
    let onboarded = a.onboarding.onboard(&operator(), &form).await.unwrap();
    assert_eq!(onboarded.warnings.len(), 1);
    assert!(onboarded.warnings[0].starts_with("unclear_response names no phone number"));
}

#[tokio::test]
async fn settings_change_only_the_fields_sent_and_check_each() {
    let a = admin().await;
    let before = a.settings.get(&a.admin).await.unwrap();
    let form = SettingsForm {
        name: Some("Harbourview Medical".into()),
        unclear_response: Some("No replies here: please call us.".into()),
        ..SettingsForm::default()
    };
    let (after, warnings) = a.settings.change(&a.admin, &form).await.unwrap();
    assert_eq!(after.name, "Harbourview Medical");
    assert_eq!(after.unclear_response, "No replies here: please call us.");
    assert_eq!(
        (
            after.phone,
            after.sms_number,
            after.time_zone,
            after.activated_on
        ),
        (
            before.phone,
            before.sms_number,
            before.time_zone,
            before.activated_on
        )
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let entry = a.store.audit().pop().unwrap();
    assert_eq!(
        (entry.event.as_str(), entry.outcome.as_str()),
        ("settings-changed", "name,unclear_response")
    );

    for (form, field) in [
        (
            SettingsForm {
                unclear_response: Some("x".repeat(161)),
                ..SettingsForm::default()
            },
            "unclear_response",
        ),
        (
            SettingsForm {
                unclear_response_fr: Some("é".repeat(161)),
                ..SettingsForm::default()
            },
            "unclear_response_fr",
        ),
        (
            SettingsForm {
                phone: Some("123".into()),
                ..SettingsForm::default()
            },
            "phone",
        ),
        (
            SettingsForm {
                name: Some(" ".into()),
                ..SettingsForm::default()
            },
            "name",
        ),
    ] {
        match a.settings.change(&a.admin, &form).await {
            Err(DomainError::InvalidField { field: refused, .. }) => assert_eq!(refused, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(matches!(
        a.settings.change(&a.admin, &SettingsForm::default()).await,
        Err(DomainError::InvalidBody { .. })
    ));
    let french = SettingsForm {
        help_response_fr: Some("Messages de rendez-vous. Appelez le 250-555-0101.".into()),
        ..SettingsForm::default()
    };
    let (after, _) = a.settings.change(&a.admin, &french).await.unwrap();
    assert_eq!(
        after.help_response_fr,
        "Messages de rendez-vous. Appelez le 250-555-0101."
    );
    assert_eq!(
        after.unclear_response, "No replies here: please call us.",
        "kept"
    );
}

#[test]
fn the_time_zone_sms_number_and_activation_day_are_not_settings() {
    for field in ["time_zone", "sms_number", "activated_on", "id"] {
        let body = format!(r#"{{"{field}": "x"}}"#);
        assert!(
            serde_json::from_str::<SettingsForm>(&body).is_err(),
            "{field}"
        );
    }
}

fn template_form(name: &str, kind: &str, text: &str) -> TemplateForm {
    serde_json::from_value(serde_json::json!({"name": name, "kind": kind, "text": text})).unwrap()
}

fn chat_form(title: &str, link: &str) -> ChatForm {
    ChatForm {
        title: title.into(),
        kind: ChatKind::Form,
        link: link.into(),
    }
}

async fn create_template(a: &Admin, name: &str) -> LibraryItem {
    a.library
        .save(
            &a.admin,
            LibraryRequest::CreateTemplate(template_form(
                name,
                "basic",
                "Hi {patient_first_name}, see you {appointment_date}.",
            )),
        )
        .await
        .unwrap()
}

fn template_id(item: &LibraryItem) -> TemplateId {
    TemplateId::parse(item.id()).unwrap()
}

#[tokio::test]
async fn a_template_is_refused_at_save_for_what_would_refuse_every_send() {
    let a = admin().await;
    let save = |form| {
        a.library
            .save(&a.admin, LibraryRequest::CreateTemplate(form))
    };
    let unknown = save(template_form("DOB", "basic", "Born {patient_dob}")).await;
    assert!(unknown.unwrap_err().to_string().contains("{patient_dob}"));
    let unclosed = save(template_form("Brace", "basic", "Hi {patient_first_name")).await;
    assert!(matches!(
        unclosed,
        Err(DomainError::Template(
            crate::template_text::TemplateError::Unclosed
        ))
    ));
    let long = save(template_form("Long", "basic", &"x".repeat(200))).await;
    assert!(matches!(
        long,
        Err(DomainError::TemplateTooLong {
            max: 160,
            chars: 200
        })
    ));
    // 130 characters of text, plus the clinic's name (18) and the shortest date (19).
    let filled = format!("{} {{clinic_name}} {{appointment_date}}", "x".repeat(130));
    assert!(matches!(
        save(template_form("Filled", "basic", &filled)).await,
        Err(DomainError::TemplateTooLong { chars: 169, .. })
    ));
    assert!(
        save(template_form("Secure", "secure", &"x".repeat(200)))
            .await
            .is_ok(),
        "a secure template holds 5,000"
    );
    let empty = save(template_form("Empty", "basic", "  "))
        .await
        .unwrap_err();
    assert!(matches!(
        empty,
        DomainError::InvalidField { field: "text", .. }
    ));
    assert!(empty.to_string().contains("text_fr"), "{empty}");
}

/// A template may hold an English and a French text; each is checked with its own
/// language's shortest date and time.
#[tokio::test]
async fn a_template_holds_english_french_or_both_each_checked_in_its_language() {
    let a = admin().await;
    let save = |form: serde_json::Value| {
        let form: TemplateForm = serde_json::from_value(form).unwrap();
        a.library
            .save(&a.admin, LibraryRequest::CreateTemplate(form))
    };
    save(serde_json::json!({"name": "Both", "kind": "basic",
        "text": "See you {appointment_date}.", "text_fr": "À {appointment_date}."}))
    .await
    .unwrap();
    save(serde_json::json!({"name": "French", "kind": "basic", "text_fr": "Rappel : {appointment_time}."}))
        .await
        .unwrap();
    // 141 characters and the shortest French date (19): too long; the English (19 too) also.
    let long = format!("{} {{appointment_date}}", "x".repeat(141));
    let refused = save(serde_json::json!({"name": "Long", "kind": "basic", "text_fr": long}))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, DomainError::TemplateTooLong { chars: 161, .. }),
        "{refused}"
    );
    let templates = a.store.list_templates(&a.admin.clinic_id).await.unwrap();
    let french = templates.iter().find(|t| t.name == "French").unwrap();
    assert_eq!(
        (french.text.as_deref(), french.text_fr.is_some()),
        (None, true)
    );
}

#[tokio::test]
async fn a_change_names_the_version_it_replaces_so_two_admins_never_overwrite_each_other() {
    let a = admin().await;
    let created = create_template(&a, "Reminder").await;
    assert_eq!(created.version(), 1);
    let replace = |version| LibraryRequest::ReplaceTemplate {
        id: template_id(&created),
        version,
        form: template_form("Reminder", "basic", "See you {appointment_date}."),
    };
    let changed = a.library.save(&a.admin, replace(1)).await.unwrap();
    assert_eq!(changed.version(), 2);
    let stale = a.library.save(&a.admin, replace(1)).await;
    assert!(matches!(stale, Err(DomainError::StaleVersion { .. })));
    let delete_stale = a
        .library
        .delete(&a.admin, LibraryKind::Template, created.id(), 1)
        .await;
    assert!(matches!(
        delete_stale,
        Err(DomainError::StaleVersion { .. })
    ));
    a.library
        .delete(&a.admin, LibraryKind::Template, created.id(), 2)
        .await
        .unwrap();
    let templates = a.store.list_templates(&a.admin.clinic_id).await.unwrap();
    assert!(!templates.iter().any(|t| t.id.as_str() == created.id()));
    let events: Vec<String> = a.store.audit().into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        ["template-created", "template-changed", "template-deleted"]
    );
}

#[tokio::test]
async fn names_are_unique_per_clinic_and_kind_and_a_rename_frees_the_old_one() {
    let a = admin().await;
    let first = create_template(&a, "Reminder").await;
    let again = a
        .library
        .save(
            &a.admin,
            LibraryRequest::CreateTemplate(template_form("  reminder ", "basic", "Hi")),
        )
        .await;
    assert!(matches!(
        again,
        Err(DomainError::NameTaken { what: "a template" })
    ));
    // A chat may share a template's name.
    a.library
        .save(
            &a.admin,
            LibraryRequest::CreateChat(chat_form("Reminder", "https://forms.example.ca/r")),
        )
        .await
        .unwrap();
    a.library
        .save(
            &a.admin,
            LibraryRequest::ReplaceTemplate {
                id: template_id(&first),
                version: 1,
                form: template_form("Visit reminder", "basic", "Hi"),
            },
        )
        .await
        .unwrap();
    create_template(&a, "Reminder").await;
}

#[tokio::test]
async fn another_clinics_template_is_not_found_like_a_missing_one() {
    let a = admin().await;
    let created = create_template(&a, "Reminder").await;
    let chat = a
        .library
        .save(
            &a.admin,
            LibraryRequest::CreateChat(chat_form("Form", "https://forms.example.ca")),
        )
        .await
        .unwrap();
    // Another clinic with a profile of its own, so that only the keys keep them apart.
    let mut second = records::clinic();
    second.id = ClinicId::parse("c2").unwrap();
    second.sms_number = crate::phone::PhoneNumber::parse("+12505550200").unwrap();
    a.store.put_clinic(&second).await.unwrap();
    let other = Caller {
        clinic_id: second.id.clone(),
        ..a.admin.clone()
    };
    let template_change = a
        .library
        .save(
            &other,
            LibraryRequest::ReplaceTemplate {
                id: template_id(&created),
                version: 1,
                form: template_form("Mine now", "basic", "Hi"),
            },
        )
        .await;
    assert!(matches!(
        template_change,
        Err(DomainError::NotFound {
            what: "the template"
        })
    ));
    let chat_change = a
        .library
        .save(
            &other,
            LibraryRequest::ReplaceChat {
                id: ChatId::parse(chat.id()).unwrap(),
                version: 1,
                form: chat_form("Mine now", "https://forms.example.ca"),
            },
        )
        .await;
    assert!(matches!(
        chat_change,
        Err(DomainError::NotFound { what: "the chat" })
    ));
    for (kind, id) in [
        (LibraryKind::Template, created.id()),
        (LibraryKind::Chat, chat.id()),
    ] {
        let delete = a.library.delete(&other, kind, id, 1).await;
        assert!(
            matches!(delete, Err(DomainError::NotFound { .. })),
            "{kind:?}"
        );
    }
    let templates = a.store.list_templates(&a.admin.clinic_id).await.unwrap();
    assert_eq!(
        templates[0].name, "Reminder",
        "the first clinic's is untouched"
    );
}

#[tokio::test]
async fn a_malformed_id_is_refused_before_the_store_is_asked() {
    let a = admin().await;
    for kind in [LibraryKind::Template, LibraryKind::Chat] {
        let refused = a.library.delete(&a.admin, kind, "\u{84}", 1).await;
        assert!(
            matches!(refused, Err(DomainError::InvalidId(_))),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_chat_link_must_be_https() {
    let a = admin().await;
    for link in ["http://forms.example.ca/prep", "javascript:alert(1)"] {
        let refused = a
            .library
            .save(
                &a.admin,
                LibraryRequest::CreateChat(chat_form("Prep", link)),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(DomainError::InvalidField { field: "link", .. })
            ),
            "{link}"
        );
    }
}

#[test]
fn if_match_is_required_and_read_as_the_etag_given() {
    assert!(matches!(
        parse_if_match(None, LibraryKind::Chat),
        Err(DomainError::VersionRequired { what: "the chat" })
    ));
    assert_eq!(parse_if_match(Some("\"3\""), LibraryKind::Chat).unwrap(), 3);
    assert_eq!(
        parse_if_match(Some("W/\"12\""), LibraryKind::Chat).unwrap(),
        12
    );
    for bad in ["3", "\"x\"", "*", "\"3"] {
        assert!(
            matches!(
                parse_if_match(Some(bad), LibraryKind::Template),
                Err(DomainError::InvalidParameter {
                    parameter: "If-Match",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_integration_client_writes_for_one_clinic_for_good() {
    let a = admin().await;
    let form = |client: &str| IntegrationForm {
        client_id: client.into(),
    };
    let c1 = ClinicId::parse("c1").unwrap();
    let bound = a
        .onboarding
        .bind_integration(&operator(), &c1, &form("emr-client-1"))
        .await
        .unwrap();
    assert_eq!(
        a.store.clinic_of_integration_client(&bound).await.unwrap(),
        Some(c1.clone())
    );
    a.onboarding
        .bind_integration(&operator(), &c1, &form("emr-client-1"))
        .await
        .expect("binding again to the same clinic changes nothing");
    let second = a
        .onboarding
        .onboard(&operator(), &new_clinic("+17785550150"))
        .await
        .unwrap()
        .clinic;
    assert!(matches!(
        a.onboarding
            .bind_integration(&operator(), &second.id, &form("emr-client-1"))
            .await,
        Err(DomainError::IntegrationClientTaken)
    ));
    assert!(matches!(
        a.onboarding
            .bind_integration(
                &operator(),
                &ClinicId::parse("nowhere").unwrap(),
                &form("emr-2")
            )
            .await,
        Err(DomainError::NotFound { what: "the clinic" })
    ));
}
