//! Template rendering: the input as a template, and as pieces of a template built to render
//! to known text or to name an unknown placeholder.
#![no_main]

use domain::properties;
use libfuzzer_sys::{arbitrary::Unstructured, fuzz_target};

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok((template, values)) = input.arbitrary::<(&str, [&str; 6])>() else {
        return;
    };
    let values = properties::template_values(values);
    properties::template(template, &values);
    if let Ok(pieces) = input.arbitrary::<Vec<(&str, u8)>>() {
        let pieces: Vec<(&str, usize)> = pieces.into_iter().map(|(t, s)| (t, s.into())).collect();
        properties::template_pieces(&pieces, &values);
    }
    if let Ok((before, name, after)) = input.arbitrary::<(&str, &str, &str)>() {
        properties::template_unknown_placeholder(before, name, after);
    }
});
