//! `persistence.sender_rewrite` — the host's own addresses rewritten to outside ones on the way
//! out: Sendmail's `genericstable`, Postfix `smtp_generic_maps`, `sender_canonical_maps` and
//! `canonical_maps`.
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
use crate::hostconf::maps::{Map, Syntax};
use crate::hostconf::postfix::MapRef;

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
            let declared = sm.cf.as_ref().and_then(|c| c.maps.get("generics"));
            let featured = sm.mc.as_ref().and_then(|m| m.feature("genericstable"));
            let path = declared
                .map(|(_, p, _)| p.trim_end_matches(".db").to_string())
                .unwrap_or_else(|| "/etc/mail/genericstable".into());
            let stored =
                host.conf.get(&path).is_some() || host.conf.get(&format!("{path}.db")).is_some();
            if stored && (declared.is_some() || featured.is_some()) {
                let r = MapRef {
                    kind: "hash".into(),
                    name: path,
                };
                let at = declared
                    .map(|(_, _, at)| at.clone())
                    .or(featured.map(|c| c.at.clone()));
                tables.push((
                    "genericstable",
                    Map::load(&host.conf, &r, Syntax::Table),
                    at,
                ));
            }
        }
        let mut out = Vec::new();
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
}
