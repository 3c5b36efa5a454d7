//! Search rules against the in-memory store.

use jiff::{Timestamp, ToSpan, civil::date};

use super::*;
use crate::{
    appointment_status::AppointmentStatus,
    email::Email,
    fakes::{MemoryStore, test_clinic_key},
    ids::{AppointmentId, ClinicId, PatientId},
    model::Appointment,
    phn::Phn,
    phone::PhoneNumber,
    ports::AppointmentStore,
};

fn days(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(24 * n)
}

fn now() -> Timestamp {
    "2026-11-25T18:00:00Z".parse().unwrap()
}

fn clinic(id: &str) -> Clinic {
    Clinic {
        id: ClinicId::parse(id).unwrap(),
        name: "Harbourview".into(),
        time_zone: "America/Vancouver".into(),
        activated_on: date(2025, 1, 1),
        sms_number: PhoneNumber::parse("+12505550100").unwrap(),
        phone: PhoneNumber::parse("+12505550101").unwrap(),
        unclear_response: "Call us.".into(),
        help_response: String::new(),
        default_language: Default::default(),
        unclear_response_fr: String::new(),
        help_response_fr: String::new(),
    }
}

fn patient(id: &str, first: &str, last: &str, phn: Option<&str>, phone: &str) -> Patient {
    Patient {
        id: PatientId::parse(id).unwrap(),
        phn: phn.map(|p| Phn::parse(p).unwrap()),
        first_name: first.into(),
        last_name: last.into(),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        email: Some(Email::parse(&format!("{id}@example.com")).unwrap()),
    }
}

async fn book(
    store: &MemoryStore,
    clinic: &Clinic,
    patient: &Patient,
    id: &str,
    starts_at: Timestamp,
) {
    let appointment = Appointment {
        id: AppointmentId::parse(id).unwrap(),
        patient_id: patient.id.clone(),
        starts_at,
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    };
    store
        .upsert_appointment_with_patient(&test_clinic_key(&clinic.id), patient, &appointment)
        .await
        .unwrap();
}

async fn search(store: &MemoryStore, clinic: &Clinic, q: &str) -> SearchPage {
    let request = SearchRequest::parse(Some(q), None, None, None).unwrap();
    find_patients(store, &test_clinic_key(&clinic.id), clinic, &request, now())
        .await
        .unwrap()
}

fn ids(page: &SearchPage) -> Vec<&str> {
    page.matches.iter().map(|m| m.patient.id.as_str()).collect()
}

#[tokio::test]
async fn each_kind_of_query_finds_the_patient() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let ava = patient("p-ava", "Ava", "Smith", Some("9698658215"), "+16045550123");
    book(&store, &clinic, &ava, "a1", now() + days(3)).await;
    for q in [
        "9698 658 215",
        "(604) 555-0123",
        "P-AVA@example.com",
        "smi",
        "SMÏ",
        "ava",
        "av sm",
        "Smith, Av",
        "ava smith",
    ] {
        assert_eq!(ids(&search(&store, &clinic, q).await), ["p-ava"], "{q}");
    }
    assert!(search(&store, &clinic, "jo").await.matches.is_empty());
}

/// Names longer than the longest indexed prefix share its partition: the search reads it
/// and keeps the names that match the whole query.
#[tokio::test]
async fn a_search_longer_than_the_indexed_prefix_finds_only_the_names_that_match_it() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let hoff = patient("p-1", "Ann", "Vandermeulenhoff", None, "+16045550131");
    let plain = patient("p-2", "Bob", "Vandermeulen", None, "+16045550132");
    let berg = patient("p-3", "Cy", "Vandermeulenberg", None, "+16045550133");
    for (n, who) in [&hoff, &plain, &berg].into_iter().enumerate() {
        book(&store, &clinic, who, &format!("a{n}"), now() + days(1)).await;
    }
    assert_eq!(
        ids(&search(&store, &clinic, "vandermeulenh").await),
        ["p-1"]
    );
    assert_eq!(
        ids(&search(&store, &clinic, "vandermeulenhoff ann").await),
        ["p-1"]
    );
    assert_eq!(
        ids(&search(&store, &clinic, "vandermeulen").await),
        ["p-1", "p-2", "p-3"]
    );
    let page = search(&store, &clinic, "vandermeulenberg").await;
    assert_eq!(ids(&page), ["p-3"]);
    assert_eq!(
        page.items_read, 3,
        "the partition of \"vandermeulen\" is read"
    );
}

