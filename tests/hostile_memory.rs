//! Floods of attacker text must not multiply memory or output (`docs/threat-model.md`): a
//! 21 MB log of twenty 1 MiB "user names" failing to log in. `triage` runs with its peak
//! memory taken from the kernel (`wait4`), and its report folder is measured.

use std::path::Path;
use std::process::Command;

/// Runs mailir with `args`; returns its exit code and peak resident memory in bytes.
fn peak(args: &[&str]) -> (i32, u64) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailir"));
    cmd.args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    peak_of(cmd)
}

/// Runs `cmd`; returns its exit code and peak resident memory in bytes.
///
/// The kernel's figure for a child (`wait4`) starts from the peak of the process that
/// spawned it: Linux carries the old address space's high-water mark across `exec`, so a
/// child of this test process, which holds other tests' data, would be charged with it. The
/// command is therefore started from a fresh copy of this test binary ([`peak_gauge`]),
/// whose own memory is a few megabytes, and that copy reports the child's figure.
pub fn peak_of(cmd: Command) -> (i32, u64) {
    let spec = serde_json::json!({
        "program": cmd.get_program().to_string_lossy(),
        "args": cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
        "env": cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "cwd": cmd.get_current_dir().map(|d| d.to_string_lossy().into_owned()),
    });
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "hostile_memory::peak_gauge",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MAILIR_PEAK_OF", spec.to_string())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find_map(|l| Some(l.split_once("PEAK ")?.1))
        .unwrap_or_else(|| panic!("the gauge printed no figure: {out}"));
    let (code, rss) = line.split_once(' ').unwrap();
    (code.parse().unwrap(), rss.parse().unwrap())
}

/// Not a test of its own: the gauge [`peak_of`] starts. With `MAILIR_PEAK_OF` set it runs
/// the command described there, reaps it with `wait4` and prints `PEAK <exit> <bytes>`.
// The child is reaped by `wait4` (which also gives its own peak memory), not `Child::wait`.
#[allow(clippy::zombie_processes)]
#[test]
fn peak_gauge() {
    let Ok(spec) = std::env::var("MAILIR_PEAK_OF") else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let mut cmd = Command::new(spec["program"].as_str().unwrap());
    for a in spec["args"].as_array().unwrap() {
        cmd.arg(a.as_str().unwrap());
    }
    for (k, v) in spec["env"].as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    if let Some(d) = spec["cwd"].as_str() {
        cmd.current_dir(d);
    }
    cmd.env_remove("MAILIR_PEAK_OF")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = cmd.spawn().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    println!(
        "PEAK {} {}",
        libc::WEXITSTATUS(status),
        usage.ru_maxrss as u64 * 1024
    );
}

/// The gauge charges the child with its own memory only, however much the test process holds.
#[test]
fn peak_gauge_is_not_charged_with_the_test_process() {
    let ballast = vec![1u8; 300 << 20];
    let (code, rss) = peak_of(Command::new("true"));
    assert_eq!(code, 0);
    assert!(rss < 64 << 20, "true charged with {} MB", rss >> 20);
    let (code, _) = peak_of(Command::new("false"));
    assert_eq!(code, 1);
    assert_eq!(ballast.iter().map(|&b| b as u64).sum::<u64>(), 300 << 20);
}

fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

#[test]
fn twenty_one_mebibyte_user_names_stay_small() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("mail.log");
    let mut text = String::new();
    for i in 0..21 {
        let name = format!("{i:02}{}", "A".repeat(1 << 20));
        text.push_str(&format!(
            "Mar  5 10:{i:02}:00 mx postfix/submission/smtpd[1]: warning: unknown[203.0.113.50]: SASL LOGIN authentication failed: authentication failure, sasl_username={name}\n"
        ));
    }
    std::fs::write(&log, &text).unwrap();
    let out = t.path().join("report");
    let (code, rss) = peak(&[
        "triage",
        log.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--year",
        "2026",
    ]);
    assert_eq!(code, 0);
    eprintln!(
        "triage of 21 MB of 1 MiB user names: peak RSS {} MB, report folder {} KB",
        rss >> 20,
        folder_size(&out) >> 10
    );
    assert!(rss < 512 << 20, "peak RSS {} MB", rss >> 20);
    assert!(
        folder_size(&out) < 16 << 20,
        "report folder {} bytes",
        folder_size(&out)
    );
    // The finding still names the address, and the names cut with a marker.
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let text = serde_json::to_string(&r["findings"]).unwrap();
    assert!(text.contains("203.0.113.50"));
    assert!(text.contains("more bytes]"), "{:.300}", text);
}

