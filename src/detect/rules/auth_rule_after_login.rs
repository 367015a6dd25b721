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
//! by time first: audit-log exports list the newest first. **ATT&CK**: T1078.004 (Cloud
//! Accounts), T1114.003. **Phase**: initial access. **Severity**: high. **False positives**:
//! a user who travels and fixes a rule the same hour — the address's owner and country tell.

use std::collections::BTreeMap;

use super::cloud::Group;
use super::failures::network;
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Phase, Severity};
use crate::events::record::Kind;

/// The rule.
pub struct RuleAfterLogin {
    window_us: i64,
    logins: BTreeMap<String, Vec<(i64, String, u32, u64)>>,
    changes: Vec<Fact>,
}

impl RuleAfterLogin {
    /// A new rule.
    pub fn new(t: &Thresholds) -> Self {
        RuleAfterLogin {
            window_us: t.rule_after_login_minutes * 60 * 1_000_000,
            logins: BTreeMap::new(),
            changes: Vec::new(),
        }
    }
}

impl Rule for RuleAfterLogin {
    fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::AuthSuccess => {
                if let (Some(u), Some(ip)) = (f.actor(), f.src_ip()) {
                    self.logins
                        .entry(u.to_ascii_lowercase())
                        .or_default()
                        .push((f.ts_us, ip.to_string(), f.file, f.line));
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

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        // Per account: where in its sorted sign-ins each network first appears (a sign-in is
        // from a new network when it is that first one).
        let mut first_from: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (user, v) in self.logins.iter_mut() {
            v.sort();
            let firsts = first_from.entry(user.clone()).or_default();
            for (i, l) in v.iter().enumerate() {
                firsts.entry(network(&l.1).to_string()).or_insert(i);
            }
        }
        // (account, login line) → the change events that followed it
        let mut found: BTreeMap<(String, u32, u64), (Group, String)> = BTreeMap::new();
        let mut changes = std::mem::take(&mut self.changes);
        changes.sort_by_key(|f| f.ts_us);
        for c in changes {
            let Some(user) = c.actor().map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(logins) = self.logins.get(&user) else {
                continue;
            };
            let Some(i) = logins.iter().rposition(|l| l.0 <= c.ts_us) else {
                continue;
            };
            let (t, ip, file, line) = &logins[i];
            if c.ts_us - t > self.window_us {
                continue;
            }
            let new_net = first_from
                .get(&user)
                .and_then(|f| f.get(network(ip)))
                .is_some_and(|&first| first == i);
            if !new_net || i == 0 {
                continue;
            }
            let e = found
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
        found
            .into_iter()
            .map(|((user, _, _), (g, ip))| {
                let what: Vec<String> = g.names.iter().map(|n| n.replace('_', " ")).collect();
                g.finding(
                    "auth.rule_after_login",
                    Severity::High,
                    Phase::InitialAccess,
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
    use crate::detect::rules::tests::{fact, success};

    fn change(secs: i64, ip: &str, user: &str) -> Fact {
        fact(Kind::MailboxRule, secs, ip, user).with(Field::Status, Some("created"))
    }

    #[test]
    fn new_network_then_rule_is_found_usual_network_is_not() {
        let mut facts = vec![success(0, "198.51.100.20", "ana@corp.example")];
        facts.push(success(86_400, "198.51.100.21", "ana@corp.example"));
        facts.push(change(86_500, "198.51.100.21", "ana@corp.example"));
        facts.push(success(90_000, "203.0.113.66", "ana@corp.example"));
        facts.push(change(90_600, "203.0.113.66", "ana@corp.example"));
        // Too late after the login.
        facts.push(success(100_000, "192.0.2.9", "ana@corp.example"));
        facts.push(change(120_000, "192.0.2.9", "ana@corp.example"));
        let f = crate::detect::rules::tests::run(
            Box::new(RuleAfterLogin::new(&Thresholds::default())),
            &facts,
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].summary.contains("203.0.113.66"));
        assert_eq!(f[0].count, 2);
    }
}
