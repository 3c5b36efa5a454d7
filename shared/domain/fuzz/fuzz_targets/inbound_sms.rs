//! The inbound SMS payload (`Sns.Message`): the input as the message's text, and as the
//! payload's fields written into a JSON object.
#![no_main]

use domain::properties;
use libfuzzer_sys::{arbitrary::Unstructured, fuzz_target};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = std::str::from_utf8(data) {
        properties::inbound_sms_message(message);
    }
    if let Ok(fields) = Unstructured::new(data).arbitrary::<[Option<&str>; 6]>() {
        properties::inbound_sms_fields(fields);
    }
});
