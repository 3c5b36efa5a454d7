//! Captures every log line the handlers emit during the tests, so that tests can prove no
//! PHI or token reaches the logs.

use std::{
    io::Write,
    sync::{Mutex, Once},
};

use tracing_subscriber::fmt::MakeWriter;

static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LINES.lock().expect("log lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        Capture
    }
}

/// Installs the same JSON format the functions use, writing into memory. Idempotent.
pub fn capture() {
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(Capture)
            .init();
    });
}

/// Everything logged so far, by every test in this process.
pub fn captured() -> String {
    String::from_utf8_lossy(&LINES.lock().expect("log lock")).into_owned()
}

/// Fails the test if any of `secrets` appears in the captured logs.
pub fn assert_absent(secrets: &[&str]) {
    let logs = captured();
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "a secret value appeared in the logs"
        );
    }
}
