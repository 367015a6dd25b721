//! `cleanup.mail_deletion` — many messages expunged, deleted or purged from a mailbox by a
//! source that is not the account's own, or by the attacker: the cover-up after theft or
//! spam (bounces and sent copies removed so the owner does not notice).
//!
//! **Why**: the seeds' attacker deletes the sent spam and the bounces; in Microsoft 365 a
//! `HardDelete` of the Sent Items after a takeover is the classic tell. What was removed is
//! also what the notification and the restore from backup need. **How**: deletions come from
//! Dovecot's `mail_log` lines (`expunge:`, one per message, with the folder and message id),
//! a session end's `expunged=` (POP3 `del=`) when no line says, and M365 `HardDelete` /
//! `SoftDelete` / `MoveToDeletedItems` / purges, summed per mailbox, address and burst
//! ([`super::mail_access`]). **Severity**: high when an address earlier findings name as the
//! attacker's deleted at least `deletion_messages` (10) messages, or a taken account did from
//! a network it had not used; medium from a new network (or an unnamed one of a taken
//! account); low from the account's own network when the account was taken (the owner
//! tidying up, or the attacker through it). The owner deleting mail from their own network is
//! nothing. **ATT&CK**: T1070.008 (clear mailbox data). **Phase**: cleanup. **False
//! positives**: a new mail client's "empty trash" on first use from home.

use super::mail_access::{Accesses, Judged, Standing};
use super::mail_reading::{how_code, taken_steps};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{Entities, EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Finding, Severity};

/// The rule.
pub struct MailDeletion {
    t: Thresholds,
    accesses: Accesses,
}

/// The rule, counting every session's deletions.
pub fn new(t: &Thresholds) -> MailDeletion {
    MailDeletion {
        t: t.clone(),
        accesses: Accesses::new(|_| true, t),
    }
}

fn verdict(j: &Judged, t: &Thresholds) -> Option<(Severity, &'static str)> {
    if j.burst.deleted() < t.deletion_messages {
        return None;
    }
    match j.standing {
        Standing::Attacker => Some((
            Severity::High,
            "deleted from an address earlier findings name as the attacker's",
        )),
        Standing::NewNetwork if j.taken => Some((
            Severity::High,
            "the account was taken over and this is a network it had not used",
        )),
        Standing::NewNetwork => Some((Severity::Medium, "a network the account had not used")),
        Standing::Unknown | Standing::NoHistory if j.taken => Some((
            Severity::Medium,
            "the account was taken over; the log does not name the address",
        )),
        Standing::Own | Standing::NewAddressOwnNetwork if j.taken => Some((
            Severity::Low,
            "the account's own network, after the account was taken over",
        )),
        _ => None,
    }
}

impl MailDeletion {
    fn finding(j: &Judged, sev: Severity, why: &str, files: &Files) -> Finding {
        let b = &j.burst;
        let mut entities = Entities::default();
        if !b.ip.is_empty() {
            let role = match j.standing {
                Standing::Attacker => EntityRole::AttackerSource,
                Standing::NewNetwork | Standing::Unknown | Standing::NoHistory => {
                    EntityRole::NewSource
                }
                Standing::Own | Standing::NewAddressOwnNetwork => EntityRole::UsualSource,
            };
            entities.tag(EntityKind::Ip, &b.ip, role);
        }
        entities.tag(EntityKind::User, &b.mailbox, EntityRole::VictimAccount);
        let from = if b.ip.is_empty() {
            "an address the log does not name"
        } else {
            &b.ip
        };
        let accessed = b.accessed(how_code(b), j.baseline.clone(), false);
        let folders = if accessed.folders.is_empty() {
            String::new()
        } else {
            format!(" from {}", accessed.folders.join(", "))
        };
        Finding {
            title: format!(
                "{} message(s) of {} deleted from {from}",
                b.deleted(),
                b.mailbox
            ),
            severity: sev,
            first_seen: ts(b.span(false).0),
            last_seen: accessed.last_seen.clone(),
            count: b.deleted(),
            summary: format!(
                "{} message(s) of {}'s mailbox deleted or expunged{folders} in {} session(s) from {from}: {why}; baseline: {}",
                b.deleted(),
                b.mailbox,
                b.sessions().max(1),
                j.baseline
            ),
            entities,
            evidence: b.delete_lines().resolve(files),
            accessed: vec![accessed],
            remediation: taken_steps(sev),
            ..Finding::of("cleanup.mail_deletion")
        }
    }
}

impl Rule for MailDeletion {
    fn observe(&mut self, f: &Fact) {
        self.accesses.observe(f);
    }

    fn seal(&mut self, before: i64, _files: &Files, shared: &Shared) {
        let t = &self.t;
        self.accesses
            .seal(before, &shared.mail, &|j: &Judged| verdict(j, t).is_some());
    }

    fn limits(&self) -> Vec<super::Limit> {
        self.accesses.limits("cleanup.mail_deletion")
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let t = self.t.clone();
        self.accesses
            .judge(earlier, &shared.mail)
            .iter()
            .filter_map(|j| {
                let (sev, why) = verdict(j, &t)?;
                Some(Self::finding(j, sev, why, files))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::mail_access::tests::{access, fact, session};
    use crate::detect::rules::tests::{run, success};
    use crate::events::detail::Detail;
    use crate::events::record::Kind;

    fn expunge(secs: i64, ip: &str, user: &str, folder: &str) -> Fact {
        let d = Detail {
            action: Some("expunge".into()),
            messages: Some(1),
            folders: vec![folder.into()],
            ..Detail::default()
        };
        fact(Kind::MailboxChange, secs, ip, user, "imap", d)
    }

    fn history() -> Vec<Fact> {
        vec![
            success(0, "192.0.2.10", "liwei"),
            access(60, "192.0.2.10", "liwei", "imap", session(2, 100, 5, 0)),
        ]
    }

    #[test]
    fn mass_expunge_from_a_new_network_counts_lines_once() {
        let mut facts = history();
        for i in 0..30 {
            facts.push(expunge(90_000 + i, "203.0.113.79", "liwei", "Sent"));
        }
        // The session's own counter says the same 30: not added twice.
        facts.push(access(
            90_040,
            "203.0.113.79",
            "liwei",
            "imap",
            session(0, 0, 30, 30),
        ));
        let f = run(Box::new(new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].accessed[0].deleted, Some(30));
        assert_eq!(f[0].accessed[0].folders, ["Sent"]);
        assert_eq!(f[0].evidence[0].lines.len(), 31);
    }

    #[test]
    fn the_owner_tidying_up_is_nothing() {
        let mut facts = history();
        for i in 0..30 {
            facts.push(expunge(90_000 + i, "192.0.2.10", "liwei", "Trash"));
        }
        assert!(run(Box::new(new(&Thresholds::default())), &facts).is_empty());
    }
}
