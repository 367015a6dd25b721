//! Reading one Exchange / Microsoft 365 export into the same outputs as a syslog file.
//!
//! The export's format was recognised from its first bytes; [`crate::events::exchange::read`]
//! streams its records, and this module renders their events in batches of [`BATCH`] through
//! the same [`Writer`] and [`Sink`] as the syslog pipeline (so `parse`, `detect`, `timeline`
//! and `report` treat them alike), counting lines, events, ignored and unparsed records.
//! Exports are far smaller than mail logs and records may span lines, so one thread reads
//! each.

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::output::{Sink, Writer};
use super::pipeline::Ctx;
use super::FileStats;
use crate::events::exchange::{At, Got};
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

/// Parses export `r` of format `kind`; `export_us` is the file's modification time (the time
/// of inventory rows that carry none).
pub fn run(
    ctx: &Ctx,
    kind: ExportKind,
    export_us: Option<i64>,
    r: &mut dyn Read,
    out: &mut Sink,
    mut unparsed: Option<&mut (dyn Write + Send)>,
) -> io::Result<FileStats> {
    let mut stats = FileStats::default();
    let mut writer = Writer::new(ctx.format, Vec::new(), false, ctx.file_id)?;
    let mut pending = 0usize;
    let mut failure: Option<io::Error> = None;
    let tz = ctx.clock.tz;
    let (lines, warning) = read(kind, r, export_us, tz, &mut |at, text, got, lossy| {
        if lossy {
            stats.lossy += 1;
        }
        match got {
            Got::Events(recs) => {
                for rec in &recs {
                    let ts: Arc<str> = crate::detect::finding::ts(rec.ts_us).into();
                    let e = rec.event(
                        ts,
                        Source {
                            host: &ctx.host,
                            path: &ctx.path,
                            sha256: ctx.sha256.as_deref(),
                            line: at.line,
                            offset: at.offset,
                        },
                    );
                    if let Err(err) = writer.write(&e) {
                        failure = Some(err);
                        return false;
                    }
                    stats.events += 1;
                    stats.first_us = Some(stats.first_us.map_or(rec.ts_us, |t| t.min(rec.ts_us)));
                    stats.last_us = Some(stats.last_us.map_or(rec.ts_us, |t| t.max(rec.ts_us)));
                    pending += 1;
                }
            }
            Got::Ignored => stats.ignored += 1,
            Got::Unparsed => {
                stats.unparsed += 1;
                if let Some(u) = unparsed.as_mut() {
                    let _ = writeln!(u, "{}:{}: {}", ctx.path, at.line, text);
                }
            }
        }
        if pending >= BATCH {
            pending = 0;
            let full = std::mem::replace(
                &mut writer,
                match Writer::new(ctx.format, Vec::new(), false, ctx.file_id) {
                    Ok(w) => w,
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                },
            );
            if let Err(e) = full.finish().and_then(|mut r| out.write(&mut r)) {
                failure = Some(e);
                return false;
            }
        }
        true
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let mut rendered = writer.finish()?;
    out.write(&mut rendered)?;
    if let Some(c) = ctx.ceiling {
        out.advance(c)?;
    }
    stats.lines = lines;
    stats.warning = warning;
    Ok(stats)
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
