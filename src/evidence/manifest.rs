//! The manifest row: one per path considered, in collection order (`manifest.jsonl`).
//!
//! The contract fields (`source`, `stored`, `category`, `outcome`, `size`, `sha256`, times,
//! `mode`, `uid`, `gid`, `inode`, `error`) are always present, `null` when they do not apply.
//! mailir adds `source_hex`, `file_type`, `link_target`, `secret`, `noatime`, `dev` and the
//! optional `allocated`, `attributes`, `exported_by`, `malware_sample` (documented in
//! `docs/bundle.md`). To add a category or an outcome, add a variant here and a
//! line to `docs/bundle.md`; never rename one, bundles already written use the old names.

use std::fs::Metadata;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::pathname::HostPath;
use super::platform::{self, FileMeta};

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Content stored and hashed.
    Collected,
    /// The path (or a pattern) matched nothing.
    Missing,
    /// Permission refused.
    Denied,
    /// Over the size cap of its category: metadata only.
    TooLarge,
    /// FIFO, socket or device: never opened.
    Special,
    /// Size, mtime, ctime or inode changed while it was read; what was read is stored.
    ChangedDuringRead,
    /// Any other failure (the `error` field says which).
    Error,
    /// A symbolic link, recorded with its target; the target gets a row of its own.
    Symlink,
    /// A directory that was walked; its metadata is recorded.
    Listed,
    /// Deliberately not taken (`--since`, the bundle being written, mailbox content by
    /// default); the `error` field says why.
    Skipped,
    /// **(extension)** Not stored because the bundle's destination ran out of space (or
    /// quota) during the collection: this file's partial copy was taken back, or copying had
    /// stopped before it. The `error` field names the failure; metadata is still recorded.
    DestinationFull,
}

impl Outcome {
    /// Every outcome, in the order counts are reported.
    pub const ALL: [Outcome; 11] = [
        Outcome::Collected,
        Outcome::ChangedDuringRead,
        Outcome::Missing,
        Outcome::Denied,
        Outcome::TooLarge,
        Outcome::Special,
        Outcome::Error,
        Outcome::Symlink,
        Outcome::Listed,
        Outcome::Skipped,
        Outcome::DestinationFull,
    ];

    /// The snake-case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Collected => "collected",
            Outcome::Missing => "missing",
            Outcome::Denied => "denied",
            Outcome::TooLarge => "too_large",
            Outcome::Special => "special",
            Outcome::ChangedDuringRead => "changed_during_read",
            Outcome::Error => "error",
            Outcome::Symlink => "symlink",
            Outcome::Listed => "listed",
            Outcome::Skipped => "skipped",
            Outcome::DestinationFull => "destination_full",
        }
    }

    /// Whether the path exists and its content was not stored (refused, too large, a special
    /// file, an error, deliberately skipped, no room left): what a custody account must name.
    pub fn not_collected(self) -> bool {
        matches!(
            self,
            Outcome::Denied
                | Outcome::TooLarge
                | Outcome::Special
                | Outcome::Error
                | Outcome::Skipped
                | Outcome::DestinationFull
        )
    }

    /// Whether a row with this outcome has content stored in the bundle.
    pub fn has_content(self) -> bool {
        matches!(self, Outcome::Collected | Outcome::ChangedDuringRead)
    }

    /// Whether a row of this outcome may name stored content: those with content, and an
    /// `error` whose read failed part-way (what was read is stored, the rest zero-filled, and
    /// the row says so).
    pub fn may_store(self) -> bool {
        self.has_content() || self == Outcome::Error
    }
}

