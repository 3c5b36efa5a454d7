//! The architecture's import rules, read from the source: in the domain crate, imports run
//! one way (values ← model ← ports ← use cases); in the AWS crate, adapters import no use
//! case (only `wiring` builds use cases). A module names another through a `crate::` or
//! `domain::` path or `use` tree; the check reads the first segment of each.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

/// Every top-level module and its layer (0 = values, 1 = model, 2 = ports, 3 = use cases, 4 = test support).
const LAYERS: [(&str, u8); 48] = [
    ("appointment_status", 0),
    ("attachments", 0),
    ("caller", 0),
    ("clinic_key", 0),
    ("delivery_receipt", 0),
    ("clinic_profile", 0),
    ("email", 0),
    ("envelope", 0),
    ("error", 0),
    ("idempotency", 0),
    ("ids", 0),
    ("inbound_sms", 0),
    ("language", 0),
    ("link_token", 0),
    ("message_kind", 0),
    ("name_text", 0),
    ("phn", 0),
    ("phone", 0),
    ("problem", 0),
    ("random", 0),
    ("search_window", 0),
    ("sms_encoding", 0),
    ("sms_text", 0),
    ("template_text", 0),
    ("unlock_attempts", 0),
    ("update_order", 0),
    ("fhir", 1),
    ("model", 1),
    ("patient_keys", 1),
    ("ports", 2),
    ("admin", 3),
    ("appointment_details", 3),
    ("audit_trail", 3),
    ("clinic_cache", 3),
    ("clinic_keyring", 3),
    ("delivery_status", 3),
    ("emr_sync", 3),
    ("message_actions", 3),
    ("opt_outs", 3),
    ("outbox", 3),
    ("replies", 3),
    ("search", 3),
    ("secure_content", 3),
    ("send", 3),
    ("unlock", 3),
    ("worklist", 3),
    ("fakes", 4),
    ("properties", 4),
];

/// The domain's use-case modules: the layer-3 entries of `LAYERS`.
fn use_cases() -> Vec<&'static str> {
    LAYERS
        .iter()
        .filter(|(_, layer)| *layer == 3)
        .map(|(name, _)| *name)
        .collect()
}

/// The top-level modules `source` names through `prefix` (`crate::` or `domain::`), in
/// `use` trees and paths; code after the first `#[cfg(test)]` (test modules) is not read.
fn named_modules(source: &str, prefix: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        let Some(tree) = rest.strip_prefix('{') else {
            names.push(first_segment(rest));
            continue;
        };
        // `prefix{a::X, b::{Y, Z}, c}`: the names at the tree's first level.
        let (mut depth, mut item) = (0, String::new());
        for c in tree.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => names.push(first_segment(&std::mem::take(&mut item))),
                _ if depth == 0 => item.push(c),
                _ => {}
            }
        }
        names.push(first_segment(&item));
    }
    names.retain(|name| !name.is_empty());
    names
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The Rust files under `dir` with their paths relative to it.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).expect("a readable source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
                found.push((relative, fs::read_to_string(&path).expect("readable")));
            }
        }
    }
    found
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(name)
        .join("src")
}

#[test]
fn domain_imports_run_one_way_from_values_to_use_cases() {
    let layers: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let mut upward = Vec::new();
    for (relative, source) in sources(&crate_src("domain")) {
        let module = relative
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || relative.ends_with("tests.rs") {
            continue;
        }
        let Some(&layer) = layers.get(module.as_str()) else {
            panic!("{module} is not placed in a layer: add it to LAYERS");
        };
        for named in named_modules(&source, "crate::") {
            if named == "DomainError" {
                continue; // re-exported from `error`
            }
            let Some(&named_layer) = layers.get(named.as_str()) else {
                panic!(
                    "{} names crate::{named}, which is not in LAYERS",
                    relative.display()
                );
            };
            if named_layer > layer {
                upward.push(format!("{} imports {named}", relative.display()));
            }
        }
    }
    assert!(upward.is_empty(), "imports that run upward: {upward:#?}");
}

#[test]
fn aws_adapters_import_no_use_case() {
    let use_cases = use_cases();
    let mut offending = Vec::new();
    for (relative, source) in sources(&crate_src("aws")) {
        if relative == Path::new("wiring.rs") {
            continue;
        }
        for named in named_modules(&source, "domain::") {
            if use_cases.contains(&named.as_str()) {
                offending.push(format!("{} uses domain::{named}", relative.display()));
            }
        }
    }
    assert!(offending.is_empty(), "{offending:#?}");
}

#[test]
fn the_check_sees_use_trees_and_paths_and_skips_test_modules() {
    let source =
        "use crate::{a::X, b::{Y, Z}, c};\nfn f() { crate::d::g(); }\n#[cfg(test)]\nuse crate::e;";
    assert_eq!(named_modules(source, "crate::"), ["a", "b", "c", "d"]);
    let adapter = "use domain::{\n    ids::ClinicId,\n    unlock::Attempts,\n};";
    assert_eq!(named_modules(adapter, "domain::"), ["ids", "unlock"]);
    assert!(use_cases().contains(&"unlock") && !use_cases().contains(&"unlock_attempts"));
}
