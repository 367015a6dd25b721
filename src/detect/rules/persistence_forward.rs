//! `persistence.forward` — mail of local users sent on to an outside address by a table or a
//! per-user rule: aliases (`alias_maps`, `/etc/aliases`, cPanel valiases), Postfix
//! `virtual_alias_maps`, sendmail `virtusertable`, `.forward`, procmail `!`, `.qmail` `&addr`,
//! sieve `redirect` (per user, and Dovecot `sieve_before`/`sieve_after` scripts run for all),
//! Exim filter `deliver`.
//!
//! **Why**: the persistence the seed articles name — after taking an account or root, the
//! attacker keeps reading mail without logging in again. **How**: every target of those files
//! whose domain is not one of the host's own ([`crate::hostconf::domains`]); tables are read as
//! the daemon reads them (compiled file first). One finding per table entry or per file, with
//! the lines. **Severity**: high; critical when the file belongs to an account that cannot log
//! in (nobody sets rules there by hand) or the script runs for every user; medium for a sieve
//! script that is stored but not active. **ATT&CK**: T1114.003 (Email Forwarding Rule).
//! **False positives**: users forwarding their own mail to a private mailbox; a role alias
//! pointing at an outsourced helpdesk (add its domain with `--local-domain`). Forwards to
//! other local users never fire.