/// A cursor says where a page ended by a probe's number and a patient's id, and which
/// search it belongs to by a tag under the clinic's key: no name, no PHN.
#[tokio::test]
async fn a_cursor_holds_no_name_and_no_phn() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    for n in 0..3 {
        let p = patient(
            &format!("p-{n}"),
            "Sentinelann",
            "Sentinelbrook",
            Some("9698658215"),
            "+16045550140",
        );
        book(&store, &clinic, &p, &format!("a{n}"), now() + days(1)).await;
    }
    for q in ["sentinelbrook", "9698658215"] {
        let request = SearchRequest::parse(Some(q), None, Some("1"), None).unwrap();
        let page = find_patients(
            &store,
            &test_clinic_key(&clinic.id),
            &clinic,
            &request,
            now(),
        )
        .await
        .unwrap();
        let cursor = page.next_cursor.expect("more pages");
        let decoded = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &cursor)
                .unwrap(),
        )
        .unwrap();
        assert!(decoded.contains("\"p-0\""), "{decoded}");
        for secret in ["sentinel", "9698658215", "8215"] {
            assert!(!decoded.to_lowercase().contains(secret), "{decoded}");
        }
    }
}

#[tokio::test]
async fn same_name_patients_are_both_found_and_told_apart() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let one = patient(
        "p-john-1",
        "John",
        "Smith",
        Some("9890608412"),
        "+16045550124",
    );
    let two = patient(
        "p-john-2",
        "John",
        "Smith",
        Some("9234567819"),
        "+12505550125",
    );
    book(&store, &clinic, &one, "a1", now() + days(10)).await;
    book(&store, &clinic, &two, "a2", now() - days(7)).await;
    let page = search(&store, &clinic, "jo sm").await;
    assert_eq!(ids(&page), ["p-john-1", "p-john-2"]);
    assert_ne!(page.matches[0].patient.phn, page.matches[1].patient.phn);
}

#[tokio::test]
async fn a_patient_matching_several_probes_is_listed_once() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let jo = patient("p-jo", "Jo", "Jones", None, "+16045550130");
    book(&store, &clinic, &jo, "a1", now() + days(1)).await;
    assert_eq!(ids(&search(&store, &clinic, "jo").await), ["p-jo"]);
}

#[tokio::test]
async fn only_appointments_in_the_window_make_a_patient_findable() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let window = clinic.search_window(now());
    let (activation, ten_years) = (window.start(), window.end());
    let cases = [
        ("p-before", activation - 1.second(), false),
        ("p-at-activation", activation, true),
        ("p-ten-years", ten_years, true),
        ("p-ten-years-and-a-day", ten_years + 24.hours(), false),
    ];
    for (n, (id, at, _)) in cases.iter().enumerate() {
        let p = patient(id, "Pat", "Window", None, &format!("+1604555014{n}"));
        book(&store, &clinic, &p, &format!("a-{id}"), *at).await;
    }
    let found = search(&store, &clinic, "window").await;
    let expected: Vec<_> = cases
        .iter()
        .filter(|(_, _, found)| *found)
        .map(|(id, _, _)| *id)
        .collect();
    let mut got = ids(&found);
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn appointments_are_listed_upcoming_first_then_most_recent_past() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let ava = patient("p-ava", "Ava", "Smith", None, "+16045550123");
    for (id, offset) in [
        ("past-far", -60),
        ("soon", 2),
        ("past-near", -5),
        ("later", 30),
    ] {
        book(&store, &clinic, &ava, id, now() + days(offset)).await;
    }
    let page = search(&store, &clinic, "ava").await;
    let order: Vec<_> = page.matches[0]
        .appointments
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(order, ["soon", "later", "past-near", "past-far"]);
}

