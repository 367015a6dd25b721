//! `auth.rule_after_login` — the business e-mail compromise sequence: an account signs in
//! from a network it never used before, and soon after that session creates or changes a
//! mailbox rule, a mailbox's forwarding, or a transport rule.
//!
//! **Why**: each half alone is common (people travel; people file mail); together, within
//! minutes, they are how a stolen cloud login is turned into a mail tap. **How**: for every
//! `mailbox_rule`, `mailbox_forwarding` or `transport_rule` event that is created or changed
//! by an account, the account's last successful sign-in before it (within
//! `rule_after_login_minutes`, default 120) is found; when that sign-in's network (/24,
//! IPv6 /64) is one the account had not signed in from before, and the account has earlier
//! sign-ins from elsewhere (so "new" means something), it is a finding. Sign-ins are sorted
//! by time first: audit-log exports list the newest first. Sealing judges the changes before the
//! sealed hour and forgets sign-ins more than the window before it (each network's first
//! sign-in is kept), so memory follows the accounts and networks, not the days of sign-ins.
//! **ATT&CK**: T1078.004 (Cloud
//! Accounts), T1114.003. **Phase**: initial access. **Severity**: high. **False positives**:
//! a user who travels and fixes a rule the same hour — the address's owner and country tell.

use std::collections::BTreeMap;

use super::cloud::Group;
use super::failures::network;
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// A sign-in: time, address, file, line (ordered as sign-ins are sorted).
type Login = (i64, String, u32, u64);

/// The rule.
pub struct RuleAfterLogin {
    window_us: i64,
    /// Per account (lower case): its sign-ins still needed, the first sign-in from each
    /// network, and its very first sign-in.
    accounts: BTreeMap<String, Account>,
    /// Changes not judged yet.
    changes: Vec<Fact>,
    /// (account, login line) → the change events that followed it.
    found: BTreeMap<(String, u32, u64), (Group, String)>,
}

#[derive(Default)]
struct Account {
    /// Sign-ins a change still to come may follow (all of them until sealing drops those
    /// more than the window behind).
    logins: Vec<Login>,
    /// The first sign-in from each network.
    firsts: BTreeMap<String, Login>,
    /// The first sign-in of all.
    first: Option<Login>,
}

impl RuleAfterLogin {
    /// A new rule.
    pub fn new(t: &Thresholds) -> Self {
        RuleAfterLogin {
            window_us: t.rule_after_login_minutes * 60 * 1_000_000,
            accounts: BTreeMap::new(),
            changes: Vec::new(),
            found: BTreeMap::new(),
        }
    }

    /// Judges the pending changes before `until` (µs; all of them for `i64::MAX`): every
    /// sign-in they can follow has been seen.
    fn judge(&mut self, until: i64) {
        let (mut now, later): (Vec<Fact>, Vec<Fact>) = std::mem::take(&mut self.changes)
            .into_iter()
            .partition(|c| c.ts_us < until);
        self.changes = later;
        now.sort_by_key(|f| f.ts_us);
        for a in self.accounts.values_mut() {
            a.logins.sort();
        }
        for c in now {
            let Some(user) = c.actor().map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(acct) = self.accounts.get(&user) else {
                continue;
            };
            let Some(i) = acct.logins.iter().rposition(|l| l.0 <= c.ts_us) else {
                continue;
            };
            let l = &acct.logins[i];
            if c.ts_us - l.0 > self.window_us {
                continue;
            }
            // From a network the account had not used before, and not its very first sign-in.
            let new_net = acct.firsts.get(network(&l.1)) == Some(l);
            if !new_net || acct.first.as_ref() == Some(l) {
                continue;
            }
            let (t, ip, file, line) = l;
            let e = self
                .found
                .entry((user.clone(), *file, *line))
                .or_insert_with(|| (Group::default(), ip.clone()));
            if e.0.count == 0 {
                let login = Fact::at(*t, Kind::AuthSuccess, Some(ip), *file, *line);
                e.0.add(&login);
                e.0.users.insert(c.actor().unwrap_or_default().to_string());
            }
            e.0.add(&c);
            e.0.names.insert(c.kind.name().to_string());
        }
    }
}

