//! Sendmail's side of `persistence.transport`, read through [`crate::hostconf::sendmail`]:
//!
//! - the smart host, mail hub and local relay — `define(`SMART_HOST'|`MAIL_HUB'|`LOCAL_RELAY',
//!   …)` in `sendmail.mc`, the `DS`/`DH`/`DR` macros of the running `sendmail.cf` — naming a
//!   public IP literal;
//! - `mailertable` entries (compiled `mailertable.db` first, as sendmail reads it) whose next
//!   hop is a public IP literal, or that send a domain of the host's own to a host outside it.
//!
//! Host names of a smart host are not judged (a provider's relay has one); an own domain routed
//! to an internal host (a private address, or a name in an own domain) is a mail hub, not a
//! finding.

use super::{finding, judge_route};
use crate::detect::finding::Finding;
use crate::detect::host::{public_literal, Cites, Host};
use crate::hostconf::sendmail::{next_hop, table, Sendmail};

/// Every Sendmail route to a host the attacker may hold.
pub(super) fn routes(host: &Host) -> Vec<Finding> {
    let Some(sm) = &host.sendmail else {
        return Vec::new();
    };
    let mut out = relays(host, sm);
    out.extend(mailertable(host, sm));
    out
}

/// The smart host, mail hub and local relay.
fn relays(host: &Host, sm: &Sendmail) -> Vec<Finding> {
    let mut out = Vec::new();
    for (define, letter, what) in [
        ("SMART_HOST", "S", "all outgoing mail"),
        ("MAIL_HUB", "H", "all local mail"),
        ("LOCAL_RELAY", "R", "mail for unqualified names"),
    ] {
        let mc = sm.mc.as_ref().and_then(|m| m.define(define));
        let cf = sm.cf.as_ref().and_then(|c| c.macros.get(letter));
        let mut c = Cites::default();
        let mut ips = Vec::new();
        for (value, at) in [mc, cf.map(|(v, at)| (v.as_str(), at))]
            .into_iter()
            .flatten()
        {
            let Some((ip, _)) = next_hop(value).and_then(|h| public_literal(&h)) else {
                continue;
            };
            c.add(&host.conf, &at.0, Some(at.1));
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        if ips.is_empty() {
            continue;
        }
        let ips = ips.join(", ");
        out.push(finding(
            c,
            format!("Sendmail {define} sends {what} through {ips}"),
            format!("{define} (sendmail.mc) / D{letter} (sendmail.cf) is {ips}: {what} passes a public address"),
        ));
    }
    out
}

/// The mailertable's entries.
fn mailertable(host: &Host, sm: &Sendmail) -> Vec<Finding> {
    let Some((map, at)) = table(Some(sm), &host.conf, "mailertable", "/etc/mail/mailertable")
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in map.effective() {
        let Some(hop) = next_hop(&e.value) else {
            continue;
        };
        let Some(why) = judge_route(host, &e.key, &hop) else {
            continue;
        };
        let c = Cites::entry(&host.conf, &at, &map, &e);
        out.push(finding(
            c,
            why,
            format!(
                "mailertable entry in {}: {} -> {}",
                map.cite_path(&e),
                e.key,
                e.value
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::detect::rules::config_tests::{cited, cites, host};

    #[test]
    fn smart_hosts_and_mailertable() {
        let h = host(&[
            ("/etc/mail/local-host-names", "lab.example\n"),
            ("/etc/mailname", "mx.lab.example\n"),
            (
                "/etc/mail/sendmail.mc",
                "divert(0)dnl\nOSTYPE(`debian')dnl\ndefine(`SMART_HOST', `esmtp:[203.0.113.25]')dnl\ndefine(`MAIL_HUB', `hub.lab.example')dnl\n",
            ),
            (
                "/etc/mail/sendmail.cf",
                "DSesmtp:[203.0.113.25]\nDHhub.lab.example\nKmailertable hash /etc/mail/mailertable\n",
            ),
            (
                "/etc/mail/mailertable",
                "# routes\nlab.example\tesmtp:[mx.collect.example]\n.lab.example\tesmtp:[10.0.0.5]\nsub.lab.example\tesmtp:store.lab.example\npartner.example\tesmtp:[198.51.100.9]\nfriends.example\tsmtp:mx.friends.example\nold.lab.example\terror:5.1.1:550 gone\n",
            ),
        ]);
        let got = cited(super::routes(&h));
        let ev = cites;
        assert_eq!(
            got,
            [
                (
                    "Sendmail SMART_HOST sends all outgoing mail through 203.0.113.25".to_string(),
                    ev(&[
                        ("etc/mail/sendmail.cf", &[1]),
                        ("etc/mail/sendmail.mc", &[3])
                    ])
                ),
                (
                    "Mail for own domain lab.example is routed to outside host mx.collect.example"
                        .into(),
                    ev(&[
                        ("etc/mail/mailertable", &[2]),
                        ("etc/mail/sendmail.cf", &[3])
                    ])
                ),
                (
                    "Mail for partner.example is routed to 198.51.100.9".into(),
                    ev(&[
                        ("etc/mail/mailertable", &[5]),
                        ("etc/mail/sendmail.cf", &[3])
                    ])
                ),
            ]
        );
    }
}
