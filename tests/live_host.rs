//! Implants on this live machine (issue 20's acceptance test; root on Linux only, skipped
//! loudly otherwise): a deleted program run from a hidden folder under `/tmp`, a memory-only
//! program (`memfd_create`), and `bash` holding a loopback connection (a reverse shell) are
//! started, the live root is collected by the real `mailir collect`, and `mailir detect` on the
//! bundle must name each of them in `host.malware_process`; the deleted program's copy must be
//! in the bundle with `/bin/sleep`'s SHA-256. Every child is killed and reaped and every temporary
//! folder removed by a drop guard, whether the test passes or fails.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{self, run_cmd};

/// What the test started: children to kill and reap, folders to remove, descriptors to close.
#[derive(Default)]
struct Guard {
    children: Vec<Child>,
    dirs: Vec<PathBuf>,
    streams: Vec<std::net::TcpStream>,
    fds: Vec<i32>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.streams.clear();
        for fd in self.fds.drain(..) {
            // SAFETY: a descriptor this test opened and still owns.
            unsafe { libc::close(fd) };
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn sha256(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    format!("{:x}", Sha256::digest(&data))
}

/// A folder of its own under `/tmp` (not `$TMPDIR`: the world-writable place implants use).
fn tmp_dir(g: &mut Guard, tag: &str) -> PathBuf {
    let d = PathBuf::from(format!("/tmp/mailir-live-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    g.dirs.push(d.clone());
    d
}

/// (1) `/bin/sleep` copied to `/tmp/…/.hidden/kworkerd`, started, then deleted.
fn deleted_program(g: &mut Guard) -> u32 {
    let dir = tmp_dir(g, "deleted").join(".hidden");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("kworkerd");
    // `cp`, not `fs::copy`: a write descriptor held in this multi-threaded process could be
    // inherited by another test's child and make the exec fail with ETXTBSY.
    let st = Command::new("cp")
        .arg("/bin/sleep")
        .arg(&exe)
        .status()
        .unwrap();
    assert!(st.success());
    let child = Command::new(&exe)
        .arg("600")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    g.children.push(child);
    // spawn returns once the program runs: delete its file.
    std::fs::remove_file(&exe).unwrap();
    pid
}

/// (2) `/bin/sleep`'s bytes in a `memfd_create(2)` file, run through `/proc/self/fd/N`.
fn memfd_program(g: &mut Guard) -> u32 {
    let name = c"mailir-live";
    // SAFETY: a valid C string; no flags (the child inherits the descriptor to exec it).
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    g.fds.push(fd);
    let data = std::fs::read("/bin/sleep").unwrap();
    let mut off = 0;
    while off < data.len() {
        // SAFETY: writes from a live slice to the descriptor opened above.
        let n = unsafe { libc::write(fd, data[off..].as_ptr().cast(), data.len() - off) };
        assert!(n > 0, "write: {}", std::io::Error::last_os_error());
        off += n as usize;
    }
    let child = Command::new(format!("/proc/self/fd/{fd}"))
        .arg("600")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    g.children.push(child);
    pid
}

/// (3) `bash` connected to a listener of this test on loopback, blocked reading from it.
fn reverse_shell(g: &mut Guard) -> u32 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && read -r -u 3 line"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    g.children.push(child);
    l.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                g.streams.push(s);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "bash never connected"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    pid
}

fn exe_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn implants_on_the_live_host_are_found() {
    if !cfg!(target_os = "linux") || !util::is_root() {
        eprintln!("SKIPPED implants_on_the_live_host_are_found: needs root on Linux");
        return;
    }
    let mut g = Guard::default();
    let deleted = deleted_program(&mut g);
    let memfd = memfd_program(&mut g);
    let shell = reverse_shell(&mut g);
    // The memfd child's exec and bash's `read` are under way once their /proc entries say so.
    let start = Instant::now();
    while !(exe_of(memfd).starts_with("/memfd:") && exe_of(deleted).ends_with(" (deleted)")) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "children not running: {} {}",
            exe_of(memfd),
            exe_of(deleted)
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let work = tmp_dir(&mut g, "bundle");
    let bundle = work.join("bundle");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut c = util::mailir();
    c.args([
        "collect",
        "--out",
        bundle.to_str().unwrap(),
        "--case",
        "LIVE-HOST",
        "--since",
        &today,
    ]);
    let o = run_cmd(c, Duration::from_secs(600));
    assert_eq!(o.code, 0, "collect: {}", o.stderr);
    let procs = std::fs::read_to_string(bundle.join("volatile/processes.jsonl")).unwrap();
    for pid in [deleted, memfd, shell] {
        assert!(
            procs.contains(&format!("\"pid\":{pid},")),
            "pid {pid} not in the process list"
        );
    }

    let mut c = util::mailir();
    c.args(["detect", bundle.to_str().unwrap(), "--format", "jsonl"]);
    let d = run_cmd(c, Duration::from_secs(600));
    assert_eq!(d.code, 0, "{}", d.stderr);
    let findings: Vec<Value> = d
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|f: &Value| f["rule"] == "host.malware_process")
        .collect();
    let named = |pid: u32| {
        findings.iter().find(|f| {
            f["entities"]["processes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p == &format!("pid {pid}")))
        })
    };
    for (pid, what) in [
        (deleted, "deleted program"),
        (memfd, "memfd program"),
        (shell, "reverse shell"),
    ] {
        let f = named(pid).unwrap_or_else(|| {
            panic!(
                "the {what} (pid {pid}) is not named: {:#?}",
                findings
                    .iter()
                    .map(|f| f["summary"].clone())
                    .collect::<Vec<_>>()
            )
        });
        assert_eq!(f["severity"], "critical", "{what}: {f}");
        assert_eq!(
            f["entities"]["roles"]["processes"][format!("pid {pid}")],
            "implant",
            "{f}"
        );
    }
    let shell_f = named(shell).unwrap();
    assert!(
        shell_f["entities"]["ips"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "127.0.0.1"),
        "{shell_f}"
    );
    assert!(
        shell_f["attack"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "T1059.004"),
        "{shell_f}"
    );
    let deleted_f = named(deleted).unwrap();
    let summary = deleted_f["summary"].as_str().unwrap();
    assert!(summary.contains("/.hidden/kworkerd (deleted)"), "{summary}");
    // Nothing else on this machine is taken for an implant, but a build sandbox's backend that
    // really runs from a sealed memfd (`/memfd:sealed-… (deleted)`).
    let others: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            f["severity"] != "medium"
                && !f["summary"]
                    .as_str()
                    .unwrap_or("")
                    .contains("; executable /memfd:sealed-")
                && ![deleted, memfd, shell]
                    .iter()
                    .any(|p| f["entities"]["processes"][0] == format!("pid {p}"))
        })
        .collect();
    assert!(others.is_empty(), "{others:#?}");

    // The deleted program's copy: `volatile/exe/<pid>.bin` with /bin/sleep's digest, marked a
    // malware sample in the manifest (the collector's contract for deleted and memfd programs).
    let want = sha256(Path::new("/bin/sleep"));
    let sample = format!("volatile/exe/{deleted}.bin");
    assert!(
        summary.contains(&format!("{sample} (sha256 {want})")),
        "{summary}"
    );
    let mut copy = Vec::new();
    std::fs::File::open(bundle.join(&sample))
        .unwrap_or_else(|e| panic!("{sample}: {e}"))
        .read_to_end(&mut copy)
        .unwrap();
    assert_eq!(format!("{:x}", Sha256::digest(&copy)), want);
    let rows = util::manifest(&bundle);
    let row = rows
        .iter()
        .find(|r| r["stored"] == sample.as_str())
        .unwrap_or_else(|| panic!("no manifest row for {sample}"));
    assert_eq!(row["sha256"], want.as_str(), "{row}");
    assert_eq!(row["malware_sample"], true, "{row}");
    package_verification_is_read(&bundle, &d.stdout);
}

/// On Debian, the live collection ran `dpkg --verify` (after the files, bounded in time) and
/// `detect` read every line it printed: each is a changed file the reader understood, and what
/// the rule reported (if anything) cites lines of that output.
fn package_verification_is_read(bundle: &Path, detected: &str) {
    if !Path::new("/usr/bin/dpkg").exists() {
        eprintln!("SKIPPED package verification: no dpkg on this host");
        return;
    }
    let out = std::fs::read_to_string(bundle.join("volatile/dpkg-verify.stdout"))
        .expect("dpkg --verify output in the bundle");
    let status: Value = serde_json::from_str(
        &std::fs::read_to_string(bundle.join("volatile/dpkg-verify.status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status["timed_out"], false, "{status}");
    let lines = out.lines().filter(|l| !l.trim().is_empty()).count();
    let read = mailir::hostconf::packages::verify(&out);
    assert_eq!(
        read.len(),
        lines,
        "every dpkg --verify line is read:\n{out}"
    );
    for f in detected
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|f| f["rule"] == "host.package_modified")
    {
        for ev in f["evidence"].as_array().unwrap() {
            assert!(
                ev["path"].as_str().unwrap().ends_with("dpkg-verify.stdout"),
                "{f}"
            );
            for l in ev["lines"].as_array().unwrap() {
                assert!(l.as_u64().unwrap() as usize <= out.lines().count(), "{f}");
            }
        }
    }
}
