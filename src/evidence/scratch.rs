//! Scratch files that leave nothing behind: created in `$TMPDIR` without a name
//! (`O_TMPFILE`), or, where the file system cannot, created under a fresh random name and
//! unlinked at once. Either way the kernel frees the space when the last handle closes —
//! at the end of the run, on an error, on Ctrl-C and on `kill -9` alike. On Windows: a fresh
//! random name opened delete-on-close (`%TEMP%`), removed by the system when the handle
//! closes, a killed process included ([`super::platform`]).
//!
//! Used where a reader must keep more of a hostile bundle than memory should hold (the
//! records `verify` cross-checks). To extend: ask [`anonymous`] for a file, write, then
//! `seek` back and read it.

use std::fs::File;
use std::io;
use std::path::Path;

/// A new, empty read-write file in `$TMPDIR` that no path names.
pub fn anonymous() -> io::Result<File> {
    anonymous_in(&std::env::temp_dir())
}

/// A new, empty read-write file in `dir` that no path names.
pub fn anonymous_in(dir: &Path) -> io::Result<File> {
    super::platform::anonymous_in(dir)
}

/// A value unlikely to repeat: the clock's nanoseconds mixed with a counter.
pub(crate) fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ COUNT
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    #[test]
    fn an_anonymous_file_holds_data_and_no_name() {
        let d = tempfile::tempdir().unwrap();
        let mut f = anonymous_in(d.path()).unwrap();
        f.write_all(b"rows").unwrap();
        f.rewind().unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "rows");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
