//! Host files that are never copied as they are: `/etc/shadow`, reduced to its account
//! metadata.
//!
//! `/etc/shadow` holds every account's password hash. Whether an account has a password, is
//! locked, has none at all, which scheme its hash uses and when it was last changed is
//! evidence (a `backup` account given a password, a root password changed during the
//! incident); the hash itself is not, and a bundle carried around an incident must not hold
//! it. So the file is read, the metadata of each line kept ([`ShadowAccount`]), and the
//! hashes dropped: the bundle gets a `skipped` row for `/etc/shadow` (with its `lstat`
//! metadata) and the derived `host/shadow-accounts.jsonl` (source `derived:/etc/shadow`).
//! The parser ([`parse_shadow`], [`shadow_jsonl`]) is pure and public: `hostconf` derives the
//! same bytes from a mounted root, and the host rules read them.
//!
//! To keep more of a line, add a field to [`ShadowAccount`] that is never derived from the
//! second (password) field beyond [`Password`] and [`scheme`].

use std::io::Read;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::evidence::manifest::{rfc3339, Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::{escape, HostPath};
use crate::evidence::root::{HostRoot, ResolveError};

/// The host path read.
pub const SHADOW: &str = "/etc/shadow";
/// The source of the derived row (and the key `hostconf` keeps the derived bytes under).
pub const SHADOW_SOURCE: &str = "derived:/etc/shadow";
/// The bundle entry of the derived account metadata.
pub const SHADOW_STORED: &str = "host/shadow-accounts.jsonl";
/// How the derived entry was made (its row's `exported_by`).
pub const SHADOW_EXPORTED_BY: &str = "mailir: the account fields of /etc/shadow, one JSON object per account; of the password field only whether a hash is set, locked, disabled or empty and its $id$ scheme prefix: the hashes are never stored";
/// Largest `/etc/shadow` read (a real one is a few KiB; a host with a million accounts is
/// still under this).
const SHADOW_CAP: u64 = 64 << 20;

/// The state of an account's password field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Password {
    /// A hash is there: the account can log in with a password.
    Set,
    /// Starts with `!` (`passwd -l`, `usermod -L`, RHEL's `!!` never-set): no password login.
    Locked,
    /// `*` or any other value that is no hash: no password login.
    Disabled,
    /// Empty: login without any password where PAM allows it (`nullok`).
    Empty,
}

/// One line of `/etc/shadow` without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowAccount {
    /// Login name (escaped).
    pub account: String,
    /// The state of the password field.
    pub password: Password,
    /// The `$id$` prefix of the hash (`$6$` SHA-512, `$y$` yescrypt, `$1$` MD5 …), also of a
    /// locked one; `null` without one (DES crypt, `*`, empty). Never more of the hash.
    pub scheme: Option<String>,
    /// Date of the last password change, in days since 1970-01-01 (`0`: change at next login).
    pub last_change_day: Option<i64>,
    /// The same date as `YYYY-MM-DD`.
    pub last_change: Option<String>,
    /// Minimum days between changes.
    pub min: Option<i64>,
    /// Maximum days a password is valid.
    pub max: Option<i64>,
    /// Days after expiry the account is still usable.
    pub inactive: Option<i64>,
    /// Account expiry, in days since 1970-01-01.
    pub expire: Option<i64>,
}

/// The `$id$` prefix of a crypt(3) hash: `$`, 1 to 8 ASCII letters or digits, `$`.
pub fn scheme(hash: &[u8]) -> Option<String> {
    let rest = hash.strip_prefix(b"$")?;
    let end = rest.iter().position(|&b| b == b'$')?;
    let id = &rest[..end];
    (!id.is_empty() && id.len() <= 8 && id.iter().all(u8::is_ascii_alphanumeric))
        .then(|| format!("${}$", String::from_utf8_lossy(id)))
}

/// Whether a password field is a traditional DES (13 characters) or BSDi extended DES
/// (`_` and 19 characters) crypt hash.
fn des_crypt(field: &[u8]) -> bool {
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/';
    (field.len() == 13 && field.iter().all(alphabet))
        || (field.len() == 20 && field[0] == b'_' && field[1..].iter().all(alphabet))
}

/// Classifies a password field; returns the state and the scheme prefix.
fn password(field: &[u8]) -> (Password, Option<String>) {
    if field.is_empty() {
        return (Password::Empty, None);
    }
    if let Some(rest) = field.strip_prefix(b"!") {
        let rest = rest.strip_prefix(b"!").unwrap_or(rest);
        return (Password::Locked, scheme(rest));
    }
    match scheme(field) {
        Some(s) => (Password::Set, Some(s)),
        None if des_crypt(field) => (Password::Set, None),
        None => (Password::Disabled, None),
    }
}

