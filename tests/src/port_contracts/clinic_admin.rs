//! ClinicAdmin: a clinic takes its SMS number for good; templates and chats change only at
//! the version read, with names unique per clinic and kind.

use domain::{
    ids::{ChatId, TemplateId},
    model::{AuditEntry, ChatKind, Template},
    ports::{
        ClinicAdmin, ClinicCreated, ClinicStore, LibraryItem, LibraryKind, LibraryWrite,
        SettingsChange,
    },
};

use super::{
    StoreUnderTest,
    records::{audit_entry, chat, clinic, clinic_id, number, t0_plus, template},
};

/// Wrapped root keys as KMS would make them (opaque bytes to the store).
const ROOT_KEY: &[u8] = b"wrapped root key of clinic-a";
const OTHER_ROOT_KEY: &[u8] = b"wrapped root key of another clinic";

/// The audit entry a change is written with (the suites read it back with the trail).
fn change_audit() -> AuditEntry {
    audit_entry(&clinic_id("clinic-a"), t0_plus(1), "admin-change", None)
}

/// How many changes the trail holds.
async fn changes_audited(subject: &impl StoreUnderTest) -> usize {
    subject
        .audit_trail(&clinic_id("clinic-a"))
        .await
        .iter()
        .filter(|entry| entry.event == "admin-change")
        .count()
}

fn named(id: &str, name: &str) -> LibraryItem {
    LibraryItem::Template(Template {
        name: name.into(),
        ..template(id, "Hi {patient_first_name}")
    })
}

pub async fn a_new_clinic_takes_its_sms_number_for_good(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let harbour = clinic("clinic-a", 1);
    assert_eq!(
        store
            .create_clinic(&harbour, ROOT_KEY, &change_audit())
            .await
            .unwrap(),
        ClinicCreated::Created
    );
    let mut copycat = clinic("clinic-b", 1);
    copycat.name = "Copycat".into();
    assert_eq!(
        store
            .create_clinic(&copycat, OTHER_ROOT_KEY, &change_audit())
            .await
            .unwrap(),
        ClinicCreated::SmsNumberTaken
    );
    assert_eq!(store.get_clinic(&copycat.id).await.unwrap(), None);
    let root_key = |clinic| async move { store.wrapped_root_key(clinic).await.unwrap() };
    assert_eq!(
        root_key(&harbour.id).await.as_deref(),
        Some(ROOT_KEY),
        "written with the clinic"
    );
    assert_eq!(root_key(&copycat.id).await, None);
    assert!(
        !store
            .put_root_key(&harbour.id, OTHER_ROOT_KEY)
            .await
            .unwrap(),
        "a root key is never replaced"
    );
    assert_eq!(root_key(&harbour.id).await.as_deref(), Some(ROOT_KEY));
    assert_eq!(
        changes_audited(subject).await,
        1,
        "the clinic was written with its audit entry; the refusal wrote none"
    );
    assert_eq!(
        store
            .find_clinic_by_sms_number(&harbour.sms_number)
            .await
            .unwrap(),
        Some(harbour.clone())
    );
    // A clinic seeded by `put_clinic` holds its number too, and takes its root key once.
    let seeded = clinic("clinic-c", 3);
    store.put_clinic(&seeded).await.unwrap();
    assert!(
        store
            .put_root_key(&seeded.id, OTHER_ROOT_KEY)
            .await
            .unwrap()
    );
    assert_eq!(root_key(&seeded.id).await.as_deref(), Some(OTHER_ROOT_KEY));
    assert_eq!(
        store
            .create_clinic(&clinic("clinic-d", 3), OTHER_ROOT_KEY, &change_audit())
            .await
            .unwrap(),
        ClinicCreated::SmsNumberTaken
    );
}

pub async fn of_two_clinics_racing_for_one_number_one_is_created(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (first, second) = (clinic("clinic-a", 1), clinic("clinic-b", 1));
    let audit = change_audit();
    let (one, two) = tokio::join!(
        store.create_clinic(&first, ROOT_KEY, &audit),
        store.create_clinic(&second, OTHER_ROOT_KEY, &audit)
    );
    let created = [one.unwrap(), two.unwrap()];
    assert_eq!(
        created
            .iter()
            .filter(|outcome| **outcome == ClinicCreated::Created)
            .count(),
        1,
        "{created:?}"
    );
}

pub async fn settings_change_only_the_fields_named(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let harbour = clinic("clinic-a", 1);
    store
        .create_clinic(&harbour, ROOT_KEY, &change_audit())
        .await
        .unwrap();
    let change = SettingsChange {
        name: Some("Harbour Medical".into()),
        phone: Some(number("+16045550142")),
        default_language: Some(domain::language::Language::Fr),
        ..SettingsChange::default()
    };
    let changed = store
        .change_settings(&harbour.id, &change, &change_audit())
        .await
        .unwrap()
        .expect("the clinic exists");
    assert_eq!(changed, change.apply(harbour.clone()));
    assert_eq!(store.get_clinic(&harbour.id).await.unwrap(), Some(changed));
    assert_eq!(
        changes_audited(subject).await,
        2,
        "the creation and the change"
    );
    assert_eq!(
        store
            .change_settings(&clinic_id("clinic-z"), &change, &change_audit())
            .await
            .unwrap(),
        None,
        "no clinic is created by a change"
    );
    assert_eq!(
        store.get_clinic(&clinic_id("clinic-z")).await.unwrap(),
        None
    );
}

