//! `custody.json`: who collected what, from which host, when, with which binary, and the
//! counts a court or a CERT checks first.
//!
//! The record is written once at the end of `collect`, after the manifest, and carries the
//! manifest's SHA-256 so the two cannot be swapped independently. Secrets are never written
//! here. New fields may be added; existing ones keep their names (see `docs/bundle.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole custody record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Custody {
    /// Version of this record's layout.
    pub format_version: u32,
    /// `--case`.
    pub case_id: Option<String>,
    /// `--examiner`.
    pub examiner: Option<String>,
    /// The collector binary.
    pub collector: Collector,
    /// The exact command line, one argument per element (escaped if not UTF-8).
    pub command_line: Vec<String>,
    /// Uid and effective uid of the collecting process.
    pub run_as: RunAs,
    /// The root collected: `/` for a live host, else the `--root` directory.
    pub root: String,
    /// Whether this was a live collection (volatile state possible).
    pub live: bool,
    /// Host identity.
    pub host: Host,
    /// Clock facts.
    pub clock: Clock,
    /// Options that shaped the collection.
    pub options: Options,
    /// Manifest rows by outcome.
    pub counts: BTreeMap<String, u64>,
    /// Manifest rows by category.
    pub counts_by_category: BTreeMap<String, u64>,
    /// Number of manifest rows.
    pub manifest_rows: u64,
    /// SHA-256 of `manifest.jsonl`.
    pub manifest_sha256: String,
    /// Bytes of evidence content stored.
    pub bytes_stored: u64,
    /// Remarks a reader of the custody record must know (atime, clock, failures).
    pub notes: Vec<String>,
    /// **(extension)** Set when the collection stopped before every planned path was stored
    /// (`null` for a complete one; absent in records written before it).
    #[serde(default)]
    pub incomplete: Option<Incomplete>,
    /// **(extension)** Set when evidence a mail-server collection must hold (mail logs, mail
    /// configuration) was refused to the collector (`null` otherwise; absent in older records).
    #[serde(default)]
    pub shortfall: Option<Shortfall>,
}

/// Evidence that must be readable was refused to the collector (not absent from the host).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shortfall {
    /// Manifest rows of the required categories whose outcome is `denied`.
    pub rows_denied: u64,
    /// Those rows by category.
    pub by_category: BTreeMap<String, u64>,
    /// The first of those paths (the manifest has them all).
    pub paths: Vec<String>,
    /// Likely causes, most likely first (not root, a refused syscall, an access policy).
    pub causes: Vec<String>,
    /// Whether `--allow-partial` accepted it (the run then exits 0).
    pub allowed: bool,
}

/// Why a collection is incomplete.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Incomplete {
    /// `destination_full` (no space or quota left) or `destination_failed` (any other write
    /// error of the destination).
    pub reason: String,
    /// The destination's error as the system reported it.
    pub error: String,
    /// The bundle entry being written when it happened; its partial copy was taken back.
    pub entry: String,
    /// Manifest rows of paths that exist whose content was not stored because of it.
    pub rows_not_stored: u64,
}

/// The collector binary's identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Collector {
    /// `mailir`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// SHA-256 of the collector's own executable file — the file its code was loaded from,
    /// even when it was started through the dynamic loader — if readable.
    pub sha256: Option<String>,
    /// **(extension)** Path of that executable file.
    #[serde(default)]
    pub path: Option<String>,
    /// **(extension)** When the collector was started through the dynamic loader
    /// (`ld-linux-x86-64.so.2 ./mailir`, the way to run a file without execute permission): the loader,
    /// which is what the kernel executed.
    #[serde(default)]
    pub loader: Option<Loader>,
    /// Cargo features compiled in (`analysis` or none for the lean build).
    pub features: Vec<String>,
}

/// The program the kernel executed when it was not the collector itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Loader {
    /// Its path (`/proc/self/exe`).
    pub path: String,
    /// Its SHA-256, if readable.
    pub sha256: Option<String>,
}

/// Who ran the collection (filled by `evidence::platform::run_as`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunAs {
    /// Real uid (`null` on Windows).
    pub uid: Option<u32>,
    /// Effective uid (`null` on Windows).
    pub euid: Option<u32>,
    /// **(extension, Windows)** The account name the collector ran as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// **(extension, Windows)** Whether its token was elevated (run as administrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevated: Option<bool>,
}

/// Host identity facts; each is `null` when it could not be read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Host {
    /// Running hostname (live) or `/etc/hostname` (`--root`).
    pub hostname: Option<String>,
    /// Content of `/etc/hostname` in the collected root.
    pub hostname_file: Option<String>,
    /// `/etc/machine-id`.
    pub machine_id: Option<String>,
    /// `/etc/os-release` key/values.
    pub os_release: BTreeMap<String, String>,
    /// Kernel release (live only).
    pub kernel: Option<String>,
    /// Kernel version string (live only).
    pub kernel_version: Option<String>,
    /// Local addresses with their interface (live only).
    pub ips: Vec<String>,
}

/// Clock facts needed to interpret year-less, zone-less syslog lines.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Clock {
    /// System clock at start (UTC).
    pub start_utc: String,
    /// System clock at end (UTC).
    pub end_utc: String,
    /// Time zone name (from `/etc/timezone` or the `/etc/localtime` link).
    pub local_zone: Option<String>,
    /// Target of the `/etc/localtime` symlink.
    pub localtime_target: Option<String>,
    /// Content of `/etc/timezone`.
    pub timezone_file: Option<String>,
    /// Seconds since boot (live only).
    pub uptime_seconds: Option<f64>,
    /// Boot time (UTC) from `/proc/stat` btime (live only).
    pub boot_time_utc: Option<String>,
}

/// Options that shaped the collection.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Options {
    /// Bundle format: `zip`, `tar.gz` or `dir`.
    pub format: String,
    /// `--since`: rotated logs last written before this were skipped.
    pub since: Option<String>,
    /// `--max-file-size`, if given (else per-category defaults).
    pub max_file_size: Option<u64>,
    /// Whether volatile state was collected.
    pub volatile: bool,
    /// Whether mailbox content was copied.
    pub include_mailboxes: bool,
}
