//! `exfil.protocol_enabled` — IMAP, POP or EWS switched on for a mailbox (`Set-CASMailbox
//! -ImapEnabled $true`, `-PopEnabled`, `-EwsEnabled`; any reader of `access_setting` events),
//! and whether the mailbox was then used.
//!
//! **Why**: organisations switch the old protocols off because they take a password alone; an
//! intruder switches one back on to pull the mailbox with an ordinary mail client, outside the
//! web session the defenders watch. **How**: each switch-on is matched with the first use of
//! the mailbox after it — a successful login of the account, or a read of the mailbox
//! (`mailbox_access` of it or by it) — within `protocol_use_hours` (default 24):
//! - used within the window — **high**;
//! - never used in the evidence — **low** (a device's mailbox prepared for a scanner looks the
//!   same);
//! - switched on by an account taken over (from its takeover on) or from the attacker's address
//!   (earlier findings) — one step more (critical when used).
//!
//! The mailbox is matched by its name, an alias matching a login's local part. Uses are
//! remembered per account and hour (the first of each hour), at most [`MAX_USES`] at once;
//! beyond that the run reports a limit. On sealing, uses older than the sealed hour less one
//! window are forgotten unless a switch-on already seen can claim them (a later switch-on
//! claims only later uses), so a mail server's logins without any switch-on do not pile up. One finding per switch-on. **ATT&CK**: T1114.002 (Remote Email
//! Collection), T1098 (Account Manipulation). **Phase**: persistence (the way in that is left
//! open). **False positives**: a
//! multifunction printer's or a line-of-business application's mailbox given POP or IMAP on
//! purpose — the change record.

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group};
use super::failures::HOUR_US;
use super::mail_actions::{self, Taken};
use super::{Files, Limit, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{Cite, Finding, Severity};
use crate::events::record::Kind;

/// Most uses remembered (account and hour).
pub const MAX_USES: usize = 500_000;

/// The protocols this rule follows.
const FOLLOWED: &[&str] = &["imap", "pop", "ews"];

/// One switch-on.
struct Enabled {
    fact: Fact,
    mailbox: String,
    protocols: Vec<String>,
}

/// A use: time, file, line, address.
type Use = (i64, u32, u64, Option<String>);

/// The rule.
pub struct ProtocolEnabled {
    window_us: i64,
    enabled: Vec<Enabled>,
    /// (account lower case, hour) → the first use in that hour.
    /// Nested (account, then hour) so a lookup borrows the account's name.
    uses: rustc_hash::FxHashMap<Box<str>, BTreeMap<i64, Use>>,
    /// Uses remembered in all.
    remembered: usize,
    dropped: u64,
}

impl ProtocolEnabled {
    /// A new rule.
    pub fn new(t: &Thresholds) -> Self {
        ProtocolEnabled {
            window_us: t.protocol_use_hours.max(0).saturating_mul(HOUR_US),
            enabled: Vec::new(),
            uses: Default::default(),
            remembered: 0,
            dropped: 0,
        }
    }

    /// Remembers a use of `account`.
    fn used(&mut self, account: &str, f: &Fact) {
        // Lowered only when it has capitals, and the address copied only when kept: this
        // runs for every login.
        let lower = crate::detect::small::ascii_lower(account);
        let account = &*lower;
        let hour = f.ts_us.div_euclid(HOUR_US);
        let full = self.remembered >= MAX_USES;
        let use_of =
            |f: &Fact| -> Use { (f.ts_us, f.file, f.line, f.src_ip().map(str::to_string)) };
        match self.uses.get_mut(account).and_then(|h| h.get_mut(&hour)) {
            Some(e) if f.ts_us < e.0 => *e = use_of(f),
            Some(_) => {}
            None if full => self.dropped += 1,
            None => {
                if !self.uses.contains_key(account) {
                    self.uses.insert(account.into(), BTreeMap::new());
                }
                if let Some(hours) = self.uses.get_mut(account) {
                    hours.insert(hour, use_of(f));
                    self.remembered += 1;
                }
            }
        }
    }

    /// The first use of `mailbox` at or after `at`, within the window.
    fn first_use(&self, mailbox: &str, at: i64) -> Option<&Use> {
        let local = mailbox
            .split('@')
            .next()
            .unwrap_or(mailbox)
            .to_ascii_lowercase();
        let from = at.div_euclid(HOUR_US);
        let to = at.saturating_add(self.window_us).div_euclid(HOUR_US);
        self.uses
            .iter()
            .flat_map(|(acct, hours)| hours.iter().map(move |(hour, u)| ((acct, *hour), u)))
            .filter(|((acct, hour), (ts, ..))| {
                *hour >= from
                    && *hour <= to
                    && *ts >= at
                    && *ts - at <= self.window_us
                    && acct.split('@').next() == Some(local.as_str())
                    && mail_actions::same_account(acct, mailbox)
            })
            .min_by_key(|((acct, hour), u)| (u.0, *acct, *hour))
            .map(|(_, u)| u)
    }
}

impl Rule for ProtocolEnabled {
    fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::AuthSuccess => {
                if let Some(a) = f.actor() {
                    self.used(a, f);
                }
            }
            Kind::MailboxAccess => {
                for a in [f.actor(), f.mailbox()].into_iter().flatten() {
                    self.used(a, f);
                }
            }
            Kind::AccessSetting => {
                let Some(d) = detail_of(f, Kind::AccessSetting) else {
                    return;
                };
                let protocols: Vec<String> = FOLLOWED
                    .iter()
                    .filter(|p| d.settings.get(**p).is_some_and(|v| v == "on"))
                    .map(|p| p.to_string())
                    .collect();
                let mailbox = f.mailbox().or(d.mailbox.as_deref());
                if let (false, Some(m), false) =
                    (protocols.is_empty(), mailbox, f.status() == Some("failure"))
                {
                    self.enabled.push(Enabled {
                        fact: f.clone(),
                        mailbox: m.to_string(),
                        protocols,
                    });
                }
            }
            _ => {}
        }
    }

    /// Forgets the uses no switch-on can claim any more: a later switch-on is no earlier than
    /// `before` (the engine's promise) and claims only uses after it, so of the hours before
    /// `before` less one window (kept for a fact a little out of order) only those in the
    /// window of a switch-on already seen stay.
    fn seal(&mut self, before: i64, _files: &Files, _shared: &Shared) {
        let window_hours = self.window_us.div_euclid(HOUR_US) + 1;
        let keep_from = before.saturating_sub(window_hours);
        let windows: Vec<(i64, i64)> = self
            .enabled
            .iter()
            .map(|e| (e.fact.ts_us, e.fact.ts_us.saturating_add(self.window_us)))
            .collect();
        let mut remembered = 0;
        self.uses.retain(|_, hours| {
            hours.retain(|hour, u| {
                *hour >= keep_from || windows.iter().any(|(from, to)| u.0 >= *from && u.0 <= *to)
            });
            remembered += hours.len();
            !hours.is_empty()
        });
        self.remembered = remembered;
    }

    fn limits(&self) -> Vec<Limit> {
        (self.dropped > 0)
            .then(|| Limit {
                rule: "exfil.protocol_enabled",
                what: format!(
                    "{} use(s) of mailboxes not remembered at the cap of {MAX_USES} (account and hour): a switch-on followed only by those reads as unused",
                    self.dropped
                ),
            })
            .into_iter()
            .collect()
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        std::mem::take(&mut self.enabled)
            .into_iter()
            .map(|e| self.finding(e, files, shared, &taken))
            .collect()
    }
}

