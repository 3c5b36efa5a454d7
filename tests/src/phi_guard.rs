//! The PHI guard of the test process: every log line (all of the project's levels, spans'
//! fields included), every response body a test receives and every panic message is checked
//! against every sentinel value (`sentinels`, the demo clinic's patients, the link tokens
//! seen so far).
//!
//! A hit is recorded with the thread it happened on; the harness fails the test that made it
//! (after each call, and when its `TestStack` is dropped). When `PHI_GUARD_DIR` is set
//! (`tests/run` sets it), everything checked and every sentinel is also written there, and
//! `tests/run` scans it after the tests (`phi-scan`), so a hit that no test was left to
//! report still fails the run. Response bodies that must show PHI are exempted per call
//! (`TestStack::call_showing_phi`), never globally.

use std::{
    cell::Cell,
    collections::HashSet,
    fmt,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::Path,
    sync::{LazyLock, Mutex, MutexGuard, Once, OnceLock, PoisonError},
    thread::ThreadId,
};

use serde::{Deserialize, Serialize};
use tracing_subscriber::fmt::{MakeWriter, format::FmtSpan};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::sentinels;

/// What kind of value a sentinel is, which decides the forms it is looked for in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Digits, also grouped `9567 812 347` / `9567-812-347`.
    Phn,
    /// E.164, also the national number in the usual formats.
    Phone,
    /// Ignoring case and accents, also with punctuation as spaces (how names are indexed).
    Name,
    /// Ignoring case, also with `@` percent-encoded.
    Email,
    /// Ignoring case and accents.
    Text,
    /// Exactly, anywhere.
    Token,
    /// Any word starting with it, ignoring case and accents.
    Family,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sentinel {
    /// Says which value it is without showing it (it goes into failure messages).
    pub label: String,
    pub kind: Kind,
    pub value: String,
}

struct Needle {
    text: String,
    folded: bool,
    bounded_left: bool,
    bounded_right: bool,
}

impl Sentinel {
    fn needles(&self) -> Vec<Needle> {
        let exact = |text: String| Needle {
            text,
            folded: false,
            bounded_left: true,
            bounded_right: true,
        };
        let folded = |text: String| Needle {
            text: fold(&text),
            folded: true,
            bounded_left: true,
            bounded_right: true,
        };
        let v = self.value.as_str();
        match self.kind {
            Kind::Phn => {
                let mut needles = vec![exact(v.to_owned())];
                if v.len() == 10 && v.is_ascii() {
                    let (a, b, c) = (&v[..4], &v[4..7], &v[7..]);
                    needles.push(exact(format!("{a} {b} {c}")));
                    needles.push(exact(format!("{a}-{b}-{c}")));
                }
                needles
            }
            Kind::Phone => {
                let mut needles = vec![exact(v.to_owned())];
                if let Some(national) = v.strip_prefix("+1").filter(|n| n.len() == 10) {
                    let (a, b, c) = (&national[..3], &national[3..6], &national[6..]);
                    needles.extend(
                        [
                            national.to_owned(),
                            format!("{a}-{b}-{c}"),
                            format!("{a} {b} {c}"),
                            format!("{a}.{b}.{c}"),
                            format!("({a}) {b}-{c}"),
                        ]
                        .map(exact),
                    );
                }
                needles
            }
            Kind::Name => {
                let spaced = fold(v)
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                vec![folded(v.to_owned()), folded(spaced)]
            }
            Kind::Email => vec![folded(v.to_owned()), folded(v.replace('@', "%40"))],
            Kind::Text => vec![folded(v.to_owned())],
            Kind::Token => vec![Needle {
                text: v.to_owned(),
                folded: false,
                bounded_left: false,
                bounded_right: false,
            }],
            Kind::Family => vec![Needle {
                text: fold(v),
                folded: true,
                bounded_left: true,
                bounded_right: false,
            }],
        }
    }
}

/// Lower case without accents: "SMÏTH" and "Smith" fold alike.
fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Ids such as `p-ava-smith` hold demo names as parts of one word; a name is found only as
/// a word of its own.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn contains(haystack: &str, needle: &Needle) -> bool {
    haystack.match_indices(&needle.text).any(|(at, found)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + found.len()..].chars().next();
        let glued_left = needle.bounded_left && before.is_some_and(is_word);
        let glued_right = needle.bounded_right && after.is_some_and(is_word);
        !glued_left && !glued_right
    })
}

/// A set of sentinels, with the forms each is looked for in.
#[derive(Default)]
pub struct Sentinels {
    entries: Vec<(Sentinel, Vec<Needle>)>,
    seen: HashSet<(String, String)>,
}