fn number(field: Option<&&[u8]>) -> Option<i64> {
    let f = field?;
    std::str::from_utf8(f).ok()?.trim().parse().ok()
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn day(days: i64) -> Option<String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let d = epoch.checked_add_signed(Duration::try_days(days)?)?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// Parses `/etc/shadow` content. Lines without a `:` (no account field that could be told
/// from a hash), blank lines, comments and NIS `+`/`-` lines are left out.
pub fn parse_shadow(text: &[u8]) -> Vec<ShadowAccount> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() || matches!(line[0], b'#' | b'+' | b'-') {
                return None;
            }
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            if f.len() < 2 || f[0].is_empty() {
                return None;
            }
            let (password, scheme) = password(f[1]);
            let last_change_day = number(f.get(2));
            Some(ShadowAccount {
                account: escape(f[0]),
                password,
                scheme,
                last_change_day,
                last_change: last_change_day.and_then(day),
                min: number(f.get(3)),
                max: number(f.get(4)),
                inactive: number(f.get(6)),
                expire: number(f.get(7)),
            })
        })
        .collect()
}

/// The derived entry: one JSON object per account, a line each.
pub fn shadow_jsonl(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in parse_shadow(text) {
        if let Ok(line) = serde_json::to_vec(&a) {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
    }
    out
}

/// What reading `/etc/shadow` of a root gave: its row (never naming a stored copy) and, when
/// it could be read, the derived bytes with the file's modification time.
pub struct ShadowRead {
    /// The `/etc/shadow` row: `skipped` (read for metadata only), or why it was not read.
    pub row: ManifestRow,
    /// The derived JSON Lines and the file's mtime.
    pub derived: Option<(Vec<u8>, std::time::SystemTime)>,
}

/// Reads `/etc/shadow` in `root` (resolved inside it, opened like any collected file).
pub fn read_shadow(root: &HostRoot) -> ShadowRead {
    let host = HostPath::new(SHADOW);
    let mut row = ManifestRow::new(&host, Category::HostConfig, Outcome::Error);
    let fail = |mut row: ManifestRow, outcome: Outcome, why: Option<String>| {
        row.outcome = outcome;
        row.error = why;
        ShadowRead { row, derived: None }
    };
    let path = match root.resolve(&host) {
        Ok(p) => p,
        Err(ResolveError::Loop) => {
            return fail(row, Outcome::Error, Some("symlink loop".into()));
        }
        Err(ResolveError::Io(e)) => {
            let o = super::plan::outcome_of(&e);
            return fail(row, o, Some(e.to_string()));
        }
    };
    if path != host {
        row.link_target = Some(path.display());
    }
    let meta = match root.lstat(&path) {
        Ok(m) => m,
        Err(e) => {
            let o = super::plan::outcome_of(&e);
            return fail(row, o, (o != Outcome::Missing).then(|| e.to_string()));
        }
    };
    row.set_meta(&meta);
    if !meta.is_file() {
        return fail(
            row,
            Outcome::Special,
            Some("not a regular file; never opened".into()),
        );
    }
    let (file, noatime) = match root.open_file(&path) {
        Ok(f) => f,
        Err(e) => {
            let o = super::plan::outcome_of(&e);
            return fail(row, o, Some(e.to_string()));
        }
    };
    row.noatime = Some(noatime);
    let mut text = Vec::new();
    if let Err(e) = (&file).take(SHADOW_CAP).read_to_end(&mut text) {
        return fail(row, Outcome::Error, Some(format!("read failed: {e}")));
    }
    let jsonl = shadow_jsonl(&text);
    // The buffer that held the hashes is overwritten before it is freed.
    text.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&text);
    let accounts = jsonl.iter().filter(|&&b| b == b'\n').count();
    let mtime = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    row.outcome = Outcome::Skipped;
    row.error = Some(format!(
        "read for its account metadata only, never stored (it holds the password hashes): {accounts} account(s) in {SHADOW_STORED}"
    ));
    ShadowRead {
        row,
        derived: Some((jsonl, mtime)),
    }
}

