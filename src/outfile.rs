//! Creating the files the analysis commands write (`--out`, `--unparsed`, a report folder).
//!
//! The output folder may be shared or prepared by someone else, and a file name in it may
//! already be a symbolic link planted to make mailir overwrite another file (`report.md` →
//! `/etc/passwd`). Every output file is therefore opened with `O_NOFOLLOW`: an existing link in
//! the last component is refused with a clear error, never written through. Add any new
//! output file through [`create`] or [`write`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Creates (or truncates) the output file `p`, refusing a symbolic link in its place, and
/// anything there that is not a regular file (a FIFO is opened without blocking, then refused).
pub fn create(p: &Path) -> io::Result<File> {
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(p);
    let r = r.and_then(|f| {
        if !f.metadata()?.file_type().is_file() {
            return Err(io::Error::from_raw_os_error(libc::ENXIO));
        }
        // Truncate only once it is known to be a regular file.
        f.set_len(0)?;
        Ok(f)
    });
    match r {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(io::Error::other(format!(
            "{} is a symbolic link: refusing to write through it (remove it or choose another output)",
            p.display()
        ))),
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Err(io::Error::other(format!(
            "{} is not a regular file (a FIFO, socket or device): refusing to write to it",
            p.display()
        ))),
        other => other,
    }
}

/// Writes `data` to the output file `p` (see [`create`]).
pub fn write(p: &Path, data: &[u8]) -> io::Result<()> {
    create(p)?.write_all(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_refused_and_its_target_untouched() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let out = t.path().join("report.md");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        let e = write(&out, b"report").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        // A dangling link too (it would create the target).
        let dangling = t.path().join("report.json");
        std::os::unix::fs::symlink(t.path().join("new"), &dangling).unwrap();
        assert!(write(&dangling, b"x").is_err());
        assert!(!t.path().join("new").exists());
        // A FIFO is refused at once, not waited on.
        let fifo = t.path().join("timeline.csv");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = write(&fifo, b"x").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // A plain file is replaced.
        let plain = t.path().join("report.html");
        std::fs::write(&plain, "old").unwrap();
        write(&plain, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "new");
    }
}
