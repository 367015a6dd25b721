//! Streaming bundle writers: zip, gzip tar, or a plain directory.
//!
//! [`BundleWriter`] is the only way content enters a bundle. Every entry is hashed in the same
//! read that copies it: a reader thread pulls the source in 1 MiB chunks and feeds SHA-256,
//! while this thread compresses and writes (two cores busy on big logs). An entry always has
//! exactly the length announced before the read — tar needs it in the header, and it makes a
//! file's hash the same whatever the bundle format: a source that ends early is padded with
//! zeros (and the caller records it), bytes appended after the open are not read. Nothing is
//! staged on disk. `finish` writes `SHA256SUMS` last, then the `PATH.sha256` sidecar.
//!
//! **A full destination.** Room for the closing records (`collect.log`, `manifest.jsonl`,
//! `custody.json`, `SHA256SUMS`, the archive's directory, the sidecar) is reserved before any
//! evidence is copied: a file allocated with `posix_fallocate` in the bundle's folder (a
//! directory bundle: inside it; an archive: beside it), grown as the caller learns how many
//! rows the collection will have ([`BundleWriter::reserve_more`]) and released just before the
//! records are written ([`BundleWriter::release_reserve`]). Every entry is written whole or not
//! at all: when the destination fails part-way (ENOSPC, EDQUOT, EIO …) the sink takes the entry
//! back — a directory bundle deletes the partial file; an archive is cut back to where the entry
//! began (every entry ends at a commit point: a zip entry completed, a tar entry ending on a
//! deflate sync flush) — and the writer refuses further evidence ([`BundleWriter::stopped`]),
//! so the records written afterwards never claim bytes the bundle does not hold.
//!
//! To add a bundle format: a [`Sink`] implementation and a [`BundleFormat`] variant.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use sha2::{Digest, Sha256};

use super::pathname::hex;
use super::sums;

pub use super::format::{BundleFormat, Compress, CHUNK};

/// Why a sink could not add an entry. The entry is not in the container: the sink took back
/// what it had written of it, or `cleanup` says why it could not.
struct Failed {
    /// The destination's error (or the copy's).
    error: io::Error,
    /// Why the partial entry could not be taken back.
    cleanup: Option<io::Error>,
}

impl From<io::Error> for Failed {
    fn from(error: io::Error) -> Failed {
        Failed {
            error,
            cleanup: None,
        }
    }
}

/// One container implementation.
trait Sink: Send {
    /// Adds an entry of exactly `len` bytes read from `data`, whole (on disk, as far as the
    /// file system reports write errors) when it returns `Ok`; on `Err` the entry is not in the
    /// container.
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> Result<(), Failed>;
    /// As [`Sink::add`], from a source that hands its buffers over whole (the pipelined
    /// copy): a sink that can write a buffer as it is overrides this and saves a copy.
    fn add_chunks(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Chunks,
    ) -> Result<(), Failed> {
        self.add(name, len, mtime, data)
    }
    /// Closes the container; returns its SHA-256 when it was computed while writing.
    fn finish(self: Box<Self>) -> io::Result<Option<String>>;
    /// Tests: the archive file refuses writes past `limit` bytes with ENOSPC.
    #[cfg(test)]
    fn fail_past(&mut self, _limit: Option<u64>) {}
}

/// An entry's bytes as whole buffers, as the reader thread filled and hashed them; read as a
/// plain [`Read`] it copies them out instead.
trait Chunks: Read {
    /// The next buffer of the entry; empty at its end.
    fn next_chunk(&mut self) -> &[u8];
}

/// What the read of one source produced.
#[derive(Debug)]
pub struct Stored {
    /// SHA-256 of the stored bytes.
    pub sha256: String,
    /// Bytes read from the source (less than the entry length when it ended early or failed).
    pub source_bytes: u64,
    /// The read error, if the source failed part-way (the rest was zero-padded).
    pub read_error: Option<io::Error>,
    /// The first bytes of the content, for content sniffing (private keys).
    pub head: Vec<u8>,
}

/// The sealed bundle.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// SHA-256 of the archive file (zip, tar.gz) or of `SHA256SUMS` (directory).
    pub sha256: String,
    /// The sidecar written next to the bundle.
    pub sidecar: PathBuf,
    /// The sidecar's line (`<hex>  <name>`).
    pub sidecar_line: String,
}

/// Why the bundle stopped taking evidence: the destination failed while an entry was written.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// The bundle entry being written (it is not in the bundle).
    pub entry: String,
    /// The destination's error as the system reported it.
    pub error: String,
    /// Its kind (`StorageFull`, `QuotaExceeded`: the destination is full).
    pub kind: io::ErrorKind,
    /// Why the partial entry could not be taken back, if it could not.
    pub cleanup_error: Option<String>,
}

impl Stopped {
    /// Whether the destination ran out of space (ENOSPC) or quota (EDQUOT).
    pub fn full(&self) -> bool {
        matches!(
            self.kind,
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        )
    }

    /// `destination_full` or `destination_failed`.
    pub fn reason(&self) -> &'static str {
        if self.full() {
            "destination_full"
        } else {
            "destination_failed"
        }
    }
}

/// Room reserved for the closing records before any evidence: 256 KiB (custody, the log's
/// header, the volatile rows of a live host) ...
pub const RESERVE_BASE: u64 = 256 << 10;
/// ... never more than 1 GiB in all (a million rows).
pub const RESERVE_CAP: u64 = 1 << 30;

/// Bytes the closing records need for one manifest row whose source (escaped) is
/// `source_len` bytes long: 1 KiB for the row's fixed fields and its `collect.log` line, and
/// the name eight times (source, stored name, `source_hex`, the log line, `SHA256SUMS`, the
/// zip directory or a tar long-name header). The sample host's records take about 550 bytes a
/// row, so this is about twice what a typical row needs.
pub fn record_room(source_len: usize) -> u64 {
    1024 + 8 * source_len as u64
}

