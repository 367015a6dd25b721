//! The one seam to the operating system: everything that differs between a Linux mail server
//! and a Windows (Exchange) host lives below this module, and nowhere else.
//!
//! What it owns, with the same API on both (`unix.rs` on Linux and other Unixes, `windows.rs` on
//! Windows; exactly one is compiled):
//!
//! - `Root`: opening the collected root and its files read-only, never following a link (or,
//!   on Windows, a reparse point) out of it. On Linux: `openat2` with `RESOLVE_IN_ROOT`,
//!   `O_NOATIME`, `O_NOFOLLOW`, `O_NONBLOCK` (see `unix.rs`). On Windows: shared
//!   read|write|delete (a log being written is still read), `FILE_FLAG_OPEN_REPARSE_POINT`, and
//!   the opened handle's final path checked to lie inside the root.
//! - How host paths map: `Root::real` gives the real path of a `HostPath`, `os_bytes` the
//!   host-path bytes of a real name, `Root::host_path_of` the host path of a real path. On
//!   Linux a host path is the path as seen from the root (`/var/log/mail.log`). On Windows it is
//!   the path below the collected drive with `/` separators and without the drive
//!   (`C:\Program Files\Microsoft` is `/Program Files/Microsoft`; the drive is custody's
//!   `root`), so a Windows bundle stores `files/Program Files/Microsoft/…`, names that verify on
//!   Linux as on Windows.
//! - [`FileMeta`]: one file's metadata normalised for the manifest (`meta` from an `lstat`,
//!   `handle_meta` from an open file, which on Windows also knows the file id, the volume
//!   serial, the change time and the allocation).
//! - `anonymous_in`: the nameless scratch file (`O_TMPFILE`; Windows: delete-on-close).
//! - `create_private` / `preallocate`: the bundle writer's reserve file.
//! - `open_nofollow`: a stored file of a directory bundle, opened for `verify`.
//! - `run_as`: who runs the collection (uid/euid; Windows: user name and elevation);
//!   `own_binary`: the collector's own file, hashed for custody (Linux: the mapping that holds
//!   its code, so a start through the dynamic loader names the right file; Windows: the
//!   running executable);
//!   `hostname`: the live host's name where `/proc` has none (Windows: `COMPUTERNAME`).
//! - Commands: `FIXED_PATH`, `find_program`, `isolate`, `kill_tree`, `exit_signal`,
//!   `command_env` — how [`crate::collect::command`] runs a host command with a timeout.
//! - `HOST`: which catalog `collect` takes ([`HostKind::Linux`] mail server or
//!   [`HostKind::Windows`] Exchange host; see `collect/catalog_windows.rs`).
//!
//! `unix_fs.rs` holds the Unix items that need only `std` and `libc` (path bytes, the no-follow
//! open of `verify`), so the bundle-reader fuzz target can include it; `unix.rs` the rest.
//!
//! To port to another system: a third file with the same items, selected below. To add a
//! capability: add it to both files with the same signature, and a line above.

use std::time::SystemTime;

use super::manifest::FileKind;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod unix_fs;
#[cfg(unix)]
pub use unix::*;
#[cfg(unix)]
pub use unix_fs::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;

/// The collector's own executable: what custody records as the binary that collected.
#[derive(Debug, Clone, Default)]
pub struct OwnBinary {
    /// SHA-256 of the file the collector's code was loaded from.
    pub sha256: Option<String>,
    /// Its path.
    pub path: Option<String>,
    /// The dynamic loader, when the kernel executed it rather than the collector.
    pub loader: Option<crate::evidence::custody::Loader>,
}

/// Which kind of host the running binary collects from (decides the catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A Unix mail server (Postfix, Exim, Dovecot …): `collect/catalog.rs`.
    Linux,
    /// A Windows Exchange server: `collect/catalog_windows.rs`.
    Windows,
}

/// One file's metadata as the manifest records it; `None` where the system does not say.
///
/// Times are `(seconds, nanoseconds)` since the Unix epoch. On Linux every field is filled
/// from `lstat`/`fstat`. On Windows `mtime`/`atime`/`btime` and `attributes` come from any
/// metadata; `ctime` (the NTFS change time), `inode` (the file id), `dev` (the volume serial
/// number) and `allocated` only from an open handle (`handle_meta`); `mode`, `uid` and `gid`
/// stay `None` (the owner is a SID, not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// What kind of object (a reparse point is a [`FileKind::Symlink`] on Windows).
    pub kind: Option<FileKind>,
    /// Size in bytes.
    pub len: u64,
    /// Last modification.
    pub mtime: Option<(i64, i64)>,
    /// Last status (metadata) change.
    pub ctime: Option<(i64, i64)>,
    /// Last access.
    pub atime: Option<(i64, i64)>,
    /// Birth (creation) time.
    pub btime: Option<SystemTime>,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: Option<u32>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// Owner gid.
    pub gid: Option<u32>,
    /// Inode number (Windows: the 64-bit file index).
    pub inode: Option<u64>,
    /// Device (Windows: the volume serial number).
    pub dev: Option<u64>,
    /// Bytes allocated on disk.
    pub allocated: Option<u64>,
    /// Windows file attributes (`FILE_ATTRIBUTE_*`); `None` on Linux.
    pub attributes: Option<u32>,
}

