//! `persistence.compiled_map_mismatch` — a compiled lookup table (`.db`, `.lmdb`, `.cdb`) that
//! says something its text source does not: entries only in the compiled file, a compiled
//! file with no source, or (when the format cannot be decoded) a compiled file modified well
//! after its source.
//!
//! **Why**: Postfix, sendmail and Exim read the compiled file. An attacker who edits only
//! `transport.db` or `virtual.db` leaves the text file — what an administrator reads — clean.
//! **How**: every indexed table the Postfix configuration names, the aliases databases and
//! every compiled file under the mail configuration directories are decoded
//! ([`crate::hostconf::compiled`]) and compared with their source, entry by entry.
//! **Severity**: high for entries only in the compiled file; medium for a compiled file without
//! a source or one modified more than `1 h` after its source when it cannot be decoded, and for
//! source entries never compiled that send mail outside or to a program (armed for the next
//! routine `newaliases`/`postmap`/`makemap`); low for other source entries never compiled (an
//! edit without a rebuild: not an attack, but what the server does is not what the file says).
//! A source that is a link (Debian's `/etc/mail/aliases -> ../aliases`) is read and cited
//! where it points. **ATT&CK**: T1565.001 (Stored Data Manipulation),
//! T1114.003. **False positives**: a map whose source was deliberately removed after compiling.

use std::collections::BTreeSet;

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::{targets, Map, Syntax, Target};
use crate::hostconf::postfix::{map_refs, MapRef};

/// The rule.
pub struct CompiledMap;

const INDEXED: &[&str] = &["hash", "btree", "lmdb", "cdb"];
const COMPILED_DIRS: &[&str] = &["/etc/postfix", "/etc/mail/", "/etc/aliases"];

fn tables(host: &Host) -> Vec<(Map, Option<(String, u64)>)> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for pf in &host.postfix {
        for (name, p) in &pf.main.params {
            for r in map_refs(&pf.main.expand(&p.value)) {
                if INDEXED.contains(&r.kind.as_str()) && seen.insert(r.name.clone()) {
                    let syntax = if name.starts_with("alias_") {
                        Syntax::Aliases
                    } else {
                        Syntax::Table
                    };
                    out.push((
                        Map::load(&host.conf, &r, syntax),
                        Some((pf.main_path(), p.line)),
                    ));
                }
            }
        }
    }
    for (_, m, at) in host.alias_maps() {
        if m.compiled_path.is_some() && seen.insert(m.reference.name.clone()) {
            out.push((m, at));
        }
    }
    // Compiled files nothing above names.
    for path in host.conf.files.keys() {
        if !COMPILED_DIRS.iter().any(|d| path.starts_with(d)) {
            continue;
        }
        for (suffix, kind) in [(".db", "hash"), (".lmdb", "lmdb"), (".cdb", "cdb")] {
            if let Some(base) = path.strip_suffix(suffix) {
                if seen.insert(base.to_string()) {
                    let syntax = if base.ends_with("aliases") {
                        Syntax::Aliases
                    } else {
                        Syntax::Table
                    };
                    let r = MapRef {
                        kind: kind.into(),
                        name: base.into(),
                    };
                    out.push((Map::load(&host.conf, &r, syntax), None));
                }
            }
        }
    }
    out
}

