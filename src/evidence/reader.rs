//! Reading a bundle in place — zip, gzip tar or directory — with hostile input refused.
//!
//! [`for_each_entry`] visits every stored file once, in container order, handing the caller a
//! reader that yields at most the declared size. Nothing is ever extracted to disk. Before any
//! content is read, names and types are checked: an absolute name, a `..` or `.` component, a
//! backslash, a NUL, a link or device entry, a declared size over [`MAX_ENTRY_SIZE`], a zip
//! entry claiming a compression ratio over [`MAX_RATIO`] on more than [`RATIO_FLOOR`] bytes,
//! or a tar.gz stream inflating past that ratio, makes the whole bundle refused
//! ([`ReadError::Hostile`]). `parse` (issue 3) reuses this to read logs out of bundles.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use thiserror::Error;

use super::format::{BundleFormat, CHUNK};

/// Largest entry size a bundle may declare (1 TiB).
pub const MAX_ENTRY_SIZE: u64 = 1 << 40;
/// Most entries a bundle may hold.
pub const MAX_ENTRIES: usize = 10_000_000;
/// Highest possible inflation ratio. Deflate cannot exceed about 1032:1 (long runs of one
/// byte, e.g. a sparse `lastlog`), so a larger claim is a lie. A genuine 1032:1 stream is not
/// refused: `verify` never extracts, so inflating it costs time, not disk.
pub const MAX_RATIO: u64 = 1_100;
/// Sizes below this are not ratio-checked.
pub const RATIO_FLOOR: u64 = 256 << 20;

/// Why a bundle could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The bundle (or one entry) cannot be opened or read at all.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The bundle or entry.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The bundle carries an entry no bundle written by mailir can have.
    #[error("refusing hostile bundle: entry {entry:?}: {why}")]
    Hostile {
        /// The offending entry name (escaped).
        entry: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Checks one entry name; returns why it is hostile.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.starts_with('/') {
        return Err("absolute path".into());
    }
    if name.contains('\\') {
        return Err("backslash in name".into());
    }
    if name.contains('\0') {
        return Err("NUL in name".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("control character in name".into());
    }
    for comp in name.split('/') {
        if comp == ".." {
            return Err("parent-directory component".into());
        }
        if comp == "." || comp.is_empty() {
            return Err("empty or '.' component".into());
        }
    }
    Ok(())
}

/// Opens the stored file `name` of the directory bundle `base` under the rules `verify`
/// applies: a name [`check_name`] accepts, every folder on the way a real folder (not a
/// symbolic link), and the file itself a regular file — opened without following a link and
/// without blocking on a FIFO, so nothing outside the bundle is read and nothing hangs.
pub fn open_stored(base: &Path, name: &str) -> io::Result<File> {
    let refuse = |why: String| io::Error::other(format!("{name}: {why}"));
    check_name(name).map_err(refuse)?;
    let mut real = base.to_path_buf();
    let parts: Vec<&str> = name.split('/').collect();
    let (last, folders) = parts
        .split_last()
        .ok_or_else(|| refuse("empty name".into()))?;
    for f in folders {
        real.push(f);
        if !std::fs::symlink_metadata(&real)?.file_type().is_dir() {
            return Err(refuse(format!("{f} is not a folder (a symbolic link?)")));
        }
    }
    real.push(last);
    let file = super::platform::open_nofollow(&real, refuse)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(refuse("not a regular file (FIFO, socket or device)".into()));
    }
    Ok(file)
}

fn hostile(entry: &str, why: impl Into<String>) -> ReadError {
    ReadError::Hostile {
        entry: crate::evidence::pathname::escape(entry.as_bytes()),
        why: why.into(),
    }
}

fn io_err(path: impl Into<String>, source: io::Error) -> ReadError {
    ReadError::Io {
        path: path.into(),
        source,
    }
}

