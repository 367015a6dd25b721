//! Timeline exports, one renderer per [`Format`]: our `jsonl` (the contract record), and the
//! shapes other tools import — Timesketch JSONL and CSV, plaso's `l2tcsv`.
//!
//! The rules each format imposes (listed in `docs/timeline.md`) are kept here and
//! tested by decoding: Timesketch needs `message`, `datetime` and `timestamp_desc` on every row,
//! an integer-microsecond `timestamp`, flat keys, never `_id`, and values under its keyword
//! limit; `l2tcsv` has 17 fixed columns, no quoting, commas inside values replaced, `-` for empty,
//! exactly 16 commas per row. To add a format: a variant, a renderer, a decoding test.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::record::{phase_name, severity_name, Kind, Record};
pub use crate::sanitize::cut;

/// Output format of `mailir timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The contract record, one JSON object per line.
    Jsonl,
    /// Timesketch's JSONL import.
    #[value(name = "timesketch-jsonl")]
    TimesketchJsonl,
    /// Timesketch's CSV import.
    #[value(name = "timesketch-csv")]
    TimesketchCsv,
    /// plaso's 17-column `l2tcsv`.
    L2tcsv,
    /// Apache Parquet (give `--out`): the `jsonl` columns, lists joined by spaces.
    Parquet,
}

/// Longest value Timesketch can still aggregate on (its keyword limit is 32,766 bytes).
pub const TIMESKETCH_MAX_VALUE: usize = 32_000;

/// Writes `rows` in `format`.
#[cfg(test)]
pub fn write(format: Format, rows: &[Record], out: &mut dyn Write) -> io::Result<()> {
    let mut e = Exporter::new(format, out);
    e.batch(rows)?;
    e.finish()
}

/// Writes rows batch by batch (a long timeline is never held whole): the CSV headers once,
/// Parquet one row group per batch.
pub struct Exporter<'a> {
    format: Format,
    out: Option<&'a mut dyn Write>,
    started: bool,
    parquet: Option<polars::io::parquet::write::BatchedWriter<&'a mut dyn Write>>,
}

impl<'a> Exporter<'a> {
    /// Starts an export to `out`.
    pub fn new(format: Format, out: &'a mut dyn Write) -> Self {
        Exporter {
            format,
            out: Some(out),
            started: false,
            parquet: None,
        }
    }

    /// Writes the next rows (in order).
    pub fn batch(&mut self, rows: &[Record]) -> io::Result<()> {
        let header = !self.started;
        self.started = true;
        if self.format == Format::Parquet {
            return self.parquet_batch(rows);
        }
        let Some(out) = self.out.as_deref_mut() else {
            return Err(io::Error::other("export already finished"));
        };
        match self.format {
            Format::Jsonl => jsonl(rows, out),
            Format::TimesketchJsonl => timesketch_jsonl(rows, out),
            Format::TimesketchCsv => timesketch_csv(rows, out, header),
            Format::L2tcsv => l2tcsv(rows, out, header),
            Format::Parquet => Ok(()),
        }
    }

    fn parquet_batch(&mut self, rows: &[Record]) -> io::Result<()> {
        use polars::prelude::*;
        let err = |e: PolarsError| io::Error::other(e.to_string());
        let df = frame(rows)?;
        if self.parquet.is_none() {
            let out = self
                .out
                .take()
                .ok_or_else(|| io::Error::other("export already finished"))?;
            let w = ParquetWriter::new(out)
                .with_compression(ParquetCompression::Zstd(None))
                .batched(df.schema())
                .map_err(err)?;
            self.parquet = Some(w);
        }
        match self.parquet.as_mut() {
            Some(w) if df.height() > 0 => w.write_batch(&df).map_err(err),
            _ => Ok(()),
        }
    }

    /// Ends the export (an empty timeline still gives the headers, or a Parquet schema).
    pub fn finish(mut self) -> io::Result<()> {
        if !self.started {
            self.batch(&[])?;
        }
        match self.parquet.take() {
            Some(w) => w
                .finish()
                .map(|_| ())
                .map_err(|e| io::Error::other(e.to_string())),
            None => self.out.take().map_or(Ok(()), |o| o.flush()),
        }
    }
}

