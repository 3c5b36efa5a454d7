//! The PHI guard itself: a sentinel planted in a log line (an event's or a span's fields), in
//! an error body or in a panic message fails the test that made it.

use integration_tests::{
    TestStack, phi_guard,
    sentinels::{self, EMAIL, LAST_NAME, MESSAGE_TEXT, PHN},
};

/// The failure `assert_clean` reports for what was planted, if any.
fn failure() -> Option<String> {
    let failure = std::panic::catch_unwind(phi_guard::assert_clean).err()?;
    failure.downcast_ref::<String>().cloned()
}

#[tokio::test]
async fn a_sentinel_in_a_log_line_an_error_body_or_a_panic_message_fails_the_test() {
    let _test = TestStack::new().await;
    assert_eq!(failure(), None, "nothing leaked before planting");

    phi_guard::planting(|| tracing::info!(target: "domain", phn = PHN, "planted"));
    let caught = failure().expect("a PHN in a log line");
    assert!(caught.contains("the scene patient's PHN appeared in a log line"));

    phi_guard::planting(|| {
        let span = tracing::trace_span!(target: "send", "planted", email = EMAIL);
        span.in_scope(|| tracing::debug!(target: "send", "inside"));
    });
    let caught = failure().expect("an email in a span's fields, at trace level");
    assert!(caught.contains("the scene patient's email appeared in a log line"));

    let body = format!(
        r#"{{"type":"urn:direct-messages:problem:invalid-body","status":400,"detail":"{} is not valid"}}"#,
        LAST_NAME.to_uppercase()
    );
    phi_guard::planting(|| phi_guard::check_body("POST /attachments", &body));
    let caught = failure().expect("a name in an error body, whatever its case");
    assert!(caught.contains(
        "the scene patient's last name appeared in the response body of POST /attachments"
    ));

    let panicked = phi_guard::planting(|| {
        std::panic::catch_unwind(|| panic!("could not send {MESSAGE_TEXT}"))
    });
    assert!(panicked.is_err());
    let caught = failure().expect("message text in a panic message");
    assert!(caught.contains("a secure message's text appeared in a panic message"));

    let token = "q3Zx7Kp0Wm2Lr9Tn5Vb8Yc4Hd6Jf1Gs0Ae3Ui7Oo2Py";
    sentinels::link_tokens_in(&format!("Open https://unlock.test/m/{token} to read it"));
    phi_guard::planting(
        || tracing::warn!(target: "secure_unlock", path = %format!("/m/{token}"), "planted"),
    );
    let caught = failure().expect("a link token read from an SMS, in a log line");
    assert!(caught.contains("a link token appeared in a log line"));

    assert!(
        !caught.contains(token) && !caught.contains(PHN),
        "the failure names the sentinel without showing it"
    );
    assert_eq!(failure(), None, "each hit is reported once");
}
