//! `exfil.mailbox_search` — mail searched for what is worth taking: a user's search in a
//! mailbox (M365 `SearchQueryInitiatedExchange` / `…SharePoint`) or a content search across
//! mailboxes (eDiscovery `New-ComplianceSearch` / `SearchCreated`, `Start-ComplianceSearch`,
//! a preview of its results, `New-MailboxSearch`, `Search-Mailbox`), from any reader of
//! `mailbox_search` events.
//!
//! **Why**: an intruder in a mailbox searches before reading — for passwords, invoices, wire
//! transfers, contracts — and an intruder with an administrator's login searches every mailbox
//! at once with eDiscovery; the query says what was wanted and which mailboxes were looked
//! into. **How**, per search:
//! - by an account taken over (an earlier finding with the role `taken_account` names it, from
//!   its takeover on), or from an address an earlier finding names as the attacker's, or from a
//!   network new to the account (first seen less than 24 hours before, the account seen
//!   elsewhere before that: [`super::sources`]) — **high**;
//! - an eDiscovery search inside a case that has a hold (`New-CaseHoldPolicy`,
//!   `New-CaseHoldRule`, `HoldCreated` of the same case or policy), not from a new source —
//!   nothing: the legal hold an administrator is asked for;
//! - another eDiscovery search — **medium** when its query holds a sensitive word
//!   ([`super::mail_actions::SENSITIVE`]: password, invoice, wire, bank, contract, 密码, 合同 …),
//!   else **low**;
//! - a user's own search with a sensitive word — **low** (named, for the record); without one,
//!   nothing: people search their mail all day.
//!
//! Failed searches and the holds themselves are not reported. One finding per acting account
//! and severity, naming the queries, the sensitive words, the mailboxes searched (each an
//! `accessed` record, `how` `search`, `All` for a search of every mailbox; the audit log gives
//! no count of what a search found) and the sources. **ATT&CK**: T1114.002 (Remote Email Collection), T1213 (Data
//! from Information Repositories). **Phase**: exfiltration. **False positives**: a user
//! searching their own mail for an invoice (low); compliance staff's searches outside a case —
//! check them against the request that asked for them.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, some, Group};
use super::mail_actions::{self, Access, Taken};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{Cite, Finding, Severity};
use crate::events::record::Kind;

/// One search as kept until the end.
struct Search {
    fact: Fact,
    /// A content search across mailboxes (not a user's search in a mailbox).
    ediscovery: bool,
    query: Option<String>,
    name: Option<String>,
    case: Option<String>,
    mailboxes: Vec<String>,
}

/// The rule.
#[derive(Default)]
pub struct MailboxSearch {
    searches: Vec<Search>,
    /// Cases and hold policies with a hold (lower case).
    holds: BTreeSet<String>,
}

impl MailboxSearch {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        MailboxSearch::default()
    }
}

/// One finding's worth: the searches of one account at one severity.
#[derive(Default)]
struct Judged {
    group: Group,
    firsts: BTreeMap<String, i64>,
    queries: BTreeSet<String>,
    words: BTreeSet<&'static str>,
    mailboxes: BTreeMap<String, Access>,
    /// Content searches across mailboxes, and users' searches in a mailbox.
    ediscovery: u64,
    queries_in_mailbox: u64,
    why: BTreeSet<&'static str>,
    attacker: bool,
    decisive: Option<(i64, u32, u64)>,
}

