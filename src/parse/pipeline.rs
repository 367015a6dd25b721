//! The streaming, parallel parse of one file.
//!
//! A reader thread cuts the (decompressed) stream into chunks of whole lines (~2 MiB), counts
//! their lines and learns SASL bindings ([`super::correlate`]); parser threads (one per core)
//! turn a chunk into rendered output bytes without copying lines; the calling thread writes the
//! results in chunk order. At most `2 × threads + 2` chunks are in flight, so memory does not
//! grow with the input. A read error (a damaged gzip stream) ends the file after the last whole
//! line before the damage and is reported in the stats.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::{Arc, Mutex, RwLock};

use super::correlate::{Binding, Joiner};
use super::output::{Format, Sink, Writer};
use super::FileStats;
use crate::events::record::Source;
use crate::events::time::Clock;
use crate::events::{parse_line, LineOutcome, TsCache};

const CHUNK: usize = 2 << 20;

/// Most lines after an event read into it ([`crate::events::extend`]): Exim's rejectlog header
/// block is bounded by its buffer (8 KiB in 4.96), far fewer lines.
const MAX_ENTRY_LINES: usize = 1000;

/// Recycled buffers: chunks and rendered output are reused instead of reallocated (fresh
/// multi-megabyte allocations cost page faults on every chunk).
pub(super) struct Pool {
    bufs: Mutex<Vec<Vec<u8>>>,
    /// Buffers smaller than this are not kept.
    floor: usize,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::with_floor(CHUNK / 2)
    }
}

impl Pool {
    /// A pool keeping buffers of at least `floor` bytes.
    pub(super) fn with_floor(floor: usize) -> Self {
        Pool {
            bufs: Mutex::new(Vec::new()),
            floor,
        }
    }

    /// An empty buffer.
    pub(super) fn get(&self) -> Vec<u8> {
        let mut v = self.get_filled();
        v.clear();
        v
    }

    /// A buffer that may still hold its last contents: its length says how many bytes are
    /// initialised, so a reader can reuse them without zero-filling the chunk again.
    fn get_filled(&self) -> Vec<u8> {
        self.bufs
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default()
    }

    pub(super) fn put(&self, v: Vec<u8>) {
        // Only buffers worth keeping: a small one handed out would be regrown (fresh pages,
        // zeroed by the kernel) on the next chunk.
        if v.capacity() < self.floor {
            return;
        }
        if let Ok(mut p) = self.bufs.lock() {
            if p.len() < 64 {
                p.push(v);
            }
        }
    }
}

struct Chunk {
    seq: u64,
    /// The join's generation once this chunk was learned ([`Joiner::begin`]).
    gen: u32,
    data: Vec<u8>,
    first_line: u64,
    first_offset: u64,
}

struct Done {
    seq: u64,
    rendered: super::output::Rendered<Vec<u8>>,
    unparsed: Vec<u8>,
    stats: FileStats,
}

/// What a file is parsed with.
pub struct Ctx<'a> {
    /// Output format.
    pub format: Format,
    /// Shown path and manifest hash of the file.
    pub path: Arc<str>,
    /// SHA-256 from the bundle manifest.
    pub sha256: Option<Arc<str>>,
    /// The host whose evidence the file is.
    pub host: Arc<str>,
    /// Time conversion.
    pub clock: Clock,
    /// Message correlation shared across the files of a run.
    pub joiner: &'a RwLock<Joiner>,
    /// Whether unparsed lines are kept.
    pub keep_unparsed: bool,
    /// Number of the file in the run (detection facts point back with it).
    pub file_id: u32,
    /// The earliest time any later file of the run starts at (µs), when the run knows it:
    /// with it, a detection sink is promised, chunk by chunk, that no later fact is earlier
    /// than the file's progress less [`SLACK_US`] (nor than this).
    pub ceiling: Option<i64>,
    /// The file is a syslog chain that repeats a mail chain beside it: its mail-facility
    /// lines are counted as repeated and skipped (see [`super::rotation::copies`]).
    pub repeats: bool,
    /// Every line of the file is in another log of the run too (Exim's `rejectlog`, see
    /// [`super::rotation::repeats_another_log`]): its lines are read, and its detection facts
    /// marked as copies ([`crate::detect::fact::Fact::copy`]).
    pub copy: bool,
}

/// How far a line may be earlier than the latest line before it in its file and still be
/// within the promise made to a detection sink (syslog reorders a little; larger steps back
/// are the log-tampering rule's business).
pub const SLACK_US: i64 = 3_600_000_000;

