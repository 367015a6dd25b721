//! Reading one Exchange / Microsoft 365 export into the same outputs as a syslog file.
//!
//! The export's format was recognised from its first bytes; [`crate::events::exchange::read`]
//! streams its records, and this module renders their events in batches of [`BATCH`] through
//! the same [`Writer`] and [`Sink`] as the syslog pipeline (so `parse`, `detect`, `timeline`
//! and `report` treat them alike), counting lines, events, ignored and unparsed records.
//! Line and CSV formats are read on two threads ([`in_parts`]): the stream is cut into parts
//! of whole records (a CSV record ends at a line end outside quotes), two readers turn parts
//! into records, and the events are rendered in the stream's order — the same records, lines
//! and offsets one thread reading the whole stream gives. JSON audit records, EVTX and spool
//! headers are read on one thread. A new format that can be cut: a [`Split`] for it in
//! [`crate::events::exchange::splits`].

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use super::output::{Rendered, Sink, Writer};
use super::pipeline::{Ctx, Pool};
use super::FileStats;
use crate::events::exchange::{At, Carry, CsvScan, Got, Split};
use crate::events::record::Source;
use crate::evidence::exports::ExportKind;

/// Reads export `r` with the reader of its format (Exim spool headers have their own).
fn read(
    kind: ExportKind,
    r: &mut dyn Read,
    export_us: Option<i64>,
    tz: chrono_tz::Tz,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, Option<String>) {
    match kind {
        // Spool headers carry epoch times: no zone.
        ExportKind::EximSpoolHeader => crate::events::exim_spool::read(r, emit),
        _ => crate::events::exchange::read(kind, r, export_us, tz, emit),
    }
}

/// Events rendered per batch.
const BATCH: usize = 4096;

/// Bytes of whole records a part holds (at least; a record is never cut).
const PART: usize = 1 << 20;

/// Parts read ahead of the one being rendered.
const AHEAD: usize = 6;

/// Threads turning parts into records.
const READERS: usize = 2;

/// Turns records into rendered batches and counts them, in the order they are handed over.
struct Render<'a, 'u> {
    ctx: &'a Ctx<'a>,
    writer: Writer<Vec<u8>>,
    pending: usize,
    stats: FileStats,
    unparsed: Option<&'u mut (dyn Write + Send)>,
    /// The detail text of the record being rendered (its room reused).
    detail: String,
    /// The last record's time and its text (records in a row often share the second).
    last_ts: Option<(i64, Arc<str>)>,
    /// Where batch buffers come from (and the renderer returns them), when parts are read
    /// on several threads.
    pool: Option<&'a Pool>,
}

impl<'a, 'u> Render<'a, 'u> {
    fn new(
        ctx: &'a Ctx<'a>,
        unparsed: Option<&'u mut (dyn Write + Send)>,
        pool: Option<&'a Pool>,
    ) -> io::Result<Self> {
        Ok(Render {
            ctx,
            writer: Writer::new(ctx.format, buffer(pool), false, ctx.file_id)?,
            pending: 0,
            stats: FileStats::default(),
            unparsed,
            detail: String::new(),
            last_ts: None,
            pool,
        })
    }

    /// One record's outcome; returns the batch it filled, if it did.
    fn record(
        &mut self,
        at: At,
        text: &str,
        got: Got,
        lossy: bool,
    ) -> io::Result<Option<Rendered<Vec<u8>>>> {
        let ctx = self.ctx;
        let stats = &mut self.stats;
        if lossy {
            stats.lossy += 1;
        }
        match got {
            Got::Events(recs) => {
                for rec in &recs {
                    let ts = match &self.last_ts {
                        Some((us, ts)) if *us == rec.ts_us => Arc::clone(ts),
                        _ => {
                            let ts: Arc<str> = crate::detect::finding::ts(rec.ts_us).into();
                            self.last_ts = Some((rec.ts_us, Arc::clone(&ts)));
                            ts
                        }
                    };
                    let e = rec.event_in(
                        ts,
                        Source {
                            host: &ctx.host,
                            path: &ctx.path,
                            sha256: ctx.sha256.as_deref(),
                            line: at.line,
                            offset: at.offset,
                        },
                        &mut self.detail,
                    );
                    self.writer.push(&e)?;
                    stats.events += 1;
                    stats.first_us = Some(stats.first_us.map_or(rec.ts_us, |t| t.min(rec.ts_us)));
                    stats.last_us = Some(stats.last_us.map_or(rec.ts_us, |t| t.max(rec.ts_us)));
                    self.pending += 1;
                }
            }
            Got::Ignored => stats.ignored += 1,
            Got::Unparsed => {
                stats.unparsed += 1;
                if let Some(u) = self.unparsed.as_mut() {
                    let _ = writeln!(u, "{}:{}: {}", ctx.path, at.line, text);
                }
            }
        }
        if self.pending >= BATCH {
            self.pending = 0;
            let full = std::mem::replace(
                &mut self.writer,
                Writer::new(ctx.format, buffer(self.pool), false, ctx.file_id)?,
            );
            return full.finish().map(Some);
        }
        Ok(None)
    }