/// A xorshift step: the flood's addresses, scattered over the whole IPv4 space.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn two_million_addresses_failing_once_stay_bounded_and_the_real_guesser_is_found() {
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("mail.log");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let n = 2_000_000u64;
    let mut tries = 0;
    for i in 0..n {
        let s = i * 86_400 / n;
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
        let r = next(&mut x);
        let ip = format!(
            "{}.{}.{}.{}",
            1 + r % 222,
            (r >> 8) & 255,
            (r >> 16) & 255,
            1 + (r >> 24) % 254
        );
        writeln!(w, "Mar  5 {h:02}:{m:02}:{sec:02} mx postfix/smtpd[{}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", 1000 + i % 30000).unwrap();
        // One real guesser among them: about 60 tries across the day.
        if i % (n / 60) == 0 {
            tries += 1;
            writeln!(w, "Mar  5 {h:02}:{m:02}:{sec:02} mx postfix/smtpd[77]: warning: unknown[198.51.100.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6").unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    let out = t.path().join("findings.json");
    let (code, rss) = peak(&[
        "detect",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    eprintln!(
        "detect of 2,000,000 distinct addresses failing once: peak RSS {} MB",
        rss >> 20
    );
    assert!(rss < 512 << 20, "peak RSS {} MB", rss >> 20);
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    // The cap is reported, with how much was aggregated.
    let limits = d["stats"]["limits"].as_array().unwrap();
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert!(limits[0]["what"].as_str().unwrap().contains("folded"));
    // The guesser is found by its own address; no finding on a network of many owners.
    let findings = d["findings"].as_array().unwrap();
    let titles: Vec<&str> = findings
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        findings.iter().any(|f| f["rule"] == "auth.brute_force"
            && f["entities"]["ips"][0] == "198.51.100.77"
            && f["count"] == tries),
        "{findings:?}"
    );
    assert!(titles.iter().all(|t| !t.contains(".0.0/")), "{titles:?}");
}

#[test]
fn a_manifest_of_a_million_rows_is_read_a_line_at_a_time() {
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("bundle");
    crate::util::collect(&crate::util::sample(), &b);
    // A million more rows: half name stored logs the bundle does not hold, half files
    // "denied". The custody record no longer matches: verify must say so, not run out of
    // memory.
    let mut w = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .append(true)
            .open(b.join("manifest.jsonl"))
            .unwrap(),
    );
    for i in 0..1_000_000u64 {
        if i % 2 == 1 {
            writeln!(w, r#"{{"source":"/var/log/mail.log.{i}","stored":"files/var/log/mail.log.{i}","category":"mail_log","outcome":"collected","file_type":"file","size":10,"sha256":"{i:064x}","secret":false}}"#).unwrap();
        } else {
            writeln!(w, r#"{{"source":"/etc/x/{i}","category":"mail_config","outcome":"denied","file_type":"file","secret":false}}"#).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    let (code, rss) = peak(&["verify", b.to_str().unwrap()]);
    eprintln!(
        "verify of a 1,000,000-row manifest: peak RSS {} MB",
        rss >> 20
    );
    assert_eq!(code, 1, "verify must report the mismatch");
    assert!(rss < 100 << 20, "peak RSS {} MB", rss >> 20);
    let o = crate::util::run(&["verify", b.to_str().unwrap()]);
    assert!(
        o.stdout.contains("more problem(s) not listed"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("FAILED: 500"), "{}", o.stdout);
    // The analysis commands refuse the bundle (half a million logs named), within bounds.
    let out = t.path().join("report");
    let (code, rss) = peak(&[
        "triage",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    eprintln!("triage of it: peak RSS {} MB, exit {code}", rss >> 20);
    assert_ne!(code, 0);
    assert!(rss < 512 << 20, "peak RSS {} MB", rss >> 20);
    let o = crate::util::run(&["parse", b.to_str().unwrap()]);
    assert!(
        o.stderr.contains("more than 100000 log files"),
        "{}",
        o.stderr
    );
}
