//! `/etc/ld.so.preload` read twice: through the C library and with direct system calls.
//!
//! A user-space rootkit loaded from `/etc/ld.so.preload` (the libprocesshider, Azazel,
//! Jynx and bdvl family) lives inside every dynamically linked process, the collector
//! included when it is built against glibc, and hides its own preload file by hooking
//! `open`/`open64`/`openat`, `fopen`, `stat`/`lstat`/`statx` and `readdir`. So on every
//! collection (live or `--root`) this module reads `<root>/etc/ld.so.preload` twice:
//!
//! - **libc**: as every other file is examined, through the standard library (`open64`,
//!   `statx`/`fstat`, `opendir`/`readdir64` for whether `/etc` lists it);
//! - **raw**: `openat`, `fstat`, `read`, `getdents64` and `close` issued as system calls with
//!   inline assembly on x86_64 and aarch64, so no C library function runs — not even a hooked
//!   `syscall()`. Other architectures go through `libc::syscall` (and `fstat`).
//!
//! Both views are written as `host/preload-check.json` (`{"path", "libc": {listed, opened,
//! size, sha256}, "raw": {…}, "differ"}`; source `check:/etc/ld.so.preload`). When the two
//! differ and the raw read got the file, the collector stores the **raw** bytes as the
//! `/etc/ld.so.preload` row, under the entry [`RAW_STORED`] (a name the rootkit does not
//! hide), so a rootkit that hides its preload file from libc does not hide it from the
//! bundle, and says so loudly. The raw read opens nothing by a
//! path that leaves the root: `/etc` is resolved inside the root first, and the file is opened
//! relative to it with `O_NOFOLLOW | O_NONBLOCK`.
//!
//! Tested for real (`tests/host_collect.rs`): a hooking library like the rootkits' is
//! compiled and preloaded into the collector alone with `LD_PRELOAD` (never through this
//! machine's own `/etc/ld.so.preload`).

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::evidence::pathname::{hex, HostPath};
use crate::evidence::root::HostRoot;

/// The host path compared.
pub const PRELOAD: &str = "/etc/ld.so.preload";
/// The file's name in `/etc`.
const NAME: &[u8] = b"ld.so.preload";
/// Source of the check's row.
pub const CHECK_SOURCE: &str = "check:/etc/ld.so.preload";
/// Bundle entry of the check.
pub const CHECK_STORED: &str = "host/preload-check.json";
/// Bundle entry of the file's bytes when the raw read stands for it. Not
/// `files/etc/ld.so.preload`: the rootkit that hides the name from the collector's reads also
/// refuses the collector's own `open` of any path that contains it — a directory bundle's
/// entry `files/etc/ld.so.preload` among them (the test saw exactly that).
pub const RAW_STORED: &str = "host/preload-raw";
/// Most bytes of the file kept in memory (a real one is a line or two); a larger file is still
/// hashed and sized whole.
const KEEP: u64 = 16 << 20;
/// Most directory bytes read from `/etc` by either view (a real `/etc` has a few thousand
/// entries: well under a megabyte).
const DIR_BYTES: usize = 64 << 20;

/// What one way of reading saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct View {
    /// `/etc` lists the name.
    pub listed: bool,
    /// The file was opened as a regular file and read.
    pub opened: bool,
    /// Its size (bytes read).
    pub size: Option<u64>,
    /// SHA-256 of what was read.
    pub sha256: Option<String>,
}

/// Metadata of the file as the raw `fstat` gave it.
#[derive(Debug, Clone, Default)]
pub struct RawMeta {
    /// Permission bits and type.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Inode.
    pub inode: u64,
    /// Device.
    pub dev: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Status change time.
    pub ctime: (i64, i64),
    /// Access time, as found.
    pub atime: (i64, i64),
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Always `/etc/ld.so.preload`.
    pub path: &'static str,
    /// Through the C library.
    pub libc: View,
    /// With direct system calls.
    pub raw: View,
    /// Whether the two views differ in anything.
    pub differ: bool,
    /// The raw read's bytes (when opened and at most 16 MiB).
    #[serde(skip)]
    pub raw_bytes: Option<Vec<u8>>,
    /// The raw `fstat`.
    #[serde(skip)]
    pub raw_meta: Option<RawMeta>,
    /// Whether the raw open honoured `O_NOATIME`.
    #[serde(skip)]
    pub raw_noatime: bool,
    /// What failed on the way (for the row's `error`).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Check {
    /// Whether the raw bytes must stand for the file: the views differ and the raw read got it.
    pub fn raw_wins(&self) -> bool {
        self.differ && self.raw.opened && self.raw_bytes.is_some()
    }
}

