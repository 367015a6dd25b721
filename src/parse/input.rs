//! Finding the log files of `parse` inputs and opening them as line streams.
//!
//! An input is a bundle archive (`.zip`, `.tar.gz`; never unpacked: `parse` and `detect` copy out only its log entries, see [`super::drive`]), a
//! directory (an unpacked bundle — it has `manifest.jsonl` —, a mounted root — it has
//! `var/log` —, or a plain folder of logs), or a single file. Candidates are then kept or
//! dropped by their *content* ([`sniff`]): a file is a mail log when its first lines are
//! syslog lines of a mail daemon. Compression is recognised by magic bytes: gzip is read;
//! xz, bzip2 and zstd are reported as unsupported, never skipped silently.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;

use crate::events::{syslog, DAEMONS};
use crate::evidence::manifest::ManifestRow;
use crate::evidence::reader::for_each_entry;

/// Where a candidate's bytes are.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// A bundle archive's entry copied to a nameless scratch file (read by position, so every
    /// reader starts at the beginning).
    Scratch(std::sync::Arc<File>),
    /// An entry of a bundle archive.
    Entry {
        /// The archive (the entry name is the file's `path`).
        bundle: PathBuf,
    },
}

/// One candidate log file.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// Path shown in events (`var/log/mail.log`, `files/var/log/mail.log` in a bundle).
    pub path: String,
    /// Where to read it.
    pub origin: Origin,
    /// Last modification (manifest for bundles, else the file system).
    pub mtime: Option<DateTime<Utc>>,
    /// SHA-256 from the bundle manifest.
    pub sha256: Option<String>,
    /// Size recorded in the bundle manifest.
    pub size: Option<u64>,
    /// For a stored file of an unpacked bundle: the bundle folder. Such a file is opened under
    /// `verify`'s rules (`evidence::reader::open_stored`) and read no further than its
    /// recorded size.
    pub bundle_dir: Option<PathBuf>,
    /// The host whose evidence it is ([`host_label`] of its input).
    pub host: Arc<str>,
}

/// A set of inputs resolved into candidates, with bundle facts.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Candidate files, in a stable order.
    pub files: Vec<LogFile>,
    /// Time zone named by a bundle's custody record.
    pub custody_zone: Option<String>,
    /// Inputs that could not be read at all (path, error).
    pub errors: Vec<(String, String)>,
}

/// Compression detected from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (read).
    Gzip,
    /// A format mailir does not read (named).
    Unsupported(&'static str),
}

/// Recognises compression by magic bytes.
pub fn compression(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Compression::Unsupported("xz"),
        [b'B', b'Z', b'h', ..] => Compression::Unsupported("bzip2"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Unsupported("zstd"),
        _ => Compression::None,
    }
}

fn mtime_of(meta: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    meta.modified().ok().map(DateTime::<Utc>::from)
}

fn rel(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn walk(base: &Path, dir: &Path, depth: usize, host: &Arc<str>, out: &mut Vec<LogFile>) {
    for e in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .max_depth(depth)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if e.file_type().is_file() {
            out.push(LogFile {
                path: rel(base, e.path()),
                origin: Origin::File(e.path().to_path_buf()),
                mtime: e.metadata().ok().as_ref().and_then(mtime_of),
                sha256: None,
                size: None,
                bundle_dir: None,
                host: host.clone(),
            });
        }
    }
}

/// Most log files one bundle's manifest may name: a mail server keeps hundreds, a hostile
/// manifest could name millions (and make every reader hold them).
pub const MAX_LOG_ROWS: usize = 100_000;

/// Largest `custody.json` read.
const CUSTODY_CAP: u64 = 16 << 20;

