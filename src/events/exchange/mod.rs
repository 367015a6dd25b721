//! Exchange server logs and Microsoft 365 exports → the normalized [`Event`].
//!
//! These are not syslog: each is a table with a header (W3C `#Fields:` or a CSV header row),
//! a stream of JSON audit records, or Exchange server lines recognised one by one. The file's
//! format is recognised from its first bytes ([`crate::evidence::exports::recognise`]); this
//! module reads the whole stream in that format, one record at a time (never the whole file),
//! and each format's module turns a record into [`Rec`]s: [`http`] (HttpProxy, IIS, request
//! CSVs), [`lines`] (ECP server log, OABGenerator log, header-less rows), [`msgtrk`]
//! (message tracking), [`ual`] (unified audit log, CSV or JSON), [`inventory`]
//! (`Get-InboxRule` / `Get-TransportRule` / `Get-Mailbox` exports). What does not fit the
//! flat event fields goes into the structured [`detail::Detail`].
//!
//! To read a new export: a variant in `ExportKind`, its recognition, a module here with a
//! `row` function, and one arm in [`read`].

pub mod access;
pub mod cmdline;
/// The structured detail moved to [`crate::events::detail`]; kept here under its old path.
pub use crate::events::detail;
pub mod evtx;
pub mod http;
pub mod inventory;
pub mod json;
pub mod lines;
pub mod msgtrk;
pub mod protocol;
pub mod ual;
pub mod ual_mail;
pub mod values;
pub mod winlog;

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use chrono_tz::Tz;

use crate::events::record::{Event, Kind, Source};
use crate::events::web;
use crate::evidence::exports::{fields_line, ExportKind};
use detail::Detail;
use values::Header;

/// One event read from an export, owned (export records are not borrowed from a chunk).
#[derive(Debug, Clone)]
pub struct Rec {
    /// Time, µs since the epoch (UTC).
    pub ts_us: i64,
    /// What happened.
    pub kind: Kind,
    /// Service (`exchange/httpproxy/ecp`, `m365/exchange`, `iis`).
    pub service: Cow<'static, str>,
    /// Protocol.
    pub proto: Option<&'static str>,
    /// Reporting server.
    pub host: Option<String>,
    /// Client address.
    pub src_ip: Option<String>,
    /// Client name.
    pub src_host: Option<String>,
    /// Acting account (the audit record's `UserId`, the web or protocol login).
    pub actor: Option<String>,
    /// The mailbox the record concerns (a rule's or a forwarding's mailbox, the mailbox
    /// owner of an audited access, an inventory row's mailbox).
    pub mailbox: Option<String>,
    /// Envelope sender.
    pub sender: Option<String>,
    /// Recipient.
    pub recipient: Option<String>,
    /// Message id.
    pub queue_id: Option<String>,
    /// Status (HTTP status, `sent`, `created`, `removed`).
    pub status: Option<String>,
    /// Next hop of a delivery (`local` for a message-tracking `DELIVER`).
    pub relay: Option<String>,
    /// Structured detail.
    pub detail: Detail,
}

impl Rec {
    /// A record of `kind` at `ts_us` from `service`.
    pub fn new(kind: Kind, ts_us: i64, service: impl Into<Cow<'static, str>>) -> Rec {
        Rec {
            ts_us,
            kind,
            service: service.into(),
            proto: None,
            host: None,
            src_ip: None,
            src_host: None,
            actor: None,
            mailbox: None,
            sender: None,
            recipient: None,
            queue_id: None,
            status: None,
            relay: None,
            detail: Detail::default(),
        }
    }

    /// The event, pointing at `source`; `ts` is its RFC 3339 text.
    pub fn event<'a>(&'a self, ts: Arc<str>, source: Source<'a>) -> Event<'a> {
        let detail = self.detail.to_text();
        self.event_with(ts, source, (detail != "{}").then_some(Cow::Owned(detail)))
    }