    /// The last batch; the counts.
    fn finish(self) -> io::Result<(Rendered<Vec<u8>>, FileStats)> {
        Ok((self.writer.finish()?, self.stats))
    }
}

/// A buffer for a batch: a recycled one when there is a pool.
fn buffer(pool: Option<&Pool>) -> Vec<u8> {
    pool.map_or_else(Vec::new, Pool::get)
}

/// Parses export `r` of format `kind`; `export_us` is the file's modification time (the time
/// of inventory rows that carry none).
pub fn run(
    ctx: &Ctx,
    kind: ExportKind,
    export_us: Option<i64>,
    r: &mut dyn Read,
    out: &mut Sink,
    unparsed: Option<&mut (dyn Write + Send)>,
) -> io::Result<FileStats> {
    if let Some(split) = crate::events::exchange::splits(kind) {
        return in_parts(ctx, kind, split, export_us, r, out, unparsed);
    }
    let mut render = Render::new(ctx, unparsed, None)?;
    let mut failure: Option<io::Error> = None;
    let tz = ctx.clock.tz;
    let (lines, warning) = read(kind, r, export_us, tz, &mut |at, text, got, lossy| {
        let written = match render.record(at, text, got, lossy) {
            Ok(Some(mut batch)) => out.write(&mut batch),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let (mut last, mut stats) = render.finish()?;
    out.write(&mut last)?;
    if let Some(c) = ctx.ceiling {
        out.advance(c)?;
    }
    stats.lines = lines;
    stats.warning = warning;
    Ok(stats)
}

/// A part of an export: whole records from `base` on.
struct Part {
    seq: usize,
    bytes: Vec<u8>,
    base: At,
    carry: Carry,
    /// The part may change the column names: the next one waits for what it leaves.
    barrier: bool,
}

/// What reading a part gave: its events rendered, its unparsed records (line, text), its
/// counts.
struct Parsed {
    seq: usize,
    batches: io::Result<Vec<Rendered<Vec<u8>>>>,
    unparsed: Vec<(u64, String)>,
    stats: FileStats,
    /// See [`crate::events::exchange::read_part`].
    lines: Option<u64>,
    /// The part's buffer, for the next read.
    bytes: Vec<u8>,
}

/// How the stream ended: its error, if a read failed.
type Ended = Option<io::Error>;

/// Reads an export that can be cut into parts of whole records (see
/// [`crate::events::exchange::Split`]) on two threads: this one cuts the stream, two readers
/// turn parts into records, a renderer writes their events in the stream's order. Every
/// record, line and offset is what one thread reading the whole stream gives: a part starts
/// at its first line and byte offset, with the column names the parts before it left (a part
/// that may change them — one holding `#Fields:`, or any part of a CSV before its header row —
/// is read before the next one is handed out).
fn in_parts(
    ctx: &Ctx,
    kind: ExportKind,
    split: Split,
    export_us: Option<i64>,
    r: &mut dyn Read,
    out: &mut Sink,
    unparsed: Option<&mut (dyn Write + Send)>,
) -> io::Result<FileStats> {
    let tz = ctx.clock.tz;
    // The first read decides whether a CSV's lines end in CRLF, as for a whole stream.
    let mut first = vec![0u8; PART];
    let (n, mut first_end) = loop {
        match r.read(&mut first) {
            Ok(0) => break (0, Some(None)),
            Ok(n) => break (n, None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break (0, Some(Some(e))),
        }
    };
    first.truncate(n);
    let crlf = crate::events::exchange::crlf_ends(&first);
    let (work_tx, work_rx) = sync_channel::<Part>(AHEAD);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = channel::<Parsed>();
    let (carry_tx, carry_rx) = channel::<Carry>();
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    for _ in 0..AHEAD {
        let _ = free_tx.send(Vec::new());
    }
    // The renderer learns how the stream ended, and how many lines it had, once cut.
    let (end_tx, end_rx) = channel::<(Ended, bool)>();
    // Batch buffers go back to the readers once written: fresh multi-megabyte buffers cost
    // page faults on every batch.
    let pool = &Pool::with_floor(BATCH * 64);
    std::thread::scope(|scope| {
        for _ in 0..READERS {
            let (work_rx, done_tx, carry_tx) = (&work_rx, done_tx.clone(), carry_tx.clone());
            scope.spawn(move || loop {
                let part = {
                    let Ok(rx) = work_rx.lock() else { return };
                    match rx.recv() {
                        Ok(p) => p,
                        Err(_) => return,
                    }
                };
                let Part {
                    seq,
                    bytes,
                    base,
                    mut carry,
                    barrier,
                } = part;
                // The part's events are rendered here, on the reader's core: the records
                // are still in its cache and the renderer only writes bytes in order.
                let mut batches = Vec::new();
                let mut unparsed = Vec::new();
                let mut failure = None;
                let mut lines = None;
                match Render::new(ctx, None, Some(pool)) {
                    Err(e) => failure = Some(e),
                    Ok(mut render) => {
                        lines = crate::events::exchange::read_part(
                            kind,
                            &bytes,
                            base,
                            export_us,
                            tz,
                            crlf,
                            &mut carry,
                            &mut |at, text, got, lossy| {
                                if matches!(got, Got::Unparsed) {
                                    unparsed.push((at.line, text.to_string()));
                                }
                                match render.record(at, text, got, lossy) {
                                    Ok(Some(batch)) => batches.push(batch),
                                    Ok(None) => {}
                                    Err(e) => {
                                        failure = Some(e);
                                        return false;
                                    }
                                }
                                true
                            },
                        );
                        if failure.is_none() {
                            match render.finish() {
                                Ok((last, stats)) => {
                                    batches.push(last);
                                    if barrier && carry_tx.send(carry.clone()).is_err() {
                                        return;
                                    }
                                    let parsed = Parsed {
                                        seq,
                                        batches: Ok(batches),
                                        unparsed,
                                        stats,
                                        lines,
                                        bytes,
                                    };
                                    if done_tx.send(parsed).is_err() {
                                        return;
                                    }
                                    continue;
                                }
                                Err(e) => failure = Some(e),
                            }
                        }
                    }
                }
                // Rendering failed: the renderer stops at this part.
                if barrier && carry_tx.send(carry).is_err() {
                    return;
                }
                let parsed = Parsed {
                    seq,
                    batches: Err(failure
                        .unwrap_or_else(|| io::Error::other("rendering an export part failed"))),
                    unparsed,
                    stats: FileStats::default(),
                    lines,
                    bytes,
                };
                if done_tx.send(parsed).is_err() {
                    return;
                }
            });
        }
        drop((done_tx, carry_tx));
        let renderer = scope.spawn(move || -> io::Result<FileStats> {
            let mut unparsed = unparsed;
            let mut stats = FileStats::default();
            let mut waiting = BTreeMap::new();
            let mut next = 0usize;
            let mut lines = 0u64;
            for parsed in done_rx {
                waiting.insert(parsed.seq, parsed);
                while let Some(p) = waiting.remove(&next) {
                    next += 1;
                    for mut batch in p.batches? {
                        out.write(&mut batch)?;
                        pool.put(std::mem::take(&mut batch.out));
                    }
                    if let Some(u) = unparsed.as_mut() {
                        for (line, text) in &p.unparsed {
                            let _ = writeln!(u, "{}:{}: {}", ctx.path, line, text);
                        }
                    }
                    stats.add(&p.stats);
                    match split {
                        // A line format's part counts its own lines.
                        Split::Lines => lines += p.lines.unwrap_or(0),
                        // A CSV part knows the count at its last record.
                        Split::Csv => lines = p.lines.unwrap_or(lines),
                    }
                    let _ = free_tx.send(p.bytes);
                }
            }
            let (ended, whole) = end_rx.recv().unwrap_or((None, false));
            if !whole {
                return Err(io::Error::other("an export reader thread stopped"));
            }
            if let Some(c) = ctx.ceiling {
                out.advance(c)?;
            }
            stats.lines = lines;
            stats.warning = ended.map(|e| format!("read failed after line {lines}: {e}"));
            Ok(stats)
        });
        // Cut the stream into parts.
        let whole = cut(
            r,
            split,
            crlf,
            first,
            first_end.take(),
            &work_tx,
            &carry_rx,
            &free_rx,
        );
        drop(work_tx);
        let _ = end_tx.send(whole.map_or((None, false), |ended| (ended, true)));
        renderer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the export renderer panicked")))
    })
}
/// The time of the first event in the head of an export, if any.
/// `tz` is the zone of logs that write local times.
pub fn first_time(
    kind: ExportKind,
    head: &[u8],
    export_us: Option<i64>,
    tz: chrono_tz::Tz,
) -> Option<i64> {
    let mut first = None;
    read(
        kind,
        &mut &head[..],
        export_us,
        tz,
        &mut |_, _, got, _| match got {
            Got::Events(r) => {
                first = r.first().map(|r| r.ts_us);
                false
            }
            _ => true,
        },
    );
    first
}

/// Cuts `r` (whose first bytes were read into `buf`, and which ended there if `ended` says so)
/// into parts of whole records of at least [`PART`] bytes and hands them out in order. Returns
/// how the stream ended, or None when the readers or the renderer stopped first. After a read
/// error the records read whole are handed out and the partial one is dropped, as a single
/// reader drops it.
#[allow(clippy::too_many_arguments)]
fn cut(
    r: &mut dyn Read,
    split: Split,
    crlf: bool,
    mut buf: Vec<u8>,
    mut ended: Option<Ended>,
    work: &SyncSender<Part>,
    carries: &Receiver<Carry>,
    free: &Receiver<Vec<u8>>,
) -> Option<Ended> {
    let mut scan = CsvScan::default();
    // Bytes of `buf` scanned for record ends, and the end of its last whole record.
    let (mut scanned, mut whole) = (0usize, 0usize);
    let mut base = At::default();
    let mut carry = Carry::default();
    let mut seq = 0usize;
    loop {
        if let Some(e) = split.last_end(&buf[scanned..], &mut scan, crlf) {
            whole = scanned + e;
        }
        scanned = buf.len();
        let take = match &ended {
            None if whole >= PART => whole,
            None => 0,
            Some(None) => buf.len(),
            Some(Some(_)) => whole,
        };
        if take > 0 {
            let mut rest = free.recv().ok()?;
            rest.clear();
            rest.extend_from_slice(&buf[take..]);
            let mut bytes = std::mem::replace(&mut buf, rest);
            bytes.truncate(take);
            let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
            let barrier = (split == Split::Csv && !carry.has_fields())
                || memchr::memmem::find(&bytes, b"#Fields:").is_some();
            work.send(Part {
                seq,
                bytes,
                base,
                carry: carry.clone(),
                barrier,
            })
            .ok()?;
            seq += 1;
            base.line += lines;
            base.offset += take as u64;
            if barrier {
                carry = carries.recv().ok()?;
            }
            scanned -= take;
            whole = 0;
        }
        if let Some(e) = ended {
            return Some(e);
        }
        // Up to a part's bytes more, read into the buffer's spare room (not zero-filled
        // first); what was read before an error stays, as after a short read.
        match (&mut *r).take(PART as u64).read_to_end(&mut buf) {
            Ok(0) => ended = Some(None),
            Ok(_) => {}
            Err(e) => ended = Some(Some(e)),
        }
    }
}
