//! `persistence.bcc` — every message (or every message of chosen senders or recipients) is
//! silently copied to an outside address: Postfix `always_bcc`, `sender_bcc_maps`,
//! `recipient_bcc_maps` (in main.cf or a master.cf `-o` override); Exim's system filter
//! `deliver` / `unseen deliver` to outside addresses (it sees every message; a redirect router
//! with `unseen` is `persistence.forward`, as a `.forward` keeping a copy is).
//!
//! **Why**: the quietest exfiltration a mail server offers — nothing in the user's mailbox or
//! sent folder shows it, and the seed articles name malicious forwarding rules added after
//! privilege escalation. **How**: `always_bcc` and every entry of the BCC tables Postfix
//! actually reads (the compiled `.db`/`.lmdb`/`.cdb` when it decodes, else the source), with
//! the setting's line and the entry's line as evidence. **Severity**: high to an external
//! address; low to a local one (an archive mailbox). **ATT&CK**: T1114.003 (Email Forwarding
//! Rule). **False positives**: a compliance archive hosted outside the own domains (add its
//! domain with `--local-domain`).

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::Syntax;

/// The rule.
pub struct Bcc;

/// Exim's copies of every message: the system filter.
fn exim(host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &host.exim {
        let Some((path, set_at)) = e.main.get("system_filter") else {
            continue;
        };
        let Some(file) = host.conf.get(path) else {
            continue;
        };
        let ext: Vec<(u64, String)> = crate::hostconf::delivery::exim_filter(&file.text())
            .into_iter()
            .filter_map(|(n, t)| match t {
                crate::hostconf::maps::Target::Address(a) if host.domains.is_external(&a) => {
                    Some((n, a))
                }
                _ => None,
            })
            .collect();
        if ext.is_empty() {
            continue;
        }
        let mut c = Cites::one(&host.conf, &set_at.0, Some(set_at.1));
        for (n, _) in &ext {
            c.add(&host.conf, path, Some(*n));
        }
        let addrs: Vec<String> = ext.into_iter().map(|(_, a)| a).collect();
        let mut f = c.finding(
            "persistence.bcc",
            Severity::Critical,
            vec!["T1114.003"],
            format!("Exim's system filter copies mail to {}", addrs.join(", ")),
            format!(
                "system_filter = {path} ({}): its deliver commands send every message it matches to {}",
                set_at.0,
                addrs.join(", ")
            ),
        );
        f.entities.recipients = addrs;
        out.push(f);
    }
    out
}

impl ConfigRule for Bcc {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for pf in &host.postfix {
            let mut always = vec![pf.setting(None, "always_bcc")];
            for s in &pf.services {
                if s.overrides.contains_key("always_bcc") {
                    always.push(pf.setting(Some(s), "always_bcc"));
                }
            }
            for (value, at) in always {
                let (Some((path, line)), false) = (at, value.trim().is_empty()) else {
                    continue;
                };
                let ext = host.external(&value);
                let c = Cites::one(&host.conf, &path, Some(line));
                let (sev, what) = if ext.is_empty() {
                    (Severity::Low, "a local mailbox")
                } else {
                    (Severity::High, "an outside address")
                };
                let mut f = c.finding(
                    "persistence.bcc",
                    sev,
                    vec!["T1114.003"],
                    format!("Every message is copied to {value}"),
                    format!("always_bcc = {value} copies all mail passing the server to {what}"),
                );
                f.entities.recipients = ext;
                out.push(f);
            }
            for param in ["sender_bcc_maps", "recipient_bcc_maps"] {
                for (map, at) in pf.maps_of(&host.conf, param, Syntax::Table) {
                    for e in map.effective() {
                        let ext = host.external(&e.value);
                        if ext.is_empty() {
                            continue;
                        }
                        let c = Cites::entry(&host.conf, &at, &map, &e);
                        let side = if param.starts_with("sender") {
                            "from"
                        } else {
                            "to"
                        };
                        let mut f = c.finding(
                            "persistence.bcc",
                            Severity::High,
                            vec!["T1114.003"],
                            format!("Mail {side} {} is copied to {}", e.key, ext.join(", ")),
                            format!(
                                "{param} ({}) copies every message {side} {} to {}",
                                map.reference.name,
                                e.key,
                                ext.join(", ")
                            ),
                        );
                        f.entities.users.push(e.key.clone());
                        f.entities.recipients.extend(ext);
                        out.push(f);
                    }
                }
            }
        }
        out.extend(exim(host));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    #[test]
    fn external_bcc_entries_and_always_bcc_are_found() {
        let h = host(&[
            ("/etc/mailname", "lab.example\n"),
            (
                "/etc/postfix/main.cf",
                "myhostname = mx.lab.example\nrecipient_bcc_maps = hash:/etc/postfix/rbcc\n",
            ),
            (
                "/etc/postfix/rbcc",
                "boss@lab.example  copy@out.example\nann@lab.example archive\n",
            ),
        ]);
        let f = Bcc.check(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].entities.users, ["boss@lab.example"]);
        let lines: Vec<(String, Vec<u64>)> = f[0]
            .evidence
            .iter()
            .map(|e| (e.path.clone(), e.lines.clone()))
            .collect();
        assert_eq!(
            lines,
            [
                ("etc/postfix/main.cf".to_string(), vec![2]),
                ("etc/postfix/rbcc".to_string(), vec![1])
            ]
        );
        let h = host(&[(
            "/etc/postfix/main.cf",
            "mydomain = lab.example\nalways_bcc = spy@out.example\n",
        )]);
        assert_eq!(Bcc.check(&h)[0].severity, Severity::High);
    }

    #[test]
    fn a_local_archive_is_low_and_no_bcc_is_nothing() {
        let h = host(&[(
            "/etc/postfix/main.cf",
            "myhostname = mx.lab.example\nalways_bcc = archive@lab.example\n",
        )]);
        assert_eq!(Bcc.check(&h)[0].severity, Severity::Low);
        let h = host(&[("/etc/postfix/main.cf", "myhostname = mx.lab.example\n")]);
        assert!(Bcc.check(&h).is_empty());
    }
}