fn jsonl(rows: &[Record], out: &mut dyn Write) -> io::Result<()> {
    for r in rows {
        serde_json::to_writer(&mut *out, r)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// What the row's time means, for Timesketch's `timestamp_desc` and l2tcsv's `type`.
fn time_meaning(r: &Record) -> &'static str {
    match r.kind {
        Kind::Finding => "Finding First Seen",
        Kind::Event => "Log Entry Time",
        Kind::PhaseStart => "Attack Phase Start",
        Kind::PhaseEnd => "Attack Phase End",
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Finding => "finding",
        Kind::Event => "event",
        Kind::PhaseStart => "phase_start",
        Kind::PhaseEnd => "phase_end",
    }
}

/// Timesketch's flat row: the mandatory fields first, then ours (plaso-style names).
fn timesketch_row(r: &Record) -> Map<String, Value> {
    let text = |s: &str| Value::String(cut(s, TIMESKETCH_MAX_VALUE).to_string());
    let list = |v: &[String]| {
        text(&if v.is_empty() {
            "-".to_string()
        } else {
            v.join(" ")
        })
    };
    let mut m = Map::new();
    m.insert(
        "message".into(),
        text(if r.message.is_empty() {
            "-"
        } else {
            &r.message
        }),
    );
    m.insert("datetime".into(), text(&r.ts.replace('Z', "+00:00")));
    m.insert("timestamp".into(), json!(r.ts_us));
    m.insert("timestamp_desc".into(), text(time_meaning(r)));
    m.insert(
        "data_type".into(),
        text(&format!("mailir:{}", kind_name(r.kind))),
    );
    m.insert("attack_phase".into(), text(r.phase.map_or("-", phase_name)));
    m.insert("rule_id".into(), text(r.rule.unwrap_or("-")));
    m.insert("level".into(), text(r.severity.map_or("-", severity_name)));
    m.insert(
        "mitre_technique".into(),
        text(&if r.attack.is_empty() {
            "-".into()
        } else {
            r.attack.join(" ")
        }),
    );
    m.insert("hostname".into(), list(&r.hosts));
    m.insert("source_ip".into(), list(&r.ips));
    m.insert("username".into(), list(&r.users));
    m.insert("count".into(), json!(r.count));
    let (path, line, sha) = match &r.source {
        Some(s) => (s.path.as_str(), s.line, s.sha256.as_deref()),
        None => ("-", None, None),
    };
    m.insert("display_name".into(), text(path));
    m.insert("line_no".into(), line.map_or(text("-"), |l| json!(l)));
    m.insert("evidence_sha256".into(), text(sha.unwrap_or("-")));
    let mut tags = vec![kind_name(r.kind).to_string()];
    if let Some(p) = r.phase {
        tags.push(phase_name(p).to_string());
    }
    m.insert("tag".into(), json!(tags));
    m
}

fn timesketch_jsonl(rows: &[Record], out: &mut dyn Write) -> io::Result<()> {
    for r in rows {
        serde_json::to_writer(&mut *out, &timesketch_row(r))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Timesketch CSV columns, the mandatory ones first.
const TIMESKETCH_COLUMNS: [&str; 17] = [
    "message",
    "timestamp",
    "datetime",
    "timestamp_desc",
    "data_type",
    "attack_phase",
    "rule_id",
    "level",
    "mitre_technique",
    "hostname",
    "source_ip",
    "username",
    "count",
    "display_name",
    "line_no",
    "evidence_sha256",
    "tag",
];

fn timesketch_csv(rows: &[Record], out: &mut dyn Write, header: bool) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    if header {
        w.write_record(TIMESKETCH_COLUMNS)?;
    }
    for r in rows {
        let m = timesketch_row(r);
        let cells = TIMESKETCH_COLUMNS.iter().map(|c| {
            let cell = match m.get(*c) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Some(v) => v.to_string(),
                None => "-".to_string(),
            };
            crate::sanitize::spreadsheet(&cell).into_owned()
        });
        w.write_record(cells)?;
    }
    w.flush()
}

/// plaso's l2tcsv header (17 columns).
pub const L2T_HEADER: &str =
    "date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra";

/// An l2tcsv cell: no quoting, so commas become spaces and a `"` (which a CSV reader would
/// take for a quote) becomes `'`; controls shown as `\u{…}` and formulas neutralised as in
/// every CSV ([`crate::sanitize::spreadsheet`]); empty is `-`.
fn l2t(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| match c {
            ',' => ' ',
            '"' => '\'',
            c => c,
        })
        .collect();
    let v = crate::sanitize::spreadsheet(&v).into_owned();
    if v.trim().is_empty() {
        "-".into()
    } else {
        v
    }
}