impl Sentinels {
    /// Adds a sentinel; true if it is new.
    pub fn add(&mut self, sentinel: Sentinel) -> bool {
        if sentinel.value.trim().is_empty()
            || !self
                .seen
                .insert((format!("{:?}", sentinel.kind), sentinel.value.clone()))
        {
            return false;
        }
        let needles = sentinel.needles();
        self.entries.push((sentinel, needles));
        true
    }

    /// The labels of the sentinels in `text`: the text as it is, and every string in it if
    /// it is JSON (so that escapes such as `\u0001` hide nothing).
    pub fn found_in(&self, text: &str) -> Vec<String> {
        let mut haystacks = vec![text.to_owned()];
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            collect_strings(&json, &mut haystacks);
        }
        let folded: Vec<String> = haystacks.iter().map(|h| fold(h)).collect();
        let mut labels = Vec::new();
        for (sentinel, needles) in &self.entries {
            let hit = needles.iter().any(|needle| {
                let haystacks = if needle.folded { &folded } else { &haystacks };
                haystacks.iter().any(|h| contains(h, needle))
            });
            if hit && !labels.contains(&sentinel.label) {
                labels.push(sentinel.label.clone());
            }
        }
        labels
    }
}

fn collect_strings(json: &serde_json::Value, into: &mut Vec<String>) {
    match json {
        serde_json::Value::String(s) => into.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_strings(i, into)),
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                into.push(key.clone());
                collect_strings(value, into);
            }
        }
        _ => {}
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding a lock must not blind the guard for the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process's sentinels: the fixed ones, the demo clinic's patients, and those
/// registered at run time (test phones, link tokens).
static SENTINELS: LazyLock<Mutex<Sentinels>> = LazyLock::new(|| {
    let mut all = Sentinels::default();
    for (label, kind, value) in sentinels::FIXED {
        all.add(Sentinel {
            label: label.to_owned(),
            kind,
            value: value.to_owned(),
        });
    }
    let demos = local_stack::seed::DemoData::all().expect("the demo clinics load");
    let patients = demos.iter().flat_map(|demo| &demo.patients);
    for (n, patient) in patients.enumerate() {
        let label = |what: &str| format!("demo patient #{n}'s {what}");
        let mut add = |what: &str, kind, value: &str| {
            all.add(Sentinel {
                label: label(what),
                kind,
                value: value.to_owned(),
            });
        };
        add("first name", Kind::Name, &patient.first_name);
        add("last name", Kind::Name, &patient.last_name);
        if let Some(phn) = &patient.phn {
            add("PHN", Kind::Phn, phn.as_str());
        }
        if let Some(phone) = &patient.phone {
            add("phone", Kind::Phone, phone.as_e164());
        }
        if let Some(email) = &patient.email {
            add("email", Kind::Email, email.as_str());
        }
    }
    Mutex::new(all)
});

/// Adds a sentinel known only at run time.
pub fn register(label: &str, kind: Kind, value: &str) {
    let sentinel = Sentinel {
        label: label.to_owned(),
        kind,
        value: value.to_owned(),
    };
    if lock(&SENTINELS).add(sentinel.clone())
        && let Some(sink) = sink()
    {
        lock(sink).sentinel(&sentinel);
    }
}

/// One hit: which sentinel, where, on which thread.
#[derive(Clone, Debug)]
pub struct Violation {
    pub label: String,
    pub source: String,
    thread: ThreadId,
    thread_name: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} appeared in {} (thread {})",
            self.label, self.source, self.thread_name
        )
    }
}

static VIOLATIONS: Mutex<Vec<Violation>> = Mutex::new(Vec::new());
/// Threads that run a test; a hit on any other thread (a runtime worker, a pool) is
/// reported by whichever test checks next.
static TEST_THREADS: LazyLock<Mutex<HashSet<ThreadId>>> = LazyLock::new(Default::default);

thread_local! {
    /// While set, what this thread checks is planted (`planting`): recorded as usual, but
    /// not written for `tests/run`'s scan, which must find nothing.
    static PLANTING: Cell<bool> = const { Cell::new(false) };
}

fn is_planting() -> bool {
    PLANTING.try_with(Cell::get).unwrap_or(false)
}

/// Checks `text` from `source` (a log line, a response body, a panic message).
pub fn check(source: &str, text: &str) {
    let labels = lock(&SENTINELS).found_in(text);
    if !is_planting()
        && let Some(sink) = sink()
    {
        lock(sink).captured(source, text);
    }
    if labels.is_empty() {
        return;
    }
    let thread = std::thread::current();
    let violations = labels.into_iter().map(|label| Violation {
        label,
        source: source.to_owned(),
        thread: thread.id(),
        thread_name: thread.name().unwrap_or("unnamed").to_owned(),
    });
    lock(&VIOLATIONS).extend(violations);
}