impl Rule for MailboxSearch {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::MailboxSearch])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::MailboxSearch) else {
            return;
        };
        if f.status() == Some("failure") {
            return;
        }
        let action = d.action.as_deref().unwrap_or("");
        if action == "hold" {
            self.holds
                .extend(d.case.iter().chain(&d.name).map(|s| s.to_lowercase()));
            return;
        }
        self.searches.push(Search {
            fact: f.clone(),
            ediscovery: action != "query",
            query: d.search.clone(),
            name: d.name.clone(),
            case: d.case.clone(),
            mailboxes: mail_actions::mailboxes(&d.locations, f.mailbox()),
        });
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        let mut judged: BTreeMap<(String, Severity), Judged> = BTreeMap::new();
        for s in std::mem::take(&mut self.searches) {
            let Some((sev, why, attacker)) = self.judge(&s, shared, &taken) else {
                continue;
            };
            let actor = s.fact.actor().unwrap_or("unknown").to_string();
            let j = judged.entry((actor.clone(), sev)).or_default();
            mail_actions::add(&mut j.group, &mut j.firsts, &s.fact);
            j.why.insert(why);
            j.attacker |= attacker;
            if s.ediscovery {
                j.ediscovery += 1;
            } else {
                j.queries_in_mailbox += 1;
            }
            if let Some(q) = s.query.as_deref().filter(|_| j.queries.len() < 8) {
                j.queries
                    .insert(crate::sanitize::capped(q, 200).into_owned());
            }
            j.words.extend(
                s.query
                    .as_deref()
                    .map(mail_actions::sensitive)
                    .unwrap_or_default(),
            );
            let key = (s.fact.ts_us, s.fact.file, s.fact.line);
            if j.decisive.is_none_or(|d| key < d) {
                j.decisive = Some(key);
            }
            for m in &s.mailboxes {
                if j.mailboxes.len() < 32 || j.mailboxes.contains_key(m) {
                    j.mailboxes.entry(m.clone()).or_default().add(
                        m,
                        &actor,
                        s.fact.src_ip(),
                        s.fact.ts_us,
                    );
                }
            }
        }
        judged
            .into_iter()
            .map(|((actor, sev), j)| finding(&actor, sev, j, files, shared, &taken))
            .collect()
    }
}

impl MailboxSearch {
    /// A search's severity, the reason, and whether the attacker ran it; None when it is a
    /// user's ordinary search or a legal hold's.
    fn judge(
        &self,
        s: &Search,
        shared: &Shared,
        taken: &Taken,
    ) -> Option<(Severity, &'static str, bool)> {
        let f = &s.fact;
        let actor = f.actor().unwrap_or("unknown");
        let ip = f.src_ip();
        if taken.acted(f.actor(), ip, f.ts_us) {
            return Some((Severity::High, "by a taken account", true));
        }
        if ip.is_some_and(|ip| shared.sources.is_new(actor, ip, f.ts_us)) {
            return Some((Severity::High, "from a network new to the account", false));
        }
        let words = s
            .query
            .as_deref()
            .map(mail_actions::sensitive)
            .unwrap_or_default();
        let held = [&s.case, &s.name]
            .into_iter()
            .flatten()
            .any(|c| self.holds.contains(&c.to_lowercase()));
        Some(match (s.ediscovery, held, words.is_empty()) {
            (true, true, _) => return None,
            (true, false, false) => (Severity::Medium, "eDiscovery for sensitive words", false),
            (true, false, true) => (Severity::Low, "eDiscovery search", false),
            (false, _, false) => (Severity::Low, "sensitive words", false),
            (false, _, true) => return None,
        })
    }
}

/// The finding of one account's searches at one severity.
fn finding(
    actor: &str,
    sev: Severity,
    j: Judged,
    files: &Files,
    shared: &Shared,
    taken: &Taken,
) -> Finding {
    let what = match (j.ediscovery, j.queries_in_mailbox) {
        (0, n) => format!("{n} search(es) in a mailbox"),
        (n, 0) => format!("{n} content search(es) across mailboxes"),
        (e, q) => {
            format!("{q} search(es) in a mailbox and {e} content search(es) across mailboxes")
        }
    };
    let words = if j.words.is_empty() {
        String::new()
    } else {
        format!(" for {}", some(&j.words, 6))
    };
    let why = some(&j.why, 3);
    let mut f = j.group.finding(
        "exfil.mailbox_search",
        sev,
        vec!["T1114.002", "T1213"],
        format!("Mail searched by {actor} ({why}){words}"),
        format!(
            "{what} ({why}): {}; mailboxes {}",
            some(j.queries.iter().map(|q| format!("{q:?}")), 4),
            some(j.mailboxes.keys(), 5),
        ),
        vec!["notify.assess_data", "clean.review_ediscovery"],
        files,
    );
    mail_actions::tag_actor(&mut f, shared, taken, actor, j.attacker, &j.firsts);
    for (mailbox, a) in &j.mailboxes {
        f.accessed.push(a.record(mailbox, "search"));
        if mailbox.contains('@') && !mail_actions::same_account(mailbox, actor) {
            let role = if sev >= Severity::High {
                EntityRole::VictimAccount
            } else {
                EntityRole::Observed
            };
            f.entities.tag(EntityKind::User, mailbox, role);
        }
    }
    f.decisive = j.decisive.and_then(|(_, file, line)| {
        files.get(file as usize).map(|(path, _)| Cite {
            path: path.clone(),
            line,
        })
    });
    f
}

#[cfg(test)]
mod tests;
