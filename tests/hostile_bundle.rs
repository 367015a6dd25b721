//! An unpacked bundle handed to the analysis commands is read under `verify`'s rules
//! (`docs/threat-model.md`): a stored log swapped for a symbolic link to a file of the
//! analyst's machine, a folder on the way swapped for a link, a FIFO in a log's place, a
//! manifest `stored` path that climbs out of the bundle, and a log grown past its recorded size
//! are each refused with the reason; nothing outside the bundle is read, nothing hangs, and
//! `parse`, `detect`, `report` and `triage` exit non-zero.

use std::path::Path;

use crate::util::{self, run};

/// What a swapped file holds: it must never show up in any output.
const OUTSIDE: &str = "Mar  5 10:00:00 analyst postfix/smtpd[1]: warning: unknown[198.51.100.99]: SASL LOGIN authentication failed: OUTSIDE-SECRET, sasl_username=outside-secret";

/// A directory bundle of the sample host.
fn bundle(t: &Path, name: &str) -> std::path::PathBuf {
    let b = t.join(name);
    util::collect(&util::sample(), &b);
    b
}

/// Runs every analysis command on `b`; each must refuse, name `why`, and not leak the file.
fn refused(t: &Path, b: &Path, why: &str) {
    for cmd in ["parse", "detect", "report", "triage"] {
        let mut args = vec![cmd, b.to_str().unwrap()];
        let out = t.join(format!(
            "out-{cmd}-{}",
            b.file_name().unwrap().to_string_lossy()
        ));
        let out = out.to_str().unwrap().to_string();
        if matches!(cmd, "report" | "triage") {
            args.extend(["--out", &out]);
        }
        let o = run(&args);
        assert_ne!(o.code, 0, "{cmd} accepted it: {}", o.stderr);
        assert!(o.stderr.contains(why), "{cmd}: {}", o.stderr);
        assert!(
            !o.stdout.contains("OUTSIDE-SECRET"),
            "{cmd} read outside the bundle"
        );
        for f in ["report.md", "report.json"] {
            let text = std::fs::read_to_string(Path::new(&out).join(f)).unwrap_or_default();
            assert!(
                !text.contains("outside-secret"),
                "{cmd} {f} read outside the bundle"
            );
        }
    }
}

#[test]
fn unpacked_bundles_are_read_under_the_verify_rules() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("analyst.log");
    std::fs::write(&victim, format!("{OUTSIDE}\n")).unwrap();

    // A stored log swapped for a link out of the bundle.
    let b = bundle(t.path(), "link");
    let log = b.join("files/var/log/mail.log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    refused(t.path(), &b, "a symbolic link");

    // A folder on the way swapped for a link to a folder outside.
    let b = bundle(t.path(), "folder");
    let outside = t.path().join("outside-log");
    std::fs::create_dir_all(&outside).unwrap();
    for f in std::fs::read_dir(b.join("files/var/log")).unwrap() {
        let f = f.unwrap();
        std::fs::write(outside.join(f.file_name()), format!("{OUTSIDE}\n")).unwrap();
    }
    std::fs::remove_dir_all(b.join("files/var/log")).unwrap();
    std::os::unix::fs::symlink(&outside, b.join("files/var/log")).unwrap();
    refused(t.path(), &b, "not a folder");

    // A FIFO in a log's place: refused at once, not waited on (the runs' limit is 2 min).
    let b = bundle(t.path(), "fifo");
    let log = b.join("files/var/log/mail.log");
    std::fs::remove_file(&log).unwrap();
    let c = std::ffi::CString::new(log.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    refused(t.path(), &b, "not a regular file");

    // A manifest row whose stored path climbs out of the bundle.
    let b = bundle(t.path(), "climb");
    let m = std::fs::read_to_string(b.join("manifest.jsonl")).unwrap();
    let m = m.replace(
        "\"stored\":\"files/var/log/mail.log\"",
        "\"stored\":\"files/../../analyst.log\"",
    );
    std::fs::write(b.join("manifest.jsonl"), m).unwrap();
    refused(t.path(), &b, "parent-directory component");

    // A log grown past its recorded size (a 400 KB bundle cannot hold a 20 GB log).
    let b = bundle(t.path(), "grown");
    let log = b.join("files/var/log/mail.log");
    let mut data = std::fs::read(&log).unwrap();
    data.extend_from_slice(format!("{OUTSIDE}\n").as_bytes());
    std::fs::write(&log, data).unwrap();
    refused(t.path(), &b, "the manifest records");
}
