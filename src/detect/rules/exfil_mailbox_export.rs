//! `exfil.mailbox_export` — mail exported out of the mailbox store: an export request to a
//! `.pst` (`New-MailboxExportRequest`, on-premises or in the cloud), an eDiscovery export
//! (`New-ComplianceSearchAction -Export`, `SearchExported`) and its download
//! (`SearchExportDownloaded`), a copy of search results into another mailbox
//! (`Search-Mailbox -TargetMailbox`), from any reader of `mailbox_export` events.
//!
//! **Why**: an export is the whole mailbox, or every message a search matched, in one file the
//! attacker takes away; the download is the moment it left. **How**, per export:
//! - by an account taken over (from its takeover on) or from the attacker's address (earlier
//!   findings) — **critical**;
//! - from a network new to the account ([`super::sources`]) — **high**;
//! - an eDiscovery export or download inside a case with a hold, from the account's usual
//!   source — **low**: a legal hold's export, to check against the case;
//! - a download of an eDiscovery export — **high** (the data left the service); an eDiscovery
//!   export or a copy into another mailbox — **medium**;
//! - an export request to a share or a folder — **low**: a backup in a maintenance window looks
//!   the same; the finding says where the file went.
//!
//! A command the log says failed is an attempt, one step less severe. An export request whose
//! `-FilePath` is a script or lies in a web folder is ProxyShell's web-shell step and stays
//! `exchange.admin_cmdlet`'s (critical there), never reported twice. One finding per acting
//! account and severity, each exported mailbox an `accessed` record (`how` `export`; an
//! eDiscovery export covers the mailboxes its search named, when the evidence holds the search,
//! `All` for every mailbox; the messages and bytes an export record states — eDiscovery's
//! `ItemCount`, `TotalSize` — when it covers one mailbox or all).
//! **ATT&CK**: T1114.002. **Phase**: exfiltration. **False positives**: planned backups and
//! migrations to PST, compliance exports for a legal request — the change record or the case.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, some, Group};
use super::exchange_admin_cmdlet::web_path;
use super::mail_actions::{self, Access, Taken};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// One export as kept until the end.
struct Export {
    fact: Fact,
    detail: Detail,
}

/// What a search named, for its exports: mailboxes, query, case.
#[derive(Default, Clone)]
struct Searched {
    mailboxes: Vec<String>,
    query: Option<String>,
    case: Option<String>,
}

/// The rule.
#[derive(Default)]
pub struct MailboxExport {
    exports: Vec<Export>,
    /// Search name (lower case) → what it named.
    searches: BTreeMap<String, Searched>,
    /// Cases and hold policies with a hold (lower case).
    holds: BTreeSet<String>,
}

impl MailboxExport {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        MailboxExport::default()
    }

    /// Learns a search or a hold.
    fn search(&mut self, d: &Detail) {
        if d.action.as_deref() == Some("hold") {
            self.holds
                .extend(d.case.iter().chain(&d.name).map(|s| s.to_lowercase()));
            return;
        }
        let Some(name) = d.name.as_deref() else {
            return;
        };
        let e = self.searches.entry(name.to_lowercase()).or_default();
        if !d.locations.is_empty() {
            e.mailboxes = mail_actions::mailboxes(&d.locations, None);
        }
        e.query = d.search.clone().or(e.query.take());
        e.case = d.case.clone().or(e.case.take());
    }

    /// An export's severity and reason.
    fn judge(&self, e: &Export, shared: &Shared, taken: &Taken) -> (Severity, &'static str, bool) {
        let f = &e.fact;
        let actor = f.actor().unwrap_or("unknown");
        let ip = f.src_ip();
        let action = e.detail.action.as_deref().unwrap_or("");
        let searched = self.searched(&e.detail);
        let case = e.detail.case.clone().or(searched.case);
        let held = [&case, &e.detail.name]
            .into_iter()
            .flatten()
            .any(|c| self.holds.contains(&c.to_lowercase()));
        let (sev, why, attacker) = if taken.acted(f.actor(), ip, f.ts_us) {
            (Severity::Critical, "by a taken account", true)
        } else if ip.is_some_and(|ip| shared.sources.is_new(actor, ip, f.ts_us)) {
            (Severity::High, "from a network new to the account", false)
        } else if held {
            (Severity::Low, "inside a case with a hold", false)
        } else {
            match action {
                "download" => (Severity::High, "eDiscovery export downloaded", false),
                "export" => (Severity::Medium, "eDiscovery export", false),
                "copy" => (
                    Severity::Medium,
                    "search results copied to a mailbox",
                    false,
                ),
                _ => (
                    Severity::Low,
                    "export request (check the change record)",
                    false,
                ),
            }
        };
        let sev = if f.status() == Some("failure") {
            lower(sev)
        } else {
            sev
        };
        (sev, why, attacker)
    }

    /// What the search an export belongs to named.
    fn searched(&self, d: &Detail) -> Searched {
        d.name
            .as_deref()
            .and_then(|n| self.searches.get(&n.to_lowercase()))
            .cloned()
            .unwrap_or_default()
    }
}