/// Writes one bundle; see the module doc.
pub struct BundleWriter {
    sink: Box<dyn Sink>,
    format: BundleFormat,
    path: PathBuf,
    sums: Vec<(String, String)>,
    names: HashSet<String>,
    bytes: u64,
    reserve: Option<Reserve>,
    reserve_wanted: u64,
    stopped: Option<Stopped>,
    closing: bool,
}

impl BundleWriter {
    /// Creates the bundle at `path`; refuses to overwrite an existing file or non-empty
    /// directory, and refuses a destination without [`RESERVE_BASE`] bytes free for the
    /// closing records. Archives are compressed with [`Compress::Fast`].
    pub fn create(path: &Path) -> io::Result<BundleWriter> {
        BundleWriter::create_with(path, Compress::Fast)
    }

    /// As [`BundleWriter::create`], compressing an archive's entries as `compress` says (a
    /// directory bundle is never compressed).
    pub fn create_with(path: &Path, compress: Compress) -> io::Result<BundleWriter> {
        let format = BundleFormat::from_path(path);
        let existed = path.exists();
        let sink: Box<dyn Sink> = match format {
            BundleFormat::Zip => Box::new(ZipSink::create(path, compress)?),
            BundleFormat::TarGz => Box::new(TarSink::create(path, compress)?),
            BundleFormat::Dir => Box::new(DirSink::create(path)?),
        };
        let reserve = match Reserve::create(reserve_path(path, format), RESERVE_BASE) {
            Ok(r) => r,
            Err(e) => {
                // Nothing is left behind: the archive, or the folder if this made it.
                drop(sink);
                if format != BundleFormat::Dir {
                    let _ = fs::remove_file(path);
                } else if !existed {
                    let _ = fs::remove_dir(path);
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot reserve {RESERVE_BASE} bytes on the destination for the closing records (manifest, custody): {e}"
                    ),
                ));
            }
        };
        Ok(BundleWriter {
            sink,
            format,
            path: path.to_path_buf(),
            sums: Vec::new(),
            names: HashSet::new(),
            bytes: 0,
            reserve: Some(reserve),
            reserve_wanted: RESERVE_BASE,
            stopped: None,
            closing: false,
        })
    }

    /// The container format.
    pub fn format(&self) -> BundleFormat {
        self.format
    }

    /// Evidence bytes stored so far.
    pub fn bytes_stored(&self) -> u64 {
        self.bytes
    }

    /// Grows the reserve by `bytes` (up to [`RESERVE_CAP`] in all); returns its size. An error
    /// means the destination had no room: the reserve keeps its former size.
    pub fn reserve_more(&mut self, bytes: u64) -> io::Result<u64> {
        self.reserve_wanted = self.reserve_wanted.saturating_add(bytes).min(RESERVE_CAP);
        match &mut self.reserve {
            Some(r) => r.grow(self.reserve_wanted).map(|()| r.size),
            None => Ok(0),
        }
    }

    /// Bytes reserved now.
    pub fn reserved(&self) -> u64 {
        self.reserve.as_ref().map_or(0, |r| r.size)
    }

    /// Frees the reserve for the closing records; from now on entries are accepted again even
    /// after a [`Stopped`] (they are the records, not evidence).
    pub fn release_reserve(&mut self) -> io::Result<()> {
        self.closing = true;
        match self.reserve.take() {
            Some(mut r) => r.release(),
            None => Ok(()),
        }
    }

    /// Set once the destination failed while evidence was written; no evidence is accepted
    /// after it.
    pub fn stopped(&self) -> Option<&Stopped> {
        self.stopped.as_ref()
    }

    fn claim(&mut self, name: &str) -> io::Result<()> {
        if !self.closing {
            if let Some(s) = &self.stopped {
                return Err(io::Error::other(format!(
                    "{name} not written: the bundle destination failed earlier ({})",
                    s.error
                )));
            }
        }
        if !self.names.insert(name.to_string()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("bundle entry {name} written twice"),
            ));
        }
        Ok(())
    }

    /// Records a failed entry; returns the error to hand to the caller.
    fn fail(&mut self, name: &str, f: Failed) -> io::Error {
        self.names.remove(name);
        let kind = f.error.kind();
        let error = f.error.to_string();
        if self.stopped.is_none() {
            self.stopped = Some(Stopped {
                entry: name.to_string(),
                error: error.clone(),
                kind,
                cleanup_error: f.cleanup.as_ref().map(ToString::to_string),
            });
        }
        io::Error::new(
            kind,
            match f.cleanup {
                None => format!("writing {name} into the bundle failed: {error}"),
                Some(c) => format!(
                    "writing {name} into the bundle failed: {error}; its partial copy could not be removed: {c}"
                ),
            },
        )
    }

    /// Stores exactly `len` bytes from `src` as `name`, hashing them in the same read.
    /// Errors returned are errors of the *bundle* (the entry is then not in it, and
    /// [`BundleWriter::stopped`] says why); source errors are in [`Stored`].
    pub fn add_stream(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        src: &mut (dyn Read + Send),
    ) -> io::Result<Stored> {
        self.claim(name)?;
        let stored = if len <= CHUNK as u64 {
            let mut buf = vec![0u8; len as usize];
            let (got, err) = fill(src, &mut buf);
            let sha = hex(&Sha256::digest(&buf));
            self.sink
                .add(name, len, mtime, &mut buf.as_slice())
                .map(|()| Stored {
                    sha256: sha,
                    source_bytes: got as u64,
                    read_error: err,
                    head: buf[..buf.len().min(HEAD)].to_vec(),
                })
        } else {
            pipelined(self.sink.as_mut(), name, len, mtime, src)
        };
        let stored = stored.map_err(|f| self.fail(name, f))?;
        self.sums.push((name.to_string(), stored.sha256.clone()));
        self.bytes += len;
        Ok(stored)
    }

    /// Stores `bytes` as `name`; returns its SHA-256.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8], mtime: SystemTime) -> io::Result<String> {
        self.claim(name)?;
        let sha = hex(&Sha256::digest(bytes));
        self.sink
            .add(name, bytes.len() as u64, mtime, &mut &bytes[..])
            .map_err(|f| self.fail(name, f))?;
        self.sums.push((name.to_string(), sha.clone()));
        Ok(sha)
    }

    /// Writes `SHA256SUMS`, closes the container and writes the `PATH.sha256` sidecar.
    pub fn finish(mut self) -> io::Result<Sealed> {
        self.release_reserve()?;
        let sums_text = sums::render(&self.sums);
        let now = SystemTime::now();
        self.sink
            .add(
                "SHA256SUMS",
                sums_text.len() as u64,
                now,
                &mut sums_text.as_bytes(),
            )
            .map_err(|f| f.error)?;
        let streamed = self.sink.finish()?;
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bundle".to_string());
        let (sha, line_name) = match self.format {
            BundleFormat::Dir => (
                hex(&Sha256::digest(sums_text.as_bytes())),
                format!("{file_name}/SHA256SUMS"),
            ),
            _ => match streamed {
                Some(sha) => (sha, file_name),
                None => (hash_file(&self.path)?, file_name),
            },
        };
        let sidecar = sidecar_path(&self.path);
        let line = format!("{sha}  {line_name}\n");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&sidecar)?;
        f.write_all(line.as_bytes())?;
        f.sync_all()?;
        Ok(Sealed {
            sha256: sha,
            sidecar,
            sidecar_line: line.trim_end().to_string(),
        })
    }

    /// Tests: the archive file refuses writes past `limit` bytes (zip and tar.gz only).
    #[cfg(test)]
    fn fail_past(&mut self, limit: Option<u64>) {
        self.sink.fail_past(limit);
    }
}

