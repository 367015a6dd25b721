//! Findings as Parquet (`detect --format parquet --out PATH [--partition host]`): one row per
//! finding in one file, or, with `--partition host`, a Hive-partitioned dataset with one row
//! per finding **and host** under `PATH/host=<host>/part-<n>.parquet` — a finding across hosts
//! (`fleet.*`) is a row under each of its hosts, its `hosts` list naming them all, so a query
//! of one host's folder sees every finding that concerns it. The columns are [`COLUMNS`],
//! documented in `docs/fleet.md` ("Events and findings in a data lake"); lists are
//! `list<str>`, the entity roles a JSON object in a string (its shape is the JSON finding's
//! `entities.roles`), the evidence lines a JSON array in a string.
//!
//! Findings are few (hundreds, not millions) and already in memory: the frame is built whole.
//! To add a column: a line in [`COLUMNS`], its column in [`frame`], a row in the docs table.

use std::io;
use std::path::Path;

use polars::prelude::*;

use super::finding::Finding;

/// The columns of a findings file, in order (the partitioned dataset's files lack `host`'s
/// folder value only: they have no `host` column either way).
pub const COLUMNS: [&str; 24] = [
    "rule",
    "title",
    "severity",
    "phase",
    "attack",
    "first_seen",
    "last_seen",
    "first_seen_us",
    "last_seen_us",
    "count",
    "summary",
    "hosts",
    "ips",
    "users",
    "files",
    "recipients",
    "processes",
    "roles",
    "entity_roles",
    "remediation",
    "time_source",
    "evidence",
    "decisive_path",
    "decisive_line",
];

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// The snake-case name serde gives a unit variant.
fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Microseconds since the epoch of an RFC 3339 time (`None` for an empty or bad one).
fn micros(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.timestamp_micros())
}

fn list<'a, I, S>(name: &str, rows: I) -> Column
where
    I: ExactSizeIterator<Item = &'a [S]>,
    S: AsRef<str> + 'a,
{
    let mut b = ListStringChunkedBuilder::new(name.into(), rows.len(), rows.len() * 2);
    for r in rows {
        b.append_values_iter(r.iter().map(AsRef::as_ref));
    }
    b.finish().into_series().into_column()
}

