//! `verify`: prove a bundle is what was collected.
//!
//! Every entry is re-hashed in one streaming pass over the container, then four records are
//! cross-checked: the files themselves ↔ `SHA256SUMS` ↔ `manifest.jsonl` ↔ `custody.json`
//! (manifest hash and outcome counts) ↔ the `PATH.sha256` sidecar. Each disagreement becomes
//! one [`Problem`] naming the exact file. A hostile or unreadable bundle is an error, not a
//! report (exit 2).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::custody::Custody;
use super::pathname::hex;
use super::reader::{for_each_entry, ReadError};
use super::scratch;
use super::sums;
use super::writer::{hash_file, sidecar_path, BundleFormat, CHUNK};

/// Metadata files every bundle has.
pub const META_FILES: [&str; 4] = [
    "manifest.jsonl",
    "custody.json",
    "collect.log",
    "SHA256SUMS",
];

/// Largest `custody.json` read (a real one is a few kilobytes).
const CUSTODY_CAP: u64 = 16 << 20;

/// Most problems listed one by one; the rest are counted ([`Report::problems_more`]).
pub const PROBLEMS_KEPT: usize = 10_000;

/// Problems found, at most [`PROBLEMS_KEPT`] of them kept.
#[derive(Debug, Default)]
struct Problems {
    list: Vec<Problem>,
    more: u64,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        if self.list.len() < PROBLEMS_KEPT {
            self.list.push(p);
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Listed (in SHA256SUMS or the manifest) but not in the bundle.
    Missing {
        name: String,
        listed_in: &'static str,
    },
    /// In the bundle but listed nowhere.
    Extra { name: String, not_in: &'static str },
    /// Content differs from its recorded hash.
    Altered {
        name: String,
        expected: String,
        actual: String,
        per: &'static str,
    },
    /// The entry could not be read back (corrupt data, CRC error, truncated archive).
    Unreadable { name: String, error: String },
    /// A record is malformed or inconsistent.
    Record { file: String, detail: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { name, listed_in } => {
                write!(f, "missing: {name} (listed in {listed_in})")
            }
            Problem::Extra { name, not_in } => write!(f, "extra: {name} (not in {not_in})"),
            Problem::Altered {
                name,
                expected,
                actual,
                per,
            } => {
                write!(
                    f,
                    "altered: {name} (sha256 {actual}, {per} says {expected})"
                )
            }
            Problem::Unreadable { name, error } => write!(f, "unreadable: {name}: {error}"),
            Problem::Record { file, detail } => write!(f, "inconsistent: {file}: {detail}"),
        }
    }
}

/// The result of a verification.
#[derive(Debug)]
pub struct Report {
    /// Container format.
    pub format: BundleFormat,
    /// Entries hashed.
    pub entries: usize,
    /// Every disagreement found.
    pub problems: Vec<Problem>,
    /// Remarks that are not mismatches (no sidecar found).
    pub notes: Vec<String>,
    /// SHA-256 of the archive file (zip, tar.gz) or of `SHA256SUMS` (directory), when it
    /// could be computed.
    pub sha256: Option<String>,
    /// Whether the `PATH.sha256` sidecar was found (a mismatch is a problem).
    pub sidecar_found: bool,
    /// The custody record, when it parsed.
    pub custody: Option<Custody>,
    /// Manifest rows of files that exist and were not stored (denied, too large, special,
    /// error, skipped), up to [`NOT_COLLECTED_KEPT`]; [`Report::not_collected_total`] counts
    /// all.
    pub not_collected: Vec<NotCollected>,
    /// Rows not collected.
    pub not_collected_total: u64,
    /// Problems beyond the [`PROBLEMS_KEPT`] listed.
    pub problems_more: u64,
}

/// Most rows of [`Report::not_collected`] kept.
pub const NOT_COLLECTED_KEPT: usize = 100;

/// A path the collector considered and did not store, with the reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotCollected {
    /// Host path.
    pub source: String,
    /// Outcome (`denied`, `too_large`, `special`, `error`, `skipped`).
    pub outcome: &'static str,
    /// Why, as the collector recorded it.
    pub error: Option<String>,
}

struct Seen {
    sha256: String,
    error: Option<String>,
    /// Named by a line of SHA256SUMS.
    in_sums: bool,
    /// Named as `stored` by a manifest row.
    in_manifest: bool,
}

/// The records kept for the cross-checks: the two that grow with the evidence spooled to
/// nameless scratch files ([`super::scratch`]) and read back a line at a time, custody in
/// memory.
#[derive(Default)]
struct Records {
    manifest: Option<File>,
    sums: Option<File>,
    custody: Option<Vec<u8>>,
}

