//! A Hive-partitioned Parquet dataset of events (`parse --format parquet --out DIR
//! --partition host,day`): `DIR/host=<host>/day=<YYYY-MM-DD>/part-<n>.parquet`, the layout
//! Spark, DuckDB, polars, Trino and Athena read as one table (`docs/events.md`, "A data lake";
//! `docs/fleet.md`).
//!
//! The files hold the columns of [`super::parquet::Batch`] less the partition columns (Hive's
//! convention: the value is in the folder name, and Spark refuses a data column of a partition
//! column's name). `host` is the event's host ([`crate::parse::input::host_label`], already a
//! safe folder name); `day` is the UTC date of `ts`.
//!
//! **Memory stays bounded.** Each rendered chunk (a few MiB of log, one file's) is split by
//! partition and each piece is written at once, as one row group, through the batched writer
//! of its partition's current part file: nothing is buffered here beyond the chunk being
//! split. At most [`MAX_OPEN`] part files are open at once; when a chunk needs another, the
//! one used longest ago is finished (its footer written) and that partition's next rows go to
//! a new `part-<n+1>.parquet`. Memory is therefore that of the chunks in flight plus
//! [`MAX_OPEN`] writers' row-group metadata, whatever the number of hosts and days.
//!
//! To add a partition key: a variant of [`Partition`], its value in [`key_of`] (it must be a
//! column of the chunk, or derived from one) and a line in `docs/events.md`.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

/// A partition key of `--partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Partition {
    /// The event's host (`host=<name>`).
    Host,
    /// The UTC date of the event's time (`day=YYYY-MM-DD`).
    Day,
}

/// Most part files open at once.
pub const MAX_OPEN: usize = 32;

/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;

/// Hive's folder value for a missing key (a time outside chrono's range, an empty host).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Checks that `dir` can receive a dataset: absent (it is created) or an empty folder; never a
/// symbolic link, a file, or a folder holding anything.
pub fn prepare_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir),
        Err(e) => Err(e),
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::other(format!(
            "{} is a symbolic link: refusing to write a dataset through it",
            dir.display()
        ))),
        Ok(m) if !m.is_dir() => Err(io::Error::other(format!(
            "{} exists and is not a folder: a partitioned dataset is a folder",
            dir.display()
        ))),
        Ok(_) => {
            if std::fs::read_dir(dir)?.next().is_some() {
                Err(io::Error::other(format!(
                    "{} is not empty: a partitioned dataset is written into a new or empty folder (remove it or choose another)",
                    dir.display()
                )))
            } else {
                Ok(())
            }
        }
    }
}

/// The folder value of `value` for a partition: kept when it is already a safe folder name,
/// else made one ([`crate::parse::input::clean_host`]), else Hive's null partition.
pub fn folder_value(value: &str) -> String {
    crate::parse::input::clean_host(value).unwrap_or_else(|| NULL_PARTITION.to_string())
}

/// The UTC date (`YYYY-MM-DD`) of `us` microseconds since the epoch.
pub fn day_of(us: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| NULL_PARTITION.to_string())
}

/// The partition folder of each row of `df` (`host=…/day=…`), by `keys`.
fn key_of(df: &DataFrame, keys: &[Partition]) -> io::Result<Vec<String>> {
    let n = df.height();
    let mut out = vec![String::new(); n];
    for k in keys {
        match k {
            Partition::Host => {
                let col = df.column("host").map_err(err)?.str().map_err(err)?;
                for (o, v) in out.iter_mut().zip(col.iter()) {
                    push_part(o, "host", &folder_value(v.unwrap_or("")));
                }
            }
            Partition::Day => {
                let col = df.column("ts_unix_us").map_err(err)?.i64().map_err(err)?;
                // A chunk holds a few days at most: one text per distinct day.
                let mut last: Option<(i64, String)> = None;
                for (o, v) in out.iter_mut().zip(col.iter()) {
                    let text = match v {
                        None => NULL_PARTITION.to_string(),
                        Some(us) => {
                            let day = us.div_euclid(DAY_US);
                            match &last {
                                Some((d, t)) if *d == day => t.clone(),
                                _ => {
                                    let t = day_of(us);
                                    last = Some((day, t.clone()));
                                    t
                                }
                            }
                        }
                    };
                    push_part(o, "day", &text);
                }
            }
        }
    }
    Ok(out)
}

fn push_part(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('/');
    }
    out.push_str(key);
    out.push('=');
    out.push_str(value);
}

/// One open part file.
struct Open {
    folder: String,
    writer: BatchedWriter<File>,
    used: u64,
}

/// Writes row pieces into the part files of their partition folders, at most [`MAX_OPEN`]
/// open at once. Shared by the events dataset ([`LakeSink`]) and the findings dataset
/// (`crate::detect::lake`).
pub struct PartWriter {
    dir: PathBuf,
    open: Vec<Open>,
    /// The next part number of each partition folder.
    next: HashMap<String, u32>,
    tick: u64,
    max_open: usize,
    /// Part files written.
    pub parts: u64,
}

impl PartWriter {
    /// Writes under `dir` (checked by [`prepare_dir`] first).
    pub fn new(dir: &Path) -> io::Result<Self> {
        prepare_dir(dir)?;
        Ok(PartWriter {
            dir: dir.to_path_buf(),
            open: Vec::new(),
            next: HashMap::new(),
            tick: 0,
            max_open: MAX_OPEN,
            parts: 0,
        })
    }