/// Name of the reserve inside a directory bundle (removed before the bundle is sealed).
pub const RESERVE_NAME: &str = ".mailir-reserve";

/// Where the reserve of the bundle at `path` lives: inside a directory bundle (the folder may
/// be a mount point of its own), beside an archive (`.NAME.mailir-reserve`).
pub fn reserve_path(path: &Path, format: BundleFormat) -> PathBuf {
    if format == BundleFormat::Dir {
        return path.join(RESERVE_NAME);
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_string());
    parent.join(format!(".{name}.mailir-reserve"))
}

/// Space held on the destination for the closing records: a file whose blocks are allocated
/// (`posix_fallocate`, so the file system has really set them aside) and deleted when the
/// records are written, or when the writer is dropped.
struct Reserve {
    path: PathBuf,
    file: Option<File>,
    size: u64,
}

impl Reserve {
    fn create(path: PathBuf, size: u64) -> io::Result<Reserve> {
        let file = super::platform::create_private(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut r = Reserve {
            path,
            file: Some(file),
            size: 0,
        };
        r.grow(size)?;
        Ok(r)
    }

    fn grow(&mut self, size: u64) -> io::Result<()> {
        let Some(f) = &self.file else { return Ok(()) };
        if size <= self.size {
            return Ok(());
        }
        super::platform::preallocate(f, size)?;
        self.size = size;
        Ok(())
    }

    fn release(&mut self) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let removed = fs::remove_file(&self.path);
        drop(file);
        match removed {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io::Error::new(
                e.kind(),
                format!("cannot remove the reserve {}: {e}", self.path.display()),
            )),
            _ => Ok(()),
        }
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

/// `PATH.sha256` for a bundle at `PATH` (a trailing `/` of a directory is ignored).
pub fn sidecar_path(bundle: &Path) -> PathBuf {
    let s = bundle.as_os_str().to_string_lossy();
    PathBuf::from(format!("{}.sha256", s.trim_end_matches('/')))
}

/// SHA-256 of a whole file, streamed.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

const HEAD: usize = 4096;

/// Reads until `buf` is full, EOF, or an error; zero-fills the rest. Returns bytes read.
fn fill(src: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf[got..].fill(0);
                return (got, Some(e));
            }
        }
    }
    buf[got..].fill(0);
    (got, None)
}

/// The reader thread of a pipelined copy: reads, hashes, hands full buffers over.
fn produce(
    src: &mut (dyn Read + Send),
    len: u64,
    full: SyncSender<(Vec<u8>, usize)>,
    empty: Receiver<Vec<u8>>,
) -> Stored {
    let mut hasher = Sha256::new();
    let mut remaining = len;
    let mut source_bytes = 0u64;
    let mut read_error = None;
    let mut head = Vec::new();
    let mut eof = false;
    while remaining > 0 {
        let Ok(mut buf) = empty.recv() else { break };
        let want = remaining.min(CHUNK as u64) as usize;
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let n = if eof || read_error.is_some() {
            buf[..want].fill(0);
            0
        } else {
            let (n, err) = fill(src, &mut buf[..want]);
            if n < want {
                eof = true;
            }
            read_error = err;
            n
        };
        source_bytes += n as u64;
        hasher.update(&buf[..want]);
        if head.is_empty() {
            head = buf[..want.min(HEAD)].to_vec();
        }
        remaining -= want as u64;
        if full.send((buf, want)).is_err() {
            break;
        }
    }
    Stored {
        sha256: hex(&hasher.finalize()),
        source_bytes,
        read_error,
        head,
    }
}

/// Pulls buffers from the reader thread and returns them for reuse.
struct ChannelReader {
    full: Receiver<(Vec<u8>, usize)>,
    empty: Sender<Vec<u8>>,
    cur: Vec<u8>,
    len: usize,
    pos: usize,
}

