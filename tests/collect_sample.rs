//! `collect --root samples/compromised-postfix` into every bundle format.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{self, collect, entries, manifest, row, run, run_cmd};

/// Unpacks a bundle into `dir` (directory bundles are used in place).
fn unpack(bundle: &Path, dir: &Path) -> std::path::PathBuf {
    if bundle.is_dir() {
        return bundle.to_path_buf();
    }
    for (name, bytes) in entries(bundle) {
        let p = dir.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn sample_bundles_verify_and_pass_sha256sum_in_every_format() {
    let t = tempfile::tempdir().unwrap();
    for name in ["b.zip", "b.tar.gz", "b"] {
        let out = t.path().join(name);
        let o = collect(&util::sample(), &out);
        // stdout is the sidecar line: "<hex>  <name>".
        let sidecar = std::fs::read_to_string(t.path().join(format!("{name}.sha256"))).unwrap();
        assert_eq!(o.stdout.trim(), sidecar.trim());
        let v = run(&["verify", out.to_str().unwrap()]);
        assert_eq!(v.code, 0, "verify {name}: {}{}", v.stdout, v.stderr);
        assert!(v.stdout.contains("intact"), "{}", v.stdout);
        // sha256sum accepts the sidecar from the bundle's folder ...
        let mut c = Command::new("sha256sum");
        c.arg("-c")
            .arg(format!("{name}.sha256"))
            .current_dir(t.path());
        let s = run_cmd(c, Duration::from_secs(60));
        assert_eq!(s.code, 0, "sidecar for {name}: {}{}", s.stdout, s.stderr);
        // ... and SHA256SUMS after unpacking.
        let dir = t
            .path()
            .join(format!("unpacked-{}", name.replace('.', "-")));
        let root = unpack(&out, &dir);
        let mut c = Command::new("sha256sum");
        c.args(["--quiet", "-c", "SHA256SUMS"]).current_dir(&root);
        let s = run_cmd(c, Duration::from_secs(60));
        assert_eq!(
            s.code, 0,
            "sha256sum -c in {name}: {}{}",
            s.stdout, s.stderr
        );
    }
}

/// `--compress none`: uncompressed zip and tar.gz bundles that `verify` accepts, holding the
/// same bytes as the default bundles (the same entries, the same `SHA256SUMS` lines for the
/// evidence), and much bigger; a directory refuses the option.
#[test]
fn uncompressed_archives_hold_the_same_evidence_and_verify() {
    let t = tempfile::tempdir().unwrap();
    let root = util::sample();
    for ext in ["zip", "tar.gz"] {
        let fast = t.path().join(format!("fast.{ext}"));
        let none = t.path().join(format!("none.{ext}"));
        collect(&root, &fast);
        let o = run(&[
            "collect",
            "--root",
            root.to_str().unwrap(),
            "--out",
            none.to_str().unwrap(),
            "--compress",
            "none",
        ]);
        assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
        let v = run(&["verify", none.to_str().unwrap()]);
        assert_eq!(v.code, 0, "verify {ext}: {}{}", v.stdout, v.stderr);
        assert!(v.stdout.contains("intact"), "{}", v.stdout);
        let files = |b: &Path| -> Vec<(String, Vec<u8>)> {
            entries(b)
                .into_iter()
                .filter(|(n, _)| n.starts_with("files/"))
                .collect()
        };
        let (a, b) = (files(&fast), files(&none));
        assert!(a.len() > 20, "{}", a.len());
        assert_eq!(a, b, "{ext}: the evidence differs");
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(
            size(&none) > 2 * size(&fast),
            "{ext}: not stored uncompressed"
        );
        let log = entries(&none)
            .into_iter()
            .find(|(n, _)| n == "collect.log")
            .map(|(_, b)| String::from_utf8(b).unwrap())
            .unwrap();
        assert!(log.contains("archive compression: none"), "{log}");
    }
    let dir = t.path().join("d");
    let o = run(&[
        "collect",
        "--root",
        root.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--compress",
        "none",
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("never compressed"), "{}", o.stderr);
    assert!(!dir.exists());
}

#[test]
fn every_planted_item_and_log_is_collected_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("b");
    collect(&util::sample(), &out);
    let rows = manifest(&out);
    let truth = util::truth();
    let mut paths: Vec<String> = truth["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect();
    paths.extend(truth["logs"].as_object().unwrap().keys().cloned());
    paths.extend(
        [
            "/var/log/auth.log.1",
            "/etc/postfix/transport",
            "/etc/aliases.db",
            "/etc/postfix/virtual.db",
            "/etc/postfix/recipient_bcc.db",
            "/etc/postfix/master.cf",
            "/etc/dovecot/conf.d/90-sieve.conf",
            "/var/lib/dovecot/sieve/before.d/10-spam.sieve",
            "/etc/logrotate.d/rsyslog",
            "/etc/passwd",
            "/usr/share/zoneinfo/Asia/Shanghai",
            "/usr/lib/os-release",
        ]
        .map(String::from),
    );
    for p in &paths {
        let r = row(&rows, p);
        assert_eq!(r["outcome"], "collected", "{p}: {r}");
        let stored = r["stored"].as_str().unwrap();
        let bytes = std::fs::read(out.join(stored)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(util::sample().join(&p[1..])).unwrap(),
            "{p} differs from its source"
        );
        assert_eq!(r["size"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(r["noatime"], true, "{p} opened without O_NOATIME");
        assert!(r["mtime"].as_str().unwrap().ends_with('Z'));
    }
    // Links are recorded with their target, and the target is taken in the root.
    let sieve = row(&rows, "/home/wangfang/.dovecot.sieve");
    assert_eq!(sieve["outcome"], "symlink");
    assert_eq!(sieve["link_target"], "sieve/roundcube.sieve");
    assert_eq!(
        row(&rows, "/etc/localtime")["link_target"],
        "/usr/share/zoneinfo/Asia/Shanghai"
    );
    assert_eq!(row(&rows, "/etc/os-release")["outcome"], "symlink");
    // Secrets are collected but flagged, by name and by content.
    for secret in [
        "/etc/postfix/sasl_passwd",
        "/etc/postfix/sasl_passwd.db",
        "/etc/dovecot/private/dovecot.key",
    ] {
        assert_eq!(row(&rows, secret)["secret"], true, "{secret}");
    }
    assert_eq!(
        row(&rows, "/etc/dovecot/conf.d/10-ssl.conf")["secret"],
        false
    );
    assert_eq!(row(&rows, "/etc/postfix/main.cf")["secret"], false);
    // Per-user files were looked for in every home, nologin ones included; absent homes say so.
    assert_eq!(
        row(&rows, "/var/backups/.forward")["category"],
        "user_delivery"
    );
    assert_eq!(row(&rows, "/home/zhangwei/.forward")["outcome"], "missing");
    let nonexistent = row(&rows, "/nonexistent");
    assert_eq!(nonexistent["outcome"], "missing");
    assert!(nonexistent["error"].as_str().unwrap().contains("home of"));
    assert_eq!(row(&rows, "/etc/exim4")["outcome"], "missing");
    // Mailboxes are listed, not copied.
    assert!(!rows
        .iter()
        .any(|r| r["source"].as_str().unwrap().contains("/Maildir/cur/")));
    let listing =
        String::from_utf8(std::fs::read(out.join("volatile/mailboxes.jsonl")).unwrap()).unwrap();
    let boxes: Vec<serde_json::Value> = listing
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(boxes.len(), 5, "{listing}");
    assert!(
        boxes
            .iter()
            .all(|b| b["kind"] == "maildir" && b["messages"] == 3 && b["new"] == 1),
        "{listing}"
    );
    // Custody names the host from the root's files and counts every row.
    let custody: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("custody.json")).unwrap()).unwrap();
    assert_eq!(custody["host"]["hostname"], "mx1");
    assert_eq!(custody["clock"]["local_zone"], "Asia/Shanghai");
    assert_eq!(custody["live"], false);
    assert_eq!(custody["case_id"], "T-1");
    assert_eq!(
        custody["manifest_rows"].as_u64().unwrap(),
        rows.len() as u64
    );
    assert_eq!(custody["collector"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn since_skips_only_old_rotations_and_says_so() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    util::copy_tree(&util::sample(), &root);
    for (path, info) in util::truth()["logs"].as_object().unwrap() {
        util::set_mtime(&root.join(&path[1..]), info["mtime"].as_str().unwrap());
    }
    let out = t.path().join("b");
    let o = util::collect_with(&root, &out, &["--since", "2026-03-03"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = manifest(&out);
    for skipped in ["/var/log/mail.log.4.gz", "/var/log/mail.log.3.gz"] {
        let r = row(&rows, skipped);
        assert_eq!(r["outcome"], "skipped", "{r}");
        assert!(r["error"].as_str().unwrap().contains("--since"));
        assert!(r["stored"].is_null());
    }
    for kept in [
        "/var/log/mail.log.2.gz",
        "/var/log/mail.log.1",
        "/var/log/mail.log",
    ] {
        assert_eq!(row(&rows, kept)["outcome"], "collected", "{kept}");
    }
}

#[test]
fn size_cap_gives_too_large_rows_not_silence() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("b.zip");
    let o = util::collect_with(&util::sample(), &out, &["--max-file-size", "100000"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = manifest(&out);
    let r = row(&rows, "/var/log/mail.log.1");
    assert_eq!(r["outcome"], "too_large");
    assert!(r["stored"].is_null() && r["size"].as_u64().unwrap() > 100_000);
    assert_eq!(row(&rows, "/etc/postfix/main.cf")["outcome"], "collected");
    assert_eq!(run(&["verify", out.to_str().unwrap()]).code, 0);
}

#[test]
fn the_bundle_is_never_collected_into_itself() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    util::copy_tree(&util::sample(), &root);
    let out = root.join("var/log/mail.evidence.zip");
    collect(&root, &out);
    let rows = manifest(&out);
    let r = row(&rows, "/var/log/mail.evidence.zip");
    assert_eq!(r["outcome"], "skipped", "{r}");
    assert!(r["stored"].is_null());
    assert_eq!(run(&["verify", out.to_str().unwrap()]).code, 0);
}

#[test]
fn refuses_to_overwrite_and_reports_a_bad_root() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("b.zip");
    std::fs::write(&out, b"previous evidence").unwrap();
    let o = util::collect_with(&util::sample(), &out, &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot create bundle"), "{}", o.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"previous evidence");
    let o = util::collect_with(Path::new("/no/such/root"), &t.path().join("c.zip"), &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot open root"), "{}", o.stderr);
}

#[test]
fn mailbox_content_only_with_the_flag() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("b");
    let o = util::collect_with(&util::sample(), &out, &["--include-mailboxes"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = manifest(&out);
    let boxes: Vec<_> = rows
        .iter()
        .filter(|r| r["category"] == "mailbox" && r["file_type"] == "file")
        .collect();
    assert_eq!(boxes.len(), 15, "5 users x (2 cur + 1 new)");
    for r in boxes {
        assert_eq!(r["outcome"], "collected", "{r}");
        let src = r["source"].as_str().unwrap();
        assert!(
            src.contains("/Maildir/cur/") || src.contains("/Maildir/new/"),
            "{src}"
        );
        assert_eq!(
            std::fs::read(out.join(r["stored"].as_str().unwrap())).unwrap(),
            std::fs::read(util::sample().join(&src[1..])).unwrap()
        );
    }
    let custody: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("custody.json")).unwrap()).unwrap();
    assert_eq!(custody["options"]["include_mailboxes"], true);
}