/// The rows of a bundle's manifest that name stored logs, read a line at a time (only those
/// rows are kept): refused past [`MAX_LOG_ROWS`].
fn log_rows(manifest: &mut dyn io::BufRead) -> Result<Vec<ManifestRow>, String> {
    let mut rows = Vec::new();
    let mut over = false;
    crate::evidence::manifest::for_each_row(manifest, |_, row| {
        if let Ok(row) = row {
            if is_log_row(&row) {
                if rows.len() < MAX_LOG_ROWS {
                    rows.push(row);
                } else {
                    over = true;
                }
            }
        }
    })
    .map_err(|e| format!("manifest.jsonl: {e}"))?;
    if over {
        return Err(format!(
            "manifest.jsonl names more than {MAX_LOG_ROWS} log files: refused (run `mailir verify`)"
        ));
    }
    Ok(rows)
}

/// What `custody.json` says of the host: its local zone and its name.
#[derive(Debug, Default, Clone)]
struct CustodyFacts {
    zone: Option<String>,
    hostname: Option<String>,
}

/// The custody record's local zone and host name, from `custody.json` (at most 16 MiB of it).
fn custody_facts(custody: &mut dyn Read) -> CustodyFacts {
    let mut text = Vec::new();
    if custody.take(CUSTODY_CAP).read_to_end(&mut text).is_err() {
        return CustodyFacts::default();
    }
    let Ok(c) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return CustodyFacts::default();
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    CustodyFacts {
        zone: text(&c["clock"]["local_zone"]),
        hostname: text(&c["host"]["hostname"]).or_else(|| text(&c["host"]["hostname_file"])),
    }
}

/// Longest host label kept.
const MAX_HOST_LABEL: usize = 64;

/// A host name made safe to show, to compare and to use as a folder name (a Hive partition
/// `host=…`): letters, digits, `.`, `-` and `_` kept, anything else `_`, at most 64
/// characters; `None` when nothing is left (or only dots).
pub fn clean_host(name: &str) -> Option<String> {
    let name = name.lines().next().unwrap_or("").trim();
    let out: String = name
        .chars()
        .take(MAX_HOST_LABEL)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!out.is_empty() && !out.chars().all(|c| c == '.')).then_some(out)
}

/// The name of `p`'s last component without a bundle's archive suffix.
fn stem(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_string_lossy().into_owned();
    let lower = name.to_ascii_lowercase();
    let cut = [".tar.gz", ".tgz", ".zip"]
        .iter()
        .find(|s| lower.ends_with(*s))
        .map_or(name.len(), |s| name.len() - s.len());
    clean_host(&name[..cut])
}

/// The host whose evidence an input is, as every event and finding of it names it: a
/// bundle's custody host name (else the bundle's name), a mounted root's `etc/hostname`
/// (else the folder's name), a folder of logs' name, a single file's folder's name (so the
/// rotations of one log given one by one stay one host); `local` when nothing names it.
pub fn host_label(input: &Path) -> Arc<str> {
    let kind = std::fs::metadata(input).map(|m| InputKind::of(input, &m));
    let named = match kind {
        Ok(InputKind::BundleFolder) => File::open(input.join("custody.json"))
            .ok()
            .and_then(|mut f| custody_facts(&mut f).hostname)
            .and_then(|h| clean_host(&h))
            .or_else(|| stem(input)),
        Ok(InputKind::BundleArchive) => archive_custody(input)
            .hostname
            .and_then(|h| clean_host(&h))
            .or_else(|| stem(input)),
        Ok(InputKind::MountedRoot) => std::fs::read(input.join("etc/hostname"))
            .ok()
            .and_then(|b| clean_host(&String::from_utf8_lossy(&b[..b.len().min(256)])))
            .or_else(|| stem(&absolute(input))),
        Ok(InputKind::LogFolder) => stem(&absolute(input)),
        Ok(InputKind::LogFile) | Err(_) => absolute(input).parent().and_then(stem),
    };
    Arc::from(named.unwrap_or_else(|| "local".to_string()))
}

/// `p` made absolute (so `.` has a name).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The custody facts of an archive bundle (one pass over it, stopping at nothing: archives
/// are read entry by entry).
fn archive_custody(bundle: &Path) -> CustodyFacts {
    let mut facts = CustodyFacts::default();
    let _ = for_each_entry(bundle, |name, _, r| {
        if name == "custody.json" {
            facts = custody_facts(r);
        }
    });
    facts
}