/// Reads the file both ways in `root`.
pub fn check(root: &HostRoot) -> Check {
    let mut c = Check {
        path: PRELOAD,
        libc: View::default(),
        raw: View::default(),
        differ: false,
        raw_bytes: None,
        raw_meta: None,
        raw_noatime: false,
        notes: Vec::new(),
    };
    let etc = match root.resolve(&HostPath::new("/etc")) {
        Ok(p) => p,
        Err(e) => {
            c.notes
                .push(format!("/etc cannot be resolved in the root: {e}"));
            return c;
        }
    };
    let real_etc = root.real(&etc);
    c.libc = libc_view(&real_etc, &mut c.notes);
    let (raw, bytes, meta, noatime) = raw_view(&real_etc, &mut c.notes);
    c.raw = raw;
    c.raw_bytes = bytes;
    c.raw_meta = meta;
    c.raw_noatime = noatime;
    c.differ = c.libc != c.raw;
    c
}

/// Hashes and sizes everything `next` yields, keeping at most [`KEEP`] bytes.
fn digest(
    mut next: impl FnMut(&mut [u8]) -> Result<usize, String>,
) -> Result<(u64, String, Option<Vec<u8>>), String> {
    let mut h = Sha256::new();
    let mut kept = Some(Vec::new());
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = next(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
        match &mut kept {
            Some(k) if size <= KEEP => k.extend_from_slice(&buf[..n]),
            _ => kept = None,
        }
    }
    Ok((size, hex(&h.finalize()), kept))
}

fn libc_view(real_etc: &std::path::Path, notes: &mut Vec<String>) -> View {
    let mut v = View::default();
    match std::fs::read_dir(real_etc) {
        Ok(d) => {
            v.listed = d
                .take(DIR_BYTES / 24)
                .flatten()
                .any(|e| e.file_name().as_bytes() == NAME);
        }
        Err(e) => notes.push(format!("libc: /etc not listed: {e}")),
    }
    let path = real_etc.join(std::ffi::OsStr::from_bytes(NAME));
    let open = |noatime: bool| {
        let mut flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        if noatime {
            flags |= libc::O_NOATIME;
        }
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(&path)
    };
    let file = match open(true) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(false),
        other => other,
    };
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return v,
        Err(e) => {
            notes.push(format!("libc: not opened: {e}"));
            return v;
        }
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            notes.push("libc: not a regular file; not read".into());
            return v;
        }
        Err(e) => {
            notes.push(format!("libc: fstat failed: {e}"));
            return v;
        }
    }
    let mut f = &file;
    match digest(|b| f.read(b).map_err(|e| e.to_string())) {
        Ok((size, sha, _)) => {
            v.opened = true;
            v.size = Some(size);
            v.sha256 = Some(sha);
        }
        Err(e) => notes.push(format!("libc: read failed: {e}")),
    }
    v
}