use super::super::host::{AliasKind, Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::Target;

/// The rule.
pub struct Forward;

impl ConfigRule for Forward {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (kind, map, at) in host.alias_maps() {
            for e in map.effective() {
                let ext = host.external(&e.value);
                if ext.is_empty() {
                    continue;
                }
                let c = Cites::entry(&host.conf, &at, &map, &e);
                let table = match kind {
                    AliasKind::Aliases => "alias",
                    AliasKind::Virtual => "virtual alias",
                    AliasKind::Virtusertable => "virtusertable",
                };
                let mut f = c.finding(
                    "persistence.forward",
                    Severity::High,
                    vec!["T1114.003"],
                    format!("Mail for {} is forwarded to {}", e.key, ext.join(", ")),
                    format!(
                        "{table} entry in {}: {} -> {}",
                        map.reference.name, e.key, e.value
                    ),
                );
                f.entities.users.push(e.key.clone());
                f.entities.recipients = ext;
                out.push(f);
            }
        }
        // Exim redirect routers that send mail on to outside addresses (with `unseen` the
        // mail is delivered too and a copy leaves, as with a `.forward` that keeps a copy).
        for x in host.exim_redirects() {
            let r = x.router;
            let ext: Vec<String> = x
                .targets
                .iter()
                .filter(|t| host.domains.is_external(t))
                .cloned()
                .collect();
            if ext.is_empty() {
                continue;
            }
            let mut c = x.cites(&host.conf);
            let (verb, how) = if r.flag("unseen") {
                if let Some((_, u)) = r.options.get("unseen") {
                    c.add(&host.conf, &u.0, Some(u.1));
                }
                ("copies", "unseen: delivered and copied to")
            } else {
                ("forwards", "sent on to")
            };
            let whose = x.whose();
            let table = match &x.entry {
                Some((_, path, line)) => format!(" (entry at {path} line {line})"),
                None => String::new(),
            };
            let mut f = c.finding(
                "persistence.forward",
                Severity::High,
                vec!["T1114.003"],
                format!(
                    "Exim router {} {verb} mail of {whose} to {}",
                    r.name,
                    ext.join(", ")
                ),
                format!(
                    "router {} (driver = redirect) in {}{table}: the mail of {whose} is {how} {}",
                    r.name,
                    x.at.0,
                    ext.join(", ")
                ),
            );
            if x.entry.is_some() {
                f.entities.users.push(whose.to_string());
            }
            f.entities.recipients = ext;
            out.push(f);
        }
        for d in host.delivery_files() {
            let ext: Vec<(u64, String)> = d
                .rules
                .iter()
                .filter_map(|(n, t)| match t {
                    Target::Address(a) if host.domains.is_external(a) => Some((*n, a.clone())),
                    _ => None,
                })
                .collect();
            if ext.is_empty() {
                continue;
            }
            let mut c = Cites::default();
            for (n, _) in &ext {
                c.add(&host.conf, d.path, Some(*n));
            }
            let addrs: Vec<&str> = ext.iter().map(|(_, a)| a.as_str()).collect();
            let owner = d.owner.unwrap_or("every user");
            let nologin = d.owner.is_some_and(|o| host.is_nologin(o));
            let (severity, note) = if !d.active {
                (Severity::Medium, " (stored, not the active script)")
            } else if nologin {
                (Severity::Critical, " (an account that cannot log in)")
            } else if d.owner.is_none() {
                (
                    Severity::Critical,
                    " (a global script run for every mailbox)",
                )
            } else {
                (Severity::High, "")
            };
            let mut f = c.finding(
                "persistence.forward",
                severity,
                vec!["T1114.003"],
                format!(
                    "{} forwards mail of {owner} to {}",
                    d.path,
                    addrs.join(", ")
                ),
                format!(
                    "{} sends mail of {owner} to {}{note}",
                    d.path,
                    addrs.join(", ")
                ),
            );
            if let Some(o) = d.owner {
                f.entities.users.push(o.to_string());
            }
            f.entities.recipients = addrs.iter().map(|a| a.to_string()).collect();
            out.push(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    /// A redirect router whose `data` looks up a table: each entry is judged, with its line.
    #[test]
    fn exim_router_lookup_entries() {
        let h = crate::detect::rules::config_tests::host(&[
            ("/etc/mailname", "lab.example\n"),
            (
                "/etc/exim.conf",
                "domainlist local_domains = lab.example\nbegin routers\nvirtual_users:\n  driver = redirect\n  domains = +local_domains\n  data = ${lookup{$local_part}lsearch*{/etc/exim/virtual}}\nsystem_aliases:\n  driver = redirect\n  data = ${lookup{$local_part}lsearch{/etc/aliases}}\n",
            ),
            (
                "/etc/exim/virtual",
                "sales: bob\nceo: ceo@lab.example, ceo.copy@collect.example\n*: postmaster\n",
            ),
            ("/etc/aliases", "postmaster: root\nroot: admin@outside.example\n"),
        ]);
        let got = crate::detect::rules::config_tests::cited(Forward.check(&h));
        let titles: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Mail for root is forwarded to admin@outside.example",
                "Exim router virtual_users forwards mail of ceo to ceo.copy@collect.example"
            ]
        );
        assert_eq!(
            got[1].1,
            crate::detect::rules::config_tests::cites(&[
                ("etc/exim.conf", &[6]),
                ("etc/exim/virtual", &[2])
            ])
        );
    }

    use super::*;
    use crate::detect::rules::config_tests::{host, host_with_links};

    const BASE: &[(&str, &str)] = &[
        ("/etc/mailname", "lab.example\n"),
        ("/etc/passwd", "ann:x:1000:1000::/home/ann:/bin/bash\nbackup:x:34:34::/var/backups:/usr/sbin/nologin\nbob:x:1001:1001::/home/bob:/bin/bash\n"),
        ("/etc/postfix/main.cf", "myhostname = mx.lab.example\nvirtual_alias_maps = hash:/etc/postfix/virtual\n"),
        ("/etc/postfix/virtual", "info@lab.example  ann\nfinance@lab.example ann, fin@out.example\n"),
        ("/etc/aliases", "postmaster: root\nwebmaster: root, w@out.example\n"),
    ];

    #[test]
    fn external_alias_virtual_forward_and_sieve_targets() {
        let mut files = BASE.to_vec();
        files.push(("/home/ann/.forward", "\\ann, ann.mobile@out.example\n"));
        files.push(("/var/backups/.forward", "b@out.example\n"));
        files.push((
            "/home/bob/sieve/a.sieve",
            "redirect :copy \"x@out.example\";\n",
        ));
        files.push(("/home/bob/sieve/old.sieve", "redirect \"y@out.example\";\n"));
        let h = host_with_links(&files, &[("/home/bob/.dovecot.sieve", "sieve/a.sieve")]);
        let f = Forward.check(&h);
        let got: Vec<(String, Severity)> = f
            .iter()
            .map(|f| (f.entities.files.join(" "), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("/etc/aliases".to_string(), Severity::High),
                (
                    "/etc/postfix/main.cf /etc/postfix/virtual".to_string(),
                    Severity::High
                ),
                ("/home/ann/.forward".to_string(), Severity::High),
                ("/home/bob/sieve/a.sieve".to_string(), Severity::High),
                ("/home/bob/sieve/old.sieve".to_string(), Severity::Medium),
                ("/var/backups/.forward".to_string(), Severity::Critical),
            ]
        );
        assert_eq!(f[1].evidence[1].lines, [2]);
    }

    #[test]
    fn forwards_to_local_users_are_not_findings() {
        let mut files = BASE[..3].to_vec();
        files.push(("/etc/postfix/virtual", "info@lab.example ann\n"));
        files.push(("/home/ann/.forward", "\\ann, noc@lab.example, bob\n"));
        files.push(("/home/bob/.procmailrc", ":0c\n! ann@lists.lab.example\n"));
        assert!(Forward.check(&host(&files)).is_empty());
    }
}
