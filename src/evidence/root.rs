//! The one seam to the host's bytes: the live root `/` or a mounted image / unpacked tree
//! given with `--root`.
//!
//! All paths are [`HostPath`]s, as seen on the host. Resolution is chroot-like: an absolute
//! symlink target is re-rooted at the collected root and `..` never climbs above it, so no
//! symlink can lead out of the root ([`HostRoot::resolve`]). Files are opened read-only with
//! `O_NOATIME` (dropped silently where the kernel refuses it), `O_NOFOLLOW`, `O_NONBLOCK` (a
//! FIFO swapped in after `lstat` cannot hang us) and, where the kernel has `openat2`,
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` so that a symlink planted between the check and the
//! open fails instead of being followed.
//!
//! Whether `openat2` can be used is decided once, when the root is opened, by opening the root
//! itself through it ([`HostRoot::openat2_refused`]): any refusal — `ENOSYS` on an old kernel,
//! `EPERM` from a container's seccomp profile that does not know the call — switches every open
//! to plain `open` with the same flags, so a refused syscall never turns into files reported
//! as `denied`.

use std::ffi::CString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::pathname::HostPath;

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
    real: PathBuf,
    live: bool,
    dir: File,
    openat2: AtomicBool,
    /// Why `openat2` is not used, when the probe at open was refused.
    openat2_refused: Option<String>,
}

impl HostRoot {
    /// Opens the root at `real` (`/` for a live collection).
    pub fn open(real: &Path) -> io::Result<HostRoot> {
        let real = fs::canonicalize(real)?;
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&real)?;
        let mut root = HostRoot {
            live: real == Path::new("/"),
            real,
            dir,
            openat2: AtomicBool::new(true),
            openat2_refused: None,
        };
        let probe = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        if let Err(e) = root.openat2(&HostPath::root(), probe) {
            root.openat2 = AtomicBool::new(false);
            root.openat2_refused = Some(e.to_string());
        }
        Ok(root)
    }

    /// Why the kernel's `openat2` (symlink-proof opens) is not used on this host: the error the
    /// probe at [`HostRoot::open`] got. `None` when it is used.
    pub fn openat2_refused(&self) -> Option<&str> {
        self.openat2_refused.as_deref()
    }

    /// Whether this is the running system's own root.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The real directory the root is read from.
    pub fn real_root(&self) -> &Path {
        &self.real
    }

    /// The real path of a host path (only safe for resolved paths).
    pub fn real(&self, p: &HostPath) -> PathBuf {
        p.under(&self.real)
    }

    /// `lstat` of a resolved host path.
    pub fn lstat(&self, p: &HostPath) -> io::Result<Metadata> {
        fs::symlink_metadata(self.real(p))
    }

    /// The raw target of a symlink.
    pub fn read_link(&self, p: &HostPath) -> io::Result<Vec<u8>> {
        Ok(fs::read_link(self.real(p))?.as_os_str().as_bytes().to_vec())
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

    /// Opens a resolved regular file for reading; returns whether `O_NOATIME` was honoured.
    pub fn open_file(&self, p: &HostPath) -> io::Result<(File, bool)> {
        match self.open_flags(p, true) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                Ok((self.open_flags(p, false)?, false))
            }
            other => other.map(|f| (f, true)),
        }
    }

    fn open_flags(&self, p: &HostPath, noatime: bool) -> io::Result<File> {
        let mut flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        if noatime {
            flags |= libc::O_NOATIME;
        }
        if self.openat2.load(Ordering::Relaxed) {
            match self.openat2(p, flags) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    self.openat2.store(false, Ordering::Relaxed)
                }
                other => return other,
            }
        }
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags & !libc::O_RDONLY)
            .open(self.real(p))
    }

    fn openat2(&self, p: &HostPath, flags: libc::c_int) -> io::Result<File> {
        let rel = p.relative().as_os_str().as_bytes();
        let rel = if rel.is_empty() { &b"."[..] } else { rel };
        let c = CString::new(rel)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: `open_how` is plain data, zero-initialised then filled; the syscall reads it
        // and the path, both valid for the call; a returned fd is owned by the new File.
        unsafe {
            let mut how: libc::open_how = std::mem::zeroed();
            how.flags = flags as u64;
            how.resolve =
                libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
            let fd = libc::syscall(
                libc::SYS_openat2,
                self.dir.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(File::from_raw_fd(fd as libc::c_int))
        }
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