impl ProtocolEnabled {
    /// The finding of one switch-on.
    fn finding(&self, e: Enabled, files: &Files, shared: &Shared, taken: &Taken) -> Finding {
        let f = &e.fact;
        let actor = f.actor().unwrap_or("unknown");
        let attacker = taken.acted(f.actor(), f.src_ip(), f.ts_us);
        let used = self.first_use(&e.mailbox, f.ts_us);
        let sev = match (used.is_some(), attacker) {
            (true, true) => Severity::Critical,
            (true, false) => Severity::High,
            (false, true) => Severity::Medium,
            (false, false) => Severity::Low,
        };
        let mut g = Group::default();
        let mut firsts = BTreeMap::new();
        mail_actions::add(&mut g, &mut firsts, f);
        let protocols = some(&e.protocols, 3).to_uppercase();
        if let Some((ts, file, line, ip)) = used {
            g.add(&Fact::at(
                *ts,
                Kind::AuthSuccess,
                ip.as_deref(),
                *file,
                *line,
            ));
        }
        let then = self.then(used, f.ts_us);
        let by = if attacker { ", by a taken account" } else { "" };
        let mut out = g.finding(
            "exfil.protocol_enabled",
            sev,
            vec!["T1114.002", "T1098"],
            format!("{protocols} switched on for {} and {then}{by}", e.mailbox),
            format!("{actor} switched {protocols} on for {} ({then})", e.mailbox),
            vec!["clean.disable_legacy_protocols", "notify.assess_data"],
            files,
        );
        mail_actions::tag_actor(&mut out, shared, taken, actor, attacker, &firsts);
        if let Some((ts, file, line, ip)) = used {
            if let Some(ip) = ip {
                let role = ip_role(shared, taken, &e.mailbox, ip, *ts);
                out.entities.tag(EntityKind::Ip, ip, role);
            }
            out.decisive = files.get(*file as usize).map(|(p, _)| Cite {
                path: p.clone(),
                line: *line,
            });
        }
        let role = if used.is_some() {
            EntityRole::VictimAccount
        } else {
            EntityRole::Observed
        };
        if out.entities.role(EntityKind::User, &e.mailbox).is_none() {
            out.entities.tag(EntityKind::User, &e.mailbox, role);
        }
        out
    }
}

impl ProtocolEnabled {
    /// What followed a switch-on at `at`: its first use, or none within the window.
    fn then(&self, used: Option<&Use>, at: i64) -> String {
        match used {
            Some((ts, _, _, ip)) => format!(
                "used {} min later{}",
                (ts - at) / 60_000_000,
                ip.as_deref()
                    .map(|i| format!(" from {i}"))
                    .unwrap_or_default()
            ),
            None => format!("not used in the {} h after", self.window_us / HOUR_US),
        }
    }
}

/// The role of the address a mailbox was used from.
fn ip_role(shared: &Shared, taken: &Taken, mailbox: &str, ip: &str, ts: i64) -> EntityRole {
    mail_actions::ip_role(shared, taken, mailbox, ip, ts)
}

#[cfg(test)]
mod tests;
