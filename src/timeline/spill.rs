//! `timeline --all`: every event of the logs in time order, in bounded memory. Rows are
//! sorted in runs of [`RUN_ROWS`], each run written to a nameless scratch file in `$TMPDIR`
//! ([`crate::evidence::scratch`]: nothing is left behind, whatever ends the run), and the runs
//! merged with the findings' rows as they are exported. Files are read in
//! time order already, so runs overlap little; the merge holds one row per run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

use serde::{Deserialize, Serialize};

use super::record::{self, Kind, Record, Source};
use crate::detect::finding::Phase;

/// Rows per sorted run.
pub const RUN_ROWS: usize = 100_000;

/// An event row as stored in a run (events carry no rule, severity or techniques).
#[derive(Serialize, Deserialize)]
struct Stored {
    ts_us: i64,
    phase: Option<Phase>,
    message: String,
    host: String,
    ips: Vec<String>,
    users: Vec<String>,
    path: String,
    line: Option<u64>,
    sha256: Option<String>,
}

impl Stored {
    fn of(r: &Record) -> Stored {
        let (path, line, sha256) = match &r.source {
            Some(s) => (s.path.clone(), s.line, s.sha256.clone()),
            None => (String::new(), None, None),
        };
        Stored {
            ts_us: r.ts_us,
            phase: r.phase,
            message: r.message.clone(),
            host: r.hosts.first().cloned().unwrap_or_default(),
            ips: r.ips.clone(),
            users: r.users.clone(),
            path,
            line,
            sha256,
        }
    }

    fn record(self) -> Record {
        Record {
            ts: record::rfc3339(self.ts_us),
            ts_us: self.ts_us,
            phase: self.phase,
            kind: Kind::Event,
            rule: None,
            severity: None,
            message: self.message,
            hosts: vec![self.host],
            ips: self.ips,
            users: self.users,
            attack: Vec::new(),
            count: 1,
            source: Some(Source {
                path: self.path,
                line: self.line,
                sha256: self.sha256,
            }),
        }
    }
}

/// The sorted runs written so far.
pub struct Runs {
    files: Vec<File>,
    /// Rows per run.
    pub run_rows: usize,
    /// The first write error (the sink cannot return one; [`Runs::merge`] does).
    error: Option<io::Error>,
}

impl Runs {
    /// Runs of `run_rows` rows, each in a nameless scratch file.
    pub fn new(run_rows: usize) -> io::Result<Runs> {
        Ok(Runs {
            files: Vec::new(),
            run_rows: run_rows.max(1),
            error: None,
        })
    }

    /// Writes one sorted run.
    pub fn spill(&mut self, rows: &[Record]) {
        if self.error.is_some() {
            return;
        }
        let written = crate::evidence::scratch::anonymous().and_then(|f| {
            let mut w = BufWriter::new(f);
            for r in rows {
                serde_json::to_writer(&mut w, &Stored::of(r))?;
                w.write_all(b"\n")?;
            }
            w.into_inner().map_err(|e| e.into_error())
        });
        match written {
            Ok(f) => self.files.push(f),
            Err(e) => self.error = Some(e),
        }
    }

    /// Merges the runs with `rows` (sorted), handing the merged rows to `out` in batches.
    pub fn merge(
        self,
        rows: Vec<Record>,
        out: &mut dyn FnMut(&[Record]) -> io::Result<()>,
    ) -> io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut sources: Vec<Box<dyn Iterator<Item = io::Result<Record>>>> =
            vec![Box::new(rows.into_iter().map(Ok))];
        for mut f in self.files {
            f.rewind()?;
            let lines = BufReader::new(f).lines();
            sources.push(Box::new(lines.map(|l| {
                let s: Stored = serde_json::from_str(&l?).map_err(io::Error::other)?;
                Ok(s.record())
            })));
        }
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(r) = s.next() {
                heap.push(Next(r?, i));
            }
        }
        let mut batch = Vec::with_capacity(10_000);
        while let Some(Next(r, i)) = heap.pop() {
            batch.push(r);
            if batch.len() == batch.capacity() {
                out(&batch)?;
                batch.clear();
            }
            if let Some(next) = sources[i].next() {
                heap.push(Next(next?, i));
            }
        }
        out(&batch)
    }
}

/// A source's next row; the heap pops the earliest (ties: the lower source first).
struct Next(Record, usize);

impl Ord for Next {
    fn cmp(&self, o: &Self) -> Ordering {
        record::order(&o.0, &self.0).then(o.1.cmp(&self.1))
    }
}

impl PartialOrd for Next {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Next {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Next {}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(secs: i64, line: u64) -> Record {
        Stored {
            ts_us: secs * 1_000_000,
            phase: None,
            message: format!("delivery {line}"),
            host: "mx1".into(),
            ips: Vec::new(),
            users: Vec::new(),
            path: "var/log/mail.log".into(),
            line: Some(line),
            sha256: None,
        }
        .record()
    }

    #[test]
    fn merged_runs_come_out_as_one_sort_would_order_them() {
        // Two files whose times overlap, spilled in runs of 3 rows.
        let mut all: Vec<Record> = (0..10).map(|i| event(i * 7 % 23, i as u64)).collect();
        all.extend((0..7).map(|i| event(i * 5 % 11, 100 + i as u64)));
        let mut runs = Runs::new(3).unwrap();
        for chunk in all[..15].chunks(3) {
            let mut c = chunk.to_vec();
            record::sort(&mut c);
            runs.spill(&c);
        }
        let mut rest = all[15..].to_vec();
        record::sort(&mut rest);
        let mut merged = Vec::new();
        runs.merge(rest, &mut |b: &[Record]| {
            merged.extend(b.iter().map(|r| (r.ts_us, r.message.clone())));
            Ok(())
        })
        .unwrap();
        record::sort(&mut all);
        let want: Vec<(i64, String)> = all.iter().map(|r| (r.ts_us, r.message.clone())).collect();
        assert_eq!(merged, want);
    }
}
