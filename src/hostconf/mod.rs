//! The host's configuration as evidence: mail daemon configs, maps (source and compiled),
//! aliases, per-user delivery files, crontabs and the context files that name the host.
//!
//! [`HostConf::load`] reads them from the same inputs `detect` reads logs from — an archive or
//! unpacked bundle (the manifest says which stored file is which host path and gives its mtime
//! and hash) or a mounted root (planned with the collector's own catalog, read without
//! following links out of the root). Plain log files carry no configuration. The collector's
//! derived entries are kept under their row's source: `derived:/etc/shadow` (the account
//! metadata of `/etc/shadow`, [`shadow`]; derived in memory from a mounted root) and
//! `check:/etc/ld.so.preload` (the libc/raw comparison, bundles only). Parsers of each
//! format live beside: [`postfix`] (main.cf, master.cf, map references), [`maps`] (text,
//! regexp/pcre and compiled tables), [`compiled`] (Berkeley DB hash/btree, CDB and LMDB files), [`delivery`]
//! (`.forward`, `.qmail`, procmail, sieve, Exim filters), [`exim`] and [`sendmail`] (each MTA's
//! own configuration), [`cron`] (crontabs and the `at` spool), [`domains`] (what counts as
//! local); the host behind the mail service: [`accounts`] (passwd, group, sudoers, shadow
//! metadata), [`sshkeys`] (`authorized_keys`, `sshd_config`), [`preload`] (`ld.so.preload`,
//! `ld.so.conf.d`, the collector's preload check), [`systemd`] (units and timers),
//! [`shellinit`] (profile and rc files), [`history`] (shell histories); and the live host's
//! state: [`procs`] (processes, sockets, modules) and [`packages`] (package verification).
//! Rules in `detect::rules::{persistence_*, host_*, config_*}` consume them; a new
//! format is a parser here, never format details in a rule.

pub mod accounts;
pub mod compiled;
pub mod cron;
pub mod delivery;
pub mod domains;
pub mod exim;
pub mod history;
pub mod maps;
pub mod packages;
pub mod postfix;
pub mod preload;
pub mod procs;
pub mod sendmail;
pub mod shadow;
pub mod shellinit;
pub mod sshkeys;
pub mod systemd;
pub mod webroots;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::evidence::manifest::{Category, ManifestRow};
use crate::evidence::pathname::HostPath;
use crate::evidence::reader::for_each_entry;
use crate::evidence::root::HostRoot;

/// Largest configuration file read (compiled maps included).
const MAX_FILE: u64 = 32 << 20;
/// Most configuration bytes held in memory for one run (a real host's configuration, maps
/// included, is a few megabytes; the cap keeps a hostile bundle's within the run's memory).
const MAX_TOTAL: u64 = 128 << 20;
/// Most configuration rows (files and links) of one manifest kept.
const MAX_ROWS: usize = 100_000;

/// Stored names that are logs or mail, never configuration.
const LOG_OR_MAIL: &[&str] = &[
    "files/var/log/",
    "/log/",
    "files/var/mail/",
    "files/var/spool/mail/",
    "/Maildir/",
    "/mail.log",
];

/// One configuration file of the host.
#[derive(Debug, Clone)]
pub struct ConfFile {
    /// Where the evidence is, as findings cite it (bundle entry name or root-relative path).
    pub shown: String,
    /// Content.
    pub data: Vec<u8>,
    /// Modification time on the host.
    pub mtime: Option<DateTime<Utc>>,
    /// Whether `mtime` was recorded at collection (the bundle's manifest) rather than read
    /// from the file system the analysis runs on (a checkout or a copy may have reset it).
    pub mtime_recorded: bool,
    /// SHA-256 from the bundle manifest.
    pub sha256: Option<String>,
}

