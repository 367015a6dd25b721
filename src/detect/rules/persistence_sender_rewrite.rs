//! `persistence.sender_rewrite` — the host's own addresses rewritten to outside ones on the way
//! out: Sendmail's `genericstable`, Postfix `smtp_generic_maps`, `sender_canonical_maps` and
//! `canonical_maps`, Exim's `begin rewrite` rules (literal, or the entries of the `lsearch`
//! file they look up: Debian's `/etc/email-addresses`).
//!
//! **Why**: mail from `cfo@lab.example` that leaves as `cfo@lab-example.net` still reaches its
//! readers from the real server, but every reply goes to the attacker — invoice fraud without
//! touching a mailbox. (`canonical_maps` also rewrites recipients: local mail to an outside
//! address.) **How**: entries of those tables (read as the daemon reads them, compiled file
//! first) whose value is an address outside the host's own domains. **Severity**: high.
//! **ATT&CK**: T1672 (Email Spoofing), T1114.003 (replies and rewritten recipients are mail
//! sent out). **False positives**: a domain migration that rewrites to the organisation's new
//! domain — declare it with `--local-domain`.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::Syntax;
use crate::hostconf::sendmail::table;

/// The rule.
pub struct SenderRewrite;

/// Postfix's rewriting tables.
const POSTFIX: &[&str] = &[
    "smtp_generic_maps",
    "sender_canonical_maps",
    "canonical_maps",
];

impl ConfigRule for SenderRewrite {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut tables = Vec::new();
        for pf in &host.postfix {
            for param in POSTFIX {
                for (map, at) in pf.maps_of(&host.conf, param, Syntax::Table) {
                    tables.push((*param, map, at));
                }
            }
        }
        if let Some(sm) = &host.sendmail {
            // Read only when the .cf declares it or the .mc turns it on.
            let featured = sm.mc.as_ref().and_then(|m| m.feature("genericstable"));
            let generics = table(Some(sm), &host.conf, "generics", "/etc/mail/genericstable");
            if let Some((map, declared)) = generics {
                if declared.is_some() || featured.is_some() {
                    let at = declared.or(featured.map(|c| c.at.clone()));
                    tables.push(("genericstable", map, at));
                }
            }
        }
        let mut out = exim(host);
        for (table, map, at) in tables {
            for e in map.effective() {
                let ext = host.external(&e.value);
                if ext.is_empty() || !host.external(&e.key).is_empty() {
                    continue;
                }
                let c = Cites::entry(&host.conf, &at, &map, &e);
                let mut f = c.finding(
                    "persistence.sender_rewrite",
                    Severity::High,
                    vec!["T1672", "T1114.003"],
                    format!("Mail from {} leaves as {}", e.key, ext.join(", ")),
                    format!(
                        "{table} entry in {}: {} -> {}: replies to it go outside",
                        map.cite_path(&e),
                        e.key,
                        e.value
                    ),
                );
                f.entities.users.push(e.key.clone());
                f.entities.recipients = ext;
                out.push(f);
            }
        }
        out
    }
}

/// Exim's rewrite rules: `pattern replacement flags`, either token possibly quoted.
fn exim(host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    // Debian's two stock rules look up the same file: one finding per entry.
    let mut seen: Vec<(String, String)> = Vec::new();
    for e in &host.exim {
        for (rule, at) in &e.rewrite {
            let words = quoted_words(rule);
            let (Some(pattern), Some(replacement)) = (words.first(), words.get(1)) else {
                continue;
            };
            let mut hits: Vec<(String, String, Cites)> = Vec::new();
            for path in crate::hostconf::exim::lsearch_files(replacement) {
                let Some(f) = host.conf.get(&path) else {
                    continue;
                };
                for x in crate::hostconf::exim::lsearch(&f.text()) {
                    let mut c = Cites::one(&host.conf, &at.0, Some(at.1));
                    c.add(&host.conf, &path, x.line);
                    hits.push((x.key, x.value, c));
                }
            }
            let local = !pattern.contains('@')
                || pattern.ends_with("@+local_domains")
                || host.external(pattern).is_empty();
            if local && !replacement.contains('$') {
                let c = Cites::one(&host.conf, &at.0, Some(at.1));
                hits.push((pattern.clone(), replacement.clone(), c));
            }
            for (from, to, c) in hits {
                let ext = host.external(&to);
                if ext.is_empty() || seen.contains(&(from.clone(), to.clone())) {
                    continue;
                }
                seen.push((from.clone(), to.clone()));
                let mut f = c.finding(
                    "persistence.sender_rewrite",
                    Severity::High,
                    vec!["T1672", "T1114.003"],
                    format!("Mail from {from} leaves as {}", ext.join(", ")),
                    format!(
                        "Exim rewrite rule `{rule}` ({} line {}): {from} -> {to}: replies to it go outside",
                        at.0, at.1
                    ),
                );
                f.entities.users.push(from);
                f.entities.recipients = ext;
                out.push(f);
            }
        }
    }
    out
}

