//! `config.webmail_version` — a webmail install whose version, as its own files state it, is
//! below the release that fixed an exploited vulnerability: the patch level the playbook asks
//! the responder to check, read from the evidence.
//!
//! **Why**: an exploitation finding says what was tried; whether it could work depends on the
//! version, and a responder needs it before deciding attempt from compromise. **How**: the
//! installs `collect` took (`hostconf::webroots`: Roundcube's `RCMAIL_VERSION` in
//! `program/include/iniset.php`, Zimbra's `/opt/zimbra/.install_history`) against the fixed
//! releases: Roundcube below 1.5.10, or 1.6.0–1.6.10 — CVE-2025-49113; Zimbra 10.0 below
//! 10.0.9 and 10.1.0 — CVE-2024-45519; Zimbra 8.8.15 and 9.0.0, whose patch level the version
//! file does not give — CVE-2022-27925/37042 (fixed in P33/P26) and CVE-2024-45519 (P46/P41)
//! to be checked with `zmcontrol -v`. **Severity**: medium; low where only the patch level
//! is unknown. **ATT&CK**: T1190 (the weakness it exposes). **False positives**: a
//! distribution package that back-ports the fix keeps the upstream version (Debian 12's
//! Roundcube `1.6.5+dfsg-1+deb12u5` fixed CVE-2025-49113 and still says 1.6.5): the finding
//! says so; check the package version.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};

/// The rule.
pub struct WebmailVersion;

/// `1.6.5` → (1, 6, 5); text after the numbers (`-rc`, `_GA`) ignored.
fn triple(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let a = it.next()?.parse().ok()?;
    let b = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let c = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Some((a, b, c))
}

/// What a version of `product` lacks: (severity, sentence), if anything.
pub fn lacks(product: &str, version: &str) -> Option<(Severity, String)> {
    let v = triple(version)?;
    match product {
        "roundcube" if v < (1, 5, 10) || ((1, 6, 0)..(1, 6, 11)).contains(&v) => Some((
            Severity::Medium,
            format!("Roundcube {version} is below the release that fixed CVE-2025-49113 (1.5.10, 1.6.11); a distribution package may carry the fix under the same version — check the package version (Debian 12: 1.6.5+dfsg-1+deb12u5 or later)"),
        )),
        "zimbra" if ((10, 0, 0)..(10, 0, 9)).contains(&v) || v.0 == 10 && v.1 == 1 && v.2 == 0 => Some((
            Severity::Medium,
            format!("Zimbra {version} is below the release that fixed CVE-2024-45519 (10.0.9, 10.1.1)"),
        )),
        "zimbra" if v < (10, 0, 0) => Some((
            Severity::Low,
            format!("Zimbra {version}: the version file does not give the patch level; CVE-2022-27925/37042 are fixed in 8.8.15 P33 and 9.0.0 P26, CVE-2024-45519 in 8.8.15 P46 and 9.0.0 P41 — check with `zmcontrol -v`"),
        )),
        _ => None,
    }
}

impl ConfigRule for WebmailVersion {
    fn check(&self, host: &Host) -> Vec<Finding> {
        host.webroots
            .installs
            .iter()
            .filter_map(|i| {
                let version = i.version.as_deref()?;
                let (severity, what) = lacks(i.product, version)?;
                let c = Cites::one(&host.conf, &i.root, None);
                Some(c.finding(
                    "config.webmail_version",
                    severity,
                    vec!["T1190"],
                    format!("{} {version} at {} lacks a security fix", i.product, i.root),
                    what,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_against_the_fixed_releases() {
        assert_eq!(
            lacks("roundcube", "1.6.5").map(|l| l.0),
            Some(Severity::Medium)
        );
        assert_eq!(
            lacks("roundcube", "1.5.9").map(|l| l.0),
            Some(Severity::Medium)
        );
        assert_eq!(
            lacks("roundcube", "1.4.13").map(|l| l.0),
            Some(Severity::Medium)
        );
        assert_eq!(lacks("roundcube", "1.6.11"), None);
        assert_eq!(lacks("roundcube", "1.5.10"), None);
        assert_eq!(lacks("roundcube", "1.7-git"), None);
        assert_eq!(
            lacks("zimbra", "10.1.0_GA").map(|l| l.0),
            Some(Severity::Medium)
        );
        assert_eq!(
            lacks("zimbra", "10.0.8").map(|l| l.0),
            Some(Severity::Medium)
        );
        assert_eq!(lacks("zimbra", "10.1.1_GA"), None);
        assert_eq!(
            lacks("zimbra", "8.8.15_GA").map(|l| l.0),
            Some(Severity::Low)
        );
        assert_eq!(lacks("sogo", "5.8.0"), None);
        assert_eq!(lacks("roundcube", "unknown"), None);
    }
}