impl ChannelReader {
    /// Makes sure some bytes are pending, returning the spent buffer for reuse; false at the
    /// end of the entry.
    fn refill(&mut self) -> bool {
        while self.pos == self.len {
            let done = std::mem::take(&mut self.cur);
            if !done.is_empty() {
                let _ = self.empty.send(done);
            }
            match self.full.recv() {
                Ok((buf, len)) => {
                    self.cur = buf;
                    self.len = len;
                    self.pos = 0;
                }
                Err(_) => return false,
            }
        }
        true
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.refill() {
            return Ok(0);
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Chunks for ChannelReader {
    fn next_chunk(&mut self) -> &[u8] {
        if !self.refill() {
            return &[];
        }
        let start = self.pos;
        self.pos = self.len;
        &self.cur[start..self.len]
    }
}

fn pipelined(
    sink: &mut dyn Sink,
    name: &str,
    len: u64,
    mtime: SystemTime,
    src: &mut (dyn Read + Send),
) -> Result<Stored, Failed> {
    let (full_tx, full_rx) = sync_channel(3);
    let (empty_tx, empty_rx) = channel();
    for _ in 0..4 {
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(src, len, full_tx, empty_rx));
        let mut reader = ChannelReader {
            full: full_rx,
            empty: empty_tx,
            cur: Vec::new(),
            len: 0,
            pos: 0,
        };
        let written = sink.add_chunks(name, len, mtime, &mut reader);
        // A failed sink stops reading: dropping the channels ends the reader thread too.
        drop(reader);
        let stored = producer.join();
        match (written, stored) {
            (Ok(()), Ok(stored)) => Ok(stored),
            (Err(f), _) => Err(f),
            (Ok(()), Err(_)) => Err(io::Error::other("reader thread panicked").into()),
        }
    })
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The file under a zip or tar.gz sink, shared (a cloneable handle) between the encoder that
/// writes into it and the sink that commits and takes back entries.
///
/// Writes are buffered (1 MiB). The first write the file system refuses (ENOSPC …) is kept and
/// the handle turns *dead*: from then on writes and seeks succeed without touching the file,
/// so the zip and deflate state machines above never see an error half-way through their own
/// bookkeeping. The sink notices at its commit point (or the copy stops early, see
/// [`UntilDead`]), takes the entry back ([`ArchiveFile::rollback`]: the file is cut to the last
/// commit and the handle is live again) and reports the kept error.
#[derive(Clone)]
struct ArchiveFile(Arc<Shared>);

struct Shared {
    dead: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    /// Bytes not yet written, for `[pos - buf.len(), pos)`.
    buf: Vec<u8>,
    /// Where the next write goes (the file's own offset is `pos - buf.len()` while live).
    pos: u64,
    /// The furthest position written.
    end: u64,
    /// Length of the file at the last commit: every entry before it is whole on disk.
    committed: u64,
    /// The first error of the file.
    error: Option<io::Error>,
    /// SHA-256 of the file as written, while it is written strictly in order.
    hasher: Option<Sha256>,
    /// Tests: writes past this offset fail with ENOSPC.
    #[cfg(test)]
    limit: Option<u64>,
}

impl Inner {
    fn flush_buf(&mut self, dead: &AtomicBool) {
        if dead.load(Ordering::Relaxed) || self.buf.is_empty() {
            return;
        }
        match self.write_out() {
            Ok(()) => {
                if let Some(h) = &mut self.hasher {
                    h.update(&self.buf);
                }
                self.buf.clear();
            }
            Err(e) => {
                dead.store(true, Ordering::Relaxed);
                self.error.get_or_insert(e);
            }
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(limit) = self.limit {
            let start = self.pos - self.buf.len() as u64;
            if start + self.buf.len() as u64 > limit {
                let fits = limit.saturating_sub(start) as usize;
                self.file.write_all(&self.buf[..fits])?;
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
        }
        self.file.write_all(&self.buf)
    }
}

impl ArchiveFile {
    fn create(path: &Path, hash: bool) -> io::Result<ArchiveFile> {
        let file = create_new(path)?;
        Ok(ArchiveFile(Arc::new(Shared {
            dead: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                file,
                buf: Vec::with_capacity(CHUNK + (64 << 10)),
                pos: 0,
                end: 0,
                committed: 0,
                error: None,
                hasher: hash.then(Sha256::new),
                #[cfg(test)]
                limit: None,
            }),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_dead(&self) -> bool {
        self.0.dead.load(Ordering::Relaxed)
    }

    /// Stops writing to the file (before an entry is taken back).
    fn kill(&self) {
        self.0.dead.store(true, Ordering::Relaxed);
    }

    /// Writes out everything buffered; if the file took it all, marks this point as the
    /// end of a whole entry and returns true.
    fn commit(&self) -> bool {
        let mut i = self.lock();
        i.flush_buf(&self.0.dead);
        if self.is_dead() {
            return false;
        }
        i.committed = i.pos;
        true
    }

    /// The file's first error, once.
    fn take_error(&self) -> Option<io::Error> {
        self.lock().error.take()
    }

    /// Cuts the file back to the last commit and makes the handle live again. An error here
    /// leaves it dead: the archive cannot be trusted past the last commit.
    fn rollback(&self) -> io::Result<()> {
        let mut i = self.lock();
        i.buf.clear();
        i.hasher = None;
        let at = i.committed;
        i.file.set_len(at)?;
        i.file.seek(SeekFrom::Start(at))?;
        i.pos = at;
        i.end = at;
        i.error = None;
        self.0.dead.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Writes out the buffer and syncs the file.
    fn sync(&self) -> io::Result<()> {
        let mut i = self.lock();
        i.flush_buf(&self.0.dead);
        if self.is_dead() {
            return Err(i
                .error
                .take()
                .unwrap_or_else(|| io::Error::other("the bundle destination failed")));
        }
        i.file.sync_all()
    }

    /// SHA-256 of the file, when it was written strictly in order with nothing taken back.
    fn sha256(&self) -> Option<String> {
        self.lock().hasher.take().map(|h| hex(&h.finalize()))
    }

    #[cfg(test)]
    fn set_limit(&self, limit: Option<u64>) {
        self.lock().limit = limit;
    }
}

impl Write for ArchiveFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut i = self.lock();
        i.pos += data.len() as u64;
        i.end = i.end.max(i.pos);
        if !self.is_dead() {
            i.buf.extend_from_slice(data);
            if i.buf.len() >= CHUNK {
                i.flush_buf(&self.0.dead);
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().flush_buf(&self.0.dead);
        Ok(())
    }
}

impl Seek for ArchiveFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut i = self.lock();
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => i.pos.checked_add_signed(d),
            SeekFrom::End(d) => i.end.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        if target == i.pos {
            return Ok(target);
        }
        i.hasher = None;
        i.flush_buf(&self.0.dead);
        if !self.is_dead() {
            if let Err(e) = i.file.seek(SeekFrom::Start(target)) {
                self.0.dead.store(true, Ordering::Relaxed);
                i.error.get_or_insert(e);
            }
        }
        i.pos = target;
        Ok(target)
    }
}

/// An entry's bytes on their way into an archive; fails as soon as the archive file is dead,
/// so a 20 GiB source is not read into a destination that stopped taking it.
struct UntilDead<'a> {
    data: &'a mut dyn Read,
    file: &'a ArchiveFile,
}

impl Read for UntilDead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.file.is_dead() {
            return Err(io::Error::other("the bundle destination failed"));
        }
        self.data.read(buf)
    }
}

/// gzip header: deflate, no name, no time, XFL, unknown OS — as `GzEncoder` writes it: XFL is
/// 4 ("fastest") at level 1, 0 at level 0.
fn gzip_header(level: u32) -> [u8; 10] {
    let xfl = if level == 1 { 4 } else { 0 };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
}

/// One gzip member whose deflate stream can be cut back to the end of any committed entry.
/// Each entry ends with a sync flush (all its compressed bytes written, byte-aligned); after a
/// take-back the stream goes on from the cut with a fresh compressor, which deflate allows (a
/// new block may follow any flushed one; only the trailer's CRC and length span the member, and
/// they are kept per committed entry). The bundle stays one plain gzip member.
struct GzStream {
    file: ArchiveFile,
    enc: Option<DeflateEncoder<ArchiveFile>>,
    /// CRC and length of the committed bytes.
    crc: Crc,
    /// ... and of the entry being written.
    pending: Crc,
    /// Deflate level.
    level: u32,
}

impl GzStream {
    fn new(mut file: ArchiveFile, level: u32) -> io::Result<GzStream> {
        file.write_all(&gzip_header(level))?;
        // The header is never taken back.
        if !file.commit() {
            return Err(file
                .take_error()
                .unwrap_or_else(|| io::Error::other("the bundle destination failed")));
        }
        Ok(GzStream {
            enc: Some(DeflateEncoder::new(file.clone(), Compression::new(level))),
            file,
            crc: Crc::new(),
            pending: Crc::new(),
            level,
        })
    }

    fn enc(&mut self) -> io::Result<&mut DeflateEncoder<ArchiveFile>> {
        self.enc
            .as_mut()
            .ok_or_else(|| io::Error::other("gzip stream already finished"))
    }

    /// Ends the entry: sync flush, everything written out.
    fn commit(&mut self) -> io::Result<()> {
        self.enc()?.flush()?;
        if !self.file.commit() {
            return Err(io::Error::other("the bundle destination failed"));
        }
        self.crc.combine(&self.pending);
        self.pending.reset();
        Ok(())
    }

    /// Takes the entry being written back.
    fn rollback(&mut self) -> io::Result<()> {
        self.file.kill();
        // Its last output (dropping finishes the stream) goes nowhere.
        drop(self.enc.take());
        self.pending.reset();
        self.file.rollback()?;
        self.enc = Some(DeflateEncoder::new(
            self.file.clone(),
            Compression::new(self.level),
        ));
        Ok(())
    }

    /// Ends the member: final block and trailer.
    fn finish(mut self) -> io::Result<()> {
        if let Some(enc) = self.enc.take() {
            enc.finish()?;
        }
        self.crc.combine(&self.pending);
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
        self.file.write_all(&trailer)?;
        if !self.file.commit() {
            return Err(self
                .file
                .take_error()
                .unwrap_or_else(|| io::Error::other("the bundle destination failed")));
        }
        Ok(())
    }
}

impl Write for GzStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.enc()?.write(buf)?;
        self.pending.update(&buf[..n]);
        Ok(n)
    }

    /// Entries end at [`GzStream::commit`]; a flush from the tar writer is not one.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct TarSink {
    builder: tar::Builder<GzStream>,
    file: ArchiveFile,
    broken: Option<String>,
}

impl TarSink {
    fn create(path: &Path, compress: Compress) -> io::Result<TarSink> {
        let file = ArchiveFile::create(path, true)?;
        let mut builder = tar::Builder::new(GzStream::new(file.clone(), compress.level())?);
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(TarSink {
            builder,
            file,
            broken: None,
        })
    }
}

impl Sink for TarSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> Result<(), Failed> {
        if let Some(b) = &self.broken {
            return Err(io::Error::other(b.clone()).into());
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(len);
        header.set_mode(0o644);
        header.set_mtime(unix_secs(mtime));
        let file = self.file.clone();
        let mut data = UntilDead { data, file: &file };
        let written = self
            .builder
            .append_data(&mut header, name, &mut data)
            .and_then(|()| self.builder.get_mut().commit());
        let Err(e) = written else { return Ok(()) };
        let error = self.file.take_error().unwrap_or(e);
        let cleanup = self.builder.get_mut().rollback().err();
        if let Some(c) = &cleanup {
            self.broken = Some(format!(
                "the archive could not be cut back after a failed entry: {c}"
            ));
        }
        Err(Failed { error, cleanup })
    }

    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        let TarSink {
            builder,
            file,
            broken,
        } = *self;
        if let Some(b) = broken {
            return Err(io::Error::other(b));
        }
        builder.into_inner()?.finish()?;
        file.sync()?;
        Ok(file.sha256())
    }

