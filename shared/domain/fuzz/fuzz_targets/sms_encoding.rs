//! SMS encoding and segment count: GSM-7 160/153 septets, UCS-2 70/67 code units.
#![no_main]

use domain::properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| properties::sms_measure(text));
