//! Lookup tables: the text sources (`postmap` and `postalias` input, `regexp:`/`pcre:`
//! tables), their compiled forms, and what a table value delivers to.
//!
//! Postfix reads the *compiled* file of an indexed table (`hash:/etc/postfix/virtual` means
//! `virtual.db`), so [`Map::effective`] is the compiled content when it decodes — each entry
//! carrying the source line where the source has the same entry — and the source otherwise.
//! [`Map::compiled_only`] and [`Map::source_only`] are the differences between the two.

use std::collections::BTreeSet;

use super::compiled::{self, DecodeError};
use super::postfix::{logical_lines, MapRef};
use super::{ConfFile, HostConf};

/// One table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lookup key (lower-cased for indexed tables, the pattern for regexp/pcre).
    pub key: String,
    /// Result text.
    pub value: String,
    /// Source line, when the entry is in the text source.
    pub line: Option<u64>,
}

/// Entries of a `postmap` source: `key whitespace value`, continuation lines.
pub fn table(text: &str) -> Vec<Entry> {
    logical_lines(text)
        .into_iter()
        .filter_map(|(line, l)| {
            let (k, v) = l.split_once(char::is_whitespace)?;
            Some(Entry {
                key: k.to_ascii_lowercase(),
                value: v.trim().to_string(),
                line: Some(line),
            })
        })
        .collect()
}

/// Entries of an aliases(5) file: `name: value, value`.
pub fn aliases(text: &str) -> Vec<Entry> {
    logical_lines(text)
        .into_iter()
        .filter_map(|(line, l)| {
            let (k, v) = split_alias(&l)?;
            Some(Entry {
                key: k.to_ascii_lowercase(),
                value: v.trim().to_string(),
                line: Some(line),
            })
        })
        .collect()
}

fn split_alias(l: &str) -> Option<(String, &str)> {
    if let Some(rest) = l.strip_prefix('"') {
        let end = rest.find('"')?;
        let v = rest[end + 1..].trim_start().strip_prefix(':')?;
        return Some((rest[..end].to_string(), v));
    }
    let (k, v) = l.split_once(':')?;
    (!k.trim().is_empty()).then(|| (k.trim().to_string(), v))
}

/// Entries of a `regexp:`/`pcre:` table: `/pattern/flags action` (`if`/`endif` skipped).
pub fn patterns(text: &str) -> Vec<Entry> {
    logical_lines(text)
        .into_iter()
        .filter_map(|(line, l)| {
            let delim = l
                .chars()
                .next()
                .filter(|c| !c.is_alphanumeric() && *c != '!')?;
            let body = &l[delim.len_utf8()..];
            let mut escaped = false;
            let end = body.char_indices().find_map(|(i, c)| {
                let hit = c == delim && !escaped;
                escaped = c == '\\' && !escaped;
                hit.then_some(i)
            })?;
            let after = &body[end + delim.len_utf8()..];
            let action = after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .trim();
            Some(Entry {
                key: body[..end].to_string(),
                value: action.to_string(),
                line: Some(line),
            })
        })
        .collect()
}

/// What one element of an alias, virtual or forward value delivers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `|command`.
    Pipe(String),
    /// `/path/file`.
    File(String),
    /// `:include:/path`.
    Include(String),
    /// An address with a domain.
    Address(String),
    /// A local name (`\user`, `user`).
    Local(String),
}

/// Splits a delivery value (`a, "|cmd args", \user, x@y`) into its targets.
pub fn targets(value: &str) -> Vec<Target> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => items.push(std::mem::take(&mut cur)),
            ' ' | '\t' if !quoted && !cur.starts_with('|') => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(cmd) = s.strip_prefix('|') {
                Target::Pipe(cmd.trim().to_string())
            } else if let Some(p) = s.strip_prefix(":include:") {
                Target::Include(p.trim().to_string())
            } else if s.starts_with('/') {
                Target::File(s)
            } else if s.contains('@') {
                Target::Address(s.trim_matches(['<', '>']).to_string())
            } else {
                Target::Local(s.trim_start_matches('\\').to_string())
            }
        })
        .collect()
}