    #[cfg(test)]
    fn fail_past(&mut self, limit: Option<u64>) {
        self.file.set_limit(limit);
    }
}

struct ZipSink {
    zip: zip::ZipWriter<ArchiveFile>,
    file: ArchiveFile,
    broken: Option<String>,
    compress: Compress,
}

impl ZipSink {
    fn create(path: &Path, compress: Compress) -> io::Result<ZipSink> {
        let file = ArchiveFile::create(path, false)?;
        Ok(ZipSink {
            zip: zip::ZipWriter::new(file.clone()),
            file,
            broken: None,
            compress,
        })
    }

    /// Completes the entry being written and commits it. The zip writer completes an entry
    /// (final deflate block, CRC and sizes in its local header) only when the next one starts
    /// or the archive ends; `hide_file` of a name no entry can have completes it now (and hides
    /// nothing), so the entry is whole on disk before `add` returns.
    fn complete(&mut self) -> io::Result<()> {
        let _ = self.zip.hide_file("");
        if self.zip.is_writing_file() {
            return Err(io::Error::other(
                "the zip writer did not complete the entry",
            ));
        }
        if !self.file.commit() {
            return Err(io::Error::other("the bundle destination failed"));
        }
        Ok(())
    }
}

fn zip_time(t: SystemTime) -> zip::DateTime {
    let t: DateTime<Utc> = t.into();
    u16::try_from(t.year())
        .ok()
        .and_then(|y| {
            zip::DateTime::from_date_and_time(
                y,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

impl ZipSink {
    /// Adds an entry whose bytes `copy` writes into the zip writer (returning how many),
    /// stopping as soon as the archive file is dead.
    fn add_with(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        copy: &mut dyn FnMut(&mut zip::ZipWriter<ArchiveFile>, &ArchiveFile) -> io::Result<u64>,
    ) -> Result<(), Failed> {
        if let Some(b) = &self.broken {
            return Err(io::Error::other(b.clone()).into());
        }
        let options = zip::write::SimpleFileOptions::default();
        let options = match self.compress {
            Compress::None => options.compression_method(zip::CompressionMethod::Stored),
            c => options
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(i64::from(c.level()))),
        }
        .last_modified_time(zip_time(mtime))
        .unix_permissions(0o644)
        .large_file(len >= u64::from(u32::MAX));
        // The handle never fails a write, so an error here is a refused name or option:
        // nothing of the entry was written.
        let mut in_archive = false;
        let written = match self.zip.start_file(name, options) {
            Err(e) => Err(io::Error::other(e)),
            Ok(()) => {
                in_archive = true;
                let file = self.file.clone();
                match copy(&mut self.zip, &file) {
                    Ok(n) if n == len => self.complete(),
                    Ok(n) => Err(io::Error::other(format!(
                        "{name}: wrote {n} of {len} bytes"
                    ))),
                    Err(e) => Err(e),
                }
            }
        };
        let Err(e) = written else { return Ok(()) };
        let error = self.file.take_error().unwrap_or(e);
        self.file.kill();
        // The failed entry is the last the zip writer knows (being written or just completed;
        // it never drops one itself here: `large_file` is set for every entry that needs it
        // and exactly `len` bytes are written): drop it, then cut the file where it began.
        if in_archive {
            let _ = self.zip.abort_file();
        }
        let cleanup = self.file.rollback().err();
        if let Some(c) = &cleanup {
            self.broken = Some(format!(
                "the archive could not be cut back after a failed entry: {c}"
            ));
        }
        Err(Failed { error, cleanup })
    }
}

impl Sink for ZipSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> Result<(), Failed> {
        self.add_with(name, len, mtime, &mut |zip, file| {
            io::copy(&mut UntilDead { data, file }, zip)
        })
    }

    /// The reader thread's buffers go to the compressor whole.
    fn add_chunks(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Chunks,
    ) -> Result<(), Failed> {
        self.add_with(name, len, mtime, &mut |zip, file| {
            let mut n = 0u64;
            loop {
                if file.is_dead() {
                    return Err(io::Error::other("the bundle destination failed"));
                }
                let chunk = data.next_chunk();
                if chunk.is_empty() {
                    return Ok(n);
                }
                zip.write_all(chunk)?;
                n += chunk.len() as u64;
            }
        })
    }

    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        let ZipSink {
            zip, file, broken, ..
        } = *self;
        if let Some(b) = broken {
            return Err(io::Error::other(b));
        }
        zip.finish().map_err(io::Error::other)?;
        file.sync()?;
        Ok(None)
    }

    #[cfg(test)]
    fn fail_past(&mut self, limit: Option<u64>) {
        self.file.set_limit(limit);
    }
}

struct DirSink {
    base: PathBuf,
}

impl DirSink {
    fn create(path: &Path) -> io::Result<DirSink> {
        match fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("output directory {} is not empty", path.display()),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(path)?,
            Err(e) => return Err(e),
        }
        Ok(DirSink {
            base: path.to_path_buf(),
        })
    }
}

