//! The Linux (Unix) side of the platform seam: the code that was spread over `root.rs`,
//! `scratch.rs`, `writer.rs`, `reader.rs`, `manifest.rs` and `collect/command.rs`, moved here
//! unchanged in behaviour.
//!
//! Files of the root are opened read-only with `O_NOATIME` (dropped silently where the kernel
//! refuses it), `O_NOFOLLOW`, `O_NONBLOCK` (a FIFO swapped in after `lstat` cannot hang us)
//! and, where the kernel has `openat2`, `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` so that a
//! symlink planted between the check and the open fails instead of being followed. Whether
//! `openat2` can be used is decided once, when the root is opened, by opening the root itself
//! through it ([`Root::openat2_refused`]): any refusal — `ENOSYS` on an old kernel, `EPERM`
//! from a container's seccomp profile that does not know the call — switches every open to
//! plain `open` with the same flags, so a refused syscall never turns into files reported as
//! `denied`.

use std::ffi::CString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{FileMeta, HostKind, OwnBinary};
use crate::evidence::custody::RunAs;
use crate::evidence::manifest::FileKind;
use crate::evidence::pathname::HostPath;

/// This build collects a Unix mail server.
pub const HOST: HostKind = HostKind::Linux;

/// The opened root of a collection (or of an export folder).
pub struct Root {
    real: PathBuf,
    live: bool,
    dir: File,
    openat2: AtomicBool,
    /// Why `openat2` is not used, when the probe at open was refused.
    openat2_refused: Option<String>,
}