/// Learns the join's bindings of one chunk and returns the chunk's generation: what its
/// parser will see of the join ([`super::aged`]). `in_flight`: most chunks parsers may hold
/// besides this one.
fn learn(joiner: &RwLock<Joiner>, chunk: &[u8], clock: &Clock, in_flight: u32) -> u32 {
    // Postfix `client=…, sasl_username=u`, Exim `<= … A=authenticator:u` and Exim's local
    // submissions `<= … U=www-data P=local`; Sendmail's `AUTH=server, … authid=u` (a session's
    // login, on a line without a queue id) and the `from=…, proto=ESMTPA` lines of the messages
    // that session submitted; a submission agent's hand-over to the MTA (`stat=Sent (QID2
    // Message accepted for delivery)`), which carries a known submitter to the MTA's copy; a
    // program's submission through Sendmail's submission agent (`relay=www-data@localhost`).
    let finders = [
        &b"sasl_username="[..],
        b" A=",
        b" P=local",
        b"authid=",
        b"proto=ESMTPA,",
        b"proto=ESMTPSA,",
        b" Message accepted for delivery)",
        b"@localhost",
        // OpenSMTPD: `SID smtp …` / `smtp-in: …` session lines, `mda delivery` (local domains).
        b" smtp ",
        b"smtp-in: ",
        b" mda ",
        // Dovecot: `imap-login: Login: …, session=<…>` (the address of the session's lines),
        // and the session's end (`imap(u)<pid><sid>: Logged out …`, `Disconnected…`,
        // `Connection closed…`), after which the session is forgotten.
        b"-login: Login: ",
        b">: Logged out",
        b">: Disconnected",
        b">: Connection closed",
        // A message the MTA let go of for good (Postfix `QID: removed`, Exim `ID Completed`).
        b": removed",
        b" Completed",
    ]
    .map(memchr::memmem::Finder::new);
    let mut hits: Vec<usize> = finders.iter().flat_map(|f| f.find_iter(chunk)).collect();
    hits.sort_unstable();
    let mut bindings = Vec::new();
    let mut last_line = usize::MAX;
    for hit in hits {
        let start = memchr::memrchr(b'\n', &chunk[..hit]).map_or(0, |p| p + 1);
        if start == last_line {
            continue;
        }
        last_line = start;
        let end = memchr::memchr(b'\n', &chunk[hit..]).map_or(chunk.len(), |p| hit + p);
        let Ok(text) = std::str::from_utf8(&chunk[start..end]) else {
            continue;
        };
        let src = Source {
            host: "",
            path: "",
            sha256: None,
            line: 0,
            offset: 0,
        };
        match parse_line(text, clock, &mut TsCache::default(), src, false) {
            LineOutcome::Event(e) => bindings.extend(Binding::of(&e)),
            _ => {
                bindings.extend(
                    crate::events::message_gone(text).map(|qid| Binding::MessageGone {
                        qid: qid.to_string(),
                    }),
                )
            }
        }
    }
    // One short write lock per chunk, applied in line order; parser threads only lock per
    // lookup.
    let Ok(mut j) = joiner.write() else {
        return 0;
    };
    let gen = j.begin(in_flight);
    for b in bindings {
        j.bind(b);
    }
    gen
}

