//! `host.package_modified` — files of installed packages that no longer match the package
//! database (`dpkg --verify`, `rpm -Va` of a live collection).
//!
//! **Why**: an attacker with root replaces `sshd`, a PAM module, `libc` or the MTA's own
//! binaries to keep a password backdoor or hide; the package manager's digests are the quick
//! check a responder has on the box. **How**: the lines of `volatile/dpkg-verify.stdout` and
//! `volatile/rpm-Va.stdout`, read by [`crate::hostconf::packages`]; the changed files are
//! grouped by severity, one finding per group citing every line. **Severity**: critical for a
//! changed digest (`5`) of a program or library of the mail service (Postfix, Exim, Sendmail,
//! Dovecot), OpenSSH, PAM (`pam_*.so`, `libpam`), the C library and loader, `sudo`, `login`,
//! `su`, `passwd`; high for another changed program or library (`/bin`, `/sbin`, `/usr/bin`,
//! `/usr/sbin`, shared objects and program folders under `/lib*`, `/usr/lib*`); medium for other
//! changed package files, a changed PAM configuration (`/etc/pam.d`, `/etc/security`), a missing
//! program or library. Other configuration files (`c`) are quiet (administrators edit them), as
//! are missing documentation and data files. **ATT&CK**: T1554 (Compromise Host Software
//! Binary), T1556.003 (Pluggable Authentication Modules) for PAM, T1036.005 (Match Legitimate
//! Name or Location). **False positives**: software updated outside the package manager (`npm`
//! updating itself under `/usr/lib/node_modules` — medium, as on this project's build machine —
//! `pip` over Debian's Python packages, a locally rebuilt binary); `prelink` changes digests on
//! old RHEL. The paths named are to compare against the distribution's package.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::packages::{verify, Changed};
use crate::sanitize::{capped, terminal};

/// The rule.
pub struct PackageModified;

const SOURCES: &[(&str, &str)] = &[
    ("volatile:dpkg-verify.stdout", "dpkg --verify"),
    ("volatile:rpm-Va.stdout", "rpm -Va"),
];

/// Most paths named in one summary.
const NAMED: usize = 25;

/// Program folders.
const BIN: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/libexec/",
];

