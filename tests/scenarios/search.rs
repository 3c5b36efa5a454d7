//! Search through the `search` handler against the emulator: every query kind, the window,
//! isolation, pagination and bad input.

use domain::{
    appointment_status::AppointmentStatus,
    email::Email,
    ids::{AppointmentId, PatientId},
    model::{Appointment, Clinic, Patient},
    phone::PhoneNumber,
    ports::AppointmentStore,
};
use integration_tests::{
    HttpCall, TestStack, body_json,
    fixtures::demo::demo_clinic,
    http_call,
    sentinels::{self, EMAIL, FIRST_NAME, LAST_NAME, MISTYPED_PHN},
    staff_call, staff_claims, with_query,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const DAY: SignedDuration = SignedDuration::from_hours(24);

struct Seeded {
    test: TestStack,
    clinic: Clinic,
}

async fn seeded() -> Seeded {
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    Seeded { test, clinic }
}

impl Seeded {
    async fn search_as(&self, clinic: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
        let call = with_query(staff_call(clinic, "GET /patients", &[]), pairs);
        let response = self
            .test
            .call_showing_phi("search", &call, "results show the clinic its own patients")
            .await;
        (response.status().as_u16(), body_json(&response))
    }

    async fn search(&self, q: &str) -> Vec<String> {
        let (status, body) = self.search_as(self.clinic.id.as_str(), &[("q", q)]).await;
        assert_eq!(status, 200, "{q}: {body}");
        ids(&body)
    }

    /// `GET /appointments/{appointment}` as the clinic's staff.
    fn details_call(&self, appointment: &str) -> HttpCall {
        staff_call(
            self.clinic.id.as_str(),
            "GET /appointments/{appointmentId}",
            &[("appointmentId", appointment)],
        )
    }

    async fn book(&self, patient: &Patient, appointment: &str, starts_at: Timestamp) {
        let appointment = Appointment {
            id: AppointmentId::parse(appointment).unwrap(),
            patient_id: patient.id.clone(),
            starts_at,
            provider_name: "Dr. Test".into(),
            status: AppointmentStatus::Booked,
        };
        self.test
            .store
            .upsert_appointment_with_patient(
                &self.test.clinic_key(&self.clinic.id).await,
                patient,
                &appointment,
            )
            .await
            .unwrap();
    }
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["patient"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A patient of this test; names start with the sentinels' family word.
fn patient(id: &str, first: &str, last: &str, phone_slot: u16) -> Patient {
    assert!(first.starts_with(sentinels::FAMILY) && last.starts_with(sentinels::FAMILY));
    Patient {
        id: PatientId::parse(id).unwrap(),
        phn: None,
        first_name: first.into(),
        last_name: last.into(),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&sentinels::phone(phone_slot)).unwrap()),
        email: Some(Email::parse(&format!("sentinel.{id}@example.org")).unwrap()),
    }
}

#[tokio::test]
async fn each_kind_of_query_finds_the_demo_patient() {
    let s = seeded().await;
    for q in [
        "9698658215",
        "9698-658-215",
        "604 555 0123",
        "+1 (604) 555-0123",
        "Ava.Smith@EXAMPLE.com",
        "smi",
        "SMÏ",
        "ava",
        "Smith, Ava",
    ] {
        assert!(s.search(q).await.contains(&"p-ava-smith".to_owned()), "{q}");
    }
    assert_eq!(
        s.search("garc").await,
        ["p-maria-garcia"],
        "accents are folded"
    );
    assert_eq!(
        s.search("zoe").await,
        ["p-zoe-tremblay"],
        "patients without a PHN are found by name"
    );
}

#[tokio::test]
async fn same_name_patients_are_both_found_with_what_tells_them_apart() {
    let s = seeded().await;
    let (_, body) = s.search_as(s.clinic.id.as_str(), &[("q", "jo sm")]).await;
    assert_eq!(ids(&body), ["p-john-smith-1", "p-john-smith-2"]);
    let items = body["items"].as_array().unwrap();
    for field in ["phn", "date_of_birth", "phone"] {
        assert_ne!(
            items[0]["patient"][field], items[1]["patient"][field],
            "{field}"
        );
        assert!(!items[0]["patient"][field].is_null());
    }
}

#[tokio::test]
async fn results_list_appointments_upcoming_first_in_the_clinic_time_zone() {
    let s = seeded().await;
    let (_, body) = s
        .search_as(s.clinic.id.as_str(), &[("q", "9698658215")])
        .await;
    let appointments = body["items"][0]["appointments"].as_array().unwrap();
    let order: Vec<_> = appointments
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["a-ava-upcoming", "a-ava-past"]);
    let local = appointments[0]["starts_at_local"].as_str().unwrap();
    assert!(
        local.contains("T09:30:00-0"),
        "{local} is 09:30 in Vancouver"
    );
}