/// The labels of the sentinels in `text`, recording nothing: for tests that read stored
/// data (keys) rather than what the system writes out.
pub fn sentinels_in(text: &str) -> Vec<String> {
    lock(&SENTINELS).found_in(text)
}

/// Checks a response body a test received from `route`.
pub fn check_body(route: &str, body: &str) {
    check(&format!("the response body of {route}"), body);
}

/// Runs `plant` with the guard watching as usual, except that what it checks is not
/// written for the scan: for the test that proves the guard catches what it should.
pub fn planting<R>(plant: impl FnOnce() -> R) -> R {
    PLANTING.with(|planting| planting.set(true));
    let result = plant();
    PLANTING.with(|planting| planting.set(false));
    result
}

/// Marks the current thread as a test's.
pub fn enter_test() {
    install();
    lock(&TEST_THREADS).insert(std::thread::current().id());
}

/// Fails the current test if it, or a thread no test owns, made a hit.
pub fn assert_clean() {
    let current = std::thread::current().id();
    let tests = lock(&TEST_THREADS).clone();
    let mine: Vec<Violation> = {
        let mut all = lock(&VIOLATIONS);
        let (mine, others): (Vec<_>, Vec<_>) = all
            .drain(..)
            .partition(|v| v.thread == current || !tests.contains(&v.thread));
        *all = others;
        mine
    };
    if !mine.is_empty() {
        let list: Vec<String> = mine.iter().map(ToString::to_string).collect();
        panic!(
            "PHI guard: patient data leaked:\n  {}\n(a response that must show it is exempted \
             with TestStack::call_showing_phi; logs, error bodies and panics never are)",
            list.join("\n  ")
        );
    }
}

static INSTALL: Once = Once::new();

/// Installs the capturing subscriber (the functions' JSON format) and the panic hook, once
/// per process. Fails, and keeps failing, if another subscriber is already installed.
pub fn install() {
    INSTALL.call_once(|| {
        // The project's crates at every level; dependencies at the level the template sets
        // for the functions (`RUST_LOG=info`): their debug and trace lines never leave a
        // deployed function, and the SDK's trace lines carry every request body on purpose.
        let filter: tracing_subscriber::filter::Targets =
            "info,domain=trace,search=trace,send=trace,secure_unlock=trace,\
             inbound_reply=trace,local_stack=trace,integration_tests=trace,lambda_http=trace,\
             lambda_runtime=trace"
                .parse()
                .expect("a valid filter");
        tracing_subscriber::fmt()
            .json()
            // `filter` decides; the builder's own level (INFO unless set) would drop the rest.
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_writer(Capture)
            .finish()
            .with(filter)
            .try_init()
            .expect("the PHI guard's subscriber is the process's only one");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or_default();
            check("a panic message", message);
            previous(info);
        }));
    });
}

#[derive(Clone, Copy)]
struct Capture;

/// Every log line so far, for tests that a line was written.
static LOG_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether a log line so far contains `needle`.
pub fn logged(needle: &str) -> bool {
    lock(&LOG_LINES).iter().any(|line| line.contains(needle))
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // The JSON formatter writes each line in one call.
        let line = String::from_utf8_lossy(bytes);
        check("a log line", &line);
        lock(&LOG_LINES).push(line.into_owned());
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

/// What `tests/run` scans: `captured-<pid>.jsonl` and `sentinels-<pid>.jsonl` in
/// `PHI_GUARD_DIR`.
struct Sink {
    captured: File,
    sentinels: File,
}

#[derive(Serialize, Deserialize)]
struct Captured {
    source: String,
    text: String,
}

impl Sink {
    fn open(dir: &Path) -> Sink {
        let open = |name: &str| {
            let path = dir.join(format!("{name}-{}.jsonl", std::process::id()));
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("PHI guard: cannot write {}: {e}", path.display()))
        };
        Sink {
            captured: open("captured"),
            sentinels: open("sentinels"),
        }
    }

    fn write(file: &mut File, record: &impl Serialize) {
        let mut line = serde_json::to_string(record).expect("JSON");
        line.push('\n');
        file.write_all(line.as_bytes())
            .expect("PHI guard: the capture file is writable");
    }

    fn captured(&mut self, source: &str, text: &str) {
        let record = Captured {
            source: source.to_owned(),
            text: text.to_owned(),
        };
        Self::write(&mut self.captured, &record);
    }

    fn sentinel(&mut self, sentinel: &Sentinel) {
        Self::write(&mut self.sentinels, sentinel);
    }
}

