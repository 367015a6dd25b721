//! A bundle archive's logs are copied to scratch space before they are read in time order
//! (`docs/events.md`). The copies must never fill the analyst's disk nor outlive the run:
//! they are nameless files (`O_TMPFILE`) within the free space of `$TMPDIR` less a reserve.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;

/// A root whose mail log is `lines` lines of one guesser failing, collected into `out`.
fn bundle_of(t: &Path, lines: usize, out: &Path) {
    let root = t.join("root");
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    let line = "Mar  5 10:00:00 mx postfix/smtpd[1]: warning: unknown[203.0.113.50]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n";
    std::fs::write(root.join("var/log/mail.log"), line.repeat(lines)).unwrap();
    let o = util::collect_with(&root, out, &["--max-file-size", "4000000000"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// A small tmpfs mounted at `dir` for the life of the value (tests run as root in CI).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn an_archive_that_would_not_fit_the_scratch_room_is_read_in_place() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("b.tar.gz");
    bundle_of(t.path(), 20_000, &b);
    let Some(tmp) = Tmpfs::mount(&t.path().join("small-tmp"), "16m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root?)");
        return;
    };
    let o = util::run_cmd(
        {
            let mut c = util::mailir();
            c.env("TMPDIR", &tmp.0)
                .args(["detect", b.to_str().unwrap(), "--year", "2026"]);
            c
        },
        Duration::from_secs(300),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("read in place"), "{}", o.stderr);
    assert!(o.stderr.contains("scratch space"), "{}", o.stderr);
    assert!(o.stdout.contains("auth.brute_force"), "{}", o.stdout);
    assert_eq!(std::fs::read_dir(&tmp.0).unwrap().count(), 0);
}

#[test]
fn scratch_copies_have_no_name_and_nothing_outlives_a_kill() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("b.tar.gz");
    bundle_of(t.path(), 600_000, &b);
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = util::mailir()
        .env("TMPDIR", &tmp)
        .args(["detect", b.to_str().unwrap(), "--year", "2026"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // While it runs, its copy is open (the kernel shows it as a deleted file in TMPDIR) and
    // the folder holds no name.
    let fds = format!("/proc/{}/fd", child.id());
    let start = Instant::now();
    let mut seen = false;
    while !seen && start.elapsed() < Duration::from_secs(60) {
        if let Ok(rd) = std::fs::read_dir(&fds) {
            seen = rd.flatten().any(|e| {
                std::fs::read_link(e.path()).is_ok_and(|l| {
                    l.starts_with(&tmp) && l.to_string_lossy().ends_with("(deleted)")
                })
            });
        }
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "a named scratch file"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(seen, "no scratch copy was seen open");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn a_small_bundle_whose_log_inflates_to_a_gigabyte_stays_small() {
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    // One real line, then a gibibyte of zeros: a gzip of about 1 MB.
    let gz = std::fs::File::create(root.join("var/log/mail.log.1.gz")).unwrap();
    let mut w = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    w.write_all(b"Mar  5 10:00:00 mx postfix/smtpd[1]: warning: unknown[203.0.113.50]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n").unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap();
    let b = t.path().join("b.tar.gz");
    let o = util::collect_with(&root, &b, &["--max-file-size", "4000000000"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(std::fs::metadata(&b).unwrap().len() < 4 << 20);
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = util::mailir();
    cmd.env("TMPDIR", &tmp)
        .args(["detect", b.to_str().unwrap(), "--year", "2026"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (code, rss) = crate::hostile_memory::peak_of(cmd);
    eprintln!(
        "detect of a 1 GiB-inflating bundle: peak RSS {} MB",
        rss >> 20
    );
    assert_eq!(code, 0);
    assert!(rss < 512 << 20, "peak RSS {} MB", rss >> 20);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}
