//! The README's table of bad inputs: each row is backed by tests that exist.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The names between backticks in `text`.
fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_row_of_the_bad_input_table_names_tests_that_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Security\n")
        .nth(1)
        .expect("a Security section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut sources = Vec::new();
    for dir in ["shared", "functions", "tests/src"] {
        rust_files(&root().join(dir), &mut sources);
    }
    let rows: Vec<&str> = section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| input |"))
        .filter(|line| !line.starts_with("| ---"))
        .collect();
    assert!(rows.len() >= 30, "the table is there");
    for row in rows {
        let tests = row.trim_end_matches('|').rsplit('|').next().unwrap();
        let mut named = 0;
        for group in tests.split(';') {
            let names = quoted(group);
            let (files, names): (Vec<PathBuf>, &[&str]) = match names.first() {
                Some(file) if file.ends_with(".rs") => {
                    let found: Vec<_> = sources
                        .iter()
                        .filter(|path| path.ends_with(file))
                        .cloned()
                        .collect();
                    assert_eq!(found.len(), 1, "{file} names one source file");
                    (found, &names[1..])
                }
                _ => (Vec::new(), &names[..]),
            };
            for name in names {
                let (file, function) = match name.split_once("::") {
                    Some((module, function)) => (
                        root().join(format!("tests/scenarios/{module}.rs")),
                        function,
                    ),
                    None => (files[0].clone(), *name),
                };
                let source = std::fs::read_to_string(&file)
                    .unwrap_or_else(|_| panic!("{} for {name}", file.display()));
                assert!(
                    source.contains(&format!("fn {function}(")),
                    "{name} is not a test in {}",
                    file.display()
                );
                named += 1;
            }
        }
        assert!(named > 0, "a row without a test: {row}");
    }
}
