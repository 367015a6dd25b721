//! Evidence a person can read: a few lines of each finding quoted verbatim.
//!
//! Rules keep evidence as file and line numbers (a brute force cites hundreds). After
//! detection, [`chosen`] picks each finding's representative lines — the first, the decisive
//! one (`Finding::decisive`: the success after the failures) and the last — and [`Quotes::read`]
//! fetches their text in one more pass: configuration files from memory (the host's
//! configuration is already loaded), logs and exports by reading each cited file again up to
//! its last wanted line (bundle entries from the scratch copies the parse made, or from the
//! archive). Lines are kept raw but bounded ([`MAX_QUOTE_BYTES`]); every output escapes them
//! for itself. The full list of line numbers stays in the finding.
//!
//! To quote another kind of evidence: give [`Quotes::read`] its source (a line-numbered text
//! under the path findings cite).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead};

use serde::Serialize;

use super::finding::Finding;
use crate::parse::input::{self, LogFile, Origin};

/// Bytes of a line kept for a quote (the rest is cut and marked).
pub const MAX_QUOTE_BYTES: usize = 400;

/// Lines quoted per finding at most.
pub const PER_FINDING: usize = 3;

/// One quoted evidence line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// Path as the finding cites it.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line as written (lossy UTF-8, at most [`MAX_QUOTE_BYTES`], `…` where cut); not
    /// escaped: each output escapes it.
    pub text: String,
}

/// The representative lines of `f`: the first, the decisive one, the last (in that order,
/// without repeats).
pub fn chosen(f: &Finding) -> Vec<(&str, u64)> {
    let mut out: Vec<(&str, u64)> = Vec::new();
    let first = f
        .evidence
        .iter()
        .find_map(|e| e.lines.first().map(|l| (e.path.as_str(), *l)));
    let decisive = f.decisive.as_ref().map(|c| (c.path.as_str(), c.line));
    let last = f
        .evidence
        .iter()
        .rev()
        .find_map(|e| e.lines.last().map(|l| (e.path.as_str(), *l)));
    for c in [first, decisive, last].into_iter().flatten() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.truncate(PER_FINDING);
    out
}

/// How many evidence lines `f` cites.
pub fn cited(f: &Finding) -> u64 {
    f.evidence.iter().map(|e| e.lines.len() as u64).sum()
}

/// The text of the lines the findings quote, by path and line.
#[derive(Debug, Default)]
pub struct Quotes {
    /// (host, path, line) → text: paths repeat from one host's bundle to the next.
    lines: BTreeMap<(String, String, u64), String>,
    /// Files that could not be read again (path, why).
    pub errors: Vec<(String, String)>,
    /// The host of the lines being read.
    host: String,
}

impl Quotes {
    /// Reads the chosen lines of `findings` (the findings of `host`): from `config` (path →
    /// content) where the path is a configuration file, else from the log `sources`.
    pub fn read(
        findings: &[Finding],
        config: &BTreeMap<&str, &[u8]>,
        sources: &[LogFile],
        host: &str,
    ) -> Quotes {
        let mut wanted: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        for f in findings {
            for (p, l) in chosen(f) {
                wanted.entry(p).or_default().insert(l);
            }
        }
        let mut q = Quotes {
            host: host.to_string(),
            ..Quotes::default()
        };
        let mut archives: BTreeMap<&std::path::Path, Vec<&LogFile>> = BTreeMap::new();
        for (path, lines) in &wanted {
            if let Some(data) = config.get(path) {
                let lines: Vec<u64> = lines.iter().copied().collect();
                if let Err(e) = scan(&mut &data[..], &lines, |l, t| q.keep(path, l, t)) {
                    q.errors.push((path.to_string(), e.to_string()));
                }
                continue;
            }
            let Some(src) = sources.iter().find(|s| s.path == *path) else {
                continue;
            };
            if let Origin::Entry { bundle } = &src.origin {
                archives.entry(bundle.as_path()).or_default().push(src);
                continue;
            }
            let lines: Vec<u64> = lines.iter().copied().collect();
            let mut keep = Vec::new();
            let read = input::with_reader(src, |_, r| {
                let mut r = io::BufReader::with_capacity(1 << 20, r);
                scan(&mut r, &lines, |l, t| keep.push((l, t)))
            });
            if let Err(e) = read.and_then(|r| r) {
                q.errors.push((path.to_string(), e.to_string()));
            }
            for (l, t) in keep {
                q.keep(path, l, t);
            }
        }
        for (bundle, files) in archives {
            let mut keep: Vec<(String, u64, String)> = Vec::new();
            let mut failures: Vec<(String, String)> = Vec::new();
            let walked = crate::evidence::reader::for_each_entry(bundle, |name, _, r| {
                let Some(lines) = files
                    .iter()
                    .find(|f| f.path == name)
                    .and_then(|f| wanted.get(f.path.as_str()))
                else {
                    return;
                };
                let lines: Vec<u64> = lines.iter().copied().collect();
                let mut br = io::BufReader::with_capacity(1 << 20, r);
                let read = input::decompressed(&mut br, |_, dr| {
                    let mut dr = io::BufReader::with_capacity(1 << 20, dr);
                    scan(&mut dr, &lines, |l, t| keep.push((name.to_string(), l, t)))
                });
                if let Err(e) = read.and_then(|r| r) {
                    failures.push((name.to_string(), e.to_string()));
                }
            });
            if let Err(e) = walked {
                failures.push((bundle.display().to_string(), e.to_string()));
            }
            q.errors.extend(failures);
            for (p, l, t) in keep {
                q.keep(&p, l, t);
            }
        }
        q
    }

