//! Phone parsing: an accepted number's E.164 re-parses to the same number.
#![no_main]

use domain::properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| properties::phone(input));