impl Records {
    /// Where the entry `name`, if it is a record, is kept while it is hashed.
    fn sink(&mut self, name: &str) -> io::Result<Option<Box<dyn Write + '_>>> {
        Ok(match name {
            "manifest.jsonl" => Some(Box::new(self.manifest.insert(scratch::anonymous()?))),
            "SHA256SUMS" => Some(Box::new(self.sums.insert(scratch::anonymous()?))),
            "custody.json" => Some(Box::new(Limited {
                inner: self.custody.insert(Vec::new()),
                left: CUSTODY_CAP,
            })),
            _ => None,
        })
    }

    /// A record spooled to a file, from its start.
    fn reader(f: &mut Option<File>) -> Option<BufReader<&mut File>> {
        let f = f.as_mut()?;
        f.rewind().ok()?;
        Some(BufReader::with_capacity(1 << 16, f))
    }
}

/// A writer that keeps at most `cap` bytes and drops the rest.
struct Limited<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        self.inner.write_all(&buf[..n])?;
        self.left -= n as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes an entry, copying it to `keep` if given: its hash and the read error, if any.
fn hash_entry(r: &mut dyn Read, mut keep: Option<Box<dyn Write + '_>>) -> (String, Option<String>) {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                if let Some(k) = keep.as_mut() {
                    if let Err(e) = k.write_all(&buf[..n]) {
                        return (hex(&h.finalize()), Some(format!("kept for checking: {e}")));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (hex(&h.finalize()), Some(e.to_string())),
        }
    }
    (hex(&h.finalize()), None)
}

/// Verifies the bundle at `path`. Memory grows with the entries of the bundle (a name and a
/// hash each), never with its records: the manifest and SHA256SUMS are spooled to nameless
/// scratch files and read back a line at a time, and at most [`PROBLEMS_KEPT`] problems are
/// listed.
pub fn verify(path: &Path) -> Result<Report, ReadError> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut records = Records::default();
    let mut problems = Problems::default();
    let mut duplicate = Vec::new();
    let walked = for_each_entry(path, |name, _size, r| {
        let (sha256, error) = match records.sink(name) {
            Ok(keep) => hash_entry(r, keep),
            Err(e) => (
                hash_entry(r, None).0,
                Some(format!("kept for checking: {e}")),
            ),
        };
        let s = Seen {
            sha256,
            error,
            in_sums: false,
            in_manifest: false,
        };
        if seen.insert(name.to_string(), s).is_some() {
            duplicate.push(name.to_string());
        }
    });
    let format = match walked {
        Ok(f) => f,
        // A stream that breaks part-way still lets us report what we saw, naming where.
        Err(ReadError::Io { path: at, source }) if !seen.is_empty() => {
            problems.push(Problem::Unreadable {
                name: at,
                error: source.to_string(),
            });
            BundleFormat::from_path(path)
        }
        Err(e) => return Err(e),
    };
    for name in duplicate {
        problems.push(Problem::Record {
            file: name,
            detail: "entry appears twice in the container".into(),
        });
    }
    let truncated = !problems.is_empty();
    for (name, s) in &seen {
        if let Some(err) = &s.error {
            problems.push(Problem::Unreadable {
                name: name.clone(),
                error: err.clone(),
            });
        }
    }
    for name in META_FILES {
        if !seen.contains_key(name) {
            problems.push(Problem::Missing {
                name: name.into(),
                listed_in: "the bundle layout",
            });
        }
    }
    let usable = |seen: &BTreeMap<String, Seen>, name: &str| {
        seen.get(name).is_some_and(|s| s.error.is_none())
    };
    let sums_ok = usable(&seen, "SHA256SUMS");
    let manifest_ok = usable(&seen, "manifest.jsonl");
    let custody_ok = usable(&seen, "custody.json");
    if sums_ok {
        if let Some(r) = Records::reader(&mut records.sums) {
            check_sums(&mut seen, r, truncated, &mut problems);
        }
    }
    let mut not_collected = (Vec::new(), 0);
    let manifest_counts = match Records::reader(&mut records.manifest) {
        Some(r) if manifest_ok => check_manifest(&mut seen, r, &mut problems, &mut not_collected),
        _ => None,
    };
    let custody = check_custody(
        &seen,
        records.custody.as_deref().filter(|_| custody_ok),
        manifest_counts,
        &mut problems,
    );
    let mut notes = Vec::new();
    let sums_sha = seen
        .get("SHA256SUMS")
        .filter(|_| sums_ok)
        .map(|s| s.sha256.clone());
    let (sha256, sidecar_found) = check_sidecar(path, format, sums_sha, &mut problems, &mut notes);
    Ok(Report {
        format,
        entries: seen.len(),
        problems: problems.list,
        problems_more: problems.more,
        notes,
        sha256,
        sidecar_found,
        custody,
        not_collected: not_collected.0,
        not_collected_total: not_collected.1,
    })
}

