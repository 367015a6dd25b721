//! The Windows side of the platform seam (Exchange hosts). Same items as `unix.rs`.
//!
//! - **Root and path mapping.** The live root is the system drive (`%SystemDrive%\`, `C:\`);
//!   `--root DIR` reads a mounted or copied drive as that host's system drive. A host path is
//!   the path below the root with `/` separators and no drive: `C:\inetpub\wwwroot` is
//!   `/inetpub/wwwroot`, stored as `files/inetpub/wwwroot/…`. A component that Windows would
//!   read as something else (`C:`, `..`, one holding `\`) is never joined as such: it maps to a
//!   name no file can have (`<unnameable>`), so the open fails instead of leaving the root.
//! - **Opening.** Read-only with share read|write|delete (a log Exchange or IIS is writing, and
//!   one it rotates away, can still be read) and `FILE_FLAG_OPEN_REPARSE_POINT`: a symbolic
//!   link, a junction or any other reparse point is opened as itself and refused, never
//!   followed; it gets a `symlink` row with its target like a Unix link ([`file_kind`]). After
//!   the open, the handle's final path (`GetFinalPathNameByHandleW`) must lie inside the root's,
//!   so a junction swapped into a parent folder during the run is not followed out of it.
//!   Windows has no `O_NOATIME`: the read may update the access time (custody says so).
//! - **Metadata.** From any `Metadata`: size, last write (`mtime`), last access (`atime`),
//!   creation (`btime`), attributes. From an open handle in addition: the NTFS change time
//!   (`ctime`, `FileBasicInfo`), the 64-bit file index (`inode`), the volume serial number
//!   (`dev`) and the allocation size (`allocated`). `mode`, `uid` and `gid` are `None`: the owner
//!   is a SID and the rights an ACL, neither read.
//! - **Scratch files**: a random name in `%TEMP%` opened delete-on-close and share-none; the
//!   system removes it when the handle closes, a killed process included.
//! - **Run-as**: the account name (`GetUserNameW`) and whether the token is elevated.
//! - **Commands**: looked up in `%SystemRoot%\System32` only, environment reduced to `PATH`,
//!   `SystemRoot`, `TEMP`/`TMP`, no console window, killed on timeout (the process itself: a
//!   command that starts children of its own should not be put in the table).

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStringExt;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::path::{Component, Path, PathBuf, Prefix};
use std::process::{Child, Command, ExitStatus};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
};
use windows_sys::Win32::Storage::FileSystem::{
    FileBasicInfo, FileStandardInfo, GetFileInformationByHandle, GetFileInformationByHandleEx,
    GetFinalPathNameByHandleW, BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_REPARSE_POINT,
    FILE_ATTRIBUTE_TEMPORARY, FILE_BASIC_INFO, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_FLAG_DELETE_ON_CLOSE, FILE_FLAG_OPEN_REPARSE_POINT, FILE_NAME_NORMALIZED,
    FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_STANDARD_INFO, VOLUME_NAME_DOS,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcessToken, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW,
};
use windows_sys::Win32::System::WindowsProgramming::GetUserNameW;

use super::{
    filetime, path_inside, windows_link_target, FileMeta, HostKind, OwnBinary, UNNAMEABLE,
};
use crate::evidence::custody::RunAs;
use crate::evidence::manifest::FileKind;
use crate::evidence::pathname::HostPath;

/// This build collects a Windows (Exchange) host.
pub const HOST: HostKind = HostKind::Windows;

/// `ERROR_CANT_RESOLVE_FILENAME`: what an open reports when it met a reparse point or would
/// have left the root.
const LINK_REFUSED: i32 = 1921;

/// The opened root of a collection (or of an export folder).
pub struct Root {
    /// The root as a plain path (`C:\`, `D:\image`): joins and display.
    real: PathBuf,
    /// The root's final path, lower-cased (`\\?\c:\`): the containment check.
    final_lower: String,
    live: bool,
}

/// `\\?\C:\x` → `C:\x` (a plain drive path); other verbatim forms are kept.
fn simplify(p: &Path) -> PathBuf {
    let mut comps = p.components();
    if let Some(Component::Prefix(prefix)) = comps.next() {
        if let Prefix::VerbatimDisk(d) = prefix.kind() {
            let mut out = PathBuf::from(format!("{}:\\", d as char));
            for c in comps {
                if let Component::Normal(n) = c {
                    out.push(n);
                }
            }
            return out;
        }
    }
    p.to_path_buf()
}

