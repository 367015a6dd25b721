//! The one seam to the host's bytes: the live root `/` or a mounted image / unpacked tree
//! given with `--root`.
//!
//! All paths are [`HostPath`]s, as seen on the host. Resolution is chroot-like: an absolute
//! symlink target is re-rooted at the collected root and `..` never climbs above it, so no
//! symlink can lead out of the root ([`HostRoot::resolve`]).
//!
//! How a file is opened, how host paths map to real ones and whether the root is the live
//! system are the operating system's business: [`super::platform`] (on Linux read-only with
//! `O_NOATIME`, `O_NOFOLLOW`, `O_NONBLOCK` and, where the kernel allows it, `openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`, probed once at open, see [`HostRoot::openat2_refused`];
//! on Windows shared read|write|delete, never through a reparse point).

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::pathname::HostPath;
use super::platform;

/// Most symlinks followed while resolving one path (as Linux `MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// Why a path could not be resolved inside the root.
#[derive(Debug)]
pub enum ResolveError {
    /// More than [`MAX_HOPS`] links: a loop.
    Loop,
    /// A component is missing or unreadable.
    Io(io::Error),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Loop => write!(f, "too many levels of symbolic links (loop)"),
            ResolveError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The collected root.
pub struct HostRoot {
    os: platform::Root,
}

impl HostRoot {
    /// Opens the root at `real` (`/` for a live collection; on Windows the system drive).
    pub fn open(real: &Path) -> io::Result<HostRoot> {
        Ok(HostRoot {
            os: platform::Root::open(real)?,
        })
    }

    /// Why the kernel's `openat2` (symlink-proof opens) is not used on this host: the error the
    /// probe at [`HostRoot::open`] got. `None` when it is used (and always on Windows).
    pub fn openat2_refused(&self) -> Option<&str> {
        self.os.openat2_refused()
    }

    /// Whether this is the running system's own root.
    pub fn is_live(&self) -> bool {
        self.os.is_live()
    }

    /// The real directory the root is read from.
    pub fn real_root(&self) -> &Path {
        self.os.real_root()
    }

    /// The real path of a host path (only safe for resolved paths).
    pub fn real(&self, p: &HostPath) -> PathBuf {
        self.os.real(p)
    }

    /// The host path of a real absolute path, when it lies inside the root.
    pub fn host_path_of(&self, abs: &Path) -> Option<HostPath> {
        self.os.host_path_of(abs)
    }

    /// `lstat` of a resolved host path.
    pub fn lstat(&self, p: &HostPath) -> io::Result<Metadata> {
        fs::symlink_metadata(self.real(p))
    }

    /// The raw target of a symlink (on Windows: of a reparse point, in host-path form).
    pub fn read_link(&self, p: &HostPath) -> io::Result<Vec<u8>> {
        self.os.read_link(p)
    }

    /// Resolves every symlink in `p` inside the root (chroot semantics). A missing last
    /// component is not an error: the result names where the file would be.
    pub fn resolve(&self, p: &HostPath) -> Result<HostPath, ResolveError> {
        let mut todo: Vec<Vec<u8>> = components(p.as_bytes());
        todo.reverse();
        let mut cur = HostPath::root();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c == b".." {
                cur = cur.parent();
                continue;
            }
            let next = cur.join(&c);
            match self.lstat(&next) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Err(ResolveError::Loop);
                    }
                    let target = self.read_link(&next).map_err(ResolveError::Io)?;
                    if target.starts_with(b"/") {
                        cur = HostPath::root();
                    }
                    let mut parts = components(&target);
                    parts.reverse();
                    todo.extend(parts);
                }
                Ok(_) => cur = next,
                Err(e) if e.kind() == io::ErrorKind::NotFound && todo.is_empty() => {
                    return Ok(next)
                }
                Err(e) => return Err(ResolveError::Io(e)),
            }
        }
        Ok(cur)
    }

    /// Opens a resolved regular file for reading; returns whether `O_NOATIME` was honoured
    /// (always `false` on Windows, which has no such flag).
    pub fn open_file(&self, p: &HostPath) -> io::Result<(File, bool)> {
        self.os.open_file(p)
    }

    /// Reads up to `cap` bytes of a small file after resolving it in the root (configs,
    /// passwd). `None` when it is absent, not a regular file, or unreadable.
    pub fn read_small(&self, p: &HostPath, cap: u64) -> Option<Vec<u8>> {
        let p = self.resolve(p).ok()?;
        if !self.lstat(&p).ok()?.file_type().is_file() {
            return None;
        }
        let (f, _) = self.open_file(&p).ok()?;
        let mut buf = Vec::new();
        f.take(cap).read_to_end(&mut buf).ok()?;
        Some(buf)
    }
}

fn components(p: &[u8]) -> Vec<Vec<u8>> {
    p.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::create_dir_all(r.join("usr/share/zoneinfo/Europe")).unwrap();
        fs::write(r.join("usr/share/zoneinfo/Europe/Berlin"), b"TZif").unwrap();
        symlink("/usr/share/zoneinfo/Europe/Berlin", r.join("etc/localtime")).unwrap();
        symlink("../../../../../../etc/shadow", r.join("etc/escape")).unwrap();
        symlink("loop2", r.join("etc/loop1")).unwrap();
        symlink("loop1", r.join("etc/loop2")).unwrap();
        let root = HostRoot::open(r).unwrap();
        assert!(!root.is_live());
        assert_eq!(
            root.resolve(&HostPath::new("/etc/localtime")).unwrap(),
            HostPath::new("/usr/share/zoneinfo/Europe/Berlin")
        );
        // `..` stops at the root: the host's /etc/shadow is never reached.
        assert_eq!(
            root.resolve(&HostPath::new("/etc/escape")).unwrap(),
            HostPath::new("/etc/shadow")
        );
        assert!(root
            .read_small(&HostPath::new("/etc/escape"), 100)
            .is_none());
        assert!(matches!(
            root.resolve(&HostPath::new("/etc/loop1")),
            Err(ResolveError::Loop)
        ));
        assert_eq!(
            root.read_small(&HostPath::new("/etc/localtime"), 100)
                .unwrap(),
            b"TZif"
        );
        // A final-component symlink is refused by the open itself.
        assert!(root.open_file(&HostPath::new("/etc/localtime")).is_err());
    }
}
