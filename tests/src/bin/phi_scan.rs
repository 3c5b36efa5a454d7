//! `tests/run`'s last word on PHI: scans what the test processes captured into
//! `PHI_GUARD_DIR` (log lines, response bodies, panic messages) for every sentinel they knew,
//! and fails if one appears or if nothing was captured at all.

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: phi-scan <PHI_GUARD_DIR>");
        return ExitCode::FAILURE;
    };
    let scan = match integration_tests::phi_guard::scan(&dir) {
        Ok(scan) => scan,
        Err(error) => {
            eprintln!("phi-scan: cannot read {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    if scan.files == 0 || scan.captured == 0 || scan.sentinels == 0 {
        eprintln!(
            "phi-scan: nothing to scan in {} ({} capture files, {} lines, {} sentinels): \
             the PHI guard did not run",
            dir.display(),
            scan.files,
            scan.captured,
            scan.sentinels
        );
        return ExitCode::FAILURE;
    }
    for (source, label) in &scan.hits {
        eprintln!("phi-scan: {label} appeared in {source}");
    }
    println!(
        "phi-scan: {} captured lines checked against {} sentinels, {} hits",
        scan.captured,
        scan.sentinels,
        scan.hits.len()
    );
    if scan.hits.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
