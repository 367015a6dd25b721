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
//! To add a bundle format: a [`Sink`] implementation and a [`BundleFormat`] variant.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use super::pathname::hex;
use super::sums;

pub use super::format::{BundleFormat, CHUNK};

/// One container implementation.
trait Sink: Send {
    /// Adds an entry of exactly `len` bytes read from `data`.
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> io::Result<()>;
    /// Closes the container; returns its SHA-256 when it was computed while writing.
    fn finish(self: Box<Self>) -> io::Result<Option<String>>;
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

/// Writes one bundle; see the module doc.
pub struct BundleWriter {
    sink: Box<dyn Sink>,
    format: BundleFormat,
    path: PathBuf,
    sums: Vec<(String, String)>,
    names: HashSet<String>,
    bytes: u64,
}

impl BundleWriter {
    /// Creates the bundle at `path`; refuses to overwrite an existing file or non-empty directory.
    pub fn create(path: &Path) -> io::Result<BundleWriter> {
        let format = BundleFormat::from_path(path);
        let sink: Box<dyn Sink> = match format {
            BundleFormat::Zip => Box::new(ZipSink::create(path)?),
            BundleFormat::TarGz => Box::new(TarSink::create(path)?),
            BundleFormat::Dir => Box::new(DirSink::create(path)?),
        };
        Ok(BundleWriter {
            sink,
            format,
            path: path.to_path_buf(),
            sums: Vec::new(),
            names: HashSet::new(),
            bytes: 0,
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

    fn claim(&mut self, name: &str) -> io::Result<()> {
        if !self.names.insert(name.to_string()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("bundle entry {name} written twice"),
            ));
        }
        Ok(())
    }

    /// Stores exactly `len` bytes from `src` as `name`, hashing them in the same read.
    /// Errors returned are errors of the *bundle*; source errors are in [`Stored`].
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
            self.sink.add(name, len, mtime, &mut buf.as_slice())?;
            Stored {
                sha256: sha,
                source_bytes: got as u64,
                read_error: err,
                head: buf[..buf.len().min(HEAD)].to_vec(),
            }
        } else {
            pipelined(self.sink.as_mut(), name, len, mtime, src)?
        };
        self.sums.push((name.to_string(), stored.sha256.clone()));
        self.bytes += len;
        Ok(stored)
    }

    /// Stores `bytes` as `name`; returns its SHA-256.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8], mtime: SystemTime) -> io::Result<String> {
        self.claim(name)?;
        let sha = hex(&Sha256::digest(bytes));
        self.sink
            .add(name, bytes.len() as u64, mtime, &mut &bytes[..])?;
        self.sums.push((name.to_string(), sha.clone()));
        Ok(sha)
    }

    /// Writes `SHA256SUMS`, closes the container and writes the `PATH.sha256` sidecar.
    pub fn finish(mut self) -> io::Result<Sealed> {
        let sums_text = sums::render(&self.sums);
        let now = SystemTime::now();
        self.sink.add(
            "SHA256SUMS",
            sums_text.len() as u64,
            now,
            &mut sums_text.as_bytes(),
        )?;
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

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
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
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn pipelined(
    sink: &mut dyn Sink,
    name: &str,
    len: u64,
    mtime: SystemTime,
    src: &mut (dyn Read + Send),
) -> io::Result<Stored> {
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
        let written = sink.add(name, len, mtime, &mut reader);
        drop(reader);
        let stored = producer
            .join()
            .map_err(|_| io::Error::other("reader thread panicked"))?;
        written.map(|()| stored)
    })
}

/// Writes into a file and hashes what it writes (tar.gz: the bundle hash in one pass).
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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

/// Gzip level: fast. Logs compress ~10x even at level 1 and collection is bound by it.
const GZIP_LEVEL: u32 = 1;

struct TarSink {
    builder: tar::Builder<GzEncoder<HashingWriter<BufWriter<File>>>>,
}

impl TarSink {
    fn create(path: &Path) -> io::Result<TarSink> {
        let file = create_new(path)?;
        let hw = HashingWriter {
            inner: BufWriter::with_capacity(CHUNK, file),
            hasher: Sha256::new(),
        };
        let mut builder = tar::Builder::new(GzEncoder::new(hw, Compression::new(GZIP_LEVEL)));
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(TarSink { builder })
    }
}

impl Sink for TarSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(len);
        header.set_mode(0o644);
        header.set_mtime(unix_secs(mtime));
        self.builder.append_data(&mut header, name, data)
    }

    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        let gz = self.builder.into_inner()?;
        let mut hw = gz.finish()?;
        hw.flush()?;
        let file = hw.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(Some(hex(&hw.hasher.finalize())))
    }
}

struct ZipSink {
    zip: zip::ZipWriter<BufWriter<File>>,
}

impl ZipSink {
    fn create(path: &Path) -> io::Result<ZipSink> {
        let file = create_new(path)?;
        Ok(ZipSink {
            zip: zip::ZipWriter::new(BufWriter::with_capacity(CHUNK, file)),
        })
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

impl Sink for ZipSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        mtime: SystemTime,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(i64::from(GZIP_LEVEL)))
            .last_modified_time(zip_time(mtime))
            .unix_permissions(0o644)
            .large_file(len >= u64::from(u32::MAX));
        self.zip
            .start_file(name, options)
            .map_err(io::Error::other)?;
        let copied = io::copy(data, &mut self.zip)?;
        if copied != len {
            return Err(io::Error::other(format!(
                "{name}: wrote {copied} of {len} bytes"
            )));
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        let buf = self.zip.finish().map_err(io::Error::other)?;
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(None)
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

impl Sink for DirSink {
    fn add(
        &mut self,
        name: &str,
        len: u64,
        _mtime: SystemTime,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let target = self.base.join(name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let copied = copy_sparse(data, create_new(&target)?)?;
        if copied != len {
            return Err(io::Error::other(format!(
                "{name}: wrote {copied} of {len} bytes"
            )));
        }
        Ok(())
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
    use std::io::{Seek, SeekFrom};
    let mut out = BufWriter::with_capacity(CHUNK, out);
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut pending_hole = 0u64;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for block in buf[..n].chunks(HOLE) {
            if block.len() == HOLE && block.iter().all(|&b| b == 0) {
                pending_hole += HOLE as u64;
                continue;
            }
            if pending_hole > 0 {
                out.seek(SeekFrom::Current(pending_hole as i64))?;
                pending_hole = 0;
            }
            out.write_all(block)?;
        }
        total += n as u64;
    }
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    // A trailing hole: the file takes its full length without writing it.
    file.set_len(total)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

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