/// Visits every stored file of the bundle at `path`. The callback gets the entry name, its
/// declared size and a reader over its content; an error the callback returns for an entry
/// is its own business (it may record it and continue).
pub fn for_each_entry<F>(path: &Path, mut f: F) -> Result<BundleFormat, ReadError>
where
    F: FnMut(&str, u64, &mut dyn Read),
{
    let meta = fs::metadata(path).map_err(|e| io_err(path.display().to_string(), e))?;
    if meta.is_dir() {
        read_dir_bundle(path, &mut f)?;
        return Ok(BundleFormat::Dir);
    }
    match BundleFormat::from_path(path) {
        BundleFormat::Zip => read_zip(path, &mut f).map(|()| BundleFormat::Zip),
        BundleFormat::TarGz => read_tar_gz(path, &mut f).map(|()| BundleFormat::TarGz),
        BundleFormat::Dir => Err(io_err(
            path.display().to_string(),
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a .zip, .tar.gz/.tgz or directory",
            ),
        )),
    }
}

/// Yields at most `limit` bytes and fails if the inner reader has more.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "entry longer than declared",
                )),
            };
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_zip<F>(path: &Path, f: &mut F) -> Result<(), ReadError>
where
    F: FnMut(&str, u64, &mut dyn Read),
{
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| io_err(shown.clone(), e))?;
    let archive_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut zip = zip::ZipArchive::new(BufReader::with_capacity(CHUNK, file))
        .map_err(|e| io_err(shown.clone(), io::Error::new(io::ErrorKind::InvalidData, e)))?;
    if zip.len() > MAX_ENTRIES {
        return Err(hostile("(archive)", format!("{} entries", zip.len())));
    }
    // First pass: metadata only, so a hostile entry anywhere refuses the whole bundle.
    let mut total_compressed = 0u64;
    let mut files = Vec::new();
    let mut indices = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| {
            io_err(
                format!("{shown} entry #{i}"),
                io::Error::new(io::ErrorKind::InvalidData, e),
            )
        })?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        check_name(&name).map_err(|why| hostile(&name, why))?;
        if entry.is_symlink() {
            return Err(hostile(&name, "symbolic link entry"));
        }
        if entry.is_dir() {
            continue;
        }
        if let Some(mode) = entry.unix_mode() {
            let kind = mode & 0o170000;
            if kind != 0 && kind != 0o100000 {
                return Err(hostile(
                    &name,
                    format!("not a regular file (mode {mode:o})"),
                ));
            }
        }
        let (size, csize) = (entry.size(), entry.compressed_size());
        if size > MAX_ENTRY_SIZE {
            return Err(hostile(&name, format!("declared size {size} bytes")));
        }
        if size > RATIO_FLOOR && size / csize.max(1) > MAX_RATIO {
            return Err(hostile(
                &name,
                format!("compression ratio {}:1 (zip bomb)", size / csize.max(1)),
            ));
        }
        total_compressed = total_compressed.saturating_add(csize);
        files.push((name, size));
        indices.push(i);
    }
    if total_compressed > archive_len {
        return Err(hostile(
            "(archive)",
            "entries claim more data than the file holds (overlapping entries)",
        ));
    }
    for (i, (name, size)) in files.into_iter().enumerate() {
        let Some(i) = indices.get(i).copied() else {
            break;
        };
        match zip.by_index(i) {
            Ok(entry) => {
                let mut bounded = Bounded {
                    inner: entry,
                    left: size,
                };
                f(&name, size, &mut bounded);
            }
            Err(e) => {
                let mut failing =
                    FailingReader(Some(io::Error::new(io::ErrorKind::InvalidData, e)));
                f(&name, size, &mut failing);
            }
        }
    }
    Ok(())
}

/// Counts the compressed bytes the gzip decoder consumed.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fails once the inflated stream outgrows the compressed bytes by more than [`MAX_RATIO`].
struct RatioGuard<R> {
    inner: R,
    compressed: Arc<AtomicU64>,
    inflated: u64,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflated += n as u64;
        let c = self.compressed.load(Ordering::Relaxed).max(1);
        if self.inflated > RATIO_FLOOR && self.inflated / c > MAX_RATIO {
            return Err(io::Error::new(io::ErrorKind::InvalidData, BOMB));
        }
        Ok(n)
    }
}