/// The findings as a frame of [`COLUMNS`].
pub fn frame(findings: &[&Finding]) -> io::Result<DataFrame> {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let text =
        |f: fn(&Finding) -> String| -> Vec<String> { findings.iter().map(|x| f(x)).collect() };
    let roles: Vec<Vec<&str>> = findings
        .iter()
        .map(|f| f.roles.iter().map(|r| r.name()).collect())
        .collect();
    let cols = vec![
        Column::new("rule".into(), text(|f| f.rule.to_string())),
        Column::new("title".into(), text(|f| f.title.clone())),
        Column::new("severity".into(), text(|f| name(&f.severity))),
        Column::new("phase".into(), text(|f| name(&f.phase))),
        list("attack", findings.iter().map(|f| f.attack.as_slice())),
        Column::new(
            "first_seen".into(),
            findings
                .iter()
                .map(|f| opt(&f.first_seen))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "last_seen".into(),
            findings
                .iter()
                .map(|f| opt(&f.last_seen))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "first_seen_us".into(),
            findings
                .iter()
                .map(|f| micros(&f.first_seen))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "last_seen_us".into(),
            findings
                .iter()
                .map(|f| micros(&f.last_seen))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "count".into(),
            findings
                .iter()
                .map(|f| i64::try_from(f.count).unwrap_or(i64::MAX))
                .collect::<Vec<_>>(),
        ),
        Column::new("summary".into(), text(|f| f.summary.clone())),
        list("hosts", findings.iter().map(|f| f.hosts.as_slice())),
        list("ips", findings.iter().map(|f| f.entities.ips.as_slice())),
        list(
            "users",
            findings.iter().map(|f| f.entities.users.as_slice()),
        ),
        list(
            "files",
            findings.iter().map(|f| f.entities.files.as_slice()),
        ),
        list(
            "recipients",
            findings.iter().map(|f| f.entities.recipients.as_slice()),
        ),
        list(
            "processes",
            findings.iter().map(|f| f.entities.processes.as_slice()),
        ),
        list("roles", roles.iter().map(Vec::as_slice)),
        Column::new(
            "entity_roles".into(),
            text(|f| serde_json::to_string(&f.entities.roles).unwrap_or_default()),
        ),
        list(
            "remediation",
            findings.iter().map(|f| f.remediation.as_slice()),
        ),
        Column::new("time_source".into(), text(|f| name(&f.time_source))),
        Column::new(
            "evidence".into(),
            text(|f| serde_json::to_string(&f.evidence).unwrap_or_default()),
        ),
        Column::new(
            "decisive_path".into(),
            findings
                .iter()
                .map(|f| f.decisive.as_ref().map(|c| c.path.clone()))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "decisive_line".into(),
            findings
                .iter()
                .map(|f| {
                    f.decisive
                        .as_ref()
                        .map(|c| i64::try_from(c.line).unwrap_or(i64::MAX))
                })
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(findings.len(), cols).map_err(err)
}

/// Writes the findings to the Parquet file `out`, or (`by_host`) into the dataset folder
/// `out`, one row per finding and host.
pub fn write(out: &Path, by_host: bool, findings: &[Finding]) -> io::Result<()> {
    if !by_host {
        let all: Vec<&Finding> = findings.iter().collect();
        let mut df = frame(&all)?;
        let file = crate::outfile::create(out)?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map_err(err)?;
        return Ok(());
    }
    // Hosts in the order they first appear; each host's findings in the run's order.
    let mut hosts: Vec<&str> = Vec::new();
    for f in findings {
        for h in &f.hosts {
            if !hosts.contains(&h.as_str()) {
                hosts.push(h);
            }
        }
    }
    let mut parts = crate::parse::lake::PartWriter::new(out)?;
    for h in hosts {
        let mine: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.hosts.iter().any(|x| x == h))
            .collect();
        let folder = format!("host={}", crate::parse::lake::folder_value(h));
        parts.write(&folder, &frame(&mine)?)?;
    }
    // A finding that names no host (none does today) still has its row.
    let orphans: Vec<&Finding> = findings.iter().filter(|f| f.hosts.is_empty()).collect();
    if !orphans.is_empty() {
        let folder = format!("host={}", crate::parse::lake::NULL_PARTITION);
        parts.write(&folder, &frame(&orphans)?)?;
    }
    parts.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &'static str, hosts: &[&str], ips: &[&str]) -> Finding {
        let mut f = Finding::of(rule);
        f.hosts = hosts.iter().map(|h| h.to_string()).collect();
        f.entities.ips = ips.iter().map(|h| h.to_string()).collect();
        f.first_seen = "2026-03-03T18:14:07Z".into();
        f.last_seen = "2026-03-03T18:15:07.5Z".into();
        f.count = 3;
        f
    }

    #[test]
    fn columns_are_the_documented_ones_and_lists_are_lists() {
        let a = finding("auth.brute_force", &["mx1"], &["203.0.113.77"]);
        let df = frame(&[&a]).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, COLUMNS);
        assert_eq!(
            df.column("ips").unwrap().dtype(),
            &DataType::List(Box::new(DataType::String))
        );
        let us = df.column("last_seen_us").unwrap().i64().unwrap().get(0);
        assert_eq!(us, Some(1_772_561_707_500_000));
        // An empty frame keeps the types.
        let empty = frame(&[]).unwrap();
        assert_eq!(empty.schema(), df.schema());
    }

    #[test]
    fn a_finding_across_hosts_is_a_row_under_each_host() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("findings");
        let fs = [
            finding("auth.brute_force", &["mx1"], &["203.0.113.77"]),
            finding(
                "fleet.shared_attacker",
                &["mx1", "imap1"],
                &["203.0.113.79"],
            ),
        ];
        write(&dir, true, &fs).unwrap();
        let read = |h: &str| {
            ParquetReader::new(
                std::fs::File::open(dir.join(format!("host={h}/part-0.parquet"))).unwrap(),
            )
            .finish()
            .unwrap()
        };
        let mx = read("mx1");
        let imap = read("imap1");
        assert_eq!(mx.height(), 2);
        assert_eq!(imap.height(), 1);
        assert_eq!(
            imap.column("rule").unwrap().str().unwrap().get(0),
            Some("fleet.shared_attacker")
        );
    }
}