fn parse_chunk(ctx: &Ctx, pool: &Pool, c: Chunk) -> io::Result<Done> {
    let mut stats = FileStats::default();
    // Facts carry no bytes: their writer gets no chunk-sized buffer.
    let buf = if ctx.format == Format::Facts {
        Vec::new()
    } else {
        pool.get()
    };
    let mut out = Writer::new(ctx.format, buf, false, ctx.file_id)?;
    let mut unparsed = Vec::new();
    let mut offset = c.first_offset;
    let mut line_no = c.first_line;
    let mut start = 0usize;
    let mut ts_cache = if ctx.format == Format::Facts {
        TsCache::without_text()
    } else {
        TsCache::default()
    };
    let whole = std::str::from_utf8(&c.data).ok();
    // NUL bytes (a zeroed region) are looked for line by line only in a chunk that has one.
    let has_nul = memchr::memchr(0, &c.data).is_some();
    while start < c.data.len() {
        let end = memchr::memchr(b'\n', &c.data[start..]).map_or(c.data.len(), |p| start + p);
        let next = (end + 1).min(c.data.len());
        let mut stop = end;
        if stop > start && c.data[stop - 1] == b'\r' {
            stop -= 1;
        }
        let raw = &c.data[start..stop];
        stats.lines += 1;
        if has_nul && memchr::memchr(0, raw).is_some() {
            stats.nul_lines += 1;
        }
        // A chunk that is valid UTF-8 as a whole (the usual case) is checked once; lines
        // split at `\n` are then valid too. Otherwise each line is checked on its own.
        let (text, lossy) = match whole.and_then(|w| w.get(start..stop)) {
            Some(s) => (std::borrow::Cow::Borrowed(s), false),
            None => match std::str::from_utf8(raw) {
                Ok(s) => (std::borrow::Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(raw), true),
            },
        };
        if lossy {
            stats.lossy += 1;
        }
        let source = Source {
            host: &ctx.host,
            path: &ctx.path,
            sha256: ctx.sha256.as_deref(),
            line: line_no,
            offset,
        };
        if ctx.repeats && crate::events::is_mail_facility_line(&text) {
            stats.repeated += 1;
            offset += (next - start) as u64;
            line_no += 1;
            start = next;
            continue;
        }
        match parse_line(&text, &ctx.clock, &mut ts_cache, source, lossy) {
            LineOutcome::Event(mut e) => {
                // An entry written over several lines (Exim's rejectlog header block): the
                // lines after it, as far as this chunk holds them, complete its detail; they
                // are counted as ignored when the loop reaches them.
                if crate::events::takes_lines(&e) {
                    let mut at = next;
                    for _ in 0..MAX_ENTRY_LINES {
                        if at >= c.data.len() {
                            break;
                        }
                        let end =
                            memchr::memchr(b'\n', &c.data[at..]).map_or(c.data.len(), |p| at + p);
                        let line = c.data[at..end]
                            .strip_suffix(b"\r")
                            .unwrap_or(&c.data[at..end]);
                        let Ok(line) = std::str::from_utf8(line) else {
                            break;
                        };
                        if !crate::events::extend(&mut e, line) {
                            break;
                        }
                        at = end + 1;
                    }
                }
                stats.first_us = Some(stats.first_us.map_or(e.ts_unix_us, |t| t.min(e.ts_unix_us)));
                stats.last_us = Some(stats.last_us.map_or(e.ts_unix_us, |t| t.max(e.ts_unix_us)));
                if e.session.is_some() || (e.queue_id.is_some() && e.actor.is_none()) {
                    if let Ok(j) = ctx.joiner.read() {
                        j.fill_at(&mut e, c.gen);
                    }
                }
                out.push(&e)?;
                stats.events += 1;
            }
            LineOutcome::Ignored => stats.ignored += 1,
            LineOutcome::Other => stats.other += 1,
            // The indented second line of a message written over several lines (Exim's
            // `Warning: …` / ` Suggested action: …`; no log line starts with a blank), and the
            // header block Exim's rejectlog writes after a rejection after DATA: part of the
            // entry before them.
            LineOutcome::NoPrefix if crate::events::is_continuation(&text) => stats.ignored += 1,
            LineOutcome::Unparsed | LineOutcome::NoPrefix => {
                stats.unparsed += 1;
                if ctx.keep_unparsed {
                    unparsed.extend_from_slice(format!("{}:{}: ", ctx.path, line_no).as_bytes());
                    unparsed.extend_from_slice(text.as_bytes());
                    unparsed.push(b'\n');
                }
            }
        }
        offset += (next - start) as u64;
        line_no += 1;
        start = next;
    }
    let seq = c.seq;
    pool.put(c.data);
    let mut rendered = out.finish()?;
    if ctx.copy {
        for f in &mut rendered.facts {
            f.copy = true;
        }
    }
    Ok(Done {
        seq,
        rendered,
        unparsed,
        stats,
    })
}

/// The places for chunks in flight: one is taken before a chunk is handed on, and given back
/// when the writer has written it (in order).
struct Tokens<'a> {
    rx: &'a Receiver<()>,
    /// Places in all.
    in_flight: u32,
}

