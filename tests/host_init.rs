//! `detect` on a fake Debian 12 root (`tests/fixtures/host-init/root/`): 122 real unit files
//! and drop-ins of this machine's `/lib/systemd/system`, its `/etc/profile`,
//! `/etc/bash.bashrc`, `/etc/skel` files as the accounts' rc files, and an administrator's
//! ordinary history — the stock part, which must stay quiet — with the attacker's plants: the
//! `dbus-sync.timer` + `.service` running `/dev/shm/.x/dbus-sync` (enabled by a
//! `timers.target.wants` link), a line appended to root's `.bashrc`, root's history of the
//! session and an `at` job written by Debian's at 3.2.5. Each is found at its file and line.
//!
//! The bundle is written here from the root (manifest rows by the collector's contract:
//! histories `shell_history`, the rest `host_config`), so the test exercises `detect` alone,
//! whatever paths the collector's catalogue plans.

use std::path::Path;

use serde_json::Value;

use crate::util::{self, run};

fn fixture() -> std::path::PathBuf {
    util::repo().join("tests/fixtures/host-init/root")
}

/// Writes a directory bundle of `root` at `out`: `files/…` and `manifest.jsonl`.
fn bundle_of(root: &Path, out: &Path) {
    let mut rows = String::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let name = p.file_name().unwrap().to_str().unwrap();
            let category = if name.ends_with("_history") {
                "shell_history"
            } else {
                "host_config"
            };
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                rows.push_str(
                    &serde_json::json!({
                        "source": format!("/{rel}"), "category": category,
                        "outcome": "collected", "file_type": "symlink",
                        "link_target": t.to_str().unwrap(), "secret": false,
                    })
                    .to_string(),
                );
                rows.push('\n');
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                let stored = format!("files/{rel}");
                let dest = out.join(&stored);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::copy(&p, &dest).unwrap();
                rows.push_str(
                    &serde_json::json!({
                        "source": format!("/{rel}"), "stored": stored, "category": category,
                        "outcome": "collected", "file_type": "file", "size": meta.len(),
                        "mtime": "2026-03-14T02:40:00Z", "secret": category == "shell_history",
                    })
                    .to_string(),
                );
                rows.push('\n');
            }
        }
    }
    std::fs::write(out.join("manifest.jsonl"), rows).unwrap();
}

/// Evidence files and their lines.
type Cited = Vec<(String, Vec<u64>)>;

/// The findings of the given rule: (title, [(evidence path, lines)]).
fn of_rule(findings: &[Value], rule: &str) -> Vec<(String, Cited)> {
    findings
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            let ev = f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let lines = e["lines"].as_array().unwrap();
                    (
                        e["path"].as_str().unwrap().to_string(),
                        lines.iter().map(|l| l.as_u64().unwrap()).collect(),
                    )
                })
                .collect();
            (f["title"].as_str().unwrap().to_string(), ev)
        })
        .collect()
}

#[test]
fn planted_host_persistence_is_found_at_its_lines_and_stock_files_are_quiet() {
    let root = fixture();
    let units = std::fs::read_dir(root.join("lib/systemd/system"))
        .unwrap()
        .count();
    assert!(units > 100, "the stock part holds {units} units");
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    bundle_of(&root, &b);
    let o = run(&["detect", b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();

    let svc = of_rule(findings, "persistence.service");
    assert_eq!(
        svc,
        vec![(
            "Systemd timer dbus-sync.timer starts dbus-sync.service, which runs from a world-writable directory".to_string(),
            vec![
                ("files/etc/systemd/system/dbus-sync.service".to_string(), vec![7]),
                ("files/etc/systemd/system/dbus-sync.timer".to_string(), vec![5]),
            ]
        )]
    );
    let svc_f = findings
        .iter()
        .find(|f| f["rule"] == "persistence.service")
        .unwrap();
    assert_eq!(svc_f["severity"], "high");
    assert!(
        svc_f["summary"].as_str().unwrap().contains("(enabled)"),
        "{}",
        svc_f["summary"]
    );

    let bashrc_lines = std::fs::read_to_string(root.join("root/.bashrc"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(
        of_rule(findings, "persistence.shell_init"),
        vec![(
            "root's shell start-up file /root/.bashrc runs /dev/shm/.x/dbus-sync from a world-writable directory".to_string(),
            vec![("files/root/.bashrc".to_string(), vec![bashrc_lines])]
        )]
    );

    let hist = of_rule(findings, "host.history");
    assert_eq!(hist.len(), 1, "{hist:?}");
    assert_eq!(
        hist[0].1,
        vec![(
            "files/root/.bash_history".to_string(),
            vec![16, 18, 20, 22, 26, 30, 32, 34, 36, 38, 40, 42, 48, 50, 52, 54]
        )]
    );
    let hist_f = findings
        .iter()
        .find(|f| f["rule"] == "host.history")
        .unwrap();
    assert_eq!(hist_f["severity"], "high");
    assert_eq!(hist_f["first_seen"], "2026-03-14T02:15:17Z");
    assert_eq!(hist_f["last_seen"], "2026-03-14T02:31:40Z");

    assert_eq!(
        of_rule(findings, "persistence.cron"),
        vec![(
            "Queued at job of root runs from a world-writable directory".to_string(),
            vec![(
                "files/var/spool/cron/atjobs/a0000101c8e785".to_string(),
                vec![12]
            )]
        )]
    );

    // Nothing on the stock part.
    for f in findings {
        for e in f["evidence"].as_array().unwrap() {
            let p = e["path"].as_str().unwrap();
            assert!(
                !(p.contains("lib/systemd")
                    || p.contains("etc/profile")
                    || p.contains("bash.bashrc")
                    || p.contains("home/ops")
                    || p.ends_with(".profile")),
                "{} on stock file {p}",
                f["rule"]
            );
        }
    }
}

/// The same fixture read as a mounted root (`detect ROOT`: planned with the collector's own
/// catalogue): the planted timer and service are found at their lines whatever else the
/// catalogue plans, and nothing is found on the stock files.
#[test]
fn the_fixture_read_as_a_root_finds_the_planted_timer_and_nothing_stock() {
    let root = fixture();
    let o = run(&["detect", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let svc = of_rule(findings, "persistence.service");
    assert_eq!(svc.len(), 1, "{svc:?}");
    assert_eq!(
        svc[0].1,
        vec![
            ("etc/systemd/system/dbus-sync.service".to_string(), vec![7]),
            ("etc/systemd/system/dbus-sync.timer".to_string(), vec![5]),
        ]
    );
    for f in findings {
        for e in f["evidence"].as_array().unwrap() {
            let p = e["path"].as_str().unwrap();
            assert!(
                !(p.contains("lib/systemd") || p.contains("home/ops") || p.contains("profile")),
                "{} on stock file {p}",
                f["rule"]
            );
        }
    }
}
