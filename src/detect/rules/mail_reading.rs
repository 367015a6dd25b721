//! The reading rules' shared [`Rule`](super::Rule) (`exfil.mailbox_download`,
//! `exfil.pop_retrieve`) over [`super::mail_access`]: one implementation, each rule file
//! giving its id, which sessions it reads and its verdict; the verdict both share
//! ([`read_verdict`]) and the steps a taken mailbox calls for ([`taken_steps`]).

use super::mail_access::{Accesses, Burst, Judged, Standing};
use super::Thresholds;
use crate::detect::entity::EntityRole;
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Finding};

/// The reading rules (`exfil.mailbox_download`, `exfil.pop_retrieve`): one [`Rule`] over
/// [`Accesses`], each rule file giving its id, which sessions it reads and its verdict.
pub struct Reading {
    /// The rule id.
    pub id: &'static str,
    /// How the mail was read, for the finding (`IMAP`, `POP3`).
    pub how: fn(&Burst) -> &'static str,
    /// The severity of a judged burst, with why (none: not a finding).
    pub verdict: fn(&Judged, &Thresholds) -> Option<(crate::detect::finding::Severity, String)>,
    /// The accesses.
    pub accesses: Accesses,
}

impl Reading {
    /// The finding of one judged burst.
    pub fn finding(
        &self,
        j: &Judged,
        sev: crate::detect::finding::Severity,
        why: String,
        files: &super::Files,
    ) -> Finding {
        use crate::detect::entity::{Entities, EntityKind};
        let b = &j.burst;
        let how = (self.how)(b);
        let mut entities = Entities::default();
        let ip_role = match j.standing {
            Standing::Attacker => EntityRole::AttackerSource,
            Standing::NewNetwork | Standing::Unknown | Standing::NoHistory => EntityRole::NewSource,
            Standing::NewAddressOwnNetwork | Standing::Own => EntityRole::UsualSource,
        };
        if !b.ip.is_empty() {
            entities.tag(EntityKind::Ip, &b.ip, ip_role);
        }
        let user_role = if sev >= crate::detect::finding::Severity::Medium {
            EntityRole::VictimAccount
        } else {
            EntityRole::Observed
        };
        entities.tag(EntityKind::User, &b.mailbox, user_role);
        let bytes = b.bytes().map_or(String::new(), |n| format!(" ({n} bytes)"));
        let from = if b.ip.is_empty() {
            "an address the log does not name".to_string()
        } else {
            b.ip.clone()
        };
        let synced = if b.synced() > 0 {
            format!(", {} whole-folder synchronisation(s)", b.synced())
        } else {
            String::new()
        };
        let listed = if b.listed() > 0 {
            format!(", {} more listed (headers only)", b.listed())
        } else {
            String::new()
        };
        Finding {
            title: format!(
                "{} message(s) of {} read by {how} from {from}",
                b.messages(),
                b.mailbox
            ),
            severity: sev,
            first_seen: ts(b.span(true).0),
            last_seen: ts(b.span(true).1),
            count: b.sessions().max(1),
            summary: format!(
                "{} session(s) from {from} read {} message(s){bytes} of {}'s mailbox{listed}{synced}: {why}; baseline: {}",
                b.sessions(),
                b.messages(),
                b.mailbox,
                j.baseline
            ),
            entities,
            evidence: b.read_lines().resolve(files),
            accessed: vec![b.accessed(how_code(b), j.baseline.clone(), true)],
            remediation: taken_steps(sev),
            ..Finding::of(self.id)
        }
    }
}

impl super::Rule for Reading {
    fn observe(&mut self, f: &Fact) {
        self.accesses.observe(f);
    }

    fn seal(&mut self, before: i64, _files: &super::Files, shared: &super::Shared) {
        let (verdict, t) = (self.verdict, self.accesses.thresholds().clone());
        let reports = |j: &Judged| {
            (j.burst.messages() > 0 || j.burst.synced() > 0 || j.burst.listed() > 0)
                && verdict(j, &t).is_some()
        };
        self.accesses.seal(before, &shared.mail, &reports);
    }

    fn limits(&self) -> Vec<super::Limit> {
        self.accesses.limits(self.id)
    }