/// Which text format a table's source is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `postmap` input.
    Table,
    /// `postalias` input.
    Aliases,
    /// `regexp:`/`pcre:`.
    Patterns,
}

/// A table as found on the host.
#[derive(Debug, Clone)]
pub struct Map {
    /// The reference (`hash:/etc/postfix/virtual`).
    pub reference: MapRef,
    /// Host path of the text source.
    pub source_path: String,
    /// The text source, when present.
    pub source: Option<(ConfFile, Vec<Entry>)>,
    /// Host path of the compiled file, for indexed types.
    pub compiled_path: Option<String>,
    /// The compiled file and what it decoded to.
    pub compiled: Option<(ConfFile, Result<Vec<Entry>, DecodeError>)>,
}

/// The compiled file name of an indexed table type.
pub fn compiled_name(kind: &str, name: &str) -> Option<String> {
    match kind {
        "hash" | "btree" => Some(format!("{name}.db")),
        "lmdb" => Some(format!("{name}.lmdb")),
        "cdb" => Some(format!("{name}.cdb")),
        _ => None,
    }
}

impl Map {
    /// Loads the table `r` from the host; `syntax` says how to read its text source.
    pub fn load(host: &HostConf, r: &MapRef, syntax: Syntax) -> Map {
        let read = |text: &str| match syntax {
            Syntax::Table => table(text),
            Syntax::Aliases => aliases(text),
            Syntax::Patterns => patterns(text),
        };
        // A source that is a link (Debian's `/etc/mail/aliases -> ../aliases`) is read, and
        // cited, where it points.
        let source_path = match host.get(&r.name) {
            Some(_) => r.name.clone(),
            None => host.follow(&r.name).unwrap_or_else(|| r.name.clone()),
        };
        let source = host.get(&source_path).map(|f| (f.clone(), read(&f.text())));
        let compiled_path = compiled_name(&r.kind, &r.name);
        let compiled = compiled_path.as_deref().and_then(|p| host.get(p)).map(|f| {
            let decoded = compiled::decode(&f.data, &r.kind).map(|pairs| {
                pairs
                    .into_iter()
                    // postalias adds `@: @` (sendmail's "database complete" marker) and the
                    // NIS entries `YP_LAST_MODIFIED`, `YP_MASTER_NAME`.
                    .filter(|(k, _)| {
                        !(syntax == Syntax::Aliases && (k == "@" || k.starts_with("YP_")))
                    })
                    .map(|(key, value)| Entry {
                        key,
                        value: value.trim().to_string(),
                        line: None,
                    })
                    .collect()
            });
            (f.clone(), decoded)
        });
        Map {
            reference: r.clone(),
            source_path,
            source,
            compiled_path,
            compiled,
        }
    }

    fn source_entries(&self) -> &[Entry] {
        self.source
            .as_ref()
            .map(|(_, e)| e.as_slice())
            .unwrap_or(&[])
    }

    /// What the daemon looks up: the decoded compiled file, else the text source.
    pub fn effective(&self) -> Vec<Entry> {
        match &self.compiled {
            Some((_, Ok(entries))) => entries
                .iter()
                .map(|e| {
                    let line = self
                        .source_entries()
                        .iter()
                        .find(|s| s.key == e.key && normal(&s.value) == normal(&e.value))
                        .and_then(|s| s.line);
                    Entry { line, ..e.clone() }
                })
                .collect(),
            _ => self.source_entries().to_vec(),
        }
    }

    /// Entries of the compiled file that the text source does not have (with these values).
    pub fn compiled_only(&self) -> Vec<Entry> {
        let Some((_, Ok(entries))) = &self.compiled else {
            return Vec::new();
        };
        let src: BTreeSet<(String, String)> = self
            .source_entries()
            .iter()
            .map(|e| (e.key.clone(), normal(&e.value)))
            .collect();
        entries
            .iter()
            .filter(|e| !src.contains(&(e.key.clone(), normal(&e.value))))
            .cloned()
            .collect()
    }