fn check_sums(
    seen: &mut BTreeMap<String, Seen>,
    mut text: BufReader<&mut File>,
    truncated: bool,
    problems: &mut Problems,
) {
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        match super::manifest::read_line(&mut text, &mut line, 64 << 10) {
            Ok((0, _)) => break,
            Ok((_, over)) => {
                n += 1;
                while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    line.pop();
                }
                if line.is_empty() {
                    continue;
                }
                let l = String::from_utf8_lossy(&line);
                match sums::parse_line(&l).filter(|_| !over) {
                    None => problems.push(Problem::Record {
                        file: "SHA256SUMS".into(),
                        detail: format!("line {n} malformed: {}", crate::sanitize::terminal(&l)),
                    }),
                    Some(l) => match seen.get_mut(&l.name) {
                        None if truncated => {}
                        None => problems.push(Problem::Missing {
                            name: l.name,
                            listed_in: "SHA256SUMS",
                        }),
                        Some(s) => {
                            s.in_sums = true;
                            if s.error.is_none() && s.sha256 != l.sha256 {
                                problems.push(Problem::Altered {
                                    name: l.name,
                                    expected: l.sha256,
                                    actual: s.sha256.clone(),
                                    per: "SHA256SUMS",
                                })
                            }
                        }
                    },
                }
            }
            Err(e) => {
                problems.push(Problem::Unreadable {
                    name: "SHA256SUMS".into(),
                    error: e.to_string(),
                });
                return;
            }
        }
    }
    for (name, s) in seen.iter() {
        if name != "SHA256SUMS" && !s.in_sums {
            problems.push(Problem::Extra {
                name: name.clone(),
                not_in: "SHA256SUMS",
            });
        }
    }
}

/// Returns outcome counts of the manifest when it parsed.
fn check_manifest(
    seen: &mut BTreeMap<String, Seen>,
    mut text: BufReader<&mut File>,
    problems: &mut Problems,
    not_collected: &mut (Vec<NotCollected>, u64),
) -> Option<(u64, BTreeMap<String, u64>)> {
    let mut counts = BTreeMap::new();
    let mut rows = 0u64;
    let read = super::manifest::for_each_row(&mut text, |i, row| {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::Record {
                    file: "manifest.jsonl".into(),
                    detail: format!("line {i}: {e}"),
                });
                return;
            }
        };
        rows += 1;
        *counts.entry(row.outcome.name().to_string()).or_insert(0) += 1;
        if row.outcome.not_collected() {
            not_collected.1 += 1;
            if not_collected.0.len() < NOT_COLLECTED_KEPT {
                not_collected.0.push(NotCollected {
                    source: row.source.clone(),
                    outcome: row.outcome.name(),
                    error: row.error.clone(),
                });
            }
        }
        // Content without a stored copy, or a copy where none can be.
        if (row.outcome.has_content() && row.stored.is_none())
            || (!row.outcome.may_store() && row.stored.is_some())
        {
            problems.push(Problem::Record {
                file: "manifest.jsonl".into(),
                detail: format!(
                    "line {i}: outcome {} with stored={:?}",
                    row.outcome.name(),
                    row.stored
                ),
            });
        }
        let Some(name) = row.stored else { return };
        match (seen.get_mut(&name), row.sha256) {
            (None, _) => problems.push(Problem::Missing {
                name,
                listed_in: "manifest.jsonl",
            }),
            (Some(s), want) => {
                s.in_manifest = true;
                match want {
                    Some(want) if s.error.is_none() && s.sha256 != want => {
                        problems.push(Problem::Altered {
                            name,
                            expected: want,
                            actual: s.sha256.clone(),
                            per: "manifest.jsonl",
                        })
                    }
                    None => problems.push(Problem::Record {
                        file: "manifest.jsonl".into(),
                        detail: format!("line {i}: {name} stored without a sha256"),
                    }),
                    _ => {}
                }
            }
        }
    });
    if let Err(e) = read {
        problems.push(Problem::Unreadable {
            name: "manifest.jsonl".into(),
            error: e.to_string(),
        });
    }
    for (name, s) in seen.iter() {
        if (name.starts_with("files/")
            || name.starts_with("volatile/")
            || name.starts_with("host/"))
            && !s.in_manifest
        {
            problems.push(Problem::Extra {
                name: name.clone(),
                not_in: "manifest.jsonl",
            });
        }
    }
    Some((rows, counts))
}