/// What kind of evidence a path is; decides its size cap and its place in the collection order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Process, socket, session, queue and effective-config snapshots; command outputs.
    Volatile,
    /// Mail daemon logs and their rotations (including logs discovered from configs).
    MailLog,
    /// General system logs that carry mail and auth lines (`syslog`, `messages`, `auth.log`).
    SystemLog,
    /// Binary systemd journal files.
    Journal,
    /// wtmp/btmp/lastlog login records.
    LoginRecords,
    /// Mail daemon configuration, maps (source and compiled), checks, sasl files.
    MailConfig,
    /// System-wide alias files (`/etc/aliases*`, cPanel `valiases`/`vfilters`, qmail aliases).
    Aliases,
    /// Per-user delivery rules: `.forward`, `.procmailrc`, `.mailfilter`, sieve, `.qmail*`.
    UserDelivery,
    /// Crontabs and cron scripts.
    Cron,
    /// Context for analysis: time zone, host identity, accounts, logrotate and rsyslog config.
    Context,
    /// Mailbox content (only with `--include-mailboxes`).
    Mailbox,
    /// A file of an export folder (`collect --exports`): Exchange server logs, Microsoft 365
    /// audit-log and inventory exports, or anything else the responder copied.
    Export,
    /// **(Windows)** A Windows event log: a channel exported with `wevtutil epl` from the live
    /// system (`exported_by` says which), or a raw `.evtx` file under `winevt\Logs`.
    EventLog,
    /// **(Windows)** A file of a web folder where attackers drop web shells (`aspnet_client`,
    /// OWA/ECP `auth`, the HttpProxy and ECP `.aspx` pages): every one stored and hashed.
    WebRoot,
    /// Web server logs (Apache, nginx, Zimbra's proxy): the default folders, every vhost log
    /// the web server configs name, and their rotations.
    WebLog,
    /// Web server configuration (`/etc/nginx`, `/etc/apache2`, `/etc/httpd` and the files
    /// they include).
    WebConfig,
    /// A webmail install's version files, configuration and plugin folders (Roundcube, SOGo,
    /// Horde, SnappyMail / RainLoop, Zimbra).
    WebApp,
    /// **(Linux)** A script file (`.php`, `.jsp`, `.cgi` …) in a web root or webmail install:
    /// stored and hashed up to 2 MiB so web shells can be scanned; larger ones are listed.
    WebScript,
    /// The header file (`-H`) of a message in Exim's queue: envelope, client and headers,
    /// never the body (`-D` files are listed as skipped).
    SpoolHeader,
    /// **(Linux)** The host behind the mail service, where attackers persist: SSH
    /// `authorized_keys` of every account and `sshd_config`, `/etc/ld.so.preload` and
    /// `ld.so.conf.d`, systemd units and timers of every unit directory, sudoers, PAM,
    /// `rc.local`, profile and shell rc files, the `at` spool, and `/etc/shadow` as metadata
    /// only (derived rows, never the hashes).
    HostConfig,
    /// **(Linux)** Shell histories of every account: the commands typed on the host (the
    /// attacker's hands). Flagged secret: a history can hold a password typed on a command line.
    ShellHistory,
}

impl Category {
    /// The snake-case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Category::Volatile => "volatile",
            Category::MailLog => "mail_log",
            Category::SystemLog => "system_log",
            Category::Journal => "journal",
            Category::LoginRecords => "login_records",
            Category::MailConfig => "mail_config",
            Category::Aliases => "aliases",
            Category::UserDelivery => "user_delivery",
            Category::Cron => "cron",
            Category::Context => "context",
            Category::Mailbox => "mailbox",
            Category::Export => "export",
            Category::EventLog => "event_log",
            Category::WebRoot => "web_root",
            Category::WebLog => "web_log",
            Category::WebConfig => "web_config",
            Category::WebApp => "web_app",
            Category::WebScript => "web_script",
            Category::SpoolHeader => "spool_header",
            Category::HostConfig => "host_config",
            Category::ShellHistory => "shell_history",
        }
    }
}

/// The kind of file system object a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Block device.
    BlockDevice,
    /// Character device.
    CharDevice,
    /// A catalog pattern that matched nothing.
    Pattern,
    /// The output of a command or a /proc probe (volatile).
    Command,
    /// Not known (the path could not be examined).
    Unknown,
}

