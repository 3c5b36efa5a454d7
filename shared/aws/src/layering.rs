//! Adapters import no use case: only `wiring` builds use cases, so an adapter cannot grow a
//! rule of its own by calling one.

use std::{fs, path::Path};

/// The domain's use-case modules.
const USE_CASES: [&str; 8] = [
    "appointment_details",
    "clinic_cache",
    "opt_outs",
    "replies",
    "search",
    "secure_content",
    "send",
    "unlock",
];

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

/// The domain modules `source` names through `domain::`, in `use` trees and paths.
fn named_modules(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut names = Vec::new();
    for (at, _) in code.match_indices("domain::") {
        let rest = &code[at + "domain::".len()..];
        let Some(tree) = rest.strip_prefix('{') else {
            names.push(first_segment(rest));
            continue;
        };
        // `domain::{a::X, b::{Y, Z}, c}`: the names at the tree's first level.
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
    names
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn names_a_use_case(source: &str) -> Option<&'static str> {
    let named = named_modules(source);
    USE_CASES
        .into_iter()
        .find(|module| named.iter().any(|name| name == module))
}

#[test]
fn adapters_import_no_use_case() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut offending = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        if relative == Path::new("wiring.rs") || relative == Path::new("layering.rs") {
            continue;
        }
        let source = fs::read_to_string(&file).expect("readable");
        if let Some(module) = names_a_use_case(&source) {
            offending.push(format!("{} uses domain::{module}", relative.display()));
        }
    }
    assert!(offending.is_empty(), "{offending:#?}");
}

#[test]
fn the_check_sees_paths_and_use_trees() {
    assert_eq!(
        names_a_use_case("use domain::send::MessageSender;"),
        Some("send")
    );
    assert_eq!(
        names_a_use_case("use domain::{\n    ids::ClinicId,\n    unlock::Attempts,\n};"),
        Some("unlock")
    );
    assert_eq!(
        names_a_use_case("use domain::{unlock_attempts::Attempts, ids::ClinicId};"),
        None
    );
}