impl Root {
    /// Opens the root at `real` (`/` for a live collection).
    pub fn open(real: &Path) -> io::Result<Root> {
        let real = fs::canonicalize(real)?;
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&real)?;
        let mut root = Root {
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

    /// Why `openat2` is not used (the probe's error), `None` when it is.
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

    /// The host path of a real absolute path inside the root, if it is inside.
    pub fn host_path_of(&self, abs: &Path) -> Option<HostPath> {
        let rel = abs.strip_prefix(&self.real).ok()?;
        Some(HostPath::from_bytes(rel.as_os_str().as_encoded_bytes()))
    }

    /// The raw target of a symlink, as host-path bytes.
    pub fn read_link(&self, p: &HostPath) -> io::Result<Vec<u8>> {
        Ok(fs::read_link(self.real(p))?.as_os_str().as_bytes().to_vec())
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
        let rel = p.relative();
        let rel = rel.as_os_str().as_bytes();
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
}

/// Classifies an `lstat` result.
pub fn file_kind(meta: &Metadata) -> FileKind {
    let t = meta.file_type();
    if t.is_file() {
        FileKind::File
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_fifo() {
        FileKind::Fifo
    } else if t.is_socket() {
        FileKind::Socket
    } else if t.is_block_device() {
        FileKind::BlockDevice
    } else if t.is_char_device() {
        FileKind::CharDevice
    } else {
        FileKind::Unknown
    }
}

/// The normalised metadata of an `lstat`/`fstat` result.
pub fn meta(meta: &Metadata) -> FileMeta {
    FileMeta {
        kind: Some(file_kind(meta)),
        len: meta.len(),
        mtime: Some((meta.mtime(), meta.mtime_nsec())),
        ctime: Some((meta.ctime(), meta.ctime_nsec())),
        atime: Some((meta.atime(), meta.atime_nsec())),
        btime: meta.created().ok(),
        mode: Some(meta.mode() & 0o7777),
        uid: Some(meta.uid()),
        gid: Some(meta.gid()),
        inode: Some(meta.ino()),
        dev: Some(meta.dev()),
        allocated: Some(meta.blocks().saturating_mul(512)),
        attributes: None,
    }
}

/// The normalised metadata of an open file (`fstat`).
pub fn handle_meta(_file: &File, m: &Metadata) -> FileMeta {
    meta(m)
}

/// `(dev, inode)` of the file at `path` (following links), if it exists.
pub fn file_id(path: &Path) -> Option<(u64, u64)> {
    let m = fs::metadata(path).ok()?;
    m.is_file().then(|| (m.dev(), m.ino()))
}

/// A new, empty read-write file in `dir` that no path names: `O_TMPFILE`, or where the file
/// system cannot, a fresh random name unlinked at once.
pub fn anonymous_in(dir: &Path) -> io::Result<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
    {
        Ok(f) => Ok(f),
        // Not every file system knows O_TMPFILE: a named file, unlinked before any write.
        Err(_) => {
            let mut tries = 0;
            loop {
                let name = dir.join(format!(
                    ".mailir-scratch-{}-{:x}",
                    std::process::id(),
                    crate::evidence::scratch::nonce()
                ));
                match OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&name)
                {
                    Ok(f) => {
                        std::fs::remove_file(&name)?;
                        return Ok(f);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// Creates a new file only the owner can read, never through a link (the reserve).
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Has the file system really set `size` bytes aside for `f` (`posix_fallocate`).
pub fn preallocate(f: &File, size: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(size).map_err(io::Error::other)?;
    loop {
        // SAFETY: the descriptor belongs to `f`, open for writing; no memory is passed.
        match unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, len) } {
            0 => return Ok(()),
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Who runs the collection: real and effective uid.
pub fn run_as() -> RunAs {
    // SAFETY: getuid/geteuid cannot fail and touch no memory.
    unsafe {
        RunAs {
            uid: Some(libc::getuid()),
            euid: Some(libc::geteuid()),
            user: None,
            elevated: None,
        }
    }
}

/// Identifies and hashes the running collector. Normally `/proc/self/exe` is the collector;
/// started as `ld-linux-x86-64.so.2 ./mailir` (a file without execute permission) it is the loader, so the
/// file is found instead in `/proc/self/maps` as the mapping that holds this very function,
/// hashed, and the loader recorded beside it. A deleted file is read through
/// `/proc/self/map_files` (or `/proc/self/exe`), which still reach its content.
pub fn own_binary() -> OwnBinary {
    use crate::evidence::custody::Loader;
    use crate::evidence::pathname::escape;
    use crate::evidence::writer::hash_file;
    let exe = Path::new("/proc/self/exe");
    let exe_path = fs::read_link(exe).ok();
    let mapped = mapped_file_of(own_binary as fn() -> OwnBinary as usize);
    let exe_sha = || hash_file(exe).ok();
    match (&exe_path, mapped) {
        (Some(exe_path), Some((path, range))) if path != *exe_path => {
            let sha = hash_file(&path)
                .or_else(|_| hash_file(&Path::new("/proc/self/map_files").join(range)))
                .ok();
            OwnBinary {
                sha256: sha,
                path: Some(escape(path.as_os_str().as_encoded_bytes())),
                loader: Some(Loader {
                    path: escape(exe_path.as_os_str().as_encoded_bytes()),
                    sha256: exe_sha(),
                }),
            }
        }
        _ => OwnBinary {
            sha256: exe_sha(),
            path: exe_path.map(|p| escape(p.as_os_str().as_encoded_bytes())),
            loader: None,
        },
    }
}

/// The file mapped at `addr` in this process, with its mapping's `start-end` range, from
/// `/proc/self/maps` (`start-end perms offset dev inode path`).
fn mapped_file_of(addr: usize) -> Option<(PathBuf, String)> {
    let maps = fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        let (range, rest) = line.split_once(' ')?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        if !(start..end).contains(&addr) {
            continue;
        }
        // Skip perms, offset, dev and inode; the rest (after padding) is the path.
        let mut tail = rest;
        for _ in 0..4 {
            tail = tail.trim_start().split_once(' ').map_or("", |(_, t)| t);
        }
        let path = tail.trim_start();
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        return path
            .starts_with('/')
            .then(|| (PathBuf::from(path), range.to_string()));
    }
    None
}

/// The running host's name where `/proc` does not give it: never on Linux.
pub fn hostname() -> Option<String> {
    None
}

/// Clock ticks per second for `/proc/<pid>/stat` start times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The only PATH commands are looked up in and run with.
pub const FIXED_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds `program` in [`FIXED_PATH`].
pub fn find_program(program: &str) -> Option<PathBuf> {
    FIXED_PATH
        .split(':')
        .map(|d| PathBuf::from(d).join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file()))
}

/// The whole environment a command gets, and its working directory.
pub fn command_env() -> (Vec<(&'static str, String)>, PathBuf) {
    (
        vec![
            ("PATH", FIXED_PATH.to_string()),
            ("LC_ALL", "C".to_string()),
            ("LANG", "C".to_string()),
        ],
        PathBuf::from("/"),
    )
}

/// Puts the command in its own process group, so a timeout kills all it started.
pub fn isolate(cmd: &mut Command) {
    cmd.process_group(0);
}

/// Kills the child's whole process group.
pub fn kill_tree(child: &mut Child) {
    // SAFETY: kill(2) on the child's own process group; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
}

/// The signal that ended a process, if one did.
pub fn exit_signal(s: &ExitStatus) -> Option<i32> {
    s.signal()
}