/// The system drive's root (`%SystemDrive%\`, else `C:\`).
fn system_drive() -> PathBuf {
    let drive = std::env::var("SystemDrive")
        .ok()
        .filter(|d| d.len() == 2 && d.ends_with(':'))
        .unwrap_or_else(|| "C:".to_string());
    PathBuf::from(format!("{drive}\\"))
}

fn lower(p: &Path) -> String {
    p.to_string_lossy().to_lowercase()
}

impl Root {
    /// Opens the root at `real`; `/` (the default) is the system drive.
    pub fn open(real: &Path) -> io::Result<Root> {
        let given = if real == Path::new("/") || real == Path::new("\\") {
            system_drive()
        } else {
            real.to_path_buf()
        };
        let canonical = fs::canonicalize(&given)?;
        if !fs::metadata(&canonical)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", given.display()),
            ));
        }
        let plain = simplify(&canonical);
        let live = lower(&plain) == lower(&simplify(&system_drive()));
        Ok(Root {
            final_lower: lower(&canonical),
            real: plain,
            live,
        })
    }

    /// Always `None`: Windows has no `openat2` (the final-path check stands in for it).
    pub fn openat2_refused(&self) -> Option<&str> {
        None
    }

    /// Whether this is the running system's own system drive.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The real folder the root is read from (`C:\`).
    pub fn real_root(&self) -> &Path {
        &self.real
    }

    /// The real path of a host path (only safe for resolved paths).
    pub fn real(&self, p: &HostPath) -> PathBuf {
        p.under(&self.real)
    }

    /// The host path of a real absolute path inside the root, if it is inside.
    pub fn host_path_of(&self, abs: &Path) -> Option<HostPath> {
        let abs = simplify(abs);
        let rel = abs.strip_prefix(&self.real).ok()?;
        let mut h = HostPath::root();
        for c in rel.components() {
            match c {
                Component::Normal(n) => h = h.join(&os_bytes(n)),
                _ => return None,
            }
        }
        Some(h)
    }

    /// The target of a symbolic link or junction in host-path form (`\` becomes `/`, then
    /// [`super::windows_link_target`]).
    pub fn read_link(&self, p: &HostPath) -> io::Result<Vec<u8>> {
        let target = fs::read_link(self.real(p))?;
        let t: Vec<u8> = os_bytes(target.as_os_str())
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        let own = self
            .real
            .to_string_lossy()
            .as_bytes()
            .first()
            .map(u8::to_ascii_lowercase);
        Ok(windows_link_target(&t, own, self.live))
    }

    /// Opens a resolved regular file for reading, shared read|write|delete, the reparse point
    /// itself rather than its target; refused (as [`became_link`]) when it is a reparse point
    /// or its final path is outside the root. The `bool` is always `false`: no `O_NOATIME`.
    pub fn open_file(&self, p: &HostPath) -> io::Result<(File, bool)> {
        let f = OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(self.real(p))?;
        let m = f.metadata()?;
        if file_kind(&m) == FileKind::Symlink {
            return Err(io::Error::from_raw_os_error(LINK_REFUSED));
        }
        // A final path that cannot be read (some network file systems) is not a refusal.
        if let Ok(fp) = final_path(&f) {
            if !path_inside(&self.final_lower, &lower(&fp)) {
                return Err(io::Error::from_raw_os_error(LINK_REFUSED));
            }
        }
        Ok((f, false))
    }
}

/// The final path of an open handle (`\\?\C:\…`).
fn final_path(f: &File) -> io::Result<PathBuf> {
    let mut buf = vec![0u16; 1024];
    loop {
        // SAFETY: the handle is open for the duration of the call; the buffer is valid for
        // `buf.len()` UTF-16 units and the call writes at most that many.
        let n = unsafe {
            GetFinalPathNameByHandleW(
                f.as_raw_handle() as HANDLE,
                buf.as_mut_ptr(),
                buf.len() as u32,
                FILE_NAME_NORMALIZED | VOLUME_NAME_DOS,
            )
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            return Ok(PathBuf::from(OsString::from_wide(&buf[..n])));
        }
        if n > 1 << 16 {
            return Err(io::Error::other("final path too long"));
        }
        buf.resize(n + 1, 0);
    }
}

/// Whether an open failed because the path is (or became) a reparse point or led out of the
/// root.
pub fn became_link(e: &io::Error) -> bool {
    e.raw_os_error() == Some(LINK_REFUSED)
}