    fn keep(&mut self, path: &str, line: u64, text: String) {
        self.lines
            .insert((self.host.clone(), path.to_string(), line), text);
    }

    /// Takes in the quotes of another host's findings.
    pub fn merge(&mut self, other: Quotes) {
        self.lines.extend(other.lines);
        self.errors.extend(other.errors);
    }

    /// The quotes of `f`, in [`chosen`] order (lines that could not be read are left out).
    pub fn of(&self, f: &Finding) -> Vec<Quote> {
        chosen(f)
            .into_iter()
            .filter_map(|(p, l)| {
                let host = f.hosts.first().map_or("", String::as_str);
                let key = (host.to_string(), p.to_string(), l);
                self.lines.get(&key).map(|t| Quote {
                    path: p.to_string(),
                    line: l,
                    text: t.clone(),
                })
            })
            .collect()
    }
}

/// Streams `r` and hands `found` the text of each line whose number is in `wanted` (sorted
/// ascending), cut at [`MAX_QUOTE_BYTES`]; stops after the last one.
pub fn scan(
    r: &mut dyn BufRead,
    wanted: &[u64],
    mut found: impl FnMut(u64, String),
) -> io::Result<()> {
    let Some(&first) = wanted.first() else {
        return Ok(());
    };
    let mut next = 0usize;
    let mut line: u64 = 1;
    let mut cur: Option<Vec<u8>> = (first == 1).then(Vec::new);
    let mut done = |cur: &mut Option<Vec<u8>>, line: u64, next: &mut usize| {
        if let Some(c) = cur.take() {
            found(line, text(&c));
            *next += 1;
        }
    };
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            done(&mut cur, line, &mut next);
            return Ok(());
        }
        let n = buf.len();
        let mut start = 0;
        for pos in memchr::memchr_iter(b'\n', buf) {
            if let Some(c) = cur.as_mut() {
                take(c, &buf[start..pos]);
            }
            done(&mut cur, line, &mut next);
            // Skip the wanted numbers already passed (never more than one).
            while next < wanted.len() && wanted[next] <= line {
                next += 1;
            }
            if next >= wanted.len() {
                r.consume(pos + 1);
                return Ok(());
            }
            line += 1;
            start = pos + 1;
            if wanted[next] == line {
                cur = Some(Vec::new());
            }
        }
        if let Some(c) = cur.as_mut() {
            take(c, &buf[start..]);
        }
        r.consume(n);
    }
}

/// Appends to a line being kept, up to one byte beyond the bound (which marks it cut).
fn take(c: &mut Vec<u8>, bytes: &[u8]) {
    let room = (MAX_QUOTE_BYTES + 1).saturating_sub(c.len());
    c.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// The kept bytes as text: lossy UTF-8, a final `\r` dropped, `…` where cut.
fn text(c: &[u8]) -> String {
    let cut = c.len() > MAX_QUOTE_BYTES;
    let body = &c[..c.len().min(MAX_QUOTE_BYTES)];
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let mut s = String::from_utf8_lossy(body).into_owned();
    if cut {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::{Cite, Evidence};

    fn lines_of(data: &[u8], wanted: &[u64]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        scan(&mut &data[..], wanted, |l, t| out.push((l, t))).unwrap();
        out
    }

    #[test]
    fn scan_finds_the_wanted_lines_and_cuts_long_ones() {
        let long = "x".repeat(5000);
        let data = format!("one\ntwo\r\n{long}\nfour\nfive");
        assert_eq!(
            lines_of(data.as_bytes(), &[1, 2, 4, 5]),
            [
                (1, "one".to_string()),
                (2, "two".to_string()),
                (4, "four".to_string()),
                (5, "five".to_string())
            ]
        );
        let got = lines_of(data.as_bytes(), &[3]);
        assert_eq!(got[0].1.chars().count(), MAX_QUOTE_BYTES + 1);
        assert!(got[0].1.ends_with('…'));
        // Past the end: nothing, no error.
        assert!(lines_of(b"a\nb\n", &[7]).is_empty());
        // Read through a reader whose buffer splits lines.
        let mut r = io::BufReader::with_capacity(3, data.as_bytes());
        let mut out = Vec::new();
        scan(&mut r, &[2, 4], |l, t| out.push((l, t))).unwrap();
        assert_eq!(out, [(2, "two".to_string()), (4, "four".to_string())]);
    }

    #[test]
    fn chosen_lines_are_first_decisive_last() {
        let f = Finding {
            evidence: vec![
                Evidence {
                    path: "a.log".into(),
                    sha256: None,
                    lines: vec![3, 4, 5],
                },
                Evidence {
                    path: "b.log".into(),
                    sha256: None,
                    lines: vec![9, 10],
                },
            ],
            decisive: Some(Cite {
                path: "a.log".into(),
                line: 5,
            }),
            ..Finding::of("auth.compromised_account")
        };
        assert_eq!(chosen(&f), [("a.log", 3), ("a.log", 5), ("b.log", 10)]);
        assert_eq!(cited(&f), 5);
        let one = Finding {
            evidence: vec![Evidence {
                path: "a.log".into(),
                sha256: None,
                lines: vec![3],
            }],
            ..Finding::of("recon.scan")
        };
        assert_eq!(chosen(&one), [("a.log", 3)]);
    }
}