/// Longest manifest line read: a longer one is reported as malformed and skipped, so a
/// hostile manifest cannot make a reader hold more than this of it at once.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Reads `manifest.jsonl` from `r` one line at a time, holding one line at most: `each` gets
/// the 1-based line number and the row, or why the line is not one. Blank lines are skipped.
pub fn for_each_row(
    r: &mut dyn std::io::BufRead,
    mut each: impl FnMut(u64, Result<ManifestRow, String>),
) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let (consumed, over) = read_line(r, &mut line, MAX_ROW_BYTES)?;
        if consumed == 0 {
            return Ok(());
        }
        n += 1;
        if over {
            each(n, Err(format!("longer than {MAX_ROW_BYTES} bytes")));
            continue;
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        each(n, serde_json::from_slice(&line).map_err(|e| e.to_string()));
    }
}

/// Reads one line (with its newline) into `buf`, keeping at most `max` bytes of it: returns
/// the bytes consumed and whether the line was longer than `max` (the rest is skipped).
pub fn read_line(
    r: &mut dyn std::io::BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut consumed, mut over) = (0, false);
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed, over));
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if take > room {
            over = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, over));
        }
    }
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRow {
    /// Host path (escaped when not plain UTF-8), or `volatile:<name>` / a pattern.
    pub source: String,
    /// Raw bytes of the host path as hex, when `source` is escaped.
    pub source_hex: Option<String>,
    /// Name inside the bundle, when content was stored.
    pub stored: Option<String>,
    /// Evidence category.
    pub category: Category,
    /// What happened.
    pub outcome: Outcome,
    /// Kind of object.
    pub file_type: FileKind,
    /// Size in bytes (of the stored content when collected, else from `lstat`).
    pub size: Option<u64>,
    /// SHA-256 of the stored content.
    pub sha256: Option<String>,
    /// Modification time (UTC, RFC 3339, nanoseconds).
    pub mtime: Option<String>,
    /// Status change time.
    pub ctime: Option<String>,
    /// Access time (as found, before the read).
    pub atime: Option<String>,
    /// Birth time where the file system reports it.
    pub btime: Option<String>,
    /// Permission bits in octal (`0644`, `4755`).
    pub mode: Option<String>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// Owner gid.
    pub gid: Option<u32>,
    /// Inode number.
    pub inode: Option<u64>,
    /// Device number of the file system holding it.
    pub dev: Option<u64>,
    /// Symlink target as stored in the link (escaped).
    pub link_target: Option<String>,
    /// The file is known to hold secrets (passwords, private keys, SQL/LDAP credentials).
    pub secret: bool,
    /// Whether the file was opened with `O_NOATIME` (null when it was not opened).
    pub noatime: Option<bool>,
    /// Why the outcome is not `collected`, or a note about the read.
    pub error: Option<String>,
    /// For an export file: the format its first bytes were recognised as
    /// (`exchange_httpproxy`, `m365_ual_csv` …, or `unrecognised`). Absent for host files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognised_as: Option<String>,
    /// **(extension)** Bytes the file system allocated to a regular file (`st_blocks` × 512):
    /// far below `size`, the file is sparse — holes read as zeros, as a `truncate -s` or a
    /// log cut in place leaves them. Absent for anything but regular files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated: Option<u64>,
    /// **(extension)** Windows file attributes (`FILE_ATTRIBUTE_*`) as `0x` and eight hex
    /// digits (`0x00000020` archive, `0x00000400` reparse point …). Absent on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    /// **(extension)** How the stored content was obtained when it is not the file's bytes as
    /// read: `wevtutil epl <channel>` for a Windows event log exported from the live channel.
    /// Absent for files read directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_by: Option<String>,
    /// **(extension)** The stored content is a running process's executable copied through
    /// `/proc/<pid>/exe` because its file was deleted or lives only in memory (`memfd`):
    /// likely malware, handle it as such. Absent (false) for everything else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub malware_sample: bool,
}

impl ManifestRow {
    /// A row for `path` with nothing known yet.
    pub fn new(path: &HostPath, category: Category, outcome: Outcome) -> Self {
        ManifestRow {
            source: path.display(),
            source_hex: path.source_hex(),
            stored: None,
            category,
            outcome,
            file_type: FileKind::Unknown,
            size: None,
            sha256: None,
            mtime: None,
            ctime: None,
            atime: None,
            btime: None,
            mode: None,
            uid: None,
            gid: None,
            inode: None,
            dev: None,
            link_target: None,
            secret: false,
            noatime: None,
            error: None,
            recognised_as: None,
            allocated: None,
            attributes: None,
            exported_by: None,
            malware_sample: false,
        }
    }

