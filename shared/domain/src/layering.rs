//! Imports run one way: values ← model ← ports ← use cases. A module may name modules of
//! its own layer or a lower one, never a higher one.

use std::{collections::BTreeMap, fs, path::Path};

/// Every top-level module and its layer (0 = values … 3 = use cases, 4 = test support).
const LAYERS: [(&str, u8); 33] = [
    ("appointment_status", 0),
    ("attachments", 0),
    ("caller", 0),
    ("email", 0),
    ("envelope", 0),
    ("error", 0),
    ("idempotency", 0),
    ("ids", 0),
    ("inbound_sms", 0),
    ("link_token", 0),
    ("message_kind", 0),
    ("phn", 0),
    ("phone", 0),
    ("problem", 0),
    ("random", 0),
    ("search_window", 0),
    ("sms_encoding", 0),
    ("template_text", 0),
    ("unlock_attempts", 0),
    ("model", 1),
    ("patient_keys", 1),
    ("ports", 2),
    ("appointment_details", 3),
    ("clinic_cache", 3),
    ("opt_outs", 3),
    ("replies", 3),
    ("search", 3),
    ("secure_content", 3),
    ("send", 3),
    ("unlock", 3),
    ("fakes", 4),
    ("properties", 4),
    ("layering", 4),
];

/// The top-level modules a source file names through `crate::`, in `use` trees and paths.
fn named_modules(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    // Test modules may use fakes and anything else; only the code above them counts.
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(tree) = rest.strip_prefix('{') {
            // `crate::{a::X, b::{Y, Z}, c}`: the names at the tree's first level.
            let mut depth = 0;
            let mut item = String::new();
            for c in tree.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            names.push(first_segment(&item));
        } else {
            names.push(first_segment(rest));
        }
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

fn module_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a path");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_run_one_way_from_values_to_use_cases() {
    let layers: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = module_of(relative);
        if module == "lib" || relative.ends_with("tests.rs") {
            continue;
        }
        let Some(&layer) = layers.get(module.as_str()) else {
            panic!("{module} is not placed in a layer: add it to LAYERS");
        };
        let source = fs::read_to_string(&file).expect("readable");
        for named in named_modules(&source) {
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
fn the_check_sees_use_trees_and_paths() {
    let source =
        "use crate::{a::X, b::{Y, Z}, c};\nfn f() { crate::d::g(); }\n#[cfg(test)]\nuse crate::e;";
    assert_eq!(named_modules(source), ["a", "b", "c", "d"]);
}