impl DirSink {
    /// The new file of entry `name` under the bundle folder (its folders made first).
    fn entry_file(&self, name: &str) -> io::Result<(PathBuf, File)> {
        let target = self.base.join(name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let file = create_new(&target)?;
        Ok((target, file))
    }

    /// An entry copied whole, or its partial file deleted: no entry at all rather than one
    /// verify would misreport.
    fn settle(name: &str, len: u64, target: &Path, written: io::Result<u64>) -> Result<(), Failed> {
        let written = written.and_then(|copied| {
            if copied == len {
                Ok(())
            } else {
                Err(io::Error::other(format!(
                    "{name}: wrote {copied} of {len} bytes"
                )))
            }
        });
        written.map_err(|error| Failed {
            error,
            cleanup: fs::remove_file(target).err(),
        })
    }
}

impl Sink for DirSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        _mtime: SystemTime,
        data: &mut dyn Read,
    ) -> Result<(), Failed> {
        let (target, file) = self.entry_file(name)?;
        let written = copy_sparse(data, file);
        DirSink::settle(name, len, &target, written)
    }

    fn add_chunks(
        &mut self,
        name: &str,
        len: u64,
        _mtime: SystemTime,
        data: &mut dyn Chunks,
    ) -> Result<(), Failed> {
        let (target, file) = self.entry_file(name)?;
        let mut out = Sparse::new(file);
        let written = (|| loop {
            let chunk = data.next_chunk();
            if chunk.is_empty() {
                return out.finish();
            }
            out.put(chunk)?;
        })();
        DirSink::settle(name, len, &target, written)
    }

    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        Ok(None)
    }
}