fn raw_view(
    real_etc: &std::path::Path,
    notes: &mut Vec<String>,
) -> (View, Option<Vec<u8>>, Option<RawMeta>, bool) {
    let mut v = View::default();
    let Ok(etc_c) = CString::new(real_etc.as_os_str().as_bytes()) else {
        notes.push("raw: the root's path holds a NUL byte".into());
        return (v, None, None, false);
    };
    let etc = match sys::openat(
        libc::AT_FDCWD,
        &etc_c,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
    ) {
        Ok(fd) => fd,
        Err(e) => {
            notes.push(format!("raw: /etc not opened: {}", errno_text(e)));
            return (v, None, None, false);
        }
    };
    match sys::lists(&etc, NAME) {
        Ok(found) => v.listed = found,
        Err(e) => notes.push(format!("raw: getdents64 failed: {}", errno_text(e))),
    }
    // Opened relative to /etc, never through a link, never waiting on a FIFO.
    let Ok(name) = CString::new(NAME) else {
        return (v, None, None, false);
    };
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let (fd, noatime) = match sys::openat(etc.0, &name, flags | libc::O_NOATIME) {
        Err(libc::EPERM) => (sys::openat(etc.0, &name, flags), false),
        other => (other, true),
    };
    let fd = match fd {
        Ok(fd) => fd,
        Err(libc::ENOENT) => return (v, None, None, false),
        Err(e) => {
            notes.push(format!("raw: not opened: {}", errno_text(e)));
            return (v, None, None, false);
        }
    };
    let meta = match sys::fstat(&fd) {
        Ok(m) => m,
        Err(e) => {
            notes.push(format!("raw: fstat failed: {}", errno_text(e)));
            return (v, None, None, noatime);
        }
    };
    if meta.mode & libc::S_IFMT != libc::S_IFREG {
        notes.push("raw: not a regular file; not read".into());
        return (v, None, Some(meta), noatime);
    }
    match digest(|b| sys::read(&fd, b).map_err(errno_text)) {
        Ok((size, sha, kept)) => {
            v.opened = true;
            v.size = Some(size);
            v.sha256 = Some(sha);
            if kept.is_none() {
                notes.push(format!(
                    "raw: {size} bytes, more than the {KEEP} kept in memory"
                ));
            }
            (v, kept, Some(meta), noatime)
        }
        Err(e) => {
            notes.push(format!("raw: read failed: {e}"));
            (v, None, Some(meta), noatime)
        }
    }
}