    /// [`Rec::event`] with its detail text written into `scratch` (a buffer reused from
    /// record to record, not a new one each).
    pub fn event_in<'a>(
        &'a self,
        ts: Arc<str>,
        source: Source<'a>,
        scratch: &'a mut String,
    ) -> Event<'a> {
        self.detail.write_text(scratch);
        let detail: &'a str = scratch;
        self.event_with(
            ts,
            source,
            (detail != "{}").then_some(Cow::Borrowed(detail)),
        )
    }

    fn event_with<'a>(
        &'a self,
        ts: Arc<str>,
        source: Source<'a>,
        detail: Option<Cow<'a, str>>,
    ) -> Event<'a> {
        let b = |s: &'a Option<String>| s.as_deref().map(Cow::Borrowed);
        Event {
            ts,
            ts_unix_us: self.ts_us,
            ts_year_inferred: false,
            host: source.host,
            log_host: b(&self.host),
            service: Cow::Borrowed(self.service.as_ref()),
            pid: None,
            kind: self.kind,
            proto: self.proto,
            src_ip: b(&self.src_ip),
            src_host: b(&self.src_host),
            proxy: None,
            actor: b(&self.actor),
            mailbox: b(&self.mailbox),
            sender: b(&self.sender),
            recipient: b(&self.recipient),
            orig_recipient: None,
            queue_id: b(&self.queue_id),
            status: b(&self.status),
            relay: b(&self.relay),
            detail,
            utf8_lossy: false,
            source,
            session: None,
        }
    }
}

/// What one record of an export became.
pub enum Got {
    /// Events (a message-tracking row with several recipients gives several).
    Events(Vec<Rec>),
    /// A known record without an event (a header, a comment).
    Ignored,
    /// A record of no known shape.
    Unparsed,
}

/// Where a record starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct At {
    /// 1-based line.
    pub line: u64,
    /// Byte offset.
    pub offset: u64,
}

/// Reads the whole export `r` of format `kind`, handing each record's outcome to `emit` (which
/// returns false to stop early) with its text (a CSV format gives the text of an unparsed
/// record only: the others' is empty). `export_us` is the time given to inventory rows that carry
/// none (the export file's modification time); `tz` the zone of logs that write local times
/// without a zone (Zimbra's). Returns the number of lines read and whether the stream ended
/// in a read error (its text).
pub fn read(
    kind: ExportKind,
    r: &mut dyn Read,
    export_us: Option<i64>,
    tz: Tz,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, Option<String>) {
    match kind {
        ExportKind::Iis
        | ExportKind::ExchangeLines
        | ExportKind::AccessLog
        | ExportKind::ZimbraLog => {
            let mut state = Carry::default();
            let (lines, err) = by_line(kind, r, tz, &mut state, At::default(), emit);
            (lines.unwrap_or(0), err)
        }
        ExportKind::UalJson => ual::read_json(r, emit),
        ExportKind::Evtx => evtx::read(r, emit),
        _ => {
            let mut br = BufReader::with_capacity(1 << 20, r);
            let crlf = match br.fill_buf() {
                Ok(head) => crlf_ends(head),
                Err(_) => false,
            };
            let mut state = Carry::default();
            let (lines, err) = by_record(
                kind,
                &mut br,
                export_us,
                crlf,
                &mut state,
                At::default(),
                emit,
            );
            (lines.unwrap_or(0), err)
        }
    }
}

/// Whether the first line of a stream (from its first bytes) ends in CRLF.
pub fn crlf_ends(head: &[u8]) -> bool {
    let first = head.iter().position(|&b| b == b'\n');
    first.is_some_and(|i| i > 0 && head[i - 1] == b'\r')
}

/// What one part of an export hands to the next: the column names in force (a W3C
/// `#Fields:` line, a CSV header row). Only a record holding `#Fields:`, or any record before
/// a CSV header is known, changes it.
#[derive(Debug, Clone, Default)]
pub struct Carry {
    /// The column names, lower-case.
    fields: Option<Header>,
    /// Where `fields` holds a web request's columns (set with them, by [`Carry::set`]).
    web: Option<http::Columns>,
}