/// Block size at which runs of zeros are left as holes.
const HOLE: usize = 64 << 10;

/// Copies `data` into the new file `out`, leaving every all-zero `HOLE`-sized block as a hole
/// (a seek instead of a write): a sparse source — a 20 GiB `mail.log` of a few real megabytes
/// — takes no more room in a directory bundle than on the host. Returns the bytes copied.
fn copy_sparse(data: &mut dyn Read, out: File) -> io::Result<u64> {
    let mut out = Sparse::new(out);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.put(&buf[..n])?;
    }
    out.finish()
}

/// A new file of a directory bundle written buffer by buffer: the runs of a buffer between
/// all-zero `HOLE`-sized blocks go out in one write each, the zero blocks become holes.
struct Sparse {
    file: File,
    /// Bytes taken so far.
    total: u64,
    /// Zero bytes not written yet (a seek before the next write, or the final length).
    hole: u64,
}

impl Sparse {
    fn new(file: File) -> Sparse {
        Sparse {
            file,
            total: 0,
            hole: 0,
        }
    }

    /// Takes the next bytes of the file.
    fn put(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut run = 0;
        for (i, block) in buf.chunks(HOLE).enumerate() {
            if block.len() == HOLE && block.iter().all(|&b| b == 0) {
                let at = i * HOLE;
                self.write_run(&buf[run..at])?;
                self.hole += HOLE as u64;
                run = at + HOLE;
            }
        }
        self.write_run(&buf[run..])?;
        self.total += buf.len() as u64;
        Ok(())
    }

    fn write_run(&mut self, run: &[u8]) -> io::Result<()> {
        if run.is_empty() {
            return Ok(());
        }
        if self.hole > 0 {
            let hole = i64::try_from(self.hole)
                .map_err(|_| io::Error::other("hole too large to seek over"))?;
            self.file.seek(SeekFrom::Current(hole))?;
            self.hole = 0;
        }
        self.file.write_all(run)
    }