    /// A row for something that is not a host path (a volatile output, a pattern).
    pub fn named(source: String, category: Category, outcome: Outcome, kind: FileKind) -> Self {
        let mut row = ManifestRow::new(&HostPath::root(), category, outcome);
        row.source = source;
        row.source_hex = None;
        row.file_type = kind;
        row
    }

    /// Fills the metadata fields from an `lstat`/`fstat` result.
    pub fn set_meta(&mut self, meta: &Metadata) {
        self.set_file_meta(&platform::meta(meta));
    }

    /// Fills the metadata fields from normalised metadata (what the platform knows; the rest
    /// stays `null`, see [`FileMeta`]).
    pub fn set_file_meta(&mut self, m: &FileMeta) {
        let time = |t: Option<(i64, i64)>| t.and_then(|(s, n)| unix_time(s, n));
        self.file_type = m.kind.unwrap_or(FileKind::Unknown);
        self.size = Some(m.len);
        self.mtime = time(m.mtime);
        self.ctime = time(m.ctime);
        self.atime = time(m.atime);
        self.btime = m.btime.map(rfc3339);
        self.mode = m.mode.map(|mode| format!("{mode:04o}"));
        self.uid = m.uid;
        self.gid = m.gid;
        self.inode = m.inode;
        self.dev = m.dev;
        self.allocated = m.allocated.filter(|_| self.file_type == FileKind::File);
        self.attributes = m.attributes.map(|a| format!("0x{a:08x}"));
    }
}

/// Formats a time as RFC 3339 UTC with as many fractional digits as needed.
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Formats seconds + nanoseconds since the epoch (negative seconds allowed).
pub fn unix_time(secs: i64, nsec: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, u32::try_from(nsec).ok()?)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_serializes_with_contract_fields() {
        let mut row = ManifestRow::new(
            &HostPath::new("/etc/postfix/main.cf"),
            Category::MailConfig,
            Outcome::Collected,
        );
        row.size = Some(12);
        let v: serde_json::Value = serde_json::to_value(&row).unwrap();
        for key in [
            "source", "stored", "category", "outcome", "size", "sha256", "mtime", "ctime", "atime",
            "btime", "mode", "uid", "gid", "inode", "error",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["outcome"], "collected");
        assert_eq!(v["category"], "mail_config");
        let back: ManifestRow = serde_json::from_value(v).unwrap();
        assert_eq!(back, row);
    }

    #[test]
    fn rows_are_read_one_line_at_a_time_and_long_lines_refused() {
        let good = serde_json::to_string(&ManifestRow::named(
            "/var/log/mail.log".into(),
            Category::MailLog,
            Outcome::Collected,
            FileKind::File,
        ))
        .unwrap();
        let long = "x".repeat(MAX_ROW_BYTES + 10);
        let text = format!("{good}\n\nnot json\n{long}\n{good}");
        let mut got = Vec::new();
        for_each_row(&mut text.as_bytes(), |n, r| got.push((n, r.is_ok()))).unwrap();
        assert_eq!(got, [(1, true), (3, false), (4, false), (5, true)]);
    }

    #[test]
    fn only_content_and_a_failed_read_may_name_a_stored_copy() {
        assert!(Outcome::Collected.may_store() && Outcome::ChangedDuringRead.may_store());
        // `take` stores what a read that failed part-way got, as `error`.
        assert!(Outcome::Error.may_store() && !Outcome::Error.has_content());
        assert!(!Outcome::Denied.may_store() && !Outcome::DestinationFull.may_store());
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(
            unix_time(1_772_331_247, 0).as_deref(),
            Some("2026-03-01T02:14:07Z")
        );
        assert_eq!(
            unix_time(1_772_331_247, 500_000_000).as_deref(),
            Some("2026-03-01T02:14:07.500Z")
        );
        for o in Outcome::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.name());
        }
    }
}