/// One step less severe (an attempt).
fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        _ => Severity::Info,
    }
}

/// One finding's worth.
#[derive(Default)]
struct Judged {
    group: Group,
    firsts: BTreeMap<String, i64>,
    what: BTreeSet<String>,
    mailboxes: BTreeMap<String, Access>,
    why: BTreeSet<&'static str>,
    attacker: bool,
    failed: u64,
}

impl Rule for MailboxExport {
    fn observe(&mut self, f: &Fact) {
        if let Some(d) = detail_of(f, Kind::MailboxSearch) {
            if f.status() != Some("failure") {
                self.search(&d);
            }
            return;
        }
        let Some(d) = detail_of(f, Kind::MailboxExport) else {
            return;
        };
        // The web-shell export is exchange.admin_cmdlet's.
        if d.path.as_deref().is_some_and(web_path) {
            return;
        }
        self.exports.push(Export {
            fact: f.clone(),
            detail: d,
        });
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        let mut judged: BTreeMap<(String, Severity), Judged> = BTreeMap::new();
        for e in std::mem::take(&mut self.exports) {
            let (sev, why, attacker) = self.judge(&e, shared, &taken);
            let actor = e.fact.actor().unwrap_or("unknown").to_string();
            let j = judged.entry((actor.clone(), sev)).or_default();
            mail_actions::add(&mut j.group, &mut j.firsts, &e.fact);
            j.why.insert(why);
            j.attacker |= attacker;
            j.failed += u64::from(e.fact.status() == Some("failure"));
            let searched = self.searched(&e.detail);
            let d = &e.detail;
            let target = d
                .path
                .clone()
                .or_else(|| d.name.as_ref().map(|n| format!("search {n:?}")))
                .unwrap_or_else(|| d.op.clone().unwrap_or_default());
            if j.what.len() < 8 {
                j.what
                    .insert(crate::sanitize::capped(&target, 200).into_owned());
            }
            let mut boxes =
                mail_actions::mailboxes(&d.locations, e.fact.mailbox().or(d.mailbox.as_deref()));
            if boxes.is_empty() {
                boxes = searched.mailboxes.clone();
            }
            // An export's counts are the whole export's: given to its mailbox when it names one
            // (or `All`), never split among several.
            let whole = boxes.len() == 1;
            for m in boxes {
                if j.mailboxes.len() < 32 || j.mailboxes.contains_key(&m) {
                    let a = j.mailboxes.entry(m.clone()).or_default();
                    a.add(&m, &actor, e.fact.src_ip(), e.fact.ts_us);
                    a.folders.extend(d.folders.iter().take(8).cloned());
                    if whole {
                        a.took(d.messages, d.bytes);
                    }
                }
            }
        }
        judged
            .into_iter()
            .map(|((actor, sev), j)| finding(&actor, sev, j, files, shared, &taken))
            .collect()
    }
}

/// The finding of one account's exports at one severity.
fn finding(
    actor: &str,
    sev: Severity,
    j: Judged,
    files: &Files,
    shared: &Shared,
    taken: &Taken,
) -> Finding {
    let why = some(&j.why, 3);
    let attempt = if j.failed == j.group.count {
        " (the command failed: an attempt)"
    } else {
        ""
    };
    let mut f = j.group.finding(
        "exfil.mailbox_export",
        sev,
        vec!["T1114.002"],
        format!("Mail exported by {actor} ({why}){attempt}"),
        format!(
            "{} export(s) ({why}) to {}; mailboxes {}",
            j.group.count,
            some(&j.what, 4),
            if j.mailboxes.is_empty() {
                "not named by the evidence".to_string()
            } else {
                some(j.mailboxes.keys(), 5)
            },
        ),
        vec!["notify.assess_data", "clean.review_ediscovery"],
        files,
    );
    mail_actions::tag_actor(&mut f, shared, taken, actor, j.attacker, &j.firsts);
    for (mailbox, a) in &j.mailboxes {
        f.accessed.push(a.record(mailbox, "export"));
        if mailbox.contains('@') && !mail_actions::same_account(mailbox, actor) {
            let role = if sev >= Severity::High {
                EntityRole::VictimAccount
            } else {
                EntityRole::Observed
            };
            f.entities.tag(EntityKind::User, mailbox, role);
        }
    }
    f
}

#[cfg(test)]
mod tests;
