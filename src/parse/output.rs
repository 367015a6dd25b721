//! Event renderers, one per `--format` variant.
//!
//! `jsonl` is the contract record (`docs/events.md`). `csv` flattens it (`source.*` become
//! `source_path` …) and neutralises cells an attacker could turn into spreadsheet formulas
//! (a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` in front). To add a format: a variant
//! in [`Format`] and an arm in [`Writer`].

use std::io::{self, Write};

use crate::events::record::Event;

/// `--format` of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line (the event contract).
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet (needs `--out`).
    Parquet,
    /// Compact facts for `detect` (not a file format).
    #[value(skip)]
    Facts,
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 25] = [
    "ts",
    "ts_year_inferred",
    "host",
    "log_host",
    "service",
    "pid",
    "kind",
    "proto",
    "src_ip",
    "src_host",
    "proxy",
    "actor",
    "mailbox",
    "sender",
    "recipient",
    "orig_recipient",
    "queue_id",
    "status",
    "relay",
    "detail",
    "utf8_lossy",
    "source_path",
    "source_sha256",
    "source_line",
    "source_offset",
];

/// Escapes a cell that a spreadsheet would evaluate.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    crate::sanitize::spreadsheet(s)
}

/// Appends `s` as a JSON string, escaped exactly as `serde_json` does: the runs between
/// bytes that need escaping are found eight bytes at a time and copied in one go.
fn json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(b, start) {
        out.extend_from_slice(&b[start..i]);
        let c = b[i];
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 15)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// The first byte at or after `from` that a JSON string must escape (a control character,
/// `"` or `\\`). Eight bytes are tested at once: in each mask the lowest flagged byte is a
/// true one (a borrow only carries upwards), so the lowest of the three is the answer.
fn next_escape(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let rest = b.get(from..)?;
    let mut words = rest.chunks_exact(8);
    for (k, w) in words.by_ref().enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let w = u64::from_le_bytes(a);
        let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
        let control = w.wrapping_sub(LO * 0x20) & !w & HI;
        let m = control | zero(w ^ (LO * u64::from(b'"'))) | zero(w ^ (LO * u64::from(b'\\')));
        if m != 0 {
            return Some(from + k * 8 + (m.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let done = rest.len() - tail.len();
    tail.iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
        .map(|p| from + done + p)
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn json_opt(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) {
    out.extend_from_slice(key);
    match v {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Renders one event as a JSON line, field for field as `serde_json` would (the contract
/// order), without its generic machinery: this is the hottest loop of `parse`.
pub fn event_json(e: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"ts\":");
    json_str(out, &e.ts);
    out.extend_from_slice(if e.ts_year_inferred {
        b",\"ts_year_inferred\":true"
    } else {
        b",\"ts_year_inferred\":false"
    });
    json_opt(out, b",\"host\":", Some(e.host));
    json_opt(out, b",\"log_host\":", e.log_host.as_deref());
    out.extend_from_slice(b",\"service\":");
    json_str(out, &e.service);
    out.extend_from_slice(b",\"pid\":");
    match e.pid {
        Some(p) => push_u64(out, u64::from(p)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(e.kind.name().as_bytes());
    out.push(b'"');
    json_opt(out, b",\"proto\":", e.proto);
    json_opt(out, b",\"src_ip\":", e.src_ip.as_deref());
    json_opt(out, b",\"src_host\":", e.src_host.as_deref());
    json_opt(out, b",\"proxy\":", e.proxy.as_deref());
    json_opt(out, b",\"actor\":", e.actor.as_deref());
    json_opt(out, b",\"mailbox\":", e.mailbox.as_deref());
    json_opt(out, b",\"sender\":", e.sender.as_deref());
    json_opt(out, b",\"recipient\":", e.recipient.as_deref());
    json_opt(out, b",\"orig_recipient\":", e.orig_recipient.as_deref());
    json_opt(out, b",\"queue_id\":", e.queue_id.as_deref());
    json_opt(out, b",\"status\":", e.status.as_deref());
    json_opt(out, b",\"relay\":", e.relay.as_deref());
    json_opt(out, b",\"detail\":", e.detail.as_deref());
    out.extend_from_slice(if e.utf8_lossy {
        b",\"utf8_lossy\":true"
    } else {
        b",\"utf8_lossy\":false"
    });
    json_opt(out, b",\"source\":{\"path\":", Some(e.source.path));
    json_opt(out, b",\"sha256\":", e.source.sha256);
    out.extend_from_slice(b",\"line\":");
    push_u64(out, e.source.line);
    out.extend_from_slice(b",\"offset\":");
    push_u64(out, e.source.offset);
    out.extend_from_slice(b"}}\n");
}

/// A renderer over any output.
pub enum Writer<W: Write> {
    /// JSON Lines (with a scratch buffer).
    Jsonl(W, Vec<u8>),
    /// CSV.
    Csv(Box<csv::Writer<W>>),
    /// Parquet columns (the bytes output stays empty).
    Parquet(Box<super::parquet::Batch>, W),
    /// Detection facts (the bytes output stays empty).
    Facts(Vec<crate::detect::fact::Fact>, W, u32),
}

/// One chunk, rendered.
pub struct Rendered<W> {
    /// Bytes (JSON Lines, CSV).
    pub out: W,
    /// Parquet columns.
    pub frame: Option<polars::prelude::DataFrame>,
    /// Detection facts.
    pub facts: Vec<crate::detect::fact::Fact>,
}

/// Where rendered chunks go: a byte stream, or a Parquet file.
pub enum Sink {
    /// stdout or a file.
    Bytes(Box<dyn Write + Send>),
    /// A Parquet file.
    Parquet(Box<super::parquet::ParquetSink>),
    /// A partitioned Parquet dataset (`--partition`).
    Lake(Box<super::lake::LakeSink>),
    /// A detection engine.
    Facts(std::sync::Arc<std::sync::Mutex<dyn crate::detect::fact::FactSink + Send>>),
}

impl Sink {
    /// Writes one rendered chunk (facts are moved out of it).
    pub fn write(&mut self, r: &mut Rendered<Vec<u8>>) -> io::Result<()> {
        match self {
            Sink::Bytes(w) => w.write_all(&r.out),
            Sink::Parquet(p) => match &r.frame {
                Some(f) => p.write(f),
                None => Ok(()),
            },
            Sink::Lake(l) => match &r.frame {
                Some(f) => l.write(f),
                None => Ok(()),
            },
            Sink::Facts(engine) => {
                engine
                    .lock()
                    .map_err(|_| io::Error::other("detection engine poisoned"))?
                    .facts(std::mem::take(&mut r.facts));
                Ok(())
            }
        }
    }

    /// Tells a detection engine that a file of the run (evidence of `host`) is starting,
    /// under number `id`.
    pub fn file(
        &mut self,
        id: u32,
        path: &str,
        sha256: Option<&str>,
        host: &str,
    ) -> io::Result<()> {
        if let Sink::Facts(engine) = self {
            let mut e = engine
                .lock()
                .map_err(|_| io::Error::other("detection engine poisoned"))?;
            e.file(id, path, sha256);
            e.file_host(id, host);
        }
        Ok(())
    }

    /// Promises a detection engine that no later fact is earlier than `at` (µs).
    pub fn advance(&mut self, at: i64) -> io::Result<()> {
        if let Sink::Facts(engine) = self {
            engine
                .lock()
                .map_err(|_| io::Error::other("detection engine poisoned"))?
                .advance(at);
        }
        Ok(())
    }

    /// Flushes and closes.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Sink::Bytes(mut w) => w.flush(),
            Sink::Parquet(p) => p.finish(),
            Sink::Lake(l) => l.finish(),
            Sink::Facts(_) => Ok(()),
        }
    }
}

impl Writer<Vec<u8>> {
    /// [`Writer::write`] into memory: JSON lines go straight into the output, not through
    /// the scratch buffer.
    pub fn push(&mut self, e: &Event) -> io::Result<()> {
        match self {
            Writer::Jsonl(out, _) => {
                event_json(e, out);
                Ok(())
            }
            w => w.write(e),
        }
    }
}

impl<W: Write> Writer<W> {
    /// Starts output in `format`; `header` writes the CSV header row first; `file` numbers the
    /// file for detection facts.
    pub fn new(format: Format, out: W, header: bool, file: u32) -> io::Result<Self> {
        Ok(match format {
            Format::Facts => Writer::Facts(crate::detect::fact::spare(), out, file),
            Format::Jsonl => Writer::Jsonl(out, Vec::with_capacity(1024)),
            Format::Parquet => Writer::Parquet(Box::default(), out),
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(out);
                if header {
                    w.write_record(CSV_HEADER)?;
                }
                Writer::Csv(Box::new(w))
            }
        })
    }

    /// Flushes; returns the byte output, and the chunk's Parquet columns or facts.
    pub fn finish(self) -> io::Result<Rendered<W>> {
        let (out, frame, facts) = match self {
            Writer::Jsonl(w, _) => (w, None, Vec::new()),
            Writer::Csv(w) => (
                w.into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?,
                None,
                Vec::new(),
            ),
            Writer::Parquet(b, w) => (w, Some(b.frame()?), Vec::new()),
            Writer::Facts(f, w, _) => (w, None, f),
        };
        Ok(Rendered { out, frame, facts })
    }

    /// Writes one event.
    pub fn write(&mut self, e: &Event) -> io::Result<()> {
        match self {
            Writer::Jsonl(w, buf) => {
                buf.clear();
                event_json(e, buf);
                w.write_all(buf)
            }
            Writer::Parquet(b, _) => {
                b.push(e);
                Ok(())
            }
            Writer::Facts(f, _, file) => {
                f.push(crate::detect::fact::Fact::of(e, *file));
                Ok(())
            }
            Writer::Csv(w) => {
                let opt = |v: &Option<std::borrow::Cow<'_, str>>| {
                    v.as_deref().map(csv_cell).unwrap_or_default().into_owned()
                };
                let kind = serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                w.write_record([
                    e.ts.to_string(),
                    e.ts_year_inferred.to_string(),
                    csv_cell(e.source.host).into_owned(),
                    opt(&e.log_host),
                    csv_cell(&e.service).into_owned(),
                    e.pid.map(|p| p.to_string()).unwrap_or_default(),
                    kind,
                    e.proto.unwrap_or("").to_string(),
                    opt(&e.src_ip),
                    opt(&e.src_host),
                    opt(&e.proxy),
                    opt(&e.actor),
                    opt(&e.mailbox),
                    opt(&e.sender),
                    opt(&e.recipient),
                    opt(&e.orig_recipient),
                    opt(&e.queue_id),
                    opt(&e.status),
                    opt(&e.relay),
                    opt(&e.detail),
                    e.utf8_lossy.to_string(),
                    csv_cell(e.source.path).into_owned(),
                    e.source.sha256.unwrap_or_default().to_string(),
                    e.source.line.to_string(),
                    e.source.offset.to_string(),
                ])
                .map_err(io::Error::other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    /// Strings are escaped as serde escapes them, whichever of the eight bytes tested at
    /// once holds the byte to escape, next to multi-byte characters and at the very end.
    #[test]
    fn json_str_matches_serde_at_every_position() {
        use super::json_str;
        let specials = [
            '"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1}', '\u{1f}', '\u{7f}',
        ];
        for len in 0..20 {
            for at in 0..=len {
                for c in specials {
                    for filler in ['a', '\u{e9}', ' ', '~'] {
                        let mut t: String = std::iter::repeat_n(filler, len).collect();
                        let cut = t.char_indices().nth(at).map_or(t.len(), |(i, _)| i);
                        t.insert(cut, c);
                        t.push(c);
                        let mut out = Vec::new();
                        json_str(&mut out, &t);
                        let want = serde_json::to_string(&t).expect("a string serialises");
                        assert_eq!(String::from_utf8_lossy(&out), want, "{t:?}");
                    }
                }
            }
        }
    }

    /// The hand-written JSON is byte-identical to serde's for the same event.
    #[test]
    fn event_json_matches_serde() {
        use crate::events::record::{Event, Kind, Source};
        use std::borrow::Cow;
        let mut e = Event {
            ts: "2026-03-03T18:14:07Z".into(),
            ts_unix_us: 0,
            ts_year_inferred: true,
            host: "mx1",
            log_host: Some(Cow::Borrowed("mx1")),
            service: Cow::Borrowed("postfix/smtpd"),
            pid: Some(4242),
            kind: Kind::AuthFailure,
            proto: Some("smtp"),
            src_ip: Some(Cow::Borrowed("203.0.113.77")),
            src_host: None,
            proxy: Some(Cow::Borrowed("198.51.100.20")),
            actor: Some(Cow::Borrowed("r\u{e9}n\u{e9} \"x\"\\\u{1}\t\n\u{7f}")),
            mailbox: Some(Cow::Borrowed("zhang.wei@example.cn")),
            sender: None,
            recipient: None,
            orig_recipient: None,
            queue_id: None,
            status: None,
            relay: None,
            detail: Some(Cow::Borrowed(
                "SASL LOGIN authentication failed: UGFzc3dvcmQ6\u{8}\u{c}",
            )),
            utf8_lossy: false,
            source: Source {
                host: "mx1",
                path: "var/log/mail.log",
                sha256: Some("ab"),
                line: 7,
                offset: 99,
            },
            session: None,
        };
        for pid in [Some(1), None] {
            e.pid = pid;
            let mut ours = Vec::new();
            super::event_json(&e, &mut ours);
            let mut theirs = serde_json::to_vec(&e).unwrap();
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("alice@example.org"), "alice@example.org");
    }
}
