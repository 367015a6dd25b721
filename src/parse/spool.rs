//! Copies of a bundle archive's log entries, so that they can be read in time order like
//! files on disk (an archive is read in one pass, in archive order, newest rotation first).
//!
//! Each entry is copied, as stored (compressed or not), to a nameless scratch file
//! ([`crate::evidence::scratch`]): nothing is left in `$TMPDIR` when the run ends, whether it
//! finishes, fails, is interrupted or killed. The copies are bounded by a [`Budget`]: the
//! free space of `$TMPDIR` less a reserve, so a small archive that inflates to gigabytes never
//! fills the analyst's disk — an archive that does not fit is refused here and read in place.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use super::input::{LogFile, Origin};

/// Bytes the scratch copies may still take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: u64,
}

impl Budget {
    /// The free space of `$TMPDIR` less a reserve: 1 GiB or a tenth of its file system,
    /// whichever is more (0 if it cannot be told).
    pub fn of_temp_dir() -> Budget {
        Budget {
            left: free_space(&std::env::temp_dir()).map_or(0, |(free, total)| {
                free.saturating_sub((1 << 30).max(total / 10))
            }),
        }
    }

    /// A budget of `bytes`.
    #[cfg(test)]
    pub fn of(bytes: u64) -> Budget {
        Budget { left: bytes }
    }

    /// Takes `bytes` from the budget, if they are left.
    pub fn spend(&mut self, bytes: u64) -> bool {
        let ok = bytes <= self.left;
        if ok {
            self.left -= bytes;
        }
        ok
    }
}

/// Free bytes for an unprivileged user, and the size, of the file system holding `dir`.
fn free_space(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `s` a valid statvfs to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let unit = s.f_frsize as u64;
    Some((s.f_bavail as u64 * unit, s.f_blocks as u64 * unit))
}

/// Copies the entries of `bundle` named by `files` to scratch files, within `budget`; the
/// files returned read the copies. Fails, copying nothing more, when the manifest's sizes or
/// the bytes themselves would pass the budget, or an entry is missing.
pub fn copy(bundle: &Path, files: &[LogFile], budget: &mut Budget) -> io::Result<Vec<LogFile>> {
    let recorded: u64 = files.iter().filter_map(|f| f.size).sum();
    if recorded > budget.left {
        return Err(no_room(recorded, budget.left));
    }
    let mut copied: Vec<Option<LogFile>> = vec![None; files.len()];
    let mut failure: Option<io::Error> = None;
    crate::evidence::reader::for_each_entry(bundle, |name, _, r| {
        if failure.is_some() {
            return;
        }
        let Some(i) = files.iter().position(|f| f.path == name) else {
            return;
        };
        match copy_one(r, budget) {
            Ok(f) => {
                copied[i] = Some(LogFile {
                    origin: Origin::Scratch(Arc::new(f)),
                    ..files[i].clone()
                })
            }
            Err(e) => failure = Some(e),
        }
    })
    .map_err(|e| io::Error::other(e.to_string()))?;
    if let Some(e) = failure {
        return Err(e);
    }
    copied
        .into_iter()
        .map(|f| f.ok_or_else(|| io::Error::other("an entry was not in the archive")))
        .collect()
}

/// Copies one entry to a new scratch file, within `budget`.
fn copy_one(r: &mut dyn Read, budget: &mut Budget) -> io::Result<std::fs::File> {
    let f = crate::evidence::scratch::anonymous()?;
    let mut w = io::BufWriter::with_capacity(1 << 20, f);
    let n = io::copy(&mut r.take(budget.left.saturating_add(1)), &mut w)?;
    if n > budget.left {
        return Err(no_room(n, budget.left));
    }
    budget.left -= n;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())
}

fn no_room(want: u64, left: u64) -> io::Error {
    io::Error::other(format!(
        "its logs need {} MiB of scratch space, {} MiB may be used in $TMPDIR",
        want.div_ceil(1 << 20),
        left >> 20
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_past_the_budget_is_refused_and_takes_nothing() {
        let mut b = Budget::of(10);
        let f = copy_one(&mut &b"0123456789"[..], &mut b).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 10);
        assert_eq!(b.left, 0);
        let e = copy_one(&mut &b"x"[..], &mut b).unwrap_err();
        assert!(e.to_string().contains("scratch space"), "{e}");
    }
}