#[tokio::test]
async fn an_old_phone_finds_nothing_after_the_patient_changed_it() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let before = patient("p-ava", "Ava", "Smith", None, "+16045550123");
    book(&store, &clinic, &before, "a1", now() + days(1)).await;
    let after = patient("p-ava", "Ava", "Smith", None, "+16045550199");
    book(&store, &clinic, &after, "a2", now() + days(2)).await;
    assert!(
        search(&store, &clinic, "604-555-0123")
            .await
            .matches
            .is_empty()
    );
    let page = search(&store, &clinic, "604-555-0199").await;
    assert_eq!(ids(&page), ["p-ava"]);
    assert_eq!(
        page.matches[0].appointments.len(),
        2,
        "both appointments are kept"
    );
}

#[tokio::test]
async fn another_clinics_patients_are_never_found() {
    let store = MemoryStore::default();
    let (mine, theirs) = (clinic("c1"), clinic("c2"));
    let ava = patient("p-ava", "Ava", "Smith", Some("9698658215"), "+16045550123");
    book(&store, &theirs, &ava, "a1", now() + days(1)).await;
    for q in ["9698658215", "604 555 0123", "p-ava@example.com", "smith"] {
        assert!(search(&store, &mine, q).await.matches.is_empty(), "{q}");
    }
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    for n in 0..7 {
        let p = patient(
            &format!("p-{n}"),
            "Sam",
            &format!("Lee{n}"),
            None,
            &format!("+1604555020{n}"),
        );
        book(&store, &clinic, &p, &format!("a-{n}"), now() + days(1)).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let request =
            SearchRequest::parse(Some("sam"), None, Some("3"), cursor.as_deref()).unwrap();
        let page = find_patients(
            &store,
            &test_clinic_key(&clinic.id),
            &clinic,
            &request,
            now(),
        )
        .await
        .unwrap();
        assert!(page.matches.len() <= 3);
        seen.extend(page.matches.iter().map(|m| m.patient.id.to_string()));
        pages += 1;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen, (0..7).map(|n| format!("p-{n}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn exact_searches_read_at_most_one_item_more_than_they_return() {
    let store = MemoryStore::default();
    let clinic = clinic("c1");
    let ava = patient("p-ava", "Ava", "Smith", Some("9698658215"), "+16045550123");
    book(&store, &clinic, &ava, "a1", now() + days(1)).await;
    for q in ["9698658215", "604 555 0123", "p-ava@example.com"] {
        let page = search(&store, &clinic, q).await;
        assert!(page.items_read <= page.matches.len() + 1, "{q}");
    }
}

#[tokio::test]
async fn limits_and_cursors_are_validated() {
    for limit in ["0", "101", "ten", "-1"] {
        let error = SearchRequest::parse(Some("smith"), None, Some(limit), None).unwrap_err();
        assert!(
            matches!(
                error,
                DomainError::InvalidParameter {
                    parameter: "limit",
                    ..
                }
            ),
            "{limit}"
        );
    }
    assert_eq!(
        SearchRequest::parse(Some("smith"), None, None, None)
            .unwrap()
            .limit,
        DEFAULT_LIMIT
    );
    let request = SearchRequest::parse(Some("smith"), None, None, Some("garbage")).unwrap();
    let clinic = clinic("c1");
    let error = find_patients(
        &MemoryStore::default(),
        &test_clinic_key(&clinic.id),
        &clinic,
        &request,
        now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        error,
        DomainError::InvalidParameter {
            parameter: "cursor",
            ..
        }
    ));
}
