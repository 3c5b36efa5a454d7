//! ClinicStore: clinics, their templates, chats, opt-outs and auto-replies, each clinic's
//! own.

use domain::{
    clinic_key::NumberTag,
    ids::{ChatId, ClinicId, TemplateId},
    inbound_sms::AutoReply,
    ports::ClinicStore,
};
use jiff::SignedDuration;

use super::{
    StoreUnderTest,
    records::{chat, clinic, clinic_id, number, patient_number, t0_plus, tag, template},
};

pub async fn a_clinic_reads_back_as_written(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let mut harbour = clinic("clinic-a", 1);
    store.put_clinic(&harbour).await.unwrap();
    assert_eq!(
        store.get_clinic(&harbour.id).await.unwrap(),
        Some(harbour.clone())
    );
    assert_eq!(
        store.get_clinic(&clinic_id("clinic-z")).await.unwrap(),
        None
    );

    harbour.name = "Contract Clinic (renamed)".into();
    store.put_clinic(&harbour).await.unwrap();
    assert_eq!(store.get_clinic(&harbour.id).await.unwrap(), Some(harbour));
}

pub async fn a_clinic_is_found_by_its_sms_number(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let harbour = clinic("clinic-a", 1);
    let bay = clinic("clinic-b", 2);
    store.put_clinic(&harbour).await.unwrap();
    store.put_clinic(&bay).await.unwrap();

    let found = |n| store.find_clinic_by_sms_number(n);
    assert_eq!(
        found(&harbour.sms_number).await.unwrap(),
        Some(harbour.clone())
    );
    assert_eq!(found(&bay.sms_number).await.unwrap(), Some(bay.clone()));
    let unknown = number("+16045550177");
    assert_eq!(found(&unknown).await.unwrap(), None);
    assert_eq!(
        found(&harbour.phone).await.unwrap(),
        None,
        "a voice line is not an SMS number"
    );

    let mut moved = harbour.clone();
    moved.sms_number = number("+16045550188");
    store.put_clinic(&moved).await.unwrap();
    assert_eq!(found(&harbour.sms_number).await.unwrap(), None);
    assert_eq!(found(&moved.sms_number).await.unwrap(), Some(moved));
}

pub async fn templates_are_listed_per_clinic_in_id_order_and_got_by_id(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    // Chats and opt-outs live beside templates: they must not list as templates.
    store.put_chat(&a, &chat("c-1")).await.unwrap();
    store
        .set_opted_out(&a, &tag(&patient_number(701)), true)
        .await
        .unwrap();
    store
        .put_template(&a, &template("t-2", "Second"))
        .await
        .unwrap();
    store
        .put_template(&a, &template("t-1", "First"))
        .await
        .unwrap();
    store
        .put_template(&b, &template("t-3", "Theirs"))
        .await
        .unwrap();

    assert_eq!(
        store.list_templates(&a).await.unwrap(),
        [template("t-1", "First"), template("t-2", "Second")]
    );
    assert_eq!(
        store.list_templates(&b).await.unwrap(),
        [template("t-3", "Theirs")]
    );
    assert!(
        store
            .list_templates(&clinic_id("clinic-z"))
            .await
            .unwrap()
            .is_empty()
    );

    let t1 = TemplateId::parse("t-1").unwrap();
    assert_eq!(
        store.get_template(&a, &t1).await.unwrap(),
        Some(template("t-1", "First"))
    );
    assert_eq!(store.get_template(&b, &t1).await.unwrap(), None);

    store
        .put_template(&a, &template("t-1", "First, edited"))
        .await
        .unwrap();
    assert_eq!(
        store.get_template(&a, &t1).await.unwrap(),
        Some(template("t-1", "First, edited"))
    );
    assert_eq!(store.list_templates(&a).await.unwrap().len(), 2);
}

