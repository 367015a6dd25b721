//! A root full of traps: each gets the right outcome, the host outside the root is never
//! read, and nothing hangs.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::util::{self, manifest, row, run_cmd};

const OUTSIDE_SECRET: &[u8] = b"HOST-SECRET-OUTSIDE-THE-ROOT-3f9c";

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn hostile_tree_outcomes() {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let root = t.path().join("root");
    let pf = root.join("etc/postfix");
    fs::create_dir_all(&pf).unwrap();
    fs::create_dir_all(root.join("var/log")).unwrap();
    fs::write(t.path().join("outside.txt"), OUTSIDE_SECRET).unwrap();
    fs::write(pf.join("main.cf"), b"myhostname = mx.example.org\n").unwrap();
    symlink("loop2", pf.join("loop1")).unwrap();
    symlink("loop1", pf.join("loop2")).unwrap();
    symlink("../../../outside.txt", pf.join("escape-relative.cf")).unwrap();
    symlink(t.path().join("outside.txt"), pf.join("escape-absolute.cf")).unwrap();
    symlink("/", pf.join("to-root")).unwrap();
    mkfifo(&pf.join("fifo"));
    fs::write(
        pf.join(OsStr::from_bytes(b"bad\xff\xfename.cf")),
        b"non-utf8\n",
    )
    .unwrap();
    fs::write(pf.join("evil\nname.cf"), b"newline\n").unwrap();
    let locked = pf.join("locked.cf");
    fs::write(&locked, b"secret\n").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // A log that is appended to for as long as the collector runs.
    let log = root.join("var/log/mail.log");
    let line = b"Mar  4 02:14:07 mx1 postfix/submission/smtpd[41252]: warning: unknown[203.0.113.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n";
    {
        let mut f = fs::File::create(&log).unwrap();
        let block: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 8192)
            .collect();
        for _ in 0..64 {
            f.write_all(&block).unwrap();
        }
    }
    let out_dir = t.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let out = out_dir.join("b");

    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let stop = stop.clone();
        let log = log.clone();
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(log).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                f.write_all(line).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    // As root every file is readable: run the collector as nobody so the locked file is refused.
    let mut cmd = util::mailir_unprivileged(t.path());
    // The locked file is mail configuration refused to the collector: accepted explicitly.
    cmd.args(["collect", "--allow-partial", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&out);
    let o = run_cmd(cmd, Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    let appended = appender.join().unwrap();
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(appended > 0);
    let rows = manifest(&out);

    let r = row(&rows, "/etc/postfix/loop1");
    assert_eq!(r["outcome"], "symlink");
    assert!(r["error"].as_str().unwrap().contains("loop"), "{r}");
    for esc in [
        "/etc/postfix/escape-relative.cf",
        "/etc/postfix/escape-absolute.cf",
    ] {
        assert_eq!(row(&rows, esc)["outcome"], "symlink", "{esc}");
    }
    // Both escapes resolve inside the root, where nothing is: the host file is never read.
    assert_eq!(row(&rows, "/outside.txt")["outcome"], "missing");
    let abs = row(&rows, "/etc/postfix/escape-absolute.cf");
    assert!(
        abs["error"]
            .as_str()
            .unwrap()
            .contains("not in the collected root"),
        "{abs}"
    );
    let r = row(&rows, "/etc/postfix/to-root");
    assert_eq!(r["outcome"], "symlink");
    assert_eq!(row(&rows, "/")["outcome"], "listed");
    let r = row(&rows, "/etc/postfix/fifo");
    assert_eq!(r["outcome"], "special");
    assert_eq!(r["file_type"], "fifo");
    assert!(r["stored"].is_null());
    let r = row(&rows, "/etc/postfix/bad%FF%FEname.cf");
    assert_eq!(r["outcome"], "collected");
    assert_eq!(
        r["source_hex"],
        "2f6574632f706f73746669782f626164fffe6e616d652e6366"
    );
    assert_eq!(
        fs::read(out.join(r["stored"].as_str().unwrap())).unwrap(),
        b"non-utf8\n"
    );
    let r = row(&rows, "/etc/postfix/evil%0Aname.cf");
    assert_eq!(r["outcome"], "collected");
    assert!(r["source_hex"].is_string());
    assert_eq!(r["stored"], "files/etc/postfix/evil%0Aname.cf");
    let r = row(&rows, "/etc/postfix/locked.cf");
    assert_eq!(r["outcome"], "denied", "{r}");
    let r = row(&rows, "/var/log/mail.log");
    assert_eq!(r["outcome"], "changed_during_read", "{r}");
    let stored = fs::read(out.join(r["stored"].as_str().unwrap())).unwrap();
    assert_eq!(stored.len() as u64, r["size"].as_u64().unwrap());
    assert!(stored.len() >= line.len() * 8192 * 64);
    // What was stored is a prefix of the file as it is now, hashed as stored.
    assert_eq!(&fs::read(&log).unwrap()[..stored.len()], &stored[..]);
    for (_, bytes) in util::entries(&out) {
        assert!(
            !bytes
                .windows(OUTSIDE_SECRET.len())
                .any(|w| w == OUTSIDE_SECRET),
            "host file leaked into the bundle"
        );
    }
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

/// A sparse log (a few real lines, then 2 GiB of holes — what `truncate -s` leaves) is
/// collected with its allocated size recorded and a note, hashed at its full length, and stored
/// as holes in a directory bundle (it takes no room there); the bundle verifies.
#[test]
fn sparse_files_are_recorded_and_stored_as_holes() {
    use std::os::unix::fs::MetadataExt;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let log = root.join("var/log/mail.log");
    std::fs::write(
        &log,
        "Mar  5 10:00:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n",
    )
    .unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let out = t.path().join("bundle");
    let o = util::collect_with(&root, &out, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let row: serde_json::Value = manifest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["source"] == "/var/log/mail.log")
        .unwrap();
    assert_eq!(row["size"], 2u64 << 30);
    assert!(row["allocated"].as_u64().unwrap() < 1 << 20, "{row}");
    assert!(
        row["error"].as_str().unwrap_or("").contains("sparse"),
        "{row}"
    );
    let stored = std::fs::metadata(out.join("files/var/log/mail.log")).unwrap();
    assert_eq!(stored.len(), 2 << 30);
    assert!(
        stored.blocks() * 512 < 1 << 20,
        "{} bytes allocated",
        stored.blocks() * 512
    );
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}