fn check_custody(
    seen: &BTreeMap<String, Seen>,
    text: Option<&[u8]>,
    manifest: Option<(u64, BTreeMap<String, u64>)>,
    problems: &mut Problems,
) -> Option<Custody> {
    let text = text?;
    let custody: Custody = match serde_json::from_slice(text) {
        Ok(c) => c,
        Err(e) => {
            problems.push(Problem::Record {
                file: "custody.json".into(),
                detail: e.to_string(),
            });
            return None;
        }
    };
    if let Some(m) = seen.get("manifest.jsonl") {
        if m.error.is_none() && m.sha256 != custody.manifest_sha256 {
            problems.push(Problem::Altered {
                name: "manifest.jsonl".into(),
                expected: custody.manifest_sha256.clone(),
                actual: m.sha256.clone(),
                per: "custody.json",
            });
        }
    }
    if let Some((rows, counts)) = manifest {
        if rows != custody.manifest_rows || counts != custody.counts {
            problems.push(Problem::Record {
                file: "custody.json".into(),
                detail: format!(
                    "counts {:?} ({} rows) differ from manifest.jsonl {:?} ({rows} rows)",
                    custody.counts, custody.manifest_rows, counts
                ),
            });
        }
    }
    Some(custody)
}

fn check_sidecar(
    path: &Path,
    format: BundleFormat,
    sums_sha: Option<String>,
    problems: &mut Problems,
    notes: &mut Vec<String>,
) -> (Option<String>, bool) {
    let actual = match format {
        BundleFormat::Dir => sums_sha,
        _ => hash_file(path).ok(),
    };
    let sidecar = sidecar_path(path);
    let Ok(line) = std::fs::read_to_string(&sidecar) else {
        notes.push(format!(
            "no sidecar {} found; bundle hash not checked",
            sidecar.display()
        ));
        return (actual, false);
    };
    let Some(want) = line.split_whitespace().next().map(str::to_ascii_lowercase) else {
        problems.push(Problem::Record {
            file: sidecar.display().to_string(),
            detail: "empty".into(),
        });
        return (actual, true);
    };
    match &actual {
        Some(a) if *a == want => {}
        Some(a) => problems.push(Problem::Altered {
            name: path.display().to_string(),
            expected: want,
            actual: a.clone(),
            per: "the sidecar",
        }),
        None => problems.push(Problem::Unreadable {
            name: path.display().to_string(),
            error: "bundle hash could not be computed".into(),
        }),
    }
    (actual, true)
}

/// Runs `mailir verify` and prints the outcome; returns the exit code.
pub fn run(path: &Path) -> crate::exit_codes::ExitCode {
    use crate::exit_codes::ExitCode;
    use crate::sanitize::terminal;
    match verify(path) {
        Err(e) => {
            eprintln!("mailir verify: {}", terminal(&e.to_string()));
            ExitCode::Error
        }
        Ok(report) => {
            for note in &report.notes {
                eprintln!("note: {}", terminal(note));
            }
            if let Some(inc) = report.custody.as_ref().and_then(|c| c.incomplete.as_ref()) {
                eprintln!(
                    "note: the collection is incomplete ({}: {} while {} was written): {} path(s) were not stored; the bundle holds what was collected before",
                    terminal(&inc.reason),
                    terminal(&inc.error),
                    terminal(&inc.entry),
                    inc.rows_not_stored
                );
            }
            if report.not_collected_total > 0 {
                let reasons: BTreeSet<&str> =
                    report.not_collected.iter().map(|n| n.outcome).collect();
                eprintln!(
                    "note: {} path(s) were considered and not collected ({}; see manifest.jsonl)",
                    report.not_collected_total,
                    reasons.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            if let Some(sha) = &report.sha256 {
                println!("bundle sha256 {sha}");
            }
            for p in &report.problems {
                println!("{}", terminal(&p.to_string()));
            }
            if report.problems_more > 0 {
                println!("… and {} more problem(s) not listed", report.problems_more);
            }
            if report.problems.is_empty() {
                println!(
                    "OK: {} ({}) intact: {} entries verified",
                    terminal(&path.display().to_string()),
                    report.format.name(),
                    report.entries
                );
                ExitCode::Success
            } else {
                println!(
                    "FAILED: {} mismatch(es) in {}",
                    report.problems.len() as u64 + report.problems_more,
                    terminal(&path.display().to_string())
                );
                ExitCode::Mismatch
            }
        }
    }
}