fn sink() -> Option<&'static Mutex<Sink>> {
    static SINK: OnceLock<Option<Mutex<Sink>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = std::env::var_os("PHI_GUARD_DIR")?;
        let mut sink = Sink::open(Path::new(&dir));
        for (sentinel, _) in &lock(&SENTINELS).entries {
            sink.sentinel(sentinel);
        }
        Some(Mutex::new(sink))
    })
    .as_ref()
}

/// What `phi-scan` found in a `PHI_GUARD_DIR`.
pub struct Scan {
    pub files: usize,
    pub captured: usize,
    pub sentinels: usize,
    /// The source and sentinel label of each hit.
    pub hits: Vec<(String, String)>,
}

/// Checks everything the test processes captured into `dir` against every sentinel any of
/// them knew.
pub fn scan(dir: &Path) -> std::io::Result<Scan> {
    let mut sentinels = Sentinels::default();
    let mut captured_files = Vec::new();
    let mut scan = Scan {
        files: 0,
        captured: 0,
        sentinels: 0,
        hits: Vec::new(),
    };
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("sentinels-") {
            for line in BufReader::new(File::open(&path)?).lines() {
                let sentinel: Sentinel = serde_json::from_str(&line?)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                scan.sentinels += usize::from(sentinels.add(sentinel));
            }
        } else if name.starts_with("captured-") {
            captured_files.push(path);
        }
    }
    scan.files = captured_files.len();
    for path in captured_files {
        for line in BufReader::new(File::open(&path)?).lines() {
            let record: Captured = serde_json::from_str(&line?)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            scan.captured += 1;
            for label in sentinels.found_in(&record.text) {
                scan.hits.push((record.source.clone(), label));
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kind: Kind, value: &str) -> Sentinels {
        let mut set = Sentinels::default();
        set.add(Sentinel {
            label: "it".into(),
            kind,
            value: value.into(),
        });
        set
    }

    #[test]
    fn each_kind_is_found_in_the_forms_it_takes_and_not_inside_other_words() {
        let cases: [(Kind, &str, &[&str], &[&str]); 7] = [
            (
                Kind::Phn,
                "9567812347",
                &["phn=9567812347", "9567 812 347", "x 9567-812-347."],
                &["19567812347", "95678123470"],
            ),
            (
                Kind::Phone,
                "+12505550601",
                &[
                    "+12505550601",
                    "(250) 555-0601",
                    "250.555.0601",
                    "2505550601",
                ],
                &["12505550601x"],
            ),
            (
                Kind::Name,
                "Renée-Sentinelle",
                &[
                    "RENEE-SENTINELLE",
                    "renee sentinelle",
                    r#"{"k":"a\u0001renée-sentinelle"}"#,
                ],
                &["p-renée-sentinelle-2"],
            ),
            (
                Kind::Name,
                "Ava",
                &["Ava", "smith\u{1}ava\u{1}p-ava-smith", "ÀVA smith"],
                &["available", "java", "p-ava-smith", "a-ava-upcoming"],
            ),
            (
                Kind::Email,
                "a.b@example.com",
                &["A.B@Example.com", "q=a.b%40example.com"],
                &["xa.b@example.com"],
            ),
            (
                Kind::Token,
                "AbC_-9",
                &["/m/AbC_-9", "xAbC_-9y"],
                &["abc_-9"],
            ),
            (
                Kind::Family,
                "Sentinel",
                &["Sentinelpager3", "sentinel.patient@example.com", "SENTINEL"],
                &["%PDF-sentinel", "nosentinel"],
            ),
        ];
        for (kind, value, found, not_found) in cases {
            let set = set(kind, value);
            for text in found {
                assert_eq!(set.found_in(text), ["it"], "{value} in {text}");
            }
            for text in not_found {
                assert!(set.found_in(text).is_empty(), "{value} not in {text}");
            }
        }
    }

    #[test]
    fn the_scan_finds_a_sentinel_in_what_a_test_process_captured() {
        let dir = std::env::temp_dir().join(format!("phi-scan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut sink = Sink::open(&dir);
        sink.sentinel(&Sentinel {
            label: "a test PHN".into(),
            kind: Kind::Phn,
            value: "9567812347".into(),
        });
        sink.captured("a log line", r#"{"fields":{"message":"ok"}}"#);
        sink.captured("a log line", r#"{"fields":{"phn":"9567 812 347"}}"#);
        drop(sink);
        let scan = scan(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((scan.files, scan.captured, scan.sentinels), (1, 2, 1));
        assert_eq!(
            scan.hits,
            [("a log line".to_owned(), "a test PHN".to_owned())]
        );
    }
}
