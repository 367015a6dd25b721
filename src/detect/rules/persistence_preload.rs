//! `persistence.preload` — a library the dynamic loader puts into every program:
//! `/etc/ld.so.preload` entries, a preload file that libc cannot see but the kernel has (a
//! rootkit hiding itself), and loader search paths in world-writable or hidden places.
//!
//! **Why**: userland rootkits (Jynx, Azazel, libprocesshider, the Exim-wave `libsystem.so`)
//! load through `/etc/ld.so.preload` into every process, sshd and the mail daemons included,
//! to hide files, processes and connections and to open a backdoor; some hide the preload
//! file itself from every program that reads it through libc. **How**: every entry of
//! `/etc/ld.so.preload` (split at white space and `:` like `ld.so`), the collector's check of
//! the file (`check:/etc/ld.so.preload` or `volatile:preload-check.json`: a read through libc
//! against one by raw system calls; `differ` means libc lies, and the finding stands even when
//! the file itself could not be collected), and the directories of `/etc/ld.so.conf` and
//! `ld.so.conf.d/*` ([`crate::hostconf::preload`]). **Severity**: critical when the check
//! differs, or a preloaded library lies in a world-writable or hidden place or outside the
//! standard library directories; high for any other preload entry and a loader directory in
//! `/tmp`, `/dev/shm` or a hidden place. **ATT&CK**: T1574.006 (Hijack Execution Flow: Dynamic
//! Linker Hijacking), T1014 (Rootkit). **False positives**: few: a stock system has no
//! `/etc/ld.so.preload`; memory allocators or accessibility libraries some sites preload on
//! purpose (`libjemalloc`, `libeatmydata`) are named by file and line for a check.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::preload::{lib_dirs, odd_place, preload, PreloadCheck};

/// The rule.
pub struct Preload;

const RULE: &str = "persistence.preload";

fn attack() -> Vec<&'static str> {
    vec!["T1574.006", "T1014"]
}

/// Why a loader search directory is odd, if it is.
fn odd_dir(dir: &str) -> Option<&'static str> {
    let d = format!("{}/", dir.trim_end_matches('/'));
    match odd_place(&d) {
        Some("outside the standard library directories") | None => None,
        other => other,
    }
}

impl ConfigRule for Preload {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        let path = "/etc/ld.so.preload";
        if let Some(f) = host.conf.get(path) {
            for e in preload(&f.text()) {
                let place = odd_place(&e.library);
                let sev = if place.is_some() {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let c = Cites::one(&host.conf, path, Some(e.line));
                let mut finding = c.finding(
                    RULE,
                    sev,
                    attack(),
                    match place {
                        Some(p) => format!("Library preloaded into every program, {p}: {}", e.library),
                        None => format!("Library preloaded into every program: {}", e.library),
                    },
                    format!(
                        "{path} line {}: {} — the loader puts it into every process (sshd, the mail daemons, the responder's tools). Capture the library and the running processes' maps before anything else, then judge the host from trusted media: a preloaded rootkit hides files, processes and connections from this system's own tools",
                        e.line, e.library
                    ),
                );
                finding.entities.files.push(e.library.clone());
                out.push(finding);
            }
        }
        if let Some((key, check)) = PreloadCheck::of(&host.conf) {
            if check.differ {
                let what = |r: &crate::hostconf::preload::Read| {
                    format!(
                        "{}listed, {}opened, size {}",
                        if r.listed { "" } else { "not " },
                        if r.opened { "" } else { "not " },
                        r.size.map_or("unknown".to_string(), |s| s.to_string())
                    )
                };
                let c = Cites::one(&host.conf, key, None);
                let mut finding = c.finding(
                    RULE,
                    Severity::Critical,
                    attack(),
                    format!("{} hidden from libc: a rootkit", check.path),
                    format!(
                        "the collector read {} twice and the reads differ — through libc: {}; by raw system calls: {}. A preloaded library is hooking libc to hide itself: every program on this host sees a doctored system. Capture memory and the raw file, and rebuild the host",
                        check.path,
                        what(&check.libc),
                        what(&check.raw)
                    ),
                );
                if !finding.entities.files.contains(&check.path) {
                    finding.entities.files.push(check.path.clone());
                }
                out.push(finding);
            }
        }
        for d in lib_dirs(&host.conf) {
            let Some(why) = odd_dir(&d.dir) else {
                continue;
            };
            let c = Cites::one(&host.conf, &d.path, Some(d.line));
            out.push(c.finding(
                RULE,
                Severity::High,
                attack(),
                format!("Loader searches libraries {why}: {}", d.dir),
                format!(
                    "{} line {}: {} — programs load libraries from there before the system's own (after the next ldconfig); whoever can write it can replace libc functions",
                    d.path, d.line, d.dir
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    #[test]
    fn preload_entries() {
        let h = host(&[(
            "/etc/ld.so.preload",
            "/usr/local/lib/libjemalloc.so.2\n/usr/lib/x86_64-linux-gnu/.cache/libsystem.so\n",
        )]);
        let f = Preload.check(&h);
        let got: Vec<(Severity, Vec<u64>)> = f
            .iter()
            .map(|f| (f.severity, f.evidence[0].lines.clone()))
            .collect();
        assert_eq!(
            got,
            [(Severity::High, vec![1]), (Severity::Critical, vec![2])]
        );
        assert!(f[1].title.contains("hidden place"), "{}", f[1].title);
        assert!(f[1]
            .entities
            .files
            .contains(&"/usr/lib/x86_64-linux-gnu/.cache/libsystem.so".to_string()));
    }

    #[test]
    fn hidden_from_libc_without_the_file() {
        let h = host(&[(
            "check:/etc/ld.so.preload",
            r#"{"path":"/etc/ld.so.preload","libc":{"listed":false,"opened":false,"size":null,"sha256":null},"raw":{"listed":true,"opened":true,"size":31,"sha256":"5e"},"differ":true}"#,
        )]);
        let f = Preload.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].title.contains("hidden from libc: a rootkit"));
        assert_eq!(f[0].evidence[0].path, "check:/etc/ld.so.preload");
        let same = host(&[(
            "volatile:preload-check.json",
            r#"{"path":"/etc/ld.so.preload","libc":{"listed":false,"opened":false,"size":null,"sha256":null},"raw":{"listed":false,"opened":false,"size":null,"sha256":null},"differ":false}"#,
        )]);
        assert!(Preload.check(&same).is_empty());
    }

    #[test]
    fn loader_directories() {
        // This Debian 12 machine's own files (libc6, fakeroot) are quiet.
        let h = host(&[
            (
                "/etc/ld.so.conf.d/fakeroot-x86_64-linux-gnu.conf",
                "/usr/lib/x86_64-linux-gnu/libfakeroot\n",
            ),
            ("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n\n"),
            (
                "/etc/ld.so.conf.d/libc.conf",
                "# libc default configuration\n/usr/local/lib\n",
            ),
            (
                "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
                "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
            ),
            ("/etc/ld.so.preload", ""),
        ]);
        assert!(Preload.check(&h).is_empty());
        let h = host(&[("/etc/ld.so.conf.d/zz.conf", "/dev/shm/.l\n")]);
        let f = Preload.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
    }
}
