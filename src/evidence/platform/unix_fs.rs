//! The Linux (Unix) path and open helpers of the platform seam that need nothing but `std` and
//! `libc`: host-path bytes ↔ real names, and the no-follow open `verify` uses on directory
//! bundles. A leaf file so the bundle-reader fuzz target (`fuzz/fuzz_targets/read_bundle.rs`)
//! can include it as it includes `reader.rs` and `pathname.rs`. Re-exported by `platform`.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Whether an open failed because the last component became a link (`ELOOP`).
pub fn became_link(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// The bytes of a real name, as a host path holds them (the raw bytes on Unix).
pub fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    Cow::Borrowed(s.as_bytes())
}

/// The `OsStr` of host-path bytes.
pub fn os_str(b: &[u8]) -> Cow<'_, OsStr> {
    Cow::Borrowed(OsStr::from_bytes(b))
}

/// `root` joined with the host path bytes `p` (which start with `/`).
pub fn join_under(root: &Path, p: &[u8]) -> PathBuf {
    root.join(Path::new(OsStr::from_bytes(p.get(1..).unwrap_or_default())))
}

/// Opens `real` for reading without following a last-component link and without blocking
/// on a FIFO; a link is refused with `refuse`'s error.
pub fn open_nofollow(real: &Path, refuse: impl Fn(String) -> io::Error) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(real)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse("a symbolic link".into()),
            _ => e,
        })
}