    /// Appends `df` (no partition columns left in it) as a row group of `folder`'s current part
    /// file, opening one (and finishing the one used longest ago) when needed.
    pub fn write(&mut self, folder: &str, df: &DataFrame) -> io::Result<()> {
        self.tick += 1;
        let i = match self.open.iter().position(|o| o.folder == folder) {
            Some(i) => i,
            None => {
                if self.open.len() >= self.max_open {
                    let oldest = (0..self.open.len())
                        .min_by_key(|&i| self.open[i].used)
                        .unwrap_or(0);
                    let o = self.open.swap_remove(oldest);
                    o.writer.finish().map_err(err)?;
                }
                let n = self.next.entry(folder.to_string()).or_insert(0);
                let part = *n;
                *n += 1;
                let sub = self.dir.join(folder);
                std::fs::create_dir_all(&sub)?;
                let path = sub.join(format!("part-{part}.parquet"));
                let file = crate::outfile::create(&path)?;
                let writer = ParquetWriter::new(file)
                    .with_compression(ParquetCompression::Zstd(None))
                    .batched(df.schema())
                    .map_err(err)?;
                self.parts += 1;
                self.open.push(Open {
                    folder: folder.to_string(),
                    writer,
                    used: 0,
                });
                self.open.len() - 1
            }
        };
        let o = &mut self.open[i];
        o.used = self.tick;
        if df.height() > 0 {
            o.writer.write_batch(df).map_err(err)?;
        }
        Ok(())
    }

    /// Finishes every open part file.
    pub fn finish(self) -> io::Result<()> {
        for o in self.open {
            o.writer.finish().map_err(err)?;
        }
        Ok(())
    }
}

/// The events dataset being written.
pub struct LakeSink {
    keys: Vec<Partition>,
    parts: PartWriter,
}

impl LakeSink {
    /// A dataset under `dir` partitioned by `keys` (host first, then day, whatever the order
    /// given).
    pub fn new(dir: &Path, keys: &[Partition]) -> io::Result<Self> {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        Ok(LakeSink {
            keys,
            parts: PartWriter::new(dir)?,
        })
    }

    /// Splits one chunk's rows by partition and writes each piece.
    pub fn write(&mut self, df: &DataFrame) -> io::Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let folders = key_of(df, &self.keys)?;
        let drop: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| **k == Partition::Host)
            .map(|_| "host")
            .collect();
        let data = df.drop_many(drop);
        // The common case: the whole chunk is one partition.
        if folders.iter().all(|f| *f == folders[0]) {
            return self.parts.write(&folders[0], &data);
        }
        let mut groups: Vec<(String, Vec<IdxSize>)> = Vec::new();
        for (i, f) in folders.into_iter().enumerate() {
            let i = IdxSize::try_from(i).map_err(io::Error::other)?;
            match groups.iter_mut().find(|(g, _)| *g == f) {
                Some((_, rows)) => rows.push(i),
                None => groups.push((f, vec![i])),
            }
        }
        for (folder, rows) in groups {
            let idx = IdxCa::from_vec("idx".into(), rows);
            let piece = data.take(&idx).map_err(err)?;
            self.parts.write(&folder, &piece)?;
        }
        Ok(())
    }

    /// Finishes every open part file.
    pub fn finish(self) -> io::Result<()> {
        self.parts.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(rows: &[(&str, i64)]) -> DataFrame {
        let host: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let ts: Vec<i64> = rows.iter().map(|r| r.1).collect();
        DataFrame::new(
            rows.len(),
            vec![
                Column::new("host".into(), host),
                Column::new("ts_unix_us".into(), ts),
            ],
        )
        .unwrap()
    }

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn rows_go_to_their_host_and_utc_day_folders() {
        let df = frame(&[("mx1", 0), ("mx1", DAY - 1), ("imap1", DAY), ("mx1", -1)]);
        let k = key_of(&df, &[Partition::Host, Partition::Day]).unwrap();
        assert_eq!(
            k,
            [
                "host=mx1/day=1970-01-01",
                "host=mx1/day=1970-01-01",
                "host=imap1/day=1970-01-02",
                "host=mx1/day=1969-12-31"
            ]
        );
        assert_eq!(key_of(&df, &[Partition::Day]).unwrap()[2], "day=1970-01-02");
        assert_eq!(folder_value("../etc"), ".._etc");
        assert_eq!(folder_value(".."), NULL_PARTITION);
    }

    #[test]
    fn a_full_folder_is_refused_and_open_files_stay_bounded() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("x"), "").unwrap();
        let e = PartWriter::new(t.path()).err().unwrap();
        assert!(e.to_string().contains("not empty"), "{e}");

        let dir = t.path().join("lake");
        let mut sink = LakeSink::new(&dir, &[Partition::Day, Partition::Host]).unwrap();
        sink.parts.max_open = 2;
        // Three days in turn, twice: the third day's file closes the first day's, so the
        // first day's second visit opens its part-1.
        for _ in 0..2 {
            for d in 0..3 {
                sink.write(&frame(&[("mx1", d * DAY), ("mx1", d * DAY + 5)]))
                    .unwrap();
                assert!(sink.parts.open.len() <= 2);
            }
        }
        sink.finish().unwrap();
        let day0 = dir.join("host=mx1/day=1970-01-01");
        let mut names: Vec<String> = std::fs::read_dir(&day0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["part-0.parquet", "part-1.parquet"]);
        let df = ParquetReader::new(File::open(day0.join("part-0.parquet")).unwrap())
            .finish()
            .unwrap();
        assert_eq!(df.height(), 2);
        assert!(df.column("host").is_err(), "the partition column stays out");
        assert!(df.column("ts_unix_us").is_ok());
    }
}