impl Rule for RuleAfterLogin {
    fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::AuthSuccess => {
                if let (Some(u), Some(ip)) = (f.actor(), f.src_ip()) {
                    let acct = self.accounts.entry(u.to_ascii_lowercase()).or_default();
                    let login: Login = (f.ts_us, ip.to_string(), f.file, f.line);
                    match acct.firsts.get_mut(network(ip)) {
                        Some(first) if *first <= login => {}
                        Some(first) => *first = login.clone(),
                        None => {
                            acct.firsts.insert(network(ip).to_string(), login.clone());
                        }
                    }
                    if acct.first.as_ref().is_none_or(|first| login < *first) {
                        acct.first = Some(login.clone());
                    }
                    acct.logins.push(login);
                }
            }
            Kind::MailboxRule | Kind::MailboxForwarding | Kind::TransportRule
                if matches!(f.status(), Some("created" | "changed" | "enabled"))
                    && f.actor().is_some() =>
            {
                self.changes.push(f.clone());
            }
            _ => {}
        }
    }

    /// No fact from hour `before` on is earlier: the changes before it are judged, and
    /// sign-ins more than the window before it are forgotten (a later change cannot follow
    /// them; the first sign-in per network stays).
    fn seal(&mut self, before: i64, _files: &Files, _shared: &Shared) {
        let until = before.saturating_mul(super::failures::HOUR_US);
        self.judge(until);
        let keep_from = until.saturating_sub(self.window_us);
        for a in self.accounts.values_mut() {
            a.logins.retain(|l| l.0 >= keep_from);
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        self.judge(i64::MAX);
        std::mem::take(&mut self.found)
            .into_iter()
            .map(|((user, _, _), (g, ip))| {
                let what: Vec<String> = g.names.iter().map(|n| n.replace('_', " ")).collect();
                g.finding(
                    "auth.rule_after_login",
                    Severity::High,
                    vec!["T1078.004", "T1114.003"],
                    format!("{user} changed mail rules right after signing in from a new network"),
                    format!(
                        "{user} signed in from {ip} (a network it had not used before) and then made {} change(s): {}",
                        g.count - 1,
                        what.join(", ")
                    ),
                    vec![
                        "clean.reset_credentials",
                        "clean.remove_mailbox_rules",
                        "isolate.block_ips",
                    ],
                    files,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::{fact, success, T0};

    fn change(secs: i64, ip: &str, user: &str) -> Fact {
        fact(Kind::MailboxRule, secs, ip, user).with(Field::Status, Some("created"))
    }

    #[test]
    fn new_network_then_rule_is_found_usual_network_is_not_sealed_or_not() {
        let mut facts = vec![success(0, "198.51.100.20", "ana@corp.example")];
        facts.push(success(86_400, "198.51.100.21", "ana@corp.example"));
        facts.push(change(86_500, "198.51.100.21", "ana@corp.example"));
        facts.push(success(90_000, "203.0.113.66", "ana@corp.example"));
        facts.push(change(90_600, "203.0.113.66", "ana@corp.example"));
        // Too late after the login.
        facts.push(success(100_000, "192.0.2.9", "ana@corp.example"));
        facts.push(change(120_000, "192.0.2.9", "ana@corp.example"));
        for run in [
            crate::detect::rules::tests::run,
            crate::detect::rules::tests::run_sealed,
        ] {
            let f = run(
                Box::new(RuleAfterLogin::new(&Thresholds::default())),
                &facts,
            );
            assert_eq!(f.len(), 1, "{f:#?}");
            assert!(f[0].summary.contains("203.0.113.66"));
            assert_eq!(f[0].count, 2);
        }
    }

    #[test]
    fn sealing_forgets_old_sign_ins_but_not_first_networks() {
        // Sign-ins every hour for three days from the home network, then a rule change
        // right after a sign-in from a home-network address again: not new.
        let mut facts: Vec<Fact> = (0..72)
            .map(|h| success(h * 3600, "198.51.100.20", "ana@corp.example"))
            .collect();
        facts.push(success(72 * 3600, "198.51.100.77", "ana@corp.example"));
        facts.push(change(72 * 3600 + 60, "198.51.100.77", "ana@corp.example"));
        let mut rule = RuleAfterLogin::new(&Thresholds::default());
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        let shared = Shared::default();
        for f in &facts[..70] {
            rule.observe(f);
        }
        rule.seal(
            T0 / crate::detect::rules::failures::HOUR_US + 69,
            files,
            &shared,
        );
        let kept: usize = rule.accounts.values().map(|a| a.logins.len()).sum();
        assert!(kept <= 3, "{kept} sign-ins kept");
        for f in &facts[70..] {
            rule.observe(f);
        }
        assert!(rule.finish(files, &shared).is_empty());
    }
}
