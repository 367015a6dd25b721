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
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 22] = [
    "ts",
    "ts_year_inferred",
    "host",
    "service",
    "pid",
    "kind",
    "proto",
    "src_ip",
    "src_host",
    "user",
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
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A renderer over any output.
pub enum Writer<W: Write> {
    /// JSON Lines.
    Jsonl(W),
    /// CSV.
    Csv(Box<csv::Writer<W>>),
    /// Parquet columns (the bytes output stays empty).
    Parquet(Box<super::parquet::Batch>, W),
}

/// Where rendered chunks go: a byte stream, or a Parquet file.
pub enum Sink {
    /// stdout or a file.
    Bytes(Box<dyn Write + Send>),
    /// A Parquet file.
    Parquet(Box<super::parquet::ParquetSink>),
}

impl Sink {
    /// Writes one rendered chunk.
    pub fn write(
        &mut self,
        bytes: &[u8],
        frame: Option<&polars::prelude::DataFrame>,
    ) -> io::Result<()> {
        match self {
            Sink::Bytes(w) => w.write_all(bytes),
            Sink::Parquet(p) => match frame {
                Some(f) => p.write(f),
                None => Ok(()),
            },
        }
    }

    /// Flushes and closes.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Sink::Bytes(mut w) => w.flush(),
            Sink::Parquet(p) => p.finish(),
        }
    }
}

impl<W: Write> Writer<W> {
    /// Starts output in `format`; `header` writes the CSV header row first.
    pub fn new(format: Format, out: W, header: bool) -> io::Result<Self> {
        Ok(match format {
            Format::Jsonl => Writer::Jsonl(out),
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

    /// Flushes and returns the underlying output.
    pub fn into_inner(self) -> io::Result<W> {
        Ok(self.finish()?.0)
    }

    /// Flushes; returns the byte output and, for Parquet, the chunk's columns.
    pub fn finish(self) -> io::Result<(W, Option<polars::prelude::DataFrame>)> {
        match self {
            Writer::Jsonl(w) => Ok((w, None)),
            Writer::Csv(w) => Ok((
                w.into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?,
                None,
            )),
            Writer::Parquet(b, w) => Ok((w, Some(b.frame()?))),
        }
    }

    /// Writes one event.
    pub fn write(&mut self, e: &Event) -> io::Result<()> {
        match self {
            Writer::Jsonl(w) => {
                serde_json::to_writer(&mut *w, e)?;
                w.write_all(b"\n")
            }
            Writer::Parquet(b, _) => {
                b.push(e);
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
                    opt(&e.host),
                    csv_cell(&e.service).into_owned(),
                    e.pid.map(|p| p.to_string()).unwrap_or_default(),
                    kind,
                    e.proto.unwrap_or("").to_string(),
                    opt(&e.src_ip),
                    opt(&e.src_host),
                    opt(&e.user),
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