fn l2tcsv(rows: &[Record], out: &mut dyn Write, header: bool) -> io::Result<()> {
    if header {
        writeln!(out, "{L2T_HEADER}")?;
    }
    for r in rows {
        let t = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(r.ts_us).unwrap_or_default();
        let (path, line) = match &r.source {
            Some(s) => (s.path.as_str(), s.line),
            None => ("-", None),
        };
        let mut extra = vec![
            format!("attack_phase: {}", r.phase.map_or("-", phase_name)),
            format!("count: {}", r.count),
            format!("level: {}", r.severity.map_or("-", severity_name)),
        ];
        if let Some(l) = line {
            extra.push(format!("line_no: {l}"));
        }
        if !r.ips.is_empty() {
            extra.push(format!("source_ip: {}", r.ips.join(" ")));
        }
        extra.sort();
        let short = cut(&r.message, 80);
        let cells = [
            t.format("%m/%d/%Y").to_string(),
            t.format("%H:%M:%S").to_string(),
            "UTC".to_string(),
            "M...".to_string(),
            "LOG".to_string(),
            "mailir".to_string(),
            time_meaning(r).to_string(),
            r.users.join(" "),
            r.hosts.join(" "),
            short.to_string(),
            r.message.clone(),
            "2".to_string(),
            path.to_string(),
            String::new(),
            r.rule.unwrap_or(kind_name(r.kind)).to_string(),
            "mailir".to_string(),
            extra.join("; "),
        ];
        let row: Vec<String> = cells.iter().map(|c| l2t(c)).collect();
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

/// The rows as a data frame (the `jsonl` columns, lists joined by spaces).
fn frame(rows: &[Record]) -> io::Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let err = |e: PolarsError| io::Error::other(e.to_string());
    let text = |f: &dyn Fn(&Record) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let cols = vec![
        Column::new("ts".into(), text(&|r| r.ts.clone())),
        Column::new(
            "ts_unix_us".into(),
            rows.iter().map(|r| r.ts_us).collect::<Vec<i64>>(),
        ),
        Column::new(
            "phase".into(),
            rows.iter()
                .map(|r| r.phase.map(phase_name))
                .collect::<Vec<_>>(),
        ),
        Column::new("type".into(), text(&|r| kind_name(r.kind).to_string())),
        Column::new(
            "rule".into(),
            rows.iter().map(|r| r.rule).collect::<Vec<_>>(),
        ),
        Column::new(
            "severity".into(),
            rows.iter()
                .map(|r| r.severity.map(severity_name))
                .collect::<Vec<_>>(),
        ),
        Column::new("message".into(), text(&|r| r.message.clone())),
        Column::new("hosts".into(), text(&|r| r.hosts.join(" "))),
        Column::new("ips".into(), text(&|r| r.ips.join(" "))),
        Column::new("users".into(), text(&|r| r.users.join(" "))),
        Column::new("attack".into(), text(&|r| r.attack.join(" "))),
        Column::new(
            "count".into(),
            rows.iter().map(|r| r.count).collect::<Vec<u64>>(),
        ),
        Column::new(
            "source_path".into(),
            rows.iter()
                .map(|r| r.source.as_ref().map(|s| s.path.clone()))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "source_line".into(),
            rows.iter()
                .map(|r| r.source.as_ref().and_then(|s| s.line))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "source_sha256".into(),
            rows.iter()
                .map(|r| r.source.as_ref().and_then(|s| s.sha256.clone()))
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(rows.len(), cols).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::{Phase, Severity};
    use crate::timeline::record::Source;

    fn rows() -> Vec<Record> {
        vec![
            Record {
                ts: "2026-03-03T18:14:07Z".into(),
                ts_us: 1_772_561_647_000_000,
                phase: Some(Phase::InitialAccess),
                kind: Kind::Finding,
                rule: Some("auth.compromised_account"),
                severity: Some(Severity::Critical),
                // Attacker text: a formula, commas, a line break, an escape, quotes, and far
                // too long.
                message: format!(
                    "=HYPERLINK(\"http://x\") Account liwei, taken over\nfrom \"x\"\u{1b}[2J {}",
                    "A".repeat(40_000)
                ),
                hosts: vec!["mx1".into()],
                ips: vec!["203.0.113.77".into(), "203.0.113.79".into()],
                users: vec!["liwei".into()],
                attack: vec!["T1078", "T1110"],
                count: 5,
                source: Some(Source {
                    path: "var/log/mail.log.1".into(),
                    line: Some(1464),
                    sha256: Some("ab".repeat(32)),
                }),
            },
            Record {
                ts: "2026-03-03T14:10:04Z".into(),
                ts_us: 1_772_547_004_000_000,
                phase: Some(Phase::Recon),
                kind: Kind::PhaseStart,
                rule: None,
                severity: None,
                message: String::new(),
                hosts: Vec::new(),
                ips: Vec::new(),
                users: Vec::new(),
                attack: Vec::new(),
                count: 2,
                source: None,
            },
        ]
    }

    fn render(f: Format) -> String {
        let mut out = Vec::new();
        write(f, &rows(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timesketch_jsonl_rows_carry_the_mandatory_fields_and_no_reserved_keys() {
        for line in render(Format::TimesketchJsonl).lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let o = v.as_object().unwrap();
            for k in ["message", "datetime", "timestamp_desc"] {
                assert!(!o[k].as_str().unwrap().is_empty(), "{k} in {line:.200}");
            }
            assert!(o["timestamp"].is_i64());
            let dt = chrono::DateTime::parse_from_rfc3339(o["datetime"].as_str().unwrap()).unwrap();
            assert_eq!(dt.timestamp_micros(), o["timestamp"].as_i64().unwrap());
            assert!(o["datetime"].as_str().unwrap().ends_with("+00:00"));
            for k in ["_id", "_type", "_index", "_source", "__ts_timeline_id"] {
                assert!(!o.contains_key(k));
            }
            for (k, v) in o {
                assert!(!v.is_object(), "{k} is not flat");
                if let Some(s) = v.as_str() {
                    assert!(s.len() < 32_766, "{k}: {} bytes", s.len());
                }
            }
        }
    }

    #[test]
    fn timesketch_csv_decodes_with_the_mandatory_columns_first() {
        let text = render(Format::TimesketchCsv);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(
            &head[..4],
            ["message", "timestamp", "datetime", "timestamp_desc"]
        );
        assert!(!head.iter().any(|h| h.starts_with('_')));
        let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(recs.len(), 2);
        for rec in &recs {
            assert_eq!(rec.len(), head.len());
            assert!(rec[1].parse::<i64>().is_ok());
            assert!(!rec[0].is_empty() && !rec[3].is_empty());
        }
        // The attacker's quotes survive CSV quoting; the formula is text, the line break and
        // the escape are shown, not written raw.
        assert!(
            recs[0][0].starts_with("'=HYPERLINK(\"http://x\")"),
            "{:.80}",
            &recs[0][0]
        );
        assert!(recs[0][0].contains("taken over\\u{a}from \"x\"\\u{1b}[2J"));
        for rec in &recs {
            for cell in rec.iter() {
                assert!(!cell.chars().any(char::is_control), "{cell:.80}");
                assert!(!cell.starts_with(['=', '+', '@']), "{cell:.80}");
            }
        }
    }

    #[test]
    fn l2tcsv_has_17_columns_and_exactly_16_commas_per_row() {
        let text = render(Format::L2tcsv);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(L2T_HEADER));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 2);
        for row in rows {
            assert_eq!(row.matches(',').count(), 16, "{row:.200}");
            let cells: Vec<&str> = row.split(',').collect();
            assert!(cells.iter().all(|c| !c.is_empty()), "{row:.200}");
            assert_eq!(cells[2], "UTC");
            assert_eq!(cells[11], "2");
            assert!(!row.contains('\n') && !row.contains('\r'));
            assert!(!row.chars().any(char::is_control), "{row:.200}");
            assert!(
                cells.iter().all(|c| !c.starts_with(['=', '+', '@', '"'])),
                "{row:.200}"
            );
        }
        assert!(
            text.contains("03/03/2026,18:14:07,UTC,M...,LOG,mailir,Finding First Seen,liwei,mx1,")
        );
    }

    #[test]
    fn parquet_reads_back_with_polars() {
        use polars::prelude::*;
        let mut out = Vec::new();
        write(Format::Parquet, &rows(), &mut out).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(out))
            .finish()
            .unwrap();
        assert_eq!(df.height(), 2);
        let us = df.column("ts_unix_us").unwrap().i64().unwrap();
        assert_eq!(us.get(0), Some(1_772_561_647_000_000));
        let phase = df.column("phase").unwrap().str().unwrap();
        assert_eq!(phase.get(0), Some("initial_access"));
        assert_eq!(phase.get(1), Some("recon"));
        let line = df.column("source_line").unwrap().u64().unwrap();
        assert_eq!((line.get(0), line.get(1)), (Some(1464), None));
    }

    #[test]
    fn cutting_keeps_whole_characters() {
        assert_eq!(cut("日本語", 4), "日");
        assert_eq!(cut("abc", 10), "abc");
    }
}