/// The row of the derived entry, before it is stored (`stored`, `sha256` set by the writer).
pub fn derived_row(bytes: &[u8], mtime: std::time::SystemTime) -> ManifestRow {
    let mut row = ManifestRow::named(
        SHADOW_SOURCE.into(),
        Category::HostConfig,
        Outcome::Collected,
        FileKind::Command,
    );
    row.size = Some(bytes.len() as u64);
    row.mtime = Some(rfc3339(mtime));
    row.exported_by = Some(SHADOW_EXPORTED_BY.into());
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real-format lines: Debian 12's root with yescrypt (`$y$j9T$`, the default of its
    // libpam since bookworm), the system accounts as Debian's base-passwd and adduser write
    // them (`*`, `!`), a locked SHA-512 user, RHEL's `!!` for a password never set, an empty
    // field, an MD5 and a DES crypt hash, and an account with an expiry and inactivity.
    const SHADOW_TEXT: &str = "root:$y$j9T$Yd9Xm1wV3rQh8pZcL0e4n.$Q0m2ZK1oX9pQmJvW4u3t7sR6bYcN8dE5fG2hI1jK0lM:20000:0:99999:7:::
daemon:*:19000:0:99999:7:::
backup:*:19000:0:99999:7:::
systemd-network:!*:19500::::::
alice:!$6$0Gq8/ZxUu1R9sJ2b$3c9T1YkZl9Gm0o5d8M7wq1r2S3t4U5v6W7x8Y9z0A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U.:19800:0:99999:7:::
bob:!!:19900:0:99999:7:::
carol::19950:0:99999:7:::
olddes:aB3dEfGhIjKlM:12000:0:99999:7:30:19000:
md5user:$1$abcdefgh$0123456789ABCDEFGHIJKl:15000:0:99999:7:::
";

    #[test]
    fn shadow_lines_become_metadata_without_hashes() {
        let got = parse_shadow(SHADOW_TEXT.as_bytes());
        let by = |n: &str| got.iter().find(|a| a.account == n).unwrap().clone();
        assert_eq!(got.len(), 9);
        let root = by("root");
        assert_eq!(root.password, Password::Set);
        assert_eq!(root.scheme.as_deref(), Some("$y$"));
        assert_eq!(root.last_change_day, Some(20000));
        assert_eq!(root.last_change.as_deref(), Some("2024-10-04"));
        assert_eq!(
            (root.min, root.max, root.inactive, root.expire),
            (Some(0), Some(99999), None, None)
        );
        assert_eq!(by("daemon").password, Password::Disabled);
        assert_eq!(by("backup").scheme, None);
        assert_eq!(by("systemd-network").password, Password::Locked);
        assert_eq!(
            by("systemd-network").last_change.as_deref(),
            Some("2023-05-23")
        );
        assert_eq!(by("systemd-network").max, None);
        let alice = by("alice");
        assert_eq!(
            (alice.password, alice.scheme.as_deref()),
            (Password::Locked, Some("$6$"))
        );
        assert_eq!(by("bob").password, Password::Locked);
        assert_eq!(by("carol").password, Password::Empty);
        let des = by("olddes");
        assert_eq!((des.password, des.scheme.clone()), (Password::Set, None));
        assert_eq!((des.inactive, des.expire), (Some(30), Some(19000)));
        assert_eq!(by("md5user").scheme.as_deref(), Some("$1$"));
        let jsonl = String::from_utf8(shadow_jsonl(SHADOW_TEXT.as_bytes())).unwrap();
        for hash_part in [
            "Yd9Xm1wV3rQh8pZcL0e4n",
            "0Gq8/ZxUu1R9sJ2b",
            "aB3dEfGhIjKlM",
            "abcdefgh$",
            "j9T",
        ] {
            assert!(!jsonl.contains(hash_part), "{hash_part} leaked: {jsonl}");
        }
        let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "account",
                "password",
                "scheme",
                "last_change_day",
                "last_change",
                "min",
                "max",
                "inactive",
                "expire"
            ]
        );
        assert_eq!(first["password"], "set");
    }

    #[test]
    fn hostile_lines_leak_nothing_and_break_nothing() {
        // A line without a colon is all hash: dropped. A scheme id that is not a short
        // alphanumeric id is not a scheme (nothing of it is copied).
        let text = b"$6$salt$hashwithoutaccount\nx:$6$sa$lt$h:abc:-1:\n\n#c:$6$q$w\n+::::::::\ny\x1b[31m:*:99999999999999999999:::::\n";
        let got = parse_shadow(text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].account, "x");
        assert_eq!(got[0].scheme.as_deref(), Some("$6$"));
        assert_eq!(got[0].last_change_day, None);
        assert_eq!(got[0].min, Some(-1));
        assert_eq!(got[1].account, "y%1B[31m");
        assert_eq!(got[1].last_change_day, None);
        assert_eq!(scheme(b"$/etc/passwd$"), None);
        assert_eq!(scheme(b"$averyverylongid$x"), None);
        assert_eq!(day(i64::MAX), None);
        let out = String::from_utf8(shadow_jsonl(text)).unwrap();
        assert!(
            !out.contains("salt") && !out.contains("hashwithout"),
            "{out}"
        );
    }
}