    /// Entries of the text source the compiled file lacks (edits not yet compiled).
    pub fn source_only(&self) -> Vec<Entry> {
        let Some((_, Ok(entries))) = &self.compiled else {
            return Vec::new();
        };
        let comp: BTreeSet<(String, String)> = entries
            .iter()
            .map(|e| (e.key.clone(), normal(&e.value)))
            .collect();
        self.source_entries()
            .iter()
            .filter(|e| !comp.contains(&(e.key.clone(), normal(&e.value))))
            .cloned()
            .collect()
    }

    /// Host path of the file that holds the evidence of `e`: the source when the entry has a
    /// line there, else the compiled file.
    pub fn cite_path(&self, e: &Entry) -> String {
        match (e.line, &self.compiled_path, &self.compiled) {
            (None, Some(p), Some(_)) => p.clone(),
            _ => self.source_path.clone(),
        }
    }
}

/// A value with list separators normalised, for comparing source and compiled entries.
fn normal(v: &str) -> String {
    v.split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delimiter of more than one byte (found by the read_config fuzz target: it panicked).
    #[test]
    fn pattern_with_a_multibyte_delimiter() {
        let e = patterns("§^Subject: x§ REDIRECT a@b.example\n§unclosed\n");
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].key.as_str(), e[0].value.as_str()),
            ("^Subject: x", "REDIRECT a@b.example")
        );
    }

    #[test]
    fn sources_aliases_and_patterns() {
        let t = table("# c\nfinance@x.org   chenjing,\n   fin@out.example\ninfo@x.org chenjing\n");
        assert_eq!(t[0].key, "finance@x.org");
        assert_eq!(t[0].value, "chenjing, fin@out.example");
        assert_eq!(t[1].line, Some(4));
        let a = aliases("postmaster: root\n\"odd name\": \"|/usr/bin/x y\"\nwebmaster:  root,\n  w@out.example\n");
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].key, "odd name");
        assert_eq!(targets(&a[1].value), [Target::Pipe("/usr/bin/x y".into())]);
        assert_eq!(
            targets(&a[2].value),
            [
                Target::Local("root".into()),
                Target::Address("w@out.example".into())
            ]
        );
        let p = patterns(
            "/^Subject:.*a\\/b/i   REDIRECT x@out.example\nif /^From:/\n/x/ BCC y@z\nendif\n",
        );
        assert_eq!(p[0].key, "^Subject:.*a\\/b");
        assert_eq!(p[0].value, "REDIRECT x@out.example");
        assert_eq!(p[1].value, "BCC y@z");
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn compiled_differences() {
        let mut host = HostConf::default();
        let file = |data: &[u8]| ConfFile {
            shown: String::new(),
            data: data.to_vec(),
            mtime: None,
            mtime_recorded: false,
            sha256: None,
        };
        // The source lacks b.example, which the compiled file routes to 5.6.7.8:2525.
        host.files.insert(
            "/etc/postfix/transport".into(),
            file(b"a.example  smtp:[1.2.3.4]\nc.example smtp:[9.9.9.9]\n"),
        );
        host.files.insert(
            "/etc/postfix/transport.db".into(),
            file(include_bytes!(
                "../../tests/fixtures/maps/transport.hash.db"
            )),
        );
        let m = Map::load(
            &host,
            &MapRef {
                kind: "hash".into(),
                name: "/etc/postfix/transport".into(),
            },
            Syntax::Table,
        );
        let only = m.compiled_only();
        assert_eq!(only.len(), 1);
        assert_eq!((only[0].key.as_str(), only[0].line), ("b.example", None));
        assert_eq!(m.cite_path(&only[0]), "/etc/postfix/transport.db");
        assert_eq!(m.source_only()[0].key, "c.example");
        let eff = m.effective();
        assert_eq!(
            eff.iter().find(|e| e.key == "a.example").unwrap().line,
            Some(1)
        );
    }
}
