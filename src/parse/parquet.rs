//! Parquet output: the event columns of `docs/events.md`, one row group per parsed chunk,
//! zstd-compressed, written through polars' batched writer so memory stays bounded.
//!
//! Columns are the CSV columns plus `ts_unix_us` (Int64, microseconds since the epoch, UTC) for
//! tools that want a number; text stays text (no formula escaping: Parquet is not a
//! spreadsheet).

use std::fs::File;
use std::io;

use polars::prelude::*;

use crate::events::record::Event;

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Columns collected from one chunk of events.
#[derive(Default)]
pub struct Batch {
    ts: Vec<String>,
    ts_unix_us: Vec<i64>,
    ts_year_inferred: Vec<bool>,
    host: Vec<String>,
    log_host: Vec<Option<String>>,
    service: Vec<String>,
    pid: Vec<Option<u32>>,
    kind: Vec<&'static str>,
    proto: Vec<Option<&'static str>>,
    src_ip: Vec<Option<String>>,
    src_host: Vec<Option<String>>,
    proxy: Vec<Option<String>>,
    actor: Vec<Option<String>>,
    mailbox: Vec<Option<String>>,
    sender: Vec<Option<String>>,
    recipient: Vec<Option<String>>,
    orig_recipient: Vec<Option<String>>,
    queue_id: Vec<Option<String>>,
    status: Vec<Option<String>>,
    relay: Vec<Option<String>>,
    detail: Vec<Option<String>>,
    utf8_lossy: Vec<bool>,
    source_path: Vec<String>,
    source_sha256: Vec<Option<String>>,
    source_line: Vec<u64>,
    source_offset: Vec<u64>,
}

fn s(v: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    v.as_deref().map(str::to_string)
}

impl Batch {
    /// Adds one event.
    pub fn push(&mut self, e: &Event) {
        self.ts.push(e.ts.to_string());
        self.ts_unix_us.push(e.ts_unix_us);
        self.ts_year_inferred.push(e.ts_year_inferred);
        self.host.push(e.source.host.to_string());
        self.log_host.push(s(&e.log_host));
        self.service.push(e.service.to_string());
        self.pid.push(e.pid);
        self.kind.push(e.kind.name());
        self.proto.push(e.proto);
        self.src_ip.push(s(&e.src_ip));
        self.src_host.push(s(&e.src_host));
        self.proxy.push(s(&e.proxy));
        self.actor.push(s(&e.actor));
        self.mailbox.push(s(&e.mailbox));
        self.sender.push(s(&e.sender));
        self.recipient.push(s(&e.recipient));
        self.orig_recipient.push(s(&e.orig_recipient));
        self.queue_id.push(s(&e.queue_id));
        self.status.push(s(&e.status));
        self.relay.push(s(&e.relay));
        self.detail.push(s(&e.detail));
        self.utf8_lossy.push(e.utf8_lossy);
        self.source_path.push(e.source.path.to_string());
        self.source_sha256.push(e.source.sha256.map(str::to_string));
        self.source_line.push(e.source.line);
        self.source_offset.push(e.source.offset);
    }

    /// The batch as a data frame.
    pub fn frame(self) -> io::Result<DataFrame> {
        let height = self.ts.len();
        let cols = vec![
            Column::new("ts".into(), self.ts),
            Column::new("ts_unix_us".into(), self.ts_unix_us),
            Column::new("ts_year_inferred".into(), self.ts_year_inferred),
            Column::new("host".into(), self.host),
            Column::new("log_host".into(), self.log_host),
            Column::new("service".into(), self.service),
            Column::new("pid".into(), self.pid),
            Column::new("kind".into(), self.kind),
            Column::new("proto".into(), self.proto),
            Column::new("src_ip".into(), self.src_ip),
            Column::new("src_host".into(), self.src_host),
            Column::new("proxy".into(), self.proxy),
            Column::new("actor".into(), self.actor),
            Column::new("mailbox".into(), self.mailbox),
            Column::new("sender".into(), self.sender),
            Column::new("recipient".into(), self.recipient),
            Column::new("orig_recipient".into(), self.orig_recipient),
            Column::new("queue_id".into(), self.queue_id),
            Column::new("status".into(), self.status),
            Column::new("relay".into(), self.relay),
            Column::new("detail".into(), self.detail),
            Column::new("utf8_lossy".into(), self.utf8_lossy),
            Column::new("source_path".into(), self.source_path),
            Column::new("source_sha256".into(), self.source_sha256),
            Column::new("source_line".into(), self.source_line),
            Column::new("source_offset".into(), self.source_offset),
        ];
        DataFrame::new(height, cols).map_err(err)
    }
}

/// The Parquet file being written.
pub struct ParquetSink {
    file: Option<File>,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
}

impl ParquetSink {
    /// Writes to `file`.
    pub fn new(file: File) -> Self {
        ParquetSink {
            file: Some(file),
            writer: None,
        }
    }

    /// Appends one chunk's rows as a row group.
    pub fn write(&mut self, df: &DataFrame) -> io::Result<()> {
        if self.writer.is_none() {
            let file = self
                .file
                .take()
                .ok_or_else(|| io::Error::other("parquet writer already closed"))?;
            let w = ParquetWriter::new(file)
                .with_compression(ParquetCompression::Zstd(None))
                .batched(df.schema())
                .map_err(err)?;
            self.writer = Some(w);
        }
        match self.writer.as_mut() {
            Some(w) if df.height() > 0 => w.write_batch(df).map_err(err),
            _ => Ok(()),
        }
    }

    /// Closes the file (an empty run still gives a valid file with the schema).
    pub fn finish(mut self) -> io::Result<()> {
        if self.writer.is_none() {
            let empty = Batch::default().frame()?;
            self.write(&empty)?;
        }
        match self.writer {
            Some(w) => w.finish().map(|_| ()).map_err(err),
            None => Ok(()),
        }
    }
}
