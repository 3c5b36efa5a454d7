//! Search-query classification: the first byte picks `by`, the rest is the query.
#![no_main]

use domain::properties::{self, SEARCH_BY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&by, query)) = data.split_first() else {
        return;
    };
    if let Ok(query) = std::str::from_utf8(query) {
        properties::search_query(query, SEARCH_BY[usize::from(by) % SEARCH_BY.len()]);
    }
});