impl Carry {
    /// The column names from now on.
    fn set(&mut self, header: Option<Header>) {
        self.web = header.as_ref().map(http::Columns::of_header);
        self.fields = header;
    }

    /// The column names and where they hold a web request's columns, once known.
    fn header(&self) -> Option<(&Header, &http::Columns)> {
        self.fields.as_ref().zip(self.web.as_ref())
    }

    /// Whether column names are known.
    pub fn has_fields(&self) -> bool {
        self.fields.is_some()
    }
}

/// How an export of `kind` can be cut into parts of whole records read one after another
/// ([`read_part`]), if it can: line formats at any line end, CSV formats at a line end outside
/// quotes. JSON audit records, EVTX and spool headers are read whole.
pub fn splits(kind: ExportKind) -> Option<Split> {
    match kind {
        ExportKind::Iis
        | ExportKind::ExchangeLines
        | ExportKind::AccessLog
        | ExportKind::ZimbraLog => Some(Split::Lines),
        ExportKind::HttpProxy
        | ExportKind::HttpCsv
        | ExportKind::MessageTracking
        | ExportKind::UalCsv
        | ExportKind::InboxRules
        | ExportKind::TransportRules
        | ExportKind::Mailboxes => Some(Split::Csv),
        _ => None,
    }
}

/// Where records of a format may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// One record a line.
    Lines,
    /// CSV: a record ends at a line end outside quotes.
    Csv,
}

/// The state of a CSV scan between bytes, as the `csv` reader sees quotes: a quote opens a
/// quoted field only at the start of a field, `""` inside one is a quote, and after the
/// closing quote the field goes on unquoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvScan {
    /// At the start of a record (or in the line ends after one).
    #[default]
    RecordStart,
    /// At the start of a field after a comma.
    FieldStart,
    /// In an unquoted field.
    Field,
    /// In a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field.
    QuoteInQuoted,
    /// Just after the `\r` that ended a record.
    AfterCr,
}

impl Split {
    /// The end (exclusive) of the last place in `bytes` where a part may end, scanning on
    /// from `scan` (the state at `bytes[0]`, updated to the state at the end of `bytes`); None
    /// when there is none. A line format: after any `\n`. A CSV: after the line end of a
    /// record (not after an empty line), where the `csv` reader puts the next record's start
    /// exactly where a reader of the part alone does — after `\r\n` when the stream's first
    /// line ends so (`crlf`: the reader's start is then corrected by one), after a lone `\n`
    /// otherwise.
    pub fn last_end(self, bytes: &[u8], scan: &mut CsvScan, crlf: bool) -> Option<usize> {
        match self {
            Split::Lines => memchr::memrchr(b'\n', bytes).map(|i| i + 1),
            Split::Csv => {
                use CsvScan::*;
                let mut end = None;
                let mut st = *scan;
                let mut i = 0;
                while i < bytes.len() {
                    // Inside a field only some bytes change the state: jump to the next.
                    let skip = match st {
                        Quoted => memchr::memchr(b'"', &bytes[i..]),
                        Field => memchr::memchr3(b',', b'\n', b'\r', &bytes[i..]),
                        _ => Some(0),
                    };
                    let Some(k) = skip else { break };
                    i += k;
                    // A doubled quote inside a quoted field (JSON in a CSV cell is full of
                    // them) leaves the field quoted: stepped over at once.
                    if st == Quoted && bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    let b = bytes[i];
                    i += 1;
                    st = match (st, b) {
                        (Quoted, b'"') => QuoteInQuoted,
                        (Quoted, _) => Quoted,
                        (QuoteInQuoted, b'"') => Quoted,
                        (RecordStart, b'\r' | b'\n') => RecordStart,
                        (AfterCr, b'\n') => {
                            if crlf {
                                end = Some(i);
                            }
                            RecordStart
                        }
                        (AfterCr, b'\r') => RecordStart,
                        (_, b'\n') => {
                            if !crlf {
                                end = Some(i);
                            }
                            RecordStart
                        }
                        (_, b'\r') => AfterCr,
                        (RecordStart | FieldStart | AfterCr, b'"') => Quoted,
                        (_, b',') => FieldStart,
                        _ => Field,
                    };
                }
                *scan = st;
                end
            }
        }
    }
}