/// The bytes of a real name as a host path holds them (WTF-8: UTF-8 for every valid name).
pub fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    Cow::Borrowed(s.as_encoded_bytes())
}

/// The `OsStr` of host-path bytes. Bytes that are not UTF-8 (a name with an unpaired
/// surrogate) are converted lossily: such a file is listed but cannot be opened again.
pub fn os_str(b: &[u8]) -> Cow<'_, OsStr> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(OsStr::new(s)),
        Err(_) => Cow::Owned(OsString::from(String::from_utf8_lossy(b).into_owned())),
    }
}

/// `root` joined with the host path bytes `p`, one component at a time; a component Windows
/// would read as a drive, a parent or a separator maps to [`UNNAMEABLE`].
pub fn join_under(root: &Path, p: &[u8]) -> PathBuf {
    let mut out = root.to_path_buf();
    for c in p.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if c == b"." || c == b".." || c.contains(&b':') || c.contains(&b'\\') {
            out.push(UNNAMEABLE);
        } else {
            out.push(&*os_str(c));
        }
    }
    out
}

/// Classifies a metadata result: any reparse point (symbolic link, junction, or another
/// kind) is a [`FileKind::Symlink`], never followed.
pub fn file_kind(meta: &Metadata) -> FileKind {
    let t = meta.file_type();
    if t.is_symlink() || meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_file() {
        FileKind::File
    } else {
        FileKind::Unknown
    }
}

/// The normalised metadata of a `Metadata` (what every Windows metadata says).
pub fn meta(meta: &Metadata) -> FileMeta {
    FileMeta {
        kind: Some(file_kind(meta)),
        len: meta.len(),
        mtime: filetime(meta.last_write_time() as i64),
        ctime: None,
        atime: filetime(meta.last_access_time() as i64),
        btime: meta.created().ok(),
        mode: None,
        uid: None,
        gid: None,
        inode: None,
        dev: None,
        allocated: None,
        attributes: Some(meta.file_attributes()),
    }
}

/// The normalised metadata of an open file: [`meta`] plus what only the handle tells (change
/// time, file index, volume serial, allocation).
pub fn handle_meta(file: &File, m: &Metadata) -> FileMeta {
    let mut out = meta(m);
    let h = file.as_raw_handle() as HANDLE;
    // SAFETY: plain-data structures, zero-initialised, filled by calls on a handle that stays
    // open for their duration; each call is given the size of the structure it fills.
    unsafe {
        let mut info: BY_HANDLE_FILE_INFORMATION = std::mem::zeroed();
        if GetFileInformationByHandle(h, &mut info) != 0 {
            out.inode =
                Some((u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow));
            out.dev = Some(u64::from(info.dwVolumeSerialNumber));
        }
        let mut basic: FILE_BASIC_INFO = std::mem::zeroed();
        if GetFileInformationByHandleEx(
            h,
            FileBasicInfo,
            &mut basic as *mut FILE_BASIC_INFO as *mut core::ffi::c_void,
            std::mem::size_of::<FILE_BASIC_INFO>() as u32,
        ) != 0
        {
            out.ctime = filetime(basic.ChangeTime);
        }
        let mut standard: FILE_STANDARD_INFO = std::mem::zeroed();
        if GetFileInformationByHandleEx(
            h,
            FileStandardInfo,
            &mut standard as *mut FILE_STANDARD_INFO as *mut core::ffi::c_void,
            std::mem::size_of::<FILE_STANDARD_INFO>() as u32,
        ) != 0
        {
            out.allocated = u64::try_from(standard.AllocationSize).ok();
        }
    }
    out
}

/// `(volume serial, file index)` of the file at `path`, if it exists and is a file.
pub fn file_id(path: &Path) -> Option<(u64, u64)> {
    let f = OpenOptions::new()
        .access_mode(0)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() {
        return None;
    }
    let h = handle_meta(&f, &m);
    Some((h.dev?, h.inode?))
}