/// The name a component that cannot be joined safely maps to on Windows (`<` and `>` are
/// never valid in a Windows file name, so nothing can be opened there).
pub(crate) const UNNAMEABLE: &str = "<unnameable>";

/// A Windows link or junction target (already `/`-separated bytes) in host-path form: the
/// `\\?\`, `\??\` and `\\.\` prefixes are dropped; a target on the collected drive
/// (`own_drive`, lower-case letter), or on any drive of a non-live root (an image is its own
/// system drive), becomes root-absolute (`C:/x` → `/x`); one on another drive or a network
/// share is put under `/<unnameable>/`, which no open reaches; a relative one is kept.
#[cfg_attr(unix, allow(dead_code))]
pub(crate) fn windows_link_target(raw: &[u8], own_drive: Option<u8>, live: bool) -> Vec<u8> {
    let mut t = raw.to_vec();
    for prefix in [&b"//?/"[..], b"/??/", b"//./"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.to_vec();
        }
    }
    let far = |rest: &[u8]| {
        let mut v = format!("/{UNNAMEABLE}/").into_bytes();
        let start = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
        v.extend_from_slice(&rest[start..]);
        v
    };
    if t.len() >= 2 && t[1] == b':' && t[0].is_ascii_alphabetic() {
        let rest = &t[2..];
        if !live || Some(t[0].to_ascii_lowercase()) == own_drive {
            let mut abs = b"/".to_vec();
            abs.extend_from_slice(rest.strip_prefix(b"/").unwrap_or(rest));
            return abs;
        }
        return far(rest);
    }
    if t.starts_with(b"//") || t.starts_with(b"UNC/") {
        return far(&t);
    }
    t
}

/// Whether the lower-cased Windows path `inner` is `outer` or lies below it.
#[cfg_attr(unix, allow(dead_code))]
pub(crate) fn path_inside(outer: &str, inner: &str) -> bool {
    let outer = outer.trim_end_matches('\\');
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('\\'))
}

/// A FILETIME (100 ns ticks since 1601) as `(seconds, nanoseconds)` since 1970; `None` for 0.
#[cfg_attr(unix, allow(dead_code))]
pub(crate) fn filetime(ticks: i64) -> Option<(i64, i64)> {
    const EPOCH_DIFF: i64 = 116_444_736_000_000_000;
    (ticks != 0).then(|| {
        let t = ticks - EPOCH_DIFF;
        (t.div_euclid(10_000_000), t.rem_euclid(10_000_000) * 100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_link_targets_stay_in_the_collected_drive() {
        let t = |raw: &str, live| {
            String::from_utf8(windows_link_target(raw.as_bytes(), Some(b'c'), live)).unwrap()
        };
        // A junction's target as Windows reports it, on the collected drive: re-rooted.
        assert_eq!(t("/??/C:/inetpub/wwwroot", true), "/inetpub/wwwroot");
        assert_eq!(t("C:/Windows/System32", true), "/Windows/System32");
        assert_eq!(t("c:/x", true), "/x");
        // Another drive of a live host, or a share: never reached.
        assert_eq!(t("D:/Exchange/V15", true), "/<unnameable>/Exchange/V15");
        assert_eq!(
            t("//?/UNC/srv/share/x", true),
            "/<unnameable>/UNC/srv/share/x"
        );
        assert_eq!(t("//srv/share", true), "/<unnameable>/srv/share");
        // An image taken with --root is its own system drive, whatever letter a link names.
        assert_eq!(t("D:/Exchange/V15", false), "/Exchange/V15");
        // Relative targets are resolved by the caller, `..` stopping at the root.
        assert_eq!(t("../logs/x.log", true), "../logs/x.log");
    }

    #[test]
    fn final_paths_are_inside_only_below_a_separator() {
        assert!(path_inside("\\\\?\\c:\\", "\\\\?\\c:\\inetpub\\x"));
        assert!(path_inside("\\\\?\\d:\\img", "\\\\?\\d:\\img"));
        assert!(path_inside("\\\\?\\d:\\img", "\\\\?\\d:\\img\\a"));
        assert!(!path_inside("\\\\?\\d:\\img", "\\\\?\\d:\\img2\\a"));
        assert!(!path_inside("\\\\?\\c:\\", "\\\\?\\d:\\x"));
    }

    #[test]
    fn filetimes_convert_to_unix_time() {
        // 2021-03-03T06:49:51.389Z, the ECP sample's first line, as a FILETIME.
        assert_eq!(
            filetime(132_592_277_913_890_000),
            Some((1_614_754_191, 389_000_000))
        );
        assert_eq!(filetime(116_444_736_000_000_000), Some((0, 0)));
        assert_eq!(filetime(116_444_735_999_999_999), Some((-1, 999_999_900)));
        assert_eq!(filetime(0), None);
    }
}
