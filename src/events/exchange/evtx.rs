//! Windows event logs (`.evtx`) read as a stream, one 64 KiB chunk at a time.
//!
//! An EVTX file is a 4 KiB file header (`ElfFile\0`) followed by 64 KiB chunks (`ElfChnk\0`),
//! each a self-contained set of binary-XML records. The binary XML is decoded by the `evtx`
//! crate ([`evtx::EvtxChunkData`]); this module only walks the container, so the file needs
//! no `Seek` (a bundle entry, a gzip stream and a plain file read alike) and memory stays at
//! one chunk whatever the log's size. Chunks are taken in file order: a log that wrapped
//! around holds its oldest chunk somewhere in the middle, but every record carries its own
//! time, so the order of events does not matter downstream.
//!
//! Damage is counted, never fatal: a chunk whose header is bad is one unparsed record and the
//! next chunk is read; a record that does not decode is one unparsed record; a file cut inside
//! a chunk has that chunk's readable records read (the rest of it is taken as zeros) and ends
//! with a warning. Each record's JSON rendering goes to [`super::winlog::record`], which
//! turns the records mailir understands into events and ignores the others.
//!
//! A record's position ([`At`]) is its `EventRecordID` (as `line`: what Event Viewer and
//! `wevtutil` show, from the record's `System` element) and the byte offset of its binary XML in the file (of its chunk, for a chunk that does not
//! decode).

use std::io::{self, Read};
use std::sync::Arc;

use evtx::{EvtxChunkData, ParserSettings};

use super::{At, Got};

/// The file header's magic.
pub const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
/// Size of the file header block.
const HEADER: usize = 4096;
/// Size of one chunk.
const CHUNK: usize = 65536;

/// Fills `buf` from `r` as far as the stream goes; the number of bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the whole event log `r`, handing each record's outcome to `emit` (false stops).
/// Returns the number of records read and the warning the file ended with, if any.
pub fn read(
    r: &mut dyn Read,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, Option<String>) {
    let mut head = vec![0u8; HEADER];
    match fill(r, &mut head) {
        Ok(n) if n == HEADER && head.starts_with(FILE_MAGIC) => {}
        Ok(n) if n < HEADER => {
            return (0, Some(format!("EVTX file header cut short ({n} bytes)")));
        }
        Ok(_) => return (0, Some("not an EVTX file (no ElfFile header)".into())),
        Err(e) => return (0, Some(format!("read failed in the EVTX file header: {e}"))),
    }
    let settings = Arc::new(ParserSettings::new().validate_checksums(false));
    let mut records = 0u64;
    let mut buf = vec![0u8; CHUNK];
    for number in 0u64.. {
        let offset = HEADER as u64 + number * CHUNK as u64;
        let n = match fill(r, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                return (
                    records,
                    Some(format!(
                        "read failed in chunk {number} (offset {offset}): {e}"
                    )),
                )
            }
        };
        if n == 0 {
            return (records, None);
        }
        // A cut chunk: what was read, then zeros; its records up to the cut still decode.
        buf[n..].fill(0);
        let cut = (n < CHUNK).then(|| {
            format!("EVTX file cut inside chunk {number} ({n} of {CHUNK} bytes); records after the cut are lost")
        });
        if buf.iter().all(|&b| b == 0) {
            // An unused chunk of a preallocated log.
            if cut.is_some() {
                return (records, cut);
            }
            continue;
        }
        // The decoder is the `evtx` crate's; should it panic on a hostile chunk, that chunk
        // counts as one unparsed record and the next is read.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            chunk(&buf, number, offset, &settings, &mut *emit)
        }));
        let (read, go_on) = decoded.unwrap_or_else(|_| {
            let text = format!("EVTX chunk {number}: the decoder failed");
            (1, emit(At { line: 0, offset }, &text, Got::Unparsed, false))
        });
        records += read;
        if !go_on || cut.is_some() {
            return (records, cut);
        }
    }
    (records, None)
}

/// The records of one chunk: how many were read, and whether to go on.
fn chunk(
    data: &[u8],
    number: u64,
    offset: u64,
    settings: &Arc<ParserSettings>,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, bool) {
    let at = At { line: 0, offset };
    let mut owned = match EvtxChunkData::new(data.to_vec(), false) {
        Ok(c) => c,
        Err(e) => {
            let text = format!("EVTX chunk {number}: {e}");
            return (1, emit(at, &text, Got::Unparsed, false));
        }
    };
    let mut parsed = match owned.parse(settings.clone()) {
        Ok(c) => c,
        Err(e) => {
            let text = format!("EVTX chunk {number}: {e}");
            return (1, emit(at, &text, Got::Unparsed, false));
        }
    };
    let mut n = 0u64;
    for rec in parsed.iter() {
        n += 1;
        let (at, text, got) = match rec {
            Err(e) => (at, format!("EVTX chunk {number}: {e}"), Got::Unparsed),
            Ok(rec) => {
                let id = rec.event_record_id;
                let mut at = At {
                    line: id,
                    offset: offset + rec.binxml_offset,
                };
                match rec.into_json_value() {
                    Ok(v) => {
                        // A log saved from a filtered view renumbers the record headers but
                        // keeps the `EventRecordID` that Event Viewer shows: that one.
                        if let Some(shown) = v.data["Event"]["System"]["EventRecordID"].as_u64() {
                            at.line = shown;
                        }
                        let (got, text) = super::winlog::record(&v.data);
                        (at, text, got)
                    }
                    Err(e) => (at, format!("EVTX record {id}: {e}"), Got::Unparsed),
                }
            }
        };
        if !emit(at, &text, got, false) {
            return (n, false);
        }
    }
    (n, true)
}