const BOMB: &str = "gzip stream inflates beyond the plausible ratio (gzip bomb)";

fn read_tar_gz<F>(path: &Path, f: &mut F) -> Result<(), ReadError>
where
    F: FnMut(&str, u64, &mut dyn Read),
{
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| io_err(shown.clone(), e))?;
    let compressed = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: BufReader::with_capacity(CHUNK, file),
        count: compressed.clone(),
    };
    let guard = RatioGuard {
        inner: MultiGzDecoder::new(counting),
        compressed,
        inflated: 0,
    };
    let mut archive = tar::Archive::new(guard);
    let entries = archive.entries().map_err(|e| io_err(shown.clone(), e))?;
    let mut last = String::from("(start of archive)");
    let mut count = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| tar_error(&shown, &last, e))?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(hostile("(archive)", "too many entries"));
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_name(&name).map_err(|why| hostile(&name, why))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(hostile(
                &name,
                format!("{kind:?} entry (only regular files are allowed)"),
            ));
        }
        let size = entry.size();
        if size > MAX_ENTRY_SIZE {
            return Err(hostile(&name, format!("declared size {size} bytes")));
        }
        f(&name, size, &mut entry);
        last = name;
    }
    Ok(())
}

fn tar_error(shown: &str, last: &str, e: io::Error) -> ReadError {
    if e.to_string().contains(BOMB) {
        return hostile(last, BOMB);
    }
    io_err(format!("{shown} (after entry {last})"), e)
}

fn read_dir_bundle<F>(base: &Path, f: &mut F) -> Result<(), ReadError>
where
    F: FnMut(&str, u64, &mut dyn Read),
{
    let mut files: Vec<(String, PathBuf, u64)> = Vec::new();
    for item in walkdir::WalkDir::new(base)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
    {
        let item = item.map_err(|e| {
            let p = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            io_err(p, io::Error::other(e.to_string()))
        })?;
        let rel = item.path().strip_prefix(base).unwrap_or(item.path());
        // Entry names use `/` whatever the system's separator (Windows: `\`).
        let mut parts = Vec::new();
        for c in rel.components() {
            match c.as_os_str().to_str() {
                Some(part) => parts.push(part),
                None => return Err(hostile(&rel.to_string_lossy(), "name is not UTF-8")),
            }
        }
        let name = parts.join("/");
        let t = item.file_type();
        if t.is_dir() {
            continue;
        }
        if !t.is_file() {
            return Err(hostile(&name, "not a regular file (link, FIFO or device)"));
        }
        check_name(&name).map_err(|why| hostile(&name, why))?;
        let size = item.metadata().map(|m| m.len()).unwrap_or(0);
        files.push((name, item.path().to_path_buf(), size));
    }
    if files.len() > MAX_ENTRIES {
        return Err(hostile("(directory)", "too many entries"));
    }
    for (name, _, size) in files {
        // Opened again under the rules: the folder may have changed since the walk.
        match open_stored(base, &name) {
            Ok(file) => {
                let mut bounded = Bounded {
                    inner: BufReader::with_capacity(CHUNK, file),
                    left: size,
                };
                f(&name, size, &mut bounded);
            }
            Err(e) => {
                let mut failing = FailingReader(Some(e));
                f(&name, size, &mut failing);
            }
        }
    }
    Ok(())
}

/// Hands an open error to the callback as a read error on that entry.
struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| io::Error::other("unreadable")))
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_are_checked() {
        assert!(check_name("files/etc/postfix/main.cf").is_ok());
        assert!(check_name("files/var/log/mail.log.2.gz").is_ok());
        for bad in [
            "/etc/passwd",
            "files/../../x",
            "a\\b",
            "a//b",
            "./a",
            "",
            "a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