fn in_lib(path: &str) -> bool {
    path.starts_with("/lib") || path.starts_with("/usr/lib")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `path` is a program or a library: in a program folder, a shared object, or a
/// file without extension in a `bin`/`sbin`/`libexec` folder or a daemon's own folder under
/// `/usr/lib` (`/usr/lib/postfix/sbin/smtpd`, `/usr/lib/dovecot/imap`,
/// `/usr/lib/openssh/sftp-server`).
fn is_program(path: &str) -> bool {
    let name = file_name(path);
    if BIN.iter().any(|b| path.starts_with(b)) {
        return true;
    }
    if !in_lib(path) {
        return false;
    }
    if name.ends_with(".so") || name.contains(".so.") {
        return true;
    }
    let daemon = [
        "/postfix/",
        "/dovecot/",
        "/openssh/",
        "/exim4/",
        "/sendmail/",
        "/sudo/",
        "/security/",
    ];
    !name.contains('.')
        && (daemon.iter().any(|d| path.contains(d))
            || path.contains("/bin/")
            || path.contains("/sbin/")
            || path.contains("/libexec/"))
}

/// Whether a program or library belongs to the mail service, remote login, authentication,
/// privilege change or the C library.
fn is_trusted_base(path: &str) -> bool {
    let name = file_name(path);
    let services = [
        "postfix", "exim", "sendmail", "dovecot", "sshd", "openssh", "ssh", "sudo", "libpam",
    ];
    services
        .iter()
        .any(|s| path.contains(&format!("/{s}")) || name.starts_with(s))
        || name.starts_with("pam_")
        || path.contains("/security/")
        || matches!(
            name,
            "login" | "su" | "passwd" | "chsh" | "chfn" | "newgrp" | "gpasswd" | "chpasswd"
        )
        || name.starts_with("libc.so")
        || name.starts_with("libc-")
        || name.starts_with("ld-linux")
        || (name.starts_with("ld-") && name.contains(".so"))
        || name.starts_with("libcrypt.so")
        || name.starts_with("libpthread")
        || name.starts_with("libdl.so")
        || name.starts_with("libnss_")
        // Ebury's carrier (ESET, "Operation Windigo", 2014).
        || name.starts_with("libkeyutils")
}

/// The severity of one changed file and why, or none when it is quiet.
fn judge(c: &Changed) -> Option<(Severity, &'static str)> {
    let program = is_program(&c.path);
    if c.missing() {
        return program.then_some((Severity::Medium, "missing program or library"));
    }
    if !c.digest() {
        return None;
    }
    if c.config() {
        let pam = c.path.starts_with("/etc/pam.d/") || c.path.starts_with("/etc/security/");
        return pam.then_some((Severity::Medium, "changed PAM configuration"));
    }
    if program && is_trusted_base(&c.path) {
        return Some((
            Severity::Critical,
            "changed program or library of the mail service, remote login, authentication or the C library",
        ));
    }
    if program {
        return Some((Severity::High, "changed program or library"));
    }
    if c.attr.is_some_and(|a| matches!(a, 'd' | 'l' | 'r' | 'g')) {
        return None;
    }
    Some((Severity::Medium, "changed package file"))
}

impl ConfigRule for PackageModified {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (key, tool) in SOURCES {
            let Some(f) = host.conf.get(key) else {
                continue;
            };
            let changed = verify(&f.text());
            for severity in [Severity::Critical, Severity::High, Severity::Medium] {
                let group: Vec<(&Changed, &str)> = changed
                    .iter()
                    .filter_map(|c| {
                        judge(c).and_then(|(s, why)| (s == severity).then_some((c, why)))
                    })
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let mut cites = Cites::one(&host.conf, key, Some(group[0].0.line));
                for (c, _) in &group[1..] {
                    cites.add(&host.conf, key, Some(c.line));
                }
                let mut kinds: Vec<&str> = group.iter().map(|g| g.1).collect();
                kinds.sort_unstable();
                kinds.dedup();
                let shown: Vec<String> = group
                    .iter()
                    .take(NAMED)
                    .map(|(c, _)| {
                        format!(
                            "{} ({}{})",
                            terminal(capped(&c.path, 300).as_ref()),
                            c.tests,
                            c.attr.map(|a| format!(" {a}")).unwrap_or_default()
                        )
                    })
                    .collect();
                let more = group.len().saturating_sub(NAMED);
                let summary = format!(
                    "{tool} reports {} file{} that differ from the installed packages ({}): {}{}",
                    group.len(),
                    if group.len() == 1 { "" } else { "s" },
                    kinds.join("; "),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
                let pam = group.iter().any(|(c, _)| {
                    file_name(&c.path).starts_with("pam_") || c.path.contains("/pam")
                });
                let mut attack = vec!["T1554", "T1036.005"];
                if pam {
                    attack.push("T1556.003");
                }
                let title = match group.as_slice() {
                    [(c, why)] => {
                        format!("{tool}: {why}: {}", terminal(capped(&c.path, 200).as_ref()))
                    }
                    _ => format!(
                        "{tool}: {} package files differ ({})",
                        group.len(),
                        kinds.join("; ")
                    ),
                };
                let mut finding =
                    cites.finding("host.package_modified", severity, attack, title, summary);
                // The evidence cites the volatile outputs; the files in question are the host's.
                finding
                    .entities
                    .files
                    .retain(|p| !p.starts_with("volatile:"));
                for (c, _) in group.iter().take(NAMED) {
                    if !finding.entities.files.contains(&c.path) {
                        finding.entities.files.push(c.path.clone());
                    }
                }
                out.push(finding);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    /// This project's build machine's own `dpkg --verify` output (Debian; npm upgraded
    /// itself under /usr/lib/node_modules, pip's and the Cloud SDK's CA bundles were replaced).
    const THIS_MACHINE: &str =
        include_str!("../../../tests/fixtures/host-volatile/dpkg-verify.stdout");

    fn run(key: &str, text: &str) -> Vec<Finding> {
        PackageModified.check(&host(&[(key, text)]))
    }

    fn groups(f: &[Finding]) -> Vec<(Severity, Vec<u64>)> {
        f.iter()
            .map(|f| (f.severity, f.evidence[0].lines.clone()))
            .collect()
    }

    #[test]
    fn replaced_binaries_are_found() {
        // Lines in dpkg(1)'s --verify-format rpm (nine test characters, the attribute `c` for
        // a conffile or a space, the path), appended to real lines of this machine.
        let text = format!(
            "{}??5??????   /usr/sbin/sshd\n??5??????   /lib/x86_64-linux-gnu/security/pam_unix.so\n??5??????   /usr/lib/postfix/sbin/smtpd\n??5??????   /usr/bin/curl\n??5?????? c /etc/pam.d/common-auth\n??5?????? c /etc/postfix/main.cf\nmissing     /usr/bin/last\n",
            THIS_MACHINE
        );
        let base = THIS_MACHINE.lines().count() as u64;
        let f = run("volatile:dpkg-verify.stdout", &text);
        let g = groups(&f);
        assert_eq!(
            g[0],
            (Severity::Critical, vec![base + 1, base + 2, base + 3])
        );
        assert_eq!(g[1], (Severity::High, vec![base + 4]));
        assert_eq!(g[2].0, Severity::Medium);
        assert!(g[2].1.contains(&(base + 5)) && g[2].1.contains(&(base + 7)));
        assert!(!g[2].1.contains(&(base + 6)), "an edited main.cf is quiet");
        assert_eq!(g.len(), 3);
        assert!(
            f[0].summary.contains("/usr/sbin/sshd (??5??????)"),
            "{}",
            f[0].summary
        );
        assert!(f[0].attack.contains(&"T1556.003"));
        assert!(f[0]
            .entities
            .files
            .contains(&"/usr/lib/postfix/sbin/smtpd".to_string()));
        assert_eq!(f[0].evidence[0].path, "volatile:dpkg-verify.stdout");
        assert!(!f[0]
            .entities
            .files
            .iter()
            .any(|p| p.starts_with("volatile:")));
    }

    #[test]
    fn rpm_va_lines() {
        // `rpm -Va` lines in the form rpm(8) documents (VERIFY OPTIONS: SM5DLUGTP tests, the
        // c/d/g/l/r attribute markers).
        let text = "S.5....T.  c /etc/ssh/sshd_config\n..5....T.    /usr/sbin/sshd\n.......T.    /usr/bin/ls\nmissing   d /usr/share/doc/openssh/README\nS.5....T.    /usr/lib64/libkeyutils.so.1.9\n";
        let f = run("volatile:rpm-Va.stdout", text);
        assert_eq!(groups(&f), [(Severity::Critical, vec![2, 5])]);
        assert!(f[0].title.starts_with("rpm -Va:"), "{}", f[0].title);
    }

    #[test]
    fn this_machine_has_no_changed_program() {
        let f = run("volatile:dpkg-verify.stdout", THIS_MACHINE);
        // npm's and the CA bundles' changed data files: one medium finding, nothing higher.
        assert_eq!(f.len(), 1, "{:?}", groups(&f));
        assert_eq!(f[0].severity, Severity::Medium);
        let lines = &f[0].evidence[0].lines;
        assert!(lines.contains(&1289), "pip's replaced cacert.pem");
        assert!(
            !lines.contains(&1) && !lines.contains(&2),
            "missing conffile and data file"
        );
    }
}