    fn finish(&mut self, files: &super::Files, shared: &super::Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(
        &mut self,
        files: &super::Files,
        shared: &super::Shared,
        earlier: &[Finding],
    ) -> Vec<Finding> {
        let t = self.accesses.thresholds().clone();
        self.accesses
            .judge(earlier, &shared.mail)
            .into_iter()
            .filter(|j| j.burst.messages() > 0 || j.burst.synced() > 0 || j.burst.listed() > 0)
            .filter_map(|j| {
                let (sev, why) = (self.verdict)(&j, &t)?;
                Some(self.finding(&j, sev, why, files))
            })
            .collect()
    }
}

/// The steps a reading or deleting finding calls for beyond its rule's: from medium up the
/// account is taken to be in the attacker's hands (disable it, end its sessions, reset its
/// password); an info or low finding (the owner's new phone) calls for none.
pub fn taken_steps(sev: crate::detect::finding::Severity) -> Vec<&'static str> {
    if sev >= crate::detect::finding::Severity::Medium {
        vec!["isolate.disable_accounts", "clean.reset_credentials"]
    } else {
        Vec::new()
    }
}

/// How a burst read, as `Accessed::how` says it: the protocol (`imap`, `pop3`, `m365`),
/// `webmail` for web requests.
pub fn how_code(b: &Burst) -> &'static str {
    match b.proto() {
        Some("http") => "webmail",
        Some(p) => p,
        None => "mail client",
    }
}

/// The verdict both reading rules share: who read (attacker, new network, the account's own
/// network), how much against the account's busiest earlier day, whether it recurs.
pub fn read_verdict(
    j: &Judged,
    t: &Thresholds,
    everything: bool,
) -> Option<(crate::detect::finding::Severity, String)> {
    let verdict = standing_verdict(j, t, everything)?;
    // A schedule explains a reading that would be reported: the owner's own client reading
    // as much every day is not a finding at all.
    if j.recurring_days >= t.bulk_recurring_days && j.standing != Standing::Attacker {
        let big = j.burst.messages() >= t.download_messages || everything;
        return big.then(|| {
            (
                crate::detect::finding::Severity::Info,
                format!(
                    "the same address read this mailbox in bulk on {} days: a schedule (a backup or archiving job)",
                    j.recurring_days
                ),
            )
        });
    }
    Some(verdict)
}

/// The verdict of a burst by where it came from (before a schedule is considered).
fn standing_verdict(
    j: &Judged,
    t: &Thresholds,
    everything: bool,
) -> Option<(crate::detect::finding::Severity, String)> {
    use crate::detect::finding::Severity::*;
    let b = &j.burst;
    let m = b.messages();
    let read = m > 0 || b.synced() > 0;
    let big = m >= t.download_messages || everything;
    let factor = j.usual.is_none_or(|u| m >= t.download_factor * u.max(1));
    let above = j.usual.is_none_or(|u| m > u);
    let whole = if everything {
        " — the whole mailbox"
    } else {
        ""
    };
    match j.standing {
        Standing::Attacker if read => Some((
            if big { Critical } else { High },
            format!("read from an address earlier findings name as the attacker's{whole}"),
        )),
        Standing::NewNetwork | Standing::Unknown if j.taken && read => Some((
            if big { Critical } else { High },
            format!("the account was taken over and this is a network it had not used{whole}"),
        )),
        Standing::NewNetwork if big && factor => Some((
            High,
            format!("a bulk download from a network the account had not used{whole}"),
        )),
        Standing::NewNetwork if (m >= 5 && above) || (big && read) => Some((
            Medium,
            "more than the account reads from a network it had not used".into(),
        )),
        Standing::NewNetwork if m + b.listed() >= t.download_messages => Some((
            Low,
            "a new network listed the mailbox (headers) and read little".into(),
        )),
        Standing::NoHistory if j.taken && read => Some((
            High,
            format!("the account was taken over; it has no earlier activity in the evidence{whole}"),
        )),
        Standing::NoHistory if big => Some((
            Medium,
            format!("a bulk download; the account has no earlier activity in the evidence to compare with{whole}"),
        )),
        Standing::Unknown if big && factor => Some((
            Medium,
            format!("a bulk download far above the account's usual reading{whole}; the log does not name the address"),
        )),
        Standing::NewAddressOwnNetwork if big && factor => Some((
            Info,
            "a new client on the account's own network downloaded the mailbox (a new phone or a reinstalled client)".into(),
        )),
        _ => None,
    }
}
