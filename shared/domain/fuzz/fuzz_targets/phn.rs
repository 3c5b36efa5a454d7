//! PHN parsing: `Phn::parse` agrees with a model of the rule (mod-11 for BC) and re-parses.
#![no_main]

use domain::properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| properties::phn(input));