/// The inputs grouped by [`host_label`], hosts in the order of their first input: each
/// group is one host's evidence, judged on its own.
pub fn group_by_host(inputs: &[PathBuf]) -> Vec<(Arc<str>, Vec<PathBuf>)> {
    let mut out: Vec<(Arc<str>, Vec<PathBuf>)> = Vec::new();
    for input in inputs {
        let host = host_label(input);
        match out.iter_mut().find(|(h, _)| *h == host) {
            Some((_, v)) => v.push(input.clone()),
            None => out.push((host, vec![input.clone()])),
        }
    }
    out
}

/// Whether a manifest row names a stored log to read.
fn is_log_row(r: &ManifestRow) -> bool {
    use crate::evidence::manifest::Category::*;
    let Some(stored) = &r.stored else {
        return false;
    };
    matches!(
        r.category,
        MailLog | SystemLog | Volatile | Export | EventLog | WebLog | SpoolHeader
    ) && !r.malware_sample
        && !(stored.ends_with(".status.json")
            || stored.ends_with(".stderr")
            || stored.ends_with(".jsonl"))
}

fn from_manifest(
    rows: &[ManifestRow],
    origin: impl Fn(&str) -> Origin,
    host: &Arc<str>,
    out: &mut Vec<LogFile>,
) {
    for r in rows {
        let Some(stored) = r.stored.as_ref().filter(|_| is_log_row(r)) else {
            continue;
        };
        out.push(LogFile {
            path: stored.clone(),
            origin: origin(stored),
            mtime: r
                .mtime
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            sha256: r.sha256.clone(),
            size: r.size,
            bundle_dir: None,
            host: host.clone(),
        });
    }
}

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// An unpacked bundle (a folder with `manifest.jsonl`).
    BundleFolder,
    /// A bundle archive (`.zip`, `.tar.gz`, `.tgz`).
    BundleArchive,
    /// A mounted root (a folder with `var/log`).
    MountedRoot,
    /// Any other folder (of logs).
    LogFolder,
    /// A single file.
    LogFile,
}

impl InputKind {
    /// Of `input`, whose metadata is `meta`.
    pub fn of(input: &Path, meta: &std::fs::Metadata) -> InputKind {
        let lower = input.display().to_string().to_ascii_lowercase();
        if meta.is_dir() {
            if input.join("manifest.jsonl").is_file() {
                InputKind::BundleFolder
            } else if input.join("var/log").is_dir() {
                InputKind::MountedRoot
            } else {
                InputKind::LogFolder
            }
        } else if lower.ends_with(".zip") || lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            InputKind::BundleArchive
        } else {
            InputKind::LogFile
        }
    }

    /// Whether it is a bundle (with custody and manifest).
    pub fn is_bundle(self) -> bool {
        matches!(self, InputKind::BundleFolder | InputKind::BundleArchive)
    }
}