    /// Gives the file its full length (a trailing hole takes no write); returns the bytes
    /// copied.
    fn finish(self) -> io::Result<u64> {
        // A trailing hole: the file takes its full length without writing it.
        if self.hole > 0 {
            self.file.set_len(self.total)?;
        }
        Ok(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn format_from_path() {
        assert_eq!(
            BundleFormat::from_path(Path::new("x.ZIP")),
            BundleFormat::Zip
        );
        assert_eq!(
            BundleFormat::from_path(Path::new("x.tar.gz")),
            BundleFormat::TarGz
        );
        assert_eq!(
            BundleFormat::from_path(Path::new("x.tgz")),
            BundleFormat::TarGz
        );
        assert_eq!(
            BundleFormat::from_path(Path::new("out/x")),
            BundleFormat::Dir
        );
        assert_eq!(
            sidecar_path(Path::new("out/x/")),
            PathBuf::from("out/x.sha256")
        );
    }

    /// A source that yields fewer bytes than announced is zero-padded, in both copy paths.
    #[test]
    fn short_sources_are_padded_and_hashed_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b");
        let mut w = BundleWriter::create(&out).unwrap();
        let big = CHUNK as u64 * 2 + 17;
        let data = vec![7u8; CHUNK + 5];
        let s = w
            .add_stream("files/big", big, SystemTime::now(), &mut data.as_slice())
            .unwrap();
        assert_eq!(s.source_bytes, data.len() as u64);
        let mut expect = data.clone();
        expect.resize(big as usize, 0);
        assert_eq!(s.sha256, hex(&Sha256::digest(&expect)));
        let small = w
            .add_stream("files/small", 10, SystemTime::now(), &mut &b"abc"[..])
            .unwrap();
        assert_eq!(small.source_bytes, 3);
        assert_eq!(small.sha256, hex(&Sha256::digest(b"abc\0\0\0\0\0\0\0")));
        assert!(w.add_bytes("files/small", b"x", SystemTime::now()).is_err());
        let sealed = w.finish().unwrap();
        assert_eq!(fs::read(out.join("files/big")).unwrap(), expect);
        let sums = fs::read_to_string(out.join("SHA256SUMS")).unwrap();
        assert_eq!(sealed.sha256, hex(&Sha256::digest(sums.as_bytes())));
        assert_eq!(
            sealed.sidecar_line,
            format!("{}  b/SHA256SUMS", sealed.sha256)
        );
    }

    #[test]
    fn zero_blocks_are_stored_as_holes_in_a_directory() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sparse");
        // 1 MiB of text, 256 MiB of zeros, a line, 64 MiB of zeros.
        let mut src: Vec<u8> = Vec::new();
        src.extend(std::iter::repeat_n(b'a', 1 << 20));
        src.extend(std::iter::repeat_n(0u8, 256 << 20));
        src.extend(b"last line\n");
        src.extend(std::iter::repeat_n(0u8, 64 << 20));
        let n = copy_sparse(&mut src.as_slice(), create_new(&p).unwrap()).unwrap();
        assert_eq!(n, src.len() as u64);
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.len(), src.len() as u64);
        use std::os::unix::fs::MetadataExt;
        assert!(
            meta.blocks() * 512 < 8 << 20,
            "{} bytes allocated",
            meta.blocks() * 512
        );
        assert_eq!(std::fs::read(&p).unwrap(), src);
    }

    /// Bytes no compressor can shrink, so a failure can land anywhere in an entry.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Whatever byte the destination refuses first — in a header, in the middle of a big
    /// pipelined entry, in a zip entry's completion or a tar entry's padding — the entry being
    /// written is taken back whole, the entries before it stay intact, no evidence is accepted
    /// afterwards, and the records written once room is back make a sound archive.
    #[test]
    fn a_refused_write_takes_back_the_entry_and_keeps_the_archive_sound() {
        let entries: Vec<(String, Vec<u8>)> = vec![
            ("files/etc/a.cf".into(), b"alpha\n".repeat(40)),
            ("files/var/log/mail.log".into(), noise(CHUNK * 2 + 333, 7)),
            ("files/etc/b.cf".into(), noise(3000, 11)),
            ("files/var/log/mail.log.1".into(), noise(CHUNK + 10, 13)),
            ("files/etc/c.cf".into(), b"gamma\n".repeat(10)),
        ];
        let now = SystemTime::now();
        for name in ["x.zip", "x.tar.gz"] {
            let t = tempfile::tempdir().unwrap();
            // The archive's length with no failure, and where each entry ends in it (every
            // entry is on disk when its add returns).
            let mut ends = Vec::new();
            let whole = {
                let out = t.path().join(format!("whole-{name}"));
                let mut w = BundleWriter::create(&out).unwrap();
                for (n, d) in &entries {
                    w.add_stream(n, d.len() as u64, now, &mut d.as_slice())
                        .unwrap();
                    ends.push(fs::metadata(&out).unwrap().len());
                }
                w.finish().unwrap();
                fs::metadata(&out).unwrap().len()
            };
            let mut limits: Vec<u64> = (0..40).map(|i| whole * i / 40).collect();
            limits.extend([1, 10, 11, 29, 30, 31, 64, 512, 513, 1024, 4096]);
            for e in &ends {
                limits.extend([e - 1, *e, e + 1, e + 30, e + 100, e.saturating_sub(20)]);
            }
            let mut failed_at = BTreeSet::new();
            for (i, limit) in limits.into_iter().enumerate() {
                let out = t.path().join(format!("{i}-{name}"));
                let mut w = BundleWriter::create(&out).unwrap();
                w.fail_past(Some(limit));
                let mut kept = Vec::new();
                for (n, d) in &entries {
                    match w.add_stream(n, d.len() as u64, now, &mut d.as_slice()) {
                        Ok(s) => {
                            assert_eq!(s.sha256, hex(&Sha256::digest(d)));
                            kept.push((n.clone(), d.clone()));
                        }
                        Err(e) => {
                            let stop = w.stopped().expect("a failed add stops the writer");
                            assert_eq!(&stop.entry, n);
                            assert!(stop.full(), "{e}");
                            assert!(stop.cleanup_error.is_none(), "{stop:?}");
                            failed_at.insert(n.clone());
                            break;
                        }
                    }
                }
                if w.stopped().is_some() {
                    assert!(w.add_bytes("files/late", b"late", now).is_err());
                }
                // The reserve is freed: room again for the records.
                w.fail_past(None);
                w.release_reserve().unwrap();
                w.add_bytes("manifest.jsonl", b"{}\n", now).unwrap();
                let sealed = w.finish().unwrap();
                assert_eq!(sealed.sha256, hash_file(&out).unwrap(), "{name} at {limit}");
                let mut seen = Vec::new();
                super::super::reader::for_each_entry(&out, |n, _, r| {
                    let mut v = Vec::new();
                    r.read_to_end(&mut v).unwrap();
                    seen.push((n.to_string(), v));
                })
                .unwrap_or_else(|e| panic!("{name} failing at {limit}: {e}"));
                let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
                let mut want: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
                want.extend(["manifest.jsonl", "SHA256SUMS"]);
                assert_eq!(names, want, "{name} failing at {limit}");
                for ((n, got), (_, expect)) in seen.iter().zip(&kept) {
                    assert!(got == expect, "{n} differs ({name} failing at {limit})");
                }
                let sums = String::from_utf8(seen.last().unwrap().1.clone()).unwrap();
                assert_eq!(sums.lines().count(), kept.len() + 1);
                assert!(!reserve_path(&out, BundleFormat::from_path(&out)).exists());
            }
            assert_eq!(failed_at.len(), entries.len(), "{name}: {failed_at:?}");
        }
    }

    #[test]
    fn the_reserve_is_held_until_the_records_and_removed_on_drop() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("b");
        let mut w = BundleWriter::create(&out).unwrap();
        let r = out.join(RESERVE_NAME);
        use std::os::unix::fs::MetadataExt;
        assert!(fs::metadata(&r).unwrap().blocks() * 512 >= RESERVE_BASE);
        assert_eq!(w.reserve_more(1 << 20).unwrap(), RESERVE_BASE + (1 << 20));
        assert!(fs::metadata(&r).unwrap().blocks() * 512 >= RESERVE_BASE + (1 << 20));
        assert_eq!(w.reserve_more(u64::MAX).unwrap(), RESERVE_CAP);
        w.release_reserve().unwrap();
        assert!(!r.exists());
        let z = t.path().join("b.zip");
        let w = BundleWriter::create(&z).unwrap();
        let beside = t.path().join(".b.zip.mailir-reserve");
        assert!(beside.exists());
        drop(w);
        assert!(!beside.exists());
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let z = dir.path().join("x.zip");
        fs::write(&z, b"old").unwrap();
        assert!(BundleWriter::create(&z).is_err());
        fs::write(dir.path().join("keep"), b"k").unwrap();
        assert!(BundleWriter::create(dir.path()).is_err());
    }
}