/// Reads `r` in chunks of whole lines; returns the warning of a read error, if any.
fn produce(
    r: &mut dyn Read,
    clock: &Clock,
    joiner: &RwLock<Joiner>,
    pool: &Pool,
    work: std::sync::mpsc::SyncSender<Chunk>,
    tokens: &Tokens,
) -> (Option<String>, bool) {
    let mut carry: Vec<u8> = Vec::new();
    let mut ends_mid_line = false;
    let (mut seq, mut line, mut offset) = (0u64, 1u64, 0u64);
    let mut warning = None;
    let mut eof = false;
    while !eof {
        // The carried partial line first, then up to CHUNK new bytes; a reused buffer is
        // only zero-filled where it was never written.
        let mut buf = pool.get_filled();
        let have = carry.len();
        if buf.len() < have + CHUNK {
            buf.resize(have + CHUNK, 0);
        }
        buf.truncate(have + CHUNK);
        buf[..have].copy_from_slice(&carry);
        carry.clear();
        let mut got = have;
        while got < buf.len() {
            match r.read(&mut buf[got..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    warning = Some(e);
                    eof = true;
                    break;
                }
            }
        }
        buf.truncate(got);
        // Cut after the last newline. At the end the last line is kept even without one; a
        // damaged stream drops the partial line it broke in. A line longer than a chunk is split.
        let last_nl = memchr::memrchr(b'\n', &buf).map(|p| p + 1);
        let cut = match (warning.is_some(), eof) {
            (true, _) => last_nl.unwrap_or(0),
            (false, true) => buf.len(),
            (false, false) => last_nl.unwrap_or(buf.len()),
        };
        carry.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        if warning.is_some() {
            carry.clear();
        }
        if buf.is_empty() {
            continue;
        }
        ends_mid_line = buf.last() != Some(&b'\n');
        // Learned before the chunk waits for its place among those in flight: parsers may
        // then hold the `in_flight` chunks before it, which the join keeps what they see for.
        let gen = learn(joiner, &buf, clock, tokens.in_flight);
        let lines =
            memchr::memchr_iter(b'\n', &buf).count() as u64 + u64::from(buf.last() != Some(&b'\n'));
        let len = buf.len() as u64;
        if tokens.rx.recv().is_err() {
            break;
        }
        if work
            .send(Chunk {
                seq,
                gen,
                data: buf,
                first_line: line,
                first_offset: offset,
            })
            .is_err()
        {
            break;
        }
        seq += 1;
        line += lines;
        offset += len;
    }
    let warning =
        warning.map(|e| format!("read failed after line {} (byte {offset}): {e}", line - 1));
    (warning, ends_mid_line)
}

/// Parses one stream, writing rendered events to `out` and unparsed lines to `unparsed`.
/// The calling thread reads (a bundle entry's reader cannot move between threads); parser
/// threads and one writer thread do the rest.
pub fn run(
    ctx: &Ctx,
    r: &mut dyn Read,
    out: &mut Sink,
    unparsed: Option<&mut (dyn Write + Send)>,
) -> io::Result<FileStats> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 16);
    let in_flight = 2 * threads + 2;
    let (work_tx, work_rx) = sync_channel::<Chunk>(threads);
    // Shared by the parser threads only: when they are gone, the reader's sends fail.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = channel::<io::Result<Done>>();
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    let pool = Pool::default();
    let pool = &pool;
    std::thread::scope(|s| -> io::Result<FileStats> {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = Arc::clone(&work_rx);
            s.spawn(move || loop {
                let next = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(chunk) = next else { return };
                if done_tx.send(parse_chunk(ctx, pool, chunk)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        let writer = s.spawn(move || -> io::Result<FileStats> {
            let mut unparsed = unparsed;
            let mut total = FileStats::default();
            let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
            let mut next = 0u64;
            let mut latest = i64::MIN;
            for done in done_rx {
                let done = done?;
                pending.insert(done.seq, done);
                while let Some(mut d) = pending.remove(&next) {
                    out.write(&mut d.rendered)?;
                    if let Some(u) = unparsed.as_mut() {
                        u.write_all(&d.unparsed)?;
                    }
                    total.add(&d.stats);
                    if let (Some(ceiling), Some(last)) = (ctx.ceiling, d.stats.last_us) {
                        latest = latest.max(last);
                        out.advance(ceiling.min(latest.saturating_sub(SLACK_US)))?;
                    }
                    pool.put(std::mem::take(&mut d.rendered.out));
                    next += 1;
                    let _ = token_tx.send(());
                }
            }
            if let Some(ceiling) = ctx.ceiling {
                // The file is done: what follows starts at the ceiling.
                out.advance(ceiling)?;
            }
            Ok(total)
        });
        let tokens = Tokens {
            rx: &token_rx,
            in_flight: in_flight as u32,
        };
        let warning = produce(r, &ctx.clock, ctx.joiner, pool, work_tx, &tokens);
        drop(token_rx);
        let mut total = writer
            .join()
            .map_err(|_| io::Error::other("writer thread panicked"))??;
        total.warning = warning.0;
        total.ends_mid_line = warning.1;
        Ok(total)
    })
}