/// Resolves the command-line inputs; `known`: the host they are all evidence of, when the
/// caller named it already (else each input's [`host_label`]).
pub fn resolve(inputs: &[PathBuf], known: Option<&Arc<str>>) -> Inputs {
    let mut res = Inputs::default();
    for input in inputs {
        let shown = input.display().to_string();
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                res.errors.push((shown, e.to_string()));
                continue;
            }
        };
        let host = known.cloned().unwrap_or_else(|| host_label(input));
        match InputKind::of(input, &meta) {
            InputKind::BundleFolder => {
                let rows = File::open(input.join("manifest.jsonl"))
                    .map_err(|e| format!("manifest.jsonl: {e}"))
                    .and_then(|f| log_rows(&mut BufReader::new(f)));
                let rows = match rows {
                    Ok(r) => r,
                    Err(e) => {
                        res.errors.push((shown, e));
                        continue;
                    }
                };
                let zone = File::open(input.join("custody.json"))
                    .ok()
                    .and_then(|mut f| custody_facts(&mut f).zone);
                res.custody_zone = res.custody_zone.or(zone);
                let mut files = Vec::new();
                from_manifest(&rows, |s| Origin::File(input.join(s)), &host, &mut files);
                for mut f in files {
                    match check_stored(input, &f) {
                        Ok(()) => {
                            f.bundle_dir = Some(input.clone());
                            res.files.push(f);
                        }
                        Err(e) => res.errors.push((shown.clone(), e.to_string())),
                    }
                }
            }
            InputKind::MountedRoot => {
                for d in [
                    "var/log",
                    "usr/local/psa/var/log",
                    "var/qmail/log",
                    "opt/zimbra/log",
                ] {
                    if input.join(d).is_dir() {
                        walk(input, &input.join(d), 4, &host, &mut res.files);
                    }
                }
            }
            // Deep enough for an Exchange `Logging\HttpProxy\<protocol>` tree copied whole.
            InputKind::LogFolder => walk(input, input, 8, &host, &mut res.files),
            InputKind::BundleArchive => match archive_facts(input) {
                Ok((rows, zone)) => {
                    res.custody_zone = res.custody_zone.or(zone);
                    let bundle = input.clone();
                    from_manifest(
                        &rows,
                        |_| Origin::Entry {
                            bundle: bundle.clone(),
                        },
                        &host,
                        &mut res.files,
                    );
                }
                Err(e) => res.errors.push((shown, e)),
            },
            InputKind::LogFile => res.files.push(LogFile {
                path: input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(shown),
                origin: Origin::File(input.clone()),
                mtime: mtime_of(&meta),
                sha256: None,
                size: None,
                bundle_dir: None,
                host,
            }),
        }
    }
    res
}

/// Whether the stored file `f` of the unpacked bundle `dir` may be read: opened under
/// `verify`'s rules and of the size its manifest row records.
fn check_stored(dir: &Path, f: &LogFile) -> io::Result<()> {
    let file = crate::evidence::reader::open_stored(dir, &f.path)?;
    let len = file.metadata()?.len();
    match f.size {
        Some(s) if s != len => Err(io::Error::other(format!(
            "{}: {len} bytes, the manifest records {s}: refused (run `mailir verify`)",
            f.path
        ))),
        _ => Ok(()),
    }
}

/// Reads the log rows of `manifest.jsonl` and the zone of `custody.json` out of an archive
/// bundle, a line at a time.
fn archive_facts(bundle: &Path) -> Result<(Vec<ManifestRow>, Option<String>), String> {
    let (mut rows, mut zone) = (None, None);
    for_each_entry(bundle, |name, _, r| {
        if name == "manifest.jsonl" {
            rows = Some(log_rows(&mut BufReader::new(r)));
        } else if name == "custody.json" {
            zone = custody_facts(r).zone;
        }
    })
    .map_err(|e| e.to_string())?;
    let rows = rows.ok_or("no manifest.jsonl in the bundle")??;
    Ok((rows, zone))
}

/// Opens a file candidate as a (decompressed) byte stream and hands it to `f`. Bundle
/// entries are read by the caller in one pass over the archive ([`decompressed`]).
pub fn with_reader<T>(
    file: &LogFile,
    f: impl FnOnce(Compression, &mut dyn Read) -> T,
) -> io::Result<T> {
    match &file.origin {
        Origin::File(p) => {
            let (opened, limit) = match &file.bundle_dir {
                Some(dir) => (
                    crate::evidence::reader::open_stored(dir, &file.path)?,
                    file.size.unwrap_or(u64::MAX),
                ),
                None => (File::open(p)?, u64::MAX),
            };
            let mut r = BufReader::with_capacity(1 << 20, opened.take(limit));
            decompressed(&mut r, f)
        }
        Origin::Scratch(copy) => {
            let at = At {
                file: copy.clone(),
                pos: 0,
            };
            let mut r = BufReader::with_capacity(1 << 20, at);
            decompressed(&mut r, f)
        }
        Origin::Entry { .. } => Err(io::Error::other(
            "bundle entries are read in one pass over the archive",
        )),
    }
}

