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
//! - `run_as`: who runs the collection (uid/euid; Windows: user name and elevation).
//! - Commands: `FIXED_PATH`, `find_program`, `isolate`, `kill_tree`, `exit_signal`,
//!   `command_env` — how [`crate::collect::command`] runs a host command with a timeout.
//! - `HOST`: which catalog `collect` takes ([`HostKind::Linux`] mail server or
//!   [`HostKind::Windows`] Exchange host; see `collect/catalog_windows.rs`).
//!
//! To port to another system: a third file with the same items, selected below. To add a
//! capability: add it to both files with the same signature, and a line above.

use std::time::SystemTime;

use super::manifest::FileKind;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;

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