#[tokio::test]
async fn the_window_runs_from_activation_to_ten_years_ahead() {
    let s = seeded().await;
    assert!(
        s.search("lee").await.is_empty(),
        "an appointment before activation only"
    );
    let window = s.clinic.search_window(Timestamp::now());
    let cases = [
        (
            "p-w-before",
            window.start() - SignedDuration::from_secs(1),
            false,
        ),
        ("p-w-start", window.start(), true),
        ("p-w-end", window.end(), true),
        ("p-w-after", window.end() + DAY, false),
    ];
    for (n, (id, at, _)) in cases.iter().enumerate() {
        s.book(
            &patient(
                id,
                "Sentinelwendy",
                &format!("Sentinelwindow{n}"),
                300 + n as u16,
            ),
            &format!("a-{id}"),
            *at,
        )
        .await;
    }
    let mut found = s.search("sentinelwindow").await;
    found.sort();
    let mut expected: Vec<_> = cases
        .iter()
        .filter(|c| c.2)
        .map(|c| c.0.to_owned())
        .collect();
    expected.sort();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn an_old_phone_number_finds_nothing() {
    let s = seeded().await;
    let before = patient("p-mover", "Sentinelmorgan", "Sentinelmover", 310);
    s.book(&before, "a-mover-1", Timestamp::now() + DAY).await;
    assert_eq!(s.search("250-555-0310").await, ["p-mover"]);
    let after = patient("p-mover", "Sentinelmorgan", "Sentinelmover", 311);
    s.book(&after, "a-mover-1", Timestamp::now() + DAY).await;
    assert!(s.search("250-555-0310").await.is_empty());
    assert_eq!(s.search("250-555-0311").await, ["p-mover"]);
}

#[tokio::test]
async fn pages_cover_every_match_once() {
    let s = seeded().await;
    for n in 0..7 {
        let p = patient(
            &format!("p-page-{n}"),
            "Sentinelpaige",
            &format!("Sentinelpager{n}"),
            400 + n,
        );
        s.book(&p, &format!("a-page-{n}"), Timestamp::now() + DAY)
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut pairs = vec![("q", "sentinelpager"), ("limit", "3")];
        if !cursor.is_empty() {
            pairs.push(("cursor", cursor.as_str()));
        }
        let (status, body) = s.search_as(s.clinic.id.as_str(), &pairs).await;
        assert_eq!(status, 200);
        seen.extend(ids(&body));
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(
        seen,
        (0..7).map(|n| format!("p-page-{n}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn another_clinic_finds_none_of_these_patients_and_sees_none_of_their_appointments() {
    let s = seeded().await;
    for q in [
        "9698658215",
        "604 555 0123",
        "ava.smith@example.com",
        "smith",
    ] {
        let (status, body) = s.search_as("other-clinic", &[("q", q)]).await;
        // The other clinic has no profile here: it is refused before any lookup.
        assert!(status == 404 || ids(&body).is_empty(), "{q}");
    }
    let mut other = s.clinic.clone();
    other.id = "other-clinic".parse().unwrap();
    s.test.add_clinic(&other).await;
    for q in [
        "9698658215",
        "604 555 0123",
        "ava.smith@example.com",
        "smith",
    ] {
        let (status, body) = s.search_as("other-clinic", &[("q", q)]).await;
        assert_eq!(status, 200);
        assert!(ids(&body).is_empty(), "{q}");
    }
    let details = http_call(
        "GET /appointments/{appointmentId}",
        &[("appointmentId", "a-ava-upcoming")],
        Some(staff_claims("other-clinic", "staff-9")),
    );
    let theirs = s.test.call("search", &details).await;
    let missing = s.details_call("a-does-not-exist");
    let missing = s.test.call("search", &missing).await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(
        body_json(&theirs),
        body_json(&missing),
        "another clinic's appointment looks missing"
    );
}

#[tokio::test]
async fn appointment_details_show_patient_status_and_messages() {
    let s = seeded().await;
    let call = s.details_call("a-zoe-upcoming");
    let response = s
        .test
        .call_showing_phi("search", &call, "the clinic sees its patient's appointment")
        .await;
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["patient"]["id"], "p-zoe-tremblay");
    assert!(body["patient"]["phn"].is_null());
    assert_eq!(body["appointment"]["status"], "Booked");
    assert_eq!(body["appointment"]["provider_name"], "Dr. Okafor");
    assert_eq!(body["messages"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_input_gets_a_400_problem_that_says_what_to_change() {
    let s = seeded().await;
    let long = "a".repeat(500);
    // Patient data in what is refused: the guard checks that no answer or log repeats it.
    let long_name = format!("{FIRST_NAME} {LAST_NAME} ").repeat(4);
    let five_words = format!("{FIRST_NAME} {LAST_NAME} Sentinelthree");
    let two_ats = EMAIL.replace('@', "@@");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 13] = [
        (&[], "q", "enter a PHN"),
        (&[("q", "   ")], "q", "enter a PHN"),
        (&[("q", "s")], "q", "at least 2 letters"),
        (&[("q", &long)], "q", "at most 100"),
        (
            &[("q", "smith"), ("cursor", "not-a-cursor")],
            "cursor",
            "not a cursor",
        ),
        (
            &[("q", "smith"), ("limit", "1000")],
            "limit",
            "from 1 to 100",
        ),
        (
            &[("q", "smith"), ("by", "zip")],
            "by",
            "phn, phone, email or name",
        ),
        (&[("q", MISTYPED_PHN), ("by", "phn")], "q", "check digit"),
        (&[("q", &long_name)], "q", "at most 100"),
        (&[("q", &five_words)], "q", "at most 4 words"),
        (
            &[("q", FIRST_NAME), ("by", "phone")],
            "q",
            "doesn't look like a phone number",
        ),
        (&[("q", &two_ats)], "q", "exactly one '@'"),
        (
            &[("q", &MISTYPED_PHN[..8])],
            "q",
            "neither a phone number nor a valid PHN",
        ),
    ];
    for (pairs, parameter, expected) in cases {
        let (status, body) = s.search_as(s.clinic.id.as_str(), pairs).await;
        assert_eq!(status, 400, "{pairs:?}");
        assert_eq!(
            body["type"],
            "urn:direct-messages:problem:invalid-parameter"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(parameter) && detail.contains(expected),
            "{detail}"
        );
    }
    let malformed = s.details_call("bad id!");
    let response = s.test.call("search", &malformed).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        body_json(&response)["type"],
        "urn:direct-messages:problem:invalid-id"
    );
    assert!(
        body_json(&response)["detail"]
            .as_str()
            .unwrap()
            .contains("appointment id")
    );
}

#[tokio::test]
async fn a_cursor_from_another_search_is_refused() {
    let s = seeded().await;
    let (_, body) = s
        .search_as(s.clinic.id.as_str(), &[("q", "smith"), ("limit", "1")])
        .await;
    let cursor = body["next_cursor"]
        .as_str()
        .expect("more than one Smith")
        .to_owned();
    let (status, body) = s
        .search_as(
            s.clinic.id.as_str(),
            &[("q", "garcia"), ("cursor", &cursor)],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("another search"));
}

#[tokio::test]
async fn exact_searches_are_one_query_reading_at_most_one_item_more_than_they_find() {
    let s = seeded().await;
    let key = s.test.clinic_key(&s.clinic.id).await;
    for q in ["9698658215", "604 555 0123", "ava.smith@example.com"] {
        let request = domain::search::SearchRequest::parse(Some(q), None, None, None).unwrap();
        let page = domain::search::find_patients(
            &s.test.store,
            &key,
            &s.clinic,
            &request,
            Timestamp::now(),
        )
        .await
        .unwrap();
        assert_eq!(page.matches.len(), 1, "{q}");
        assert!(
            page.items_read <= page.matches.len() + 1,
            "{q}: read {}",
            page.items_read
        );
    }
}
