//! No patient data in any table's keys (issue: PHI out of DynamoDB keys): PHNs, numbers,
//! emails and names stand in keys as tags under the clinic's key.

use integration_tests::{
    fixtures::{
        emr::found_by_each_key,
        raw_keys::{assert_no_patient_data_in_keys, assert_no_patient_data_in_table},
        scene::scene,
    },
    phn_submission,
    sentinels::{OTHER_PHN, PHN, REPLY_TEXT},
};

/// Everything a day of the clinic writes about the scene's patient (searched by every key,
/// sent a basic and a secure message, which is opened after a wrong PHN, replied to and
/// opted out), and the demo clinic's seeded patients: no key of any table holds any of it.
#[tokio::test]
async fn no_table_keeps_a_phn_number_email_or_name_in_a_key() {
    let s = scene(812, Some(PHN)).await;
    found_by_each_key(&s.test, "p-mine", 812).await;
    let (status, body) = s
        .send("keys-basic", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, token, _) = s
        .send_secure_with_pdf("keys-secure", b"%PDF-1.7 sentinel")
        .await;
    let wrong = s
        .test
        .call("secure-unlock", &phn_submission(&token, OTHER_PHN))
        .await;
    assert_eq!(
        wrong.status(),
        200,
        "the form again, with how many tries are left"
    );
    let right = s
        .test
        .call_showing_phi(
            "secure-unlock",
            &phn_submission(&token, PHN),
            "the patient sees their message",
        )
        .await;
    assert_eq!(right.status(), 200);
    s.test
        .functions
        .call_sns(s.reply_event("keys-in-1", REPLY_TEXT))
        .await;
    s.test
        .functions
        .call_sns(s.reply_event("keys-in-2", "STOP"))
        .await;

    assert_no_patient_data_in_keys(&s.test).await;
    assert_no_patient_data_in_table(&s.test, &s.test.stack.config.tables.patient_lookup).await;
}