/// A reader of a shared file from its own position.
struct At {
    file: std::sync::Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Detects compression on `r` and hands `f` the decompressed stream.
pub fn decompressed<T>(
    r: &mut dyn io::BufRead,
    f: impl FnOnce(Compression, &mut dyn Read) -> T,
) -> io::Result<T> {
    let head = r.fill_buf()?;
    let c = compression(head);
    Ok(match c {
        Compression::Gzip => f(c, &mut MultiGzDecoder::new(r)),
        _ => f(c, r),
    })
}

/// Whether the first bytes of a (decompressed) stream hold a log line of a mail daemon.
pub fn sniff(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.lines().take(2000).any(|l| {
        syslog::parse(l).is_some_and(|line| {
            DAEMONS
                .iter()
                .any(|d| (d.accepts)(line.tag, line.host.is_some()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(compression(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            compression(b"\xfd7zXZ\0rest"),
            Compression::Unsupported("xz")
        );
        assert_eq!(compression(b"BZh91AY"), Compression::Unsupported("bzip2"));
        assert_eq!(compression(b"Mar  1 00:00:00"), Compression::None);
    }

    #[test]
    fn event_logs_of_a_bundle_are_read() {
        use crate::evidence::manifest::{Category, FileKind, Outcome};
        let mut row = ManifestRow::named(
            "eventlog:MSExchange Management".into(),
            Category::EventLog,
            Outcome::Collected,
            FileKind::Command,
        );
        row.stored = Some("eventlogs/MSExchange Management.evtx".into());
        assert!(is_log_row(&row));
        row.category = Category::MailConfig;
        assert!(!is_log_row(&row));
    }

    #[test]
    fn host_names_are_safe_folder_names() {
        assert_eq!(
            clean_host("mx1.example.org\n").as_deref(),
            Some("mx1.example.org")
        );
        assert_eq!(clean_host("../../etc").as_deref(), Some(".._.._etc"));
        assert_eq!(clean_host("<b>邮件</b>").as_deref(), Some("_b_____b_"));
        assert_eq!(clean_host(".."), None);
        assert_eq!(clean_host("  "), None);
        assert_eq!(clean_host(&"a".repeat(300)).map(|h| h.len()), Some(64));
    }

    #[test]
    fn each_kind_of_input_names_its_host() {
        let t = tempfile::tempdir().unwrap();
        // A mounted root: its etc/hostname.
        let root = t.path().join("image");
        std::fs::create_dir_all(root.join("var/log")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hostname"), "imap1\n").unwrap();
        assert_eq!(&*host_label(&root), "imap1");
        // A folder of logs: its name; a single file: its folder's.
        let logs = t.path().join("relay2-logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("mail.log"), "x").unwrap();
        std::fs::write(logs.join("mail.log.1"), "x").unwrap();
        assert_eq!(&*host_label(&logs), "relay2-logs");
        assert_eq!(&*host_label(&logs.join("mail.log")), "relay2-logs");
        // A bundle folder without custody: its name.
        let bundle = t.path().join("mx9.tar.gz-unpacked");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("manifest.jsonl"), "").unwrap();
        assert_eq!(&*host_label(&bundle), "mx9.tar.gz-unpacked");
        std::fs::write(
            bundle.join("custody.json"),
            r#"{"host":{"hostname":"mx9.example.org"}}"#,
        )
        .unwrap();
        assert_eq!(&*host_label(&bundle), "mx9.example.org");
        // Rotations given one by one are one host; two folders are two.
        let other = t.path().join("mx2");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("mail.log"), "x").unwrap();
        let groups = group_by_host(&[
            logs.join("mail.log"),
            other.join("mail.log"),
            logs.join("mail.log.1"),
        ]);
        let names: Vec<(&str, usize)> = groups.iter().map(|(h, v)| (&**h, v.len())).collect();
        assert_eq!(names, [("relay2-logs", 2), ("mx2", 1)]);
    }

    #[test]
    fn sniffing_by_content() {
        assert!(sniff(
            b"Mar  4 02:14:07 mx1 postfix/smtpd[1]: connect from x[1.2.3.4]\n"
        ));
        assert!(!sniff(
            b"Mar  4 02:14:07 mx1 CRON[1]: pam_unix(cron:session): session opened\n"
        ));
        assert!(!sniff(b"\x00\x01binary"));
    }
}