/// White-space separated words, a `"…"` word kept whole (quotes removed).
fn quoted_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            out.push(q[..end].to_string());
            rest = q.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::{cited, host, Cited};

    #[test]
    fn outside_rewrites_in_each_table() {
        let h = host(&[
            ("/etc/mail/local-host-names", "lab.example\n"),
            ("/etc/mailname", "mx.lab.example\n"),
            (
                "/etc/mail/sendmail.cf",
                "Kgenerics hash /etc/mail/genericstable\n",
            ),
            (
                "/etc/mail/genericstable",
                "alice\talice@lab.example\ncfo\tcfo@lab-example.net\nbob@lab.example\tbob.smith@lab.example\n",
            ),
            (
                "/etc/postfix/main.cf",
                "mydestination = lab.example\nsmtp_generic_maps = hash:/etc/postfix/generic\n",
            ),
            (
                "/etc/postfix/generic",
                "root@localhost\tpostmaster@lab.example\nceo@lab.example\tceo@lab-example.net\n",
            ),
        ]);
        let got = cited(SenderRewrite.check(&h));
        let ev = |v: &[(&str, u64)]| -> Cited {
            v.iter().map(|(p, l)| (p.to_string(), vec![*l])).collect()
        };
        assert_eq!(
            got,
            [
                (
                    "Mail from ceo@lab.example leaves as ceo@lab-example.net".to_string(),
                    ev(&[("etc/postfix/generic", 2), ("etc/postfix/main.cf", 2)])
                ),
                (
                    "Mail from cfo leaves as cfo@lab-example.net".into(),
                    ev(&[("etc/mail/genericstable", 2), ("etc/mail/sendmail.cf", 1)])
                ),
            ]
        );
    }

    #[test]
    fn a_genericstable_sendmail_does_not_read_is_quiet() {
        let h = host(&[
            ("/etc/mail/local-host-names", "lab.example\n"),
            ("/etc/mail/sendmail.cf", "Troot\n"),
            ("/etc/mail/genericstable", "cfo\tcfo@lab-example.net\n"),
        ]);
        assert!(SenderRewrite.check(&h).is_empty());
    }

    /// Debian's stock rewrite rules (exim4-config 4.96) and `/etc/email-addresses` with an
    /// entry added, and a literal rule.
    #[test]
    fn exim_rewrite_rules() {
        let files = |extra: &'static str| {
            host(&[
                ("/etc/mailname", "mx.lab.example\n"),
                ("/etc/exim4/update-exim4.conf.conf", "dc_other_hostnames='lab.example'\ndc_use_split_config='false'\n"),
                (
                    "/etc/exim4/exim4.conf.template",
                    "domainlist local_domains = MAIN_LOCAL_DOMAINS\nbegin rewrite\n*@+local_domains \"${lookup{${local_part}}lsearch{/etc/email-addresses}\\\n                   {$value}fail}\" Ffrs\n*@ETC_MAILNAME \"${lookup{${local_part}}lsearch{/etc/email-addresses}\\\n                   {$value}fail}\" Ffrs\nceo@lab.example ceo@lab-example.net Ffrs\n",
                ),
                ("/etc/email-addresses", extra),
            ])
        };
        let stock = "# This is /etc/email-addresses.\n# It is used to rewrite the From: address of outgoing mail\nbob: bob@lab.example\n";
        let got = cited(SenderRewrite.check(&files(stock)));
        assert_eq!(
            got.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            ["Mail from ceo@lab.example leaves as ceo@lab-example.net"]
        );
        let planted = "bob: bob@lab.example\ncfo: cfo@lab-example.net\n";
        let got = cited(SenderRewrite.check(&files(planted)));
        assert_eq!(got.len(), 2, "{got:#?}");
        assert_eq!(got[0].0, "Mail from cfo leaves as cfo@lab-example.net");
        assert_eq!(
            got[0].1,
            [
                ("etc/email-addresses".to_string(), vec![2]),
                ("etc/exim4/exim4.conf.template".to_string(), vec![3])
            ]
        );
    }
}