pub async fn an_item_is_created_once_then_changed_only_at_the_version_read(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let a = &clinic_id("clinic-a");
    let item = named("t-1", "Reminder");
    let save = |item: LibraryItem, expected| async move {
        store
            .save_library_item(a, &item, expected, &change_audit())
            .await
            .unwrap()
    };
    assert_eq!(
        save(item.clone(), None).await,
        LibraryWrite::Done { version: 1 }
    );
    assert_eq!(
        save(item.clone(), None).await,
        LibraryWrite::Stale,
        "an id is created once"
    );
    assert_eq!(
        save(item.clone(), Some(1)).await,
        LibraryWrite::Done { version: 2 }
    );
    assert_eq!(save(item.clone(), Some(1)).await, LibraryWrite::Stale);
    assert_eq!(
        save(named("t-9", "Other"), Some(1)).await,
        LibraryWrite::Missing
    );
    let stored = store
        .get_template(a, &TemplateId::parse("t-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        changes_audited(subject).await,
        2,
        "each change and no refusal audited"
    );
    assert_eq!(LibraryItem::Template(stored), item.at_version(2));
}

pub async fn names_are_unique_per_clinic_and_kind_until_renamed_or_deleted(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let done = LibraryWrite::Done { version: 1 };
    assert_eq!(
        store
            .save_library_item(&a, &named("t-1", "Reminder"), None, &change_audit())
            .await
            .unwrap(),
        done
    );
    assert_eq!(
        store
            .save_library_item(&a, &named("t-2", "REMINDER "), None, &change_audit())
            .await
            .unwrap(),
        LibraryWrite::NameTaken
    );
    assert_eq!(
        store
            .save_library_item(&b, &named("t-2", "Reminder"), None, &change_audit())
            .await
            .unwrap(),
        done,
        "another clinic's names are its own"
    );
    let form = LibraryItem::Chat(domain::model::Chat {
        title: "Reminder".into(),
        kind: ChatKind::Form,
        ..chat("c-1")
    });
    assert_eq!(
        store
            .save_library_item(&a, &form, None, &change_audit())
            .await
            .unwrap(),
        done
    );
    // A rename frees the old name; a delete frees the name.
    assert_eq!(
        store
            .save_library_item(
                &a,
                &named("t-1", "Visit reminder"),
                Some(1),
                &change_audit()
            )
            .await
            .unwrap(),
        LibraryWrite::Done { version: 2 }
    );
    assert_eq!(
        store
            .save_library_item(&a, &named("t-2", "Reminder"), None, &change_audit())
            .await
            .unwrap(),
        done
    );
    assert_eq!(
        store
            .delete_library_item(&a, LibraryKind::Template, "t-1", 2, &change_audit())
            .await
            .unwrap(),
        LibraryWrite::Done { version: 2 }
    );
    assert_eq!(
        store
            .save_library_item(&a, &named("t-3", "visit reminder"), None, &change_audit())
            .await
            .unwrap(),
        done
    );
    // A seeded template holds its name as well.
    store
        .put_template(
            &a,
            &Template {
                name: "Seeded".into(),
                ..template("t-4", "Hi")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .save_library_item(&a, &named("t-5", "seeded"), None, &change_audit())
            .await
            .unwrap(),
        LibraryWrite::NameTaken
    );
}

pub async fn a_delete_needs_the_version_read(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = &clinic_id("clinic-a");
    let form = LibraryItem::Chat(chat("c-1"));
    store
        .save_library_item(a, &form, None, &change_audit())
        .await
        .unwrap();
    let delete = |id: &'static str, version| async move {
        store
            .delete_library_item(a, LibraryKind::Chat, id, version, &change_audit())
            .await
            .unwrap()
    };
    assert_eq!(delete("c-1", 2).await, LibraryWrite::Stale);
    assert_eq!(delete("c-9", 1).await, LibraryWrite::Missing);
    assert_eq!(delete("c-1", 1).await, LibraryWrite::Done { version: 1 });
    assert_eq!(
        store
            .get_chat(a, &ChatId::parse("c-1").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(delete("c-1", 1).await, LibraryWrite::Missing);
    assert_eq!(
        changes_audited(subject).await,
        2,
        "the create and the delete"
    );
}

pub async fn an_integration_client_is_bound_to_one_clinic(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let client = domain::ids::IntegrationClientId::parse("emr-1").unwrap();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    assert!(
        store
            .bind_integration_client(&client, &a, &change_audit())
            .await
            .unwrap()
    );
    assert!(
        store
            .bind_integration_client(&client, &a, &change_audit())
            .await
            .unwrap()
    );
    assert!(
        !store
            .bind_integration_client(&client, &b, &change_audit())
            .await
            .unwrap()
    );
    assert_eq!(
        store.clinic_of_integration_client(&client).await.unwrap(),
        Some(a)
    );
    assert_eq!(changes_audited(subject).await, 2);
}