/// Reads one part of an export of `kind` (whole records, cut by [`Split::last_end`]) that
/// starts at `base` (its first line and byte offset in the whole stream), with the column
/// names `carry` left by the parts before it (updated to what this part leaves). `crlf`:
/// whether the stream's first line ends in CRLF ([`crlf_ends`] of its head). Returns, for a
/// CSV format, the line count the whole stream would report if it ended after this part's
/// last record (None when it holds none); for a line format, the lines of the part.
#[allow(clippy::too_many_arguments)]
pub fn read_part(
    kind: ExportKind,
    part: &[u8],
    base: At,
    export_us: Option<i64>,
    tz: Tz,
    crlf: bool,
    carry: &mut Carry,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> Option<u64> {
    let mut r = part;
    match splits(kind) {
        Some(Split::Lines) => Some(lines_of(kind, part, tz, carry, base, emit)),
        _ => by_record(kind, &mut r, export_us, crlf, carry, base, emit).0,
    }
}

/// Line-oriented formats: IIS W3C (space-separated, header optional), Exchange server lines,
/// web-server access lines and Zimbra's log4j lines.
/// Starts at `base` (line 0 and offset 0 for a whole stream) with the fields `carry`; returns
/// the lines read.
fn by_line(
    kind: ExportKind,
    r: &mut dyn Read,
    tz: Tz,
    carry: &mut Carry,
    base: At,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (Option<u64>, Option<String>) {
    let mut br = BufReader::with_capacity(1 << 20, r);
    let mut buf = Vec::new();
    let (mut line, mut offset) = (0u64, 0u64);
    loop {
        buf.clear();
        match br.read_until(b'\n', &mut buf) {
            Ok(0) => return (Some(line), None),
            Ok(n) => {
                line += 1;
                let at = At {
                    line: base.line + line,
                    offset: base.offset + offset,
                };
                offset += n as u64;
                let (text, lossy) = utf8(&buf);
                if !one_line(kind, tz, carry, at, text, lossy, emit) {
                    return (Some(line), None);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return (
                    Some(line),
                    Some(format!("read failed after line {line}: {e}")),
                )
            }
        }
    }
}

/// [`by_line`] over a part already in memory: its lines are read where they lie.
fn lines_of(
    kind: ExportKind,
    part: &[u8],
    tz: Tz,
    carry: &mut Carry,
    base: At,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> u64 {
    let (mut line, mut offset) = (0u64, 0usize);
    // A part that is UTF-8 as a whole is checked once, not line by line.
    let whole = std::str::from_utf8(part).ok();
    while offset < part.len() {
        let end = memchr::memchr(b'\n', &part[offset..]).map_or(part.len(), |i| offset + i + 1);
        line += 1;
        let at = At {
            line: base.line + line,
            offset: base.offset + offset as u64,
        };
        // A line ends after `\n`, an ASCII byte: always a character boundary.
        let (text, lossy) = match whole.and_then(|w| w.get(offset..end)) {
            Some(t) => (Cow::Borrowed(t), false),
            None => utf8(&part[offset..end]),
        };
        if !one_line(kind, tz, carry, at, text, lossy, emit) {
            break;
        }
        offset = end;
    }
    line
}

/// A line's text, and whether its bytes were not UTF-8 (then replaced).
fn utf8(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(t) => (Cow::Borrowed(t), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    }
}

/// One line of a line-oriented export (with its line end, if any; `lossy`: its bytes were not
/// UTF-8), handed to `emit`; returns what `emit` says (false: stop).
fn one_line(
    kind: ExportKind,
    tz: Tz,
    carry: &mut Carry,
    at: At,
    text: Cow<str>,
    lossy: bool,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> bool {
    let text = text
        .trim_end_matches(['\n', '\r'])
        .trim_start_matches('\u{feff}');
    let got = if kind == ExportKind::AccessLog {
        web::access::line(text)
    } else if kind == ExportKind::ZimbraLog {
        web::zimbra::line(text, tz)
    } else if let Some(f) = fields_line(text) {
        carry.set(Some(Header::new(
            f.iter().map(|s| s.to_ascii_lowercase()).collect(),
        )));
        Got::Ignored
    } else if text.starts_with('#') || text.trim().is_empty() {
        Got::Ignored
    } else if kind == ExportKind::Iis {
        http::iis_line(text, carry.header())
    } else {
        lines::line(text)
    };
    emit(at, text, got, lossy)
}

/// CSV formats with a header (a `#Fields:` line or the first row), records may span lines.
/// Starts at `base` (line 0 and offset 0 for a whole stream, else the start of a record) with
/// the header `carry`; `crlf` says whether the stream's first line ends in CRLF. Returns the
/// line count after the last record read (None if none was).
fn by_record(
    kind: ExportKind,
    r: &mut dyn Read,
    export_us: Option<i64>,
    crlf: bool,
    carry: &mut Carry,
    base: At,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (Option<u64>, Option<String>) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    // With CRLF line ends the csv reader stops a record at `\r` and counts the `\n` into
    // the next record's start position: one line too few for every record after the first
    // (a part starts after the `\n`: its first record is where the reader says).
    let start = |p: &csv::Position| At {
        line: base.line + p.line() + u64::from(crlf && p.byte() > 0),
        offset: base.offset + p.byte() + u64::from(crlf && p.byte() > 0),
    };
    let mut rec = csv::ByteRecord::new();
    let mut lines = None;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return (lines, None),
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    let n = lines.unwrap_or(0);
                    return (lines, Some(format!("read failed after line {n}: {e}")));
                }
                // A malformed record: counted, the next one is read.
                let at = e.position().map(start).unwrap_or_default();
                if !emit(at, "", Got::Unparsed, false) {
                    return (lines, None);
                }
                continue;
            }
        }
        let at = rec.position().map(start).unwrap_or_default();
        lines = Some(base.line + rdr.position().line());
        let mut lossy = false;
        let cells: Vec<Cow<str>> = rec
            .iter()
            .map(|c| match std::str::from_utf8(c) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => {
                    lossy = true;
                    String::from_utf8_lossy(c)
                }
            })
            .collect();
        let first = cells
            .first()
            .map(|c| c.trim_start_matches('\u{feff}'))
            .unwrap_or("");
        // The record's text is wanted for a `#Fields:` row and an unparsed one only.
        let text = || cells.join(",");
        let got = if first.starts_with("#Fields:") {
            carry.set(
                fields_line(text().trim_start_matches('\u{feff}'))
                    .map(|f| Header::new(f.iter().map(|s| s.to_ascii_lowercase()).collect())),
            );
            Got::Ignored
        } else if first.starts_with('#') || cells.iter().all(|c| c.trim().is_empty()) {
            Got::Ignored
        } else if let Some((header, web)) = carry.header() {
            let row = header.row(&cells);
            match kind {
                ExportKind::HttpProxy | ExportKind::HttpCsv => http::row(kind, &row, web),
                ExportKind::MessageTracking => msgtrk::row(&row),
                ExportKind::UalCsv => ual::csv_row(&row),
                ExportKind::InboxRules => inventory::inbox_rule(&row, export_us),
                ExportKind::TransportRules => inventory::transport_rule(&row, export_us),
                ExportKind::Mailboxes => inventory::mailbox(&row, export_us),
                _ => Got::Unparsed,
            }
        } else {
            carry.set(Some(Header::new(
                cells
                    .iter()
                    .map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
                    .collect(),
            )));
            Got::Ignored
        };
        let text = match got {
            Got::Unparsed => text(),
            _ => String::new(),
        };
        if !emit(at, &text, got, lossy) {
            return (lines, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record's place, outcome and events, for comparing two reads.
    fn outline(
        f: impl FnOnce(&mut dyn FnMut(At, &str, Got, bool) -> bool),
    ) -> Vec<(u64, u64, String, bool)> {
        let mut v = Vec::new();
        f(&mut |at, text, got, lossy| {
            let what = match got {
                Got::Events(recs) => recs
                    .iter()
                    .map(|r| {
                        let source = Source {
                            host: "",
                            path: "",
                            sha256: None,
                            line: 0,
                            offset: 0,
                        };
                        format!("{:?}", r.event(r.ts_us.to_string().into(), source))
                    })
                    .collect::<Vec<_>>()
                    .join("|"),
                Got::Ignored => "ignored".into(),
                Got::Unparsed => format!("unparsed {text}"),
            };
            v.push((at.line, at.offset, what, lossy));
            true
        });
        v
    }

    /// Cut at record ends (every one, or every third), parts read one after another with the
    /// column names handed on give exactly what one read of the whole stream gives: quoted
    /// line ends, doubled quotes, a quote inside an unquoted field, CRLF, a `#Fields:` row
    /// changing the columns, a record cut by the end of the stream.
    #[test]
    fn parts_cut_at_record_ends_read_as_the_whole_stream() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/exchange-exports/m365/purview-unified-audit-log.csv"
        ))
        .unwrap();
        let mut tricky = sample.clone();
        tricky.extend_from_slice(
            b"x,3/4/2026 3:15:11 PM,1,a\"b,\"multi\nline \"\"quoted\"\"\r\ncell\",z\n\
              \n#Fields: date,userids,operations,auditdata\n\
              2026-03-04T15:15:11,u@example.org,New-InboxRule,\"{\"\"Operation\"\":\"\"New-InboxRule\"\"}\"\n\
              y,\"never closed\nstill in it",
        );
        let crlf_text: Vec<u8> = String::from_utf8(sample.clone())
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes();
        let mut crlf_tricky = crlf_text.clone();
        crlf_tricky.extend_from_slice(&tricky[sample.len()..]);
        crlf_tricky.extend_from_slice(b"\r\n\r\nlast,\"q\"\r\n\nafter,empty\r\n");
        let iis = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/exchange-exports/exch01/W3SVC1/u_ex260303.log"
        ))
        .unwrap();
        for (kind, bytes) in [
            (ExportKind::UalCsv, &sample),
            (ExportKind::UalCsv, &tricky),
            (ExportKind::UalCsv, &crlf_text),
            (ExportKind::UalCsv, &crlf_tricky),
            (ExportKind::Iis, &iis),
        ] {
            let whole = outline(|emit| {
                read(kind, &mut &bytes[..], None, Tz::UTC, emit);
            });
            let split = splits(kind).unwrap();
            let crlf = crlf_ends(bytes);
            let mut ends = Vec::new();
            let mut scan = CsvScan::default();
            for i in 0..bytes.len() {
                if split.last_end(&bytes[i..i + 1], &mut scan, crlf).is_some() {
                    ends.push(i + 1);
                }
            }
            assert!(ends.len() > 10);
            // Scanning a whole buffer at once finds the same last end as byte by byte.
            for n in (0..bytes.len()).step_by(97) {
                let mut fresh = CsvScan::default();
                let want = ends.iter().copied().rfind(|&e| e <= n);
                assert_eq!(split.last_end(&bytes[..n], &mut fresh, crlf), want, "{n}");
            }
            for every in [1, 3] {
                let mut cuts: Vec<usize> = ends.iter().copied().step_by(every).collect();
                cuts.push(bytes.len());
                let parts = outline(|emit| {
                    let (mut from, mut base, mut carry) = (0, At::default(), Carry::default());
                    for &to in &cuts {
                        let part = &bytes[from..to];
                        read_part(kind, part, base, None, Tz::UTC, crlf, &mut carry, emit);
                        base.line += part.iter().filter(|&&b| b == b'\n').count() as u64;
                        base.offset += part.len() as u64;
                        from = to;
                    }
                });
                assert_eq!(parts.len(), whole.len());
                for (p, w) in parts.iter().zip(&whole) {
                    assert_eq!(p, w, "{kind:?} cut every {every}");
                }
            }
        }
    }
}