impl ConfigRule for CompiledMap {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (map, at) in tables(host) {
            let (Some((cfile, decoded)), Some(cpath)) = (&map.compiled, &map.compiled_path) else {
                continue;
            };
            let mut c = Cites::default();
            if let Some((p, l)) = &at {
                c.add(&host.conf, p, Some(*l));
            }
            c.add(&host.conf, cpath, None);
            let name = &map.reference.name;
            match (decoded, &map.source) {
                (Ok(entries), None) if !entries.is_empty() => {
                    let list: Vec<String> = entries
                        .iter()
                        .take(10)
                        .map(|e| format!("{} -> {}", e.key, e.value))
                        .collect();
                    out.push(c.finding(
                        "persistence.compiled_map_mismatch",
                        Severity::Medium,
                        vec!["T1565.001"],
                        format!("{cpath} has no text source"),
                        format!(
                            "{cpath} holds {} entries but {name} does not exist: {}",
                            entries.len(),
                            list.join("; ")
                        ),
                    ));
                }
                (Ok(_), Some(_)) => {
                    let only = map.compiled_only();
                    if !only.is_empty() {
                        let list: Vec<String> = only
                            .iter()
                            .take(10)
                            .map(|e| format!("{} -> {}", e.key, e.value))
                            .collect();
                        let mut f = c.finding(
                            "persistence.compiled_map_mismatch",
                            Severity::High,
                            vec!["T1565.001", "T1114.003"],
                            format!("{cpath} holds entries its source {name} lacks"),
                            format!(
                                "{} entr{} only in the compiled map (what the daemon uses): {}",
                                only.len(),
                                if only.len() == 1 { "y" } else { "ies" },
                                list.join("; ")
                            ),
                        );
                        f.count = only.len() as u64;
                        out.push(f);
                    }
                    let pending = map.source_only();
                    if !pending.is_empty() {
                        let source = &map.source_path;
                        let mut c = Cites::default();
                        for e in &pending {
                            c.add(&host.conf, source, e.line);
                        }
                        c.add(&host.conf, cpath, None);
                        // Entries that will send mail out or run a program once the map is
                        // rebuilt (newaliases, postmap and makemap are routine) are planted
                        // persistence waiting for the next rebuild.
                        let armed: Vec<String> = pending
                            .iter()
                            .filter(|e| {
                                !host.external(&e.value).is_empty()
                                    || targets(&e.value)
                                        .iter()
                                        .any(|t| matches!(t, Target::Pipe(_)))
                            })
                            .take(10)
                            .map(|e| format!("{} -> {}", e.key, e.value))
                            .collect();
                        let (severity, attack, why) = if armed.is_empty() {
                            (Severity::Low, vec!["T1565.001"], String::new())
                        } else {
                            (
                                Severity::Medium,
                                vec!["T1565.001", "T1114.003"],
                                format!(
                                    "; at the next rebuild these send mail outside or to a program: {}",
                                    armed.join("; ")
                                ),
                            )
                        };
                        out.push(c.finding(
                            "persistence.compiled_map_mismatch",
                            severity,
                            attack,
                            format!("{source} has entries that were never compiled"),
                            format!(
                                "{} source entries are not in {cpath} (the map was not rebuilt after an edit){why}",
                                pending.len()
                            ),
                        ));
                    }
                }
                (Err(e), source) => {
                    let newer = match (source.as_ref().and_then(|(f, _)| f.mtime), cfile.mtime) {
                        (Some(s), Some(cm)) => (cm - s).num_seconds() > 3600,
                        (None, _) => true,
                        _ => false,
                    };
                    if newer {
                        c.add(&host.conf, name, None);
                        out.push(c.finding(
                            "persistence.compiled_map_mismatch",
                            Severity::Medium,
                            vec!["T1565.001"],
                            format!("{cpath} changed after its source"),
                            format!("{cpath} could not be compared ({e}) and was modified more than an hour after {name} (or has no source)"),
                        ));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host_bytes;

    const DB: &[u8] = include_bytes!("../../../tests/fixtures/maps/transport.hash.db");

    #[test]
    fn entries_only_in_the_compiled_map_are_high() {
        // The compiled fixture routes a.example and b.example; the source only has a.example.
        let h = host_bytes(&[
            (
                "/etc/postfix/main.cf",
                b"transport_maps = hash:/etc/postfix/transport\n",
            ),
            ("/etc/postfix/transport", b"a.example  smtp:[1.2.3.4]\n"),
            ("/etc/postfix/transport.db", DB),
        ]);
        let f = CompiledMap.check(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert!(
            f[0].summary.contains("b.example -> smtp:[5.6.7.8]:2525"),
            "{}",
            f[0].summary
        );
        assert_eq!(
            f[0].entities.files,
            ["/etc/postfix/main.cf", "/etc/postfix/transport.db"]
        );
    }

    #[test]
    fn matching_maps_are_quiet_orphans_and_stale_sources_are_not() {
        let same = host_bytes(&[
            (
                "/etc/postfix/main.cf",
                b"transport_maps = hash:/etc/postfix/transport\n",
            ),
            (
                "/etc/postfix/transport",
                b"# c\na.example  smtp:[1.2.3.4]\nb.example\tsmtp:[5.6.7.8]:2525\n",
            ),
            ("/etc/postfix/transport.db", DB),
        ]);
        assert!(CompiledMap.check(&same).is_empty());
        let orphan = host_bytes(&[("/etc/postfix/old.db", DB)]);
        assert_eq!(CompiledMap.check(&orphan)[0].severity, Severity::Medium);
        let stale = host_bytes(&[
            ("/etc/postfix/main.cf", b"transport_maps = hash:/etc/postfix/transport\n"),
            ("/etc/postfix/transport", b"a.example smtp:[1.2.3.4]\nb.example smtp:[5.6.7.8]:2525\nc.example smtp:[10.0.0.1]\n"),
            ("/etc/postfix/transport.db", DB),
        ]);
        let f = CompiledMap.check(&stale);
        assert_eq!((f.len(), f[0].severity), (1, Severity::Low));
        assert_eq!(f[0].evidence[0].lines, [3]);
    }
}