fn errno_text(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

/// Direct system calls: no C library function between this code and the kernel.
mod sys {
    use std::ffi::CStr;

    use super::RawMeta;

    /// A file descriptor closed with a direct `close`.
    pub struct Fd(pub i32);

    impl Drop for Fd {
        fn drop(&mut self) {
            // SAFETY: closes a descriptor this value owns; no memory is passed.
            let _ = unsafe { syscall4(libc::SYS_close, self.0 as usize, 0, 0, 0) };
        }
    }

    /// One system call with up to four arguments; returns the kernel's result (`-errno` on
    /// failure).
    ///
    /// SAFETY (callers): the arguments must be what the kernel expects for `nr`: pointers
    /// valid for the sizes passed, for the duration of the call.
    #[cfg(target_arch = "x86_64")]
    unsafe fn syscall4(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        // SAFETY: the x86_64 Linux system call convention: number in rax, arguments in rdi,
        // rsi, rdx, r10; the kernel clobbers rcx and r11 and returns in rax.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                in("r10") d,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    #[cfg(target_arch = "aarch64")]
    unsafe fn syscall4(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 Linux convention: number in x8, arguments in x0..x3, `svc 0`,
        // result in x0.
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") nr,
                inlateout("x0") a as isize => ret,
                in("x1") b,
                in("x2") c,
                in("x3") d,
                options(nostack),
            );
        }
        ret
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    unsafe fn syscall4(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        // SAFETY: forwarded as is; the caller upholds the call's contract.
        let r = unsafe {
            libc::syscall(
                nr,
                a as libc::c_long,
                b as libc::c_long,
                c as libc::c_long,
                d as libc::c_long,
            )
        };
        if r < 0 {
            -(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO) as isize)
        } else {
            r as isize
        }
    }

    fn result(r: isize) -> Result<usize, i32> {
        if r < 0 {
            Err((-r) as i32)
        } else {
            Ok(r as usize)
        }
    }

    /// `openat(dirfd, path, flags)`, retried on `EINTR`.
    pub fn openat(dirfd: i32, path: &CStr, flags: i32) -> Result<Fd, i32> {
        loop {
            // SAFETY: `path` is a NUL-terminated string valid for the call.
            let r = unsafe {
                syscall4(
                    libc::SYS_openat,
                    dirfd as isize as usize,
                    path.as_ptr() as usize,
                    flags as usize,
                    0,
                )
            };
            match result(r) {
                Err(libc::EINTR) => continue,
                other => return other.map(|fd| Fd(fd as i32)),
            }
        }
    }

    /// `read(fd, buf)`, retried on `EINTR`.
    pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
        loop {
            // SAFETY: `buf` is valid for writes of its length for the call.
            let r = unsafe {
                syscall4(
                    libc::SYS_read,
                    fd.0 as usize,
                    buf.as_mut_ptr() as usize,
                    buf.len(),
                    0,
                )
            };
            match result(r) {
                Err(libc::EINTR) => continue,
                other => return other,
            }
        }
    }

    /// Whether the directory `fd` has an entry named `name` (`getdents64`, at most
    /// [`super::DIR_BYTES`] of entries read).
    pub fn lists(fd: &Fd, name: &[u8]) -> Result<bool, i32> {
        let mut buf = vec![0u8; 32 << 10];
        let mut total = 0usize;
        while total < super::DIR_BYTES {
            // SAFETY: `buf` is valid for writes of its length for the call.
            let r = unsafe {
                syscall4(
                    libc::SYS_getdents64,
                    fd.0 as usize,
                    buf.as_mut_ptr() as usize,
                    buf.len(),
                    0,
                )
            };
            let n = match result(r) {
                Err(libc::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(0) => return Ok(false),
                Ok(n) => n.min(buf.len()),
            };
            total += n;
            // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
            let mut off = 0;
            while off + 19 <= n {
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                if reclen < 19 || off + reclen > n {
                    break;
                }
                let raw = &buf[off + 19..off + reclen];
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                if &raw[..end] == name {
                    return Ok(true);
                }
                off += reclen;
            }
        }
        Ok(false)
    }

    /// `fstat(fd)`.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn fstat(fd: &Fd) -> Result<RawMeta, i32> {
        // SAFETY: `struct stat` is plain data; on x86_64 and aarch64 libc's layout is the
        // kernel's, and the buffer is valid for writes of its size for the call.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let r = unsafe {
            syscall4(
                libc::SYS_fstat,
                fd.0 as usize,
                &mut st as *mut libc::stat as usize,
                0,
                0,
            )
        };
        result(r).map(|_| meta(&st))
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub fn fstat(fd: &Fd) -> Result<RawMeta, i32> {
        // SAFETY: as above, through the C library where the kernel's layout is not known here.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO));
        }
        Ok(meta(&st))
    }

    #[allow(clippy::unnecessary_cast)]
    fn meta(st: &libc::stat) -> RawMeta {
        RawMeta {
            mode: st.st_mode as u32,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            inode: st.st_ino as u64,
            dev: st.st_dev as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
            atime: (st.st_atime as i64, st.st_atime_nsec as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_views_agree_on_an_honest_root() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/hostname"), b"mx1\n").unwrap();
        let root = HostRoot::open(t.path()).unwrap();
        let absent = check(&root);
        assert!(
            !absent.differ && !absent.raw.listed && !absent.raw.opened,
            "{absent:?}"
        );
        std::fs::write(t.path().join("etc/ld.so.preload"), b"/usr/lib/libx.so\n").unwrap();
        let c = check(&root);
        assert!(
            c.raw.listed && c.raw.opened && c.libc.listed && c.libc.opened,
            "{c:?}"
        );
        assert_eq!(c.raw.size, Some(17));
        assert_eq!(c.raw.sha256, c.libc.sha256);
        assert!(!c.differ && !c.raw_wins());
        assert_eq!(c.raw_bytes.as_deref(), Some(&b"/usr/lib/libx.so\n"[..]));
        let json = serde_json::to_value(&c).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["path", "libc", "raw", "differ"]);
        // A link is never followed by either view; a FIFO is never read.
        std::fs::remove_file(t.path().join("etc/ld.so.preload")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", t.path().join("etc/ld.so.preload")).unwrap();
        let l = check(&root);
        assert!(
            l.raw.listed && !l.raw.opened && !l.libc.opened && !l.differ,
            "{l:?}"
        );
    }
}