impl ConfFile {
    /// Content as text (lossy).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

/// The configuration files of one host, by host path (`/etc/postfix/main.cf`).
#[derive(Debug, Default)]
pub struct HostConf {
    /// Files by host path.
    pub files: BTreeMap<String, ConfFile>,
    /// Symbolic links by host path: their target as stored in the link.
    pub links: BTreeMap<String, String>,
    /// Files that could not be read (host path, why).
    pub errors: Vec<(String, String)>,
    total: u64,
}

fn wanted(c: Category) -> bool {
    matches!(
        c,
        Category::MailConfig
            | Category::Aliases
            | Category::UserDelivery
            | Category::Cron
            | Category::Context
            // Web roots' scripts (Linux) and Exchange's web folders (Windows): what
            // `web.webshell_file` reads.
            | Category::WebScript
            | Category::WebRoot
            // The host behind the mail service (`persistence.{account,ssh_key,preload,
            // service,shell_init}`, `host.history`).
            | Category::HostConfig
            | Category::ShellHistory
    )
}

/// The volatile outputs of a live collection that the host rules read (`host.*`): kept under
/// their source `volatile:<name>` (`conf.get("volatile:processes.jsonl")`). Other volatile
/// outputs (queue listings, journal exports) are never loaded as configuration.
pub const HOST_STATE: &[&str] = &[
    "processes.jsonl",
    "sockets.jsonl",
    "modules.txt",
    "dpkg-verify.stdout",
    "dpkg-verify.status.json",
    "rpm-Va.stdout",
    "rpm-Va.status.json",
];

/// Whether a manifest row is read as configuration: a wanted category, or one of the
/// [`HOST_STATE`] volatile outputs (by stored name `volatile/<name>`).
fn wanted_row(row: &ManifestRow) -> bool {
    wanted(row.category) || host_state_key(row).is_some()
}

/// The key a [`HOST_STATE`] output is kept under: `volatile:<name>`.
fn host_state_key(row: &ManifestRow) -> Option<String> {
    let name = row.stored.as_deref()?.strip_prefix("volatile/")?;
    (row.category == Category::Volatile && HOST_STATE.contains(&name))
        .then(|| format!("volatile:{name}"))
}

/// Whether a bundle entry is one of the [`HOST_STATE`] outputs (`volatile/processes.jsonl`).
fn host_state_entry(name: &str) -> bool {
    name.strip_prefix("volatile/")
        .is_some_and(|n| HOST_STATE.contains(&n))
}

fn rfc3339(t: &Option<String>) -> Option<DateTime<Utc>> {
    t.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl HostConf {
    /// Reads the configuration of every input that holds one (bundles and mounted roots).
    pub fn load(inputs: &[std::path::PathBuf]) -> HostConf {
        let mut h = HostConf::default();
        for input in inputs {
            let lower = input.to_string_lossy().to_ascii_lowercase();
            if input.is_dir() && input.join("manifest.jsonl").is_file() {
                h.read_bundle(input);
            } else if input.is_dir() && input.join("etc").is_dir() {
                h.read_root(input);
            } else if input.is_file()
                && (lower.ends_with(".zip")
                    || lower.ends_with(".tar.gz")
                    || lower.ends_with(".tgz"))
            {
                h.read_bundle(input);
            }
        }
        h
    }

    fn keep(&mut self, host: String, file: ConfFile) {
        self.total += file.data.len() as u64;
        if self.total > MAX_TOTAL {
            self.errors.push((
                host,
                "configuration larger than mailir reads in one run".into(),
            ));
            return;
        }
        self.files.entry(host).or_insert(file);
    }

    /// A bundle: the manifest maps stored names to host paths.
    fn read_bundle(&mut self, bundle: &Path) {
        let mut rows: BTreeMap<String, ManifestRow> = BTreeMap::new();
        let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let (mut held, mut over_budget, mut too_many) = (0u64, false, false);
        let read = for_each_entry(bundle, |name, size, r| {
            if name == "manifest.jsonl" {
                // A line at a time, keeping only configuration rows, at most MAX_ROWS.
                let mut r = std::io::BufReader::new(r);
                let _ = crate::evidence::manifest::for_each_row(&mut r, |_, row| {
                    let Ok(row) = row else { return };
                    if !wanted_row(&row) {
                        return;
                    }
                    if rows.len() + self.links.len() >= MAX_ROWS {
                        too_many = true;
                        return;
                    }
                    match (&row.stored, &row.link_target) {
                        (Some(s), _) => {
                            rows.insert(s.clone(), row);
                        }
                        (None, Some(t)) => {
                            self.links.insert(row.source.clone(), t.clone());
                        }
                        _ => {}
                    }
                });
            } else if (name.starts_with("files/")
                || name.starts_with("host/")
                || host_state_entry(name))
                && size <= MAX_FILE
            {
                // The manifest usually comes last: before it, keep what can be configuration
                // (never logs or mailboxes) within the in-memory budget; after it, only what it
                // names as configuration.
                let keep = if rows.is_empty() {
                    !LOG_OR_MAIL.iter().any(|p| name.contains(p))
                } else {
                    rows.contains_key(name)
                };
                if keep && held + size <= MAX_TOTAL {
                    let mut v = Vec::new();
                    if r.take(MAX_FILE).read_to_end(&mut v).is_ok() {
                        held += v.len() as u64;
                        contents.insert(name.to_string(), v);
                    }
                } else if keep {
                    over_budget = true;
                }
            }
        });
        if too_many {
            self.errors.push((
                bundle.display().to_string(),
                format!("the manifest names more than {MAX_ROWS} configuration files: the rest were not read"),
            ));
        }
        if over_budget {
            self.errors.push((
                bundle.display().to_string(),
                "configuration beyond the in-memory budget was not read".into(),
            ));
        }
        if let Err(e) = read {
            self.errors
                .push((bundle.display().to_string(), e.to_string()));
            return;
        }
        for (stored, row) in rows {
            match contents.remove(&stored) {
                Some(data) => self.keep(
                    host_state_key(&row).unwrap_or_else(|| row.source.clone()),
                    ConfFile {
                        shown: stored,
                        data,
                        mtime: rfc3339(&row.mtime),
                        mtime_recorded: true,
                        sha256: row.sha256.clone(),
                    },
                ),
                None => self
                    .errors
                    .push((row.source.clone(), format!("{stored} is not in the bundle"))),
            }
        }
    }

    /// A mounted root: planned with the collector's catalog, read inside the root. The
    /// account metadata of `/etc/shadow` is derived in memory as the collector does
    /// ([`shadow`]), under the key `derived:/etc/shadow`.
    fn read_root(&mut self, dir: &Path) {
        let root = match HostRoot::open(dir) {
            Ok(r) => r,
            Err(e) => {
                self.errors.push((dir.display().to_string(), e.to_string()));
                return;
            }
        };
        let read = crate::collect::hostfiles::read_shadow(&root);
        if let Some((data, mtime)) = read.derived {
            self.keep(
                shadow::SOURCE.to_string(),
                ConfFile {
                    shown: "etc/shadow (account metadata, derived)".into(),
                    data,
                    mtime: Some(DateTime::<Utc>::from(mtime)),
                    mtime_recorded: false,
                    sha256: None,
                },
            );
        }
        // A hard link to a file of password hashes is never read as configuration.
        let withheld = crate::collect::withheld_ids(&root);
        for (path, category) in crate::collect::planned(&root) {
            if !wanted(category) {
                continue;
            }
            let Ok(meta) = root.lstat(&path) else {
                continue;
            };
            let m = crate::evidence::platform::meta(&meta);
            if let (Some(dev), Some(ino)) = (m.dev, m.inode) {
                if withheld.contains(&(dev, ino)) {
                    continue;
                }
            }
            let host = path.display();
            if meta.file_type().is_symlink() {
                if let Ok(t) = root.read_link(&path) {
                    self.links
                        .insert(host, String::from_utf8_lossy(&t).into_owned());
                }
                continue;
            }
            if !meta.file_type().is_file() {
                continue;
            }
            if meta.len() > MAX_FILE {
                self.errors.push((host, "file too large to analyse".into()));
                continue;
            }
            match root.read_small(&path, MAX_FILE) {
                Some(data) => {
                    let shown = path.relative().to_string_lossy().into_owned();
                    let mtime = meta.modified().ok().map(DateTime::<Utc>::from);
                    self.keep(
                        host,
                        ConfFile {
                            shown,
                            data,
                            mtime,
                            mtime_recorded: false,
                            sha256: None,
                        },
                    );
                }
                None => self.errors.push((host, "unreadable".into())),
            }
        }
    }

    /// The file at host path `p`.
    pub fn get(&self, p: &str) -> Option<&ConfFile> {
        self.files.get(p)
    }

    /// Files whose host path starts with `prefix`, in path order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a ConfFile)> {
        self.files
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Follows a symbolic link (relative targets from the link's directory), once.
    pub fn follow(&self, p: &str) -> Option<String> {
        let t = self.links.get(p)?;
        let joined = if t.starts_with('/') {
            t.clone()
        } else {
            let parent = HostPath::new(p).parent().display();
            format!("{}/{t}", parent.trim_end_matches('/'))
        };
        // `.` and `..` resolved by name (Debian's `/etc/mail/aliases -> ../aliases`).
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        Some(format!("/{}", parts.join("/")))
    }
}

/// Splits text into lines numbered from 1.
pub fn numbered(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l))
}
