//! Floods of attacker text must not multiply memory or output (`docs/threat-model.md`): a
//! 21 MB log of twenty 1 MiB "user names" failing to log in. `triage` runs with its peak
//! memory taken from the kernel (`wait4`), and its report folder is measured.

use std::path::Path;
use std::process::Command;

/// Runs mailir with `args`; returns its exit code and peak resident memory in bytes.
// The child is reaped by `wait4` (which also gives its own peak memory), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn peak(args: &[&str]) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_mailir"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
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