/// A new, empty read-write file in `dir` that the system deletes when its handle closes
/// (delete-on-close, shared with no one).
pub fn anonymous_in(dir: &Path) -> io::Result<File> {
    const GENERIC_READ: u32 = 0x8000_0000;
    const GENERIC_WRITE: u32 = 0x4000_0000;
    const DELETE: u32 = 0x0001_0000;
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
            .access_mode(GENERIC_READ | GENERIC_WRITE | DELETE)
            .share_mode(0)
            .attributes(FILE_ATTRIBUTE_TEMPORARY)
            .custom_flags(FILE_FLAG_DELETE_ON_CLOSE | FILE_FLAG_OPEN_REPARSE_POINT)
            .open(&name)
        {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Creates a new file, never through a reparse point, that can be deleted while open (the
/// bundle writer's reserve).
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Sets `size` bytes aside for `f`: extending a non-sparse NTFS file allocates its clusters.
pub fn preallocate(f: &File, size: u64) -> io::Result<()> {
    if f.metadata()?.len() < size {
        f.set_len(size)?;
    }
    Ok(())
}

/// Opens `real` for reading without following a reparse point; one is refused with
/// `refuse`'s error.
pub fn open_nofollow(real: &Path, refuse: impl Fn(String) -> io::Error) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(real)?;
    if file_kind(&f.metadata()?) == FileKind::Symlink {
        return Err(refuse("a symbolic link or reparse point".into()));
    }
    Ok(f)
}

/// Who runs the collection: the account name and whether the token is elevated (no uid).
/// The running executable, hashed: Windows has no loader to start it through.
pub fn own_binary() -> OwnBinary {
    let exe = std::env::current_exe().ok();
    OwnBinary {
        sha256: exe
            .as_deref()
            .and_then(|p| crate::evidence::writer::hash_file(p).ok()),
        path: exe.map(|p| p.display().to_string()),
        loader: None,
    }
}

pub fn run_as() -> RunAs {
    RunAs {
        uid: None,
        euid: None,
        user: user_name(),
        elevated: elevated(),
    }
}

fn user_name() -> Option<String> {
    let mut buf = vec![0u16; 257];
    let mut len = buf.len() as u32;
    // SAFETY: the buffer is valid for `len` UTF-16 units; the call writes at most that many
    // and sets `len` to the count written, terminating NUL included.
    let ok = unsafe { GetUserNameW(buf.as_mut_ptr(), &mut len) };
    if ok == 0 || len == 0 {
        return std::env::var("USERNAME").ok();
    }
    let n = (len as usize - 1).min(buf.len());
    Some(String::from_utf16_lossy(&buf[..n]))
}

fn elevated() -> Option<bool> {
    // SAFETY: the process pseudo-handle needs no closing; the token handle is closed below;
    // TOKEN_ELEVATION is plain data of the size given.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return None;
        }
        let mut e: TOKEN_ELEVATION = std::mem::zeroed();
        let mut len = 0u32;
        let ok = GetTokenInformation(
            token,
            TokenElevation,
            &mut e as *mut TOKEN_ELEVATION as *mut core::ffi::c_void,
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        );
        CloseHandle(token);
        (ok != 0).then_some(e.TokenIsElevated != 0)
    }
}

/// The running host's NetBIOS name (`COMPUTERNAME`, set by the system for every process).
pub fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Windows has no `/proc` clock ticks; the Linux probes are not run there.
pub fn clock_ticks() -> u64 {
    100
}

/// Where commands are looked up (the `%SystemRoot%\System32` of the running system).
pub const FIXED_PATH: &str = "%SystemRoot%\\System32";

fn system_root() -> PathBuf {
    std::env::var_os("SystemRoot")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("C:\\Windows"))
}

/// Finds `program` (`wevtutil` or `wevtutil.exe`) in `%SystemRoot%\System32`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains(['/', '\\', ':']) {
        return None;
    }
    let dir = system_root().join("System32");
    [program.to_string(), format!("{program}.exe")]
        .into_iter()
        .map(|p| dir.join(p))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file()))
}

/// The whole environment a command gets, and its working directory.
pub fn command_env() -> (Vec<(&'static str, String)>, PathBuf) {
    let root = system_root();
    let sys32 = root.join("System32").display().to_string();
    let temp = std::env::temp_dir().display().to_string();
    (
        vec![
            ("PATH", sys32.clone()),
            ("SystemRoot", root.display().to_string()),
            ("TEMP", temp.clone()),
            ("TMP", temp),
        ],
        PathBuf::from(sys32),
    )
}

/// A new process group and no console window.
pub fn isolate(cmd: &mut Command) {
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

/// Terminates the child (its own children, if any, are not reached).
pub fn kill_tree(child: &mut Child) {
    let _ = child.kill();
}

/// Windows processes end with an exit code, never a signal.
pub fn exit_signal(_s: &ExitStatus) -> Option<i32> {
    None
}