pub async fn chats_are_listed_per_clinic_in_id_order_and_got_by_id(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    store
        .put_template(&a, &template("t-1", "First"))
        .await
        .unwrap();
    store.put_chat(&a, &chat("c-2")).await.unwrap();
    store.put_chat(&a, &chat("c-1")).await.unwrap();
    store.put_chat(&b, &chat("c-3")).await.unwrap();

    assert_eq!(
        store.list_chats(&a).await.unwrap(),
        [chat("c-1"), chat("c-2")]
    );
    assert_eq!(store.list_chats(&b).await.unwrap(), [chat("c-3")]);

    let c1 = ChatId::parse("c-1").unwrap();
    assert_eq!(store.get_chat(&a, &c1).await.unwrap(), Some(chat("c-1")));
    assert_eq!(store.get_chat(&b, &c1).await.unwrap(), None);
    assert_eq!(
        store
            .get_chat(&a, &ChatId::parse("c-9").unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn an_opt_out_is_set_and_cleared_per_clinic_and_number(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let (ava, other) = (tag(&patient_number(702)), tag(&patient_number(703)));
    assert!(!store.is_opted_out(&a, &ava).await.unwrap());

    store.set_opted_out(&a, &ava, true).await.unwrap();
    store.set_opted_out(&a, &ava, true).await.unwrap();
    assert!(store.is_opted_out(&a, &ava).await.unwrap());
    assert!(!store.is_opted_out(&b, &ava).await.unwrap());
    assert!(!store.is_opted_out(&a, &other).await.unwrap());

    store.set_opted_out(&a, &ava, false).await.unwrap();
    assert!(!store.is_opted_out(&a, &ava).await.unwrap());
    // Clearing an opt-out that is not there is not an error.
    store.set_opted_out(&a, &other, false).await.unwrap();
    assert!(!store.is_opted_out(&a, &other).await.unwrap());
}

/// One auto-reply of each kind a day from a clinic to a number: the inbound SMS that took
/// it may take it again (a retry), another only once the day is over; racing replies take
/// it once; each clinic and each number has its own.
pub async fn an_auto_reply_is_taken_once_a_day_per_number_and_kind(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = clinic_id("clinic-a");
    let number = tag(&patient_number(716));
    let day = SignedDuration::from_hours(24);
    let claim = |clinic: ClinicId, number: NumberTag, reply, inbound: &'static str, at: i64| {
        let now = t0_plus(at);
        async move {
            store
                .claim_auto_reply(&clinic, &number, reply, inbound, now, now - day)
                .await
                .unwrap()
        }
    };
    let mine = |reply, inbound, at| claim(clinic.clone(), number.clone(), reply, inbound, at);
    assert!(mine(AutoReply::Unclear, "in-1", 100).await);
    assert!(
        mine(AutoReply::Unclear, "in-1", 101).await,
        "a retry of the same"
    );
    assert!(!mine(AutoReply::Unclear, "in-2", 160).await);
    assert!(
        mine(AutoReply::Help, "in-3", 170).await,
        "each kind its own"
    );
    assert!(
        claim(
            clinic_id("clinic-b"),
            number.clone(),
            AutoReply::Unclear,
            "in-4",
            180
        )
        .await,
        "each clinic its own"
    );
    assert!(
        claim(
            clinic.clone(),
            tag(&patient_number(717)),
            AutoReply::Unclear,
            "in-5",
            190
        )
        .await,
        "each number its own"
    );
    let (one, two) = tokio::join!(
        mine(AutoReply::Unclear, "in-6", 101 + 24 * 3600),
        mine(AutoReply::Unclear, "in-7", 101 + 24 * 3600),
    );
    assert!(
        one ^ two,
        "racing replies a day later take it once: {one} {two}"
    );

    // Given back only by the inbound SMS that took it (its SMS could not be sent).
    let release = |inbound: &'static str| {
        let (clinic, number) = (clinic.clone(), number.clone());
        async move {
            store
                .release_auto_reply(&clinic, &number, AutoReply::Help, inbound)
                .await
                .unwrap()
        }
    };
    release("in-9").await;
    assert!(!mine(AutoReply::Help, "in-8", 200).await, "still in-3's");
    release("in-3").await;
    assert!(mine(AutoReply::Help, "in-8", 210).await, "given back");
}
