//! Shared by the Exchange / Microsoft 365 rules: the organisation's own mail domains (to
//! tell an outside forward from an inside one) and a small accumulator of grouped evidence.
//!
//! Own domains are learned from the evidence, never configured: the tenant name the audit
//! log records (`OrganizationName`, e.g. `contoso.onmicrosoft.com`), and the domains of the
//! accounts that act in it and of the mailboxes that rules and forwarding belong to. A domain
//! is inside when it is one of those or a subdomain of one (`springfield.simpsons.com` under
//! `simpsons.com`); a look-alike (`simpsons2.com`) is outside.

use std::collections::BTreeSet;

use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// The organisation's own domains.
#[derive(Debug, Default)]
pub struct Tenant {
    domains: BTreeSet<String>,
}

/// Whether a fact comes from the Exchange / M365 readers and names tenant accounts.
fn names_accounts(f: &Fact) -> bool {
    matches!(
        f.kind,
        Kind::MailboxRule
            | Kind::MailboxForwarding
            | Kind::TransportRule
            | Kind::AuditOperation
            | Kind::PermissionGrant
            | Kind::AppConsent
            | Kind::AccessSetting
            | Kind::AuditSetting
            | Kind::MailboxSearch
            | Kind::MailboxExport
    ) || (f.proto == Some("m365")
        && matches!(
            f.kind,
            Kind::AuthSuccess | Kind::AuthFailure | Kind::MailboxAccess | Kind::MailboxChange
        ))
}

impl Tenant {
    /// Learns from one fact.
    pub fn observe(&mut self, f: &Fact) {
        if !names_accounts(f) {
            return;
        }
        if f.kind == Kind::AuthSuccess {
            if let Some(d) = f.actor().and_then(domain) {
                self.domains.insert(d);
            }
            return;
        }
        for d in [f.actor(), f.mailbox()]
            .into_iter()
            .flatten()
            .filter_map(domain)
        {
            self.domains.insert(d);
        }
        if let Some(d) = f.detail().and_then(Detail::from_text) {
            if let Some(o) = d.org {
                self.domains.insert(o.to_ascii_lowercase());
            }
            if let Some(m) = d.mailbox.as_deref().and_then(domain) {
                self.domains.insert(m);
            }
        }
    }

    /// Adds a domain known to be the organisation's.
    #[cfg(test)]
    pub fn add(&mut self, d: &str) {
        self.domains.insert(d.to_ascii_lowercase());
    }

    /// Whether any of the organisation's domains is known (a grant to an address can only be
    /// called outside when one is).
    pub fn known(&self) -> bool {
        !self.domains.is_empty()
    }

    /// Whether `addr` (an address, or a recipient object without a domain) is outside.
    /// A recipient object cannot be placed: it is not called outside.
    pub fn outside(&self, addr: &str) -> bool {
        let Some(d) = domain(addr) else {
            return false;
        };
        !self
            .domains
            .iter()
            .any(|own| d == *own || d.ends_with(&format!(".{own}")))
    }

    /// The outside addresses among `targets`.
    pub fn outside_of<'a>(&self, targets: &[&'a str]) -> Vec<&'a str> {
        targets
            .iter()
            .copied()
            .filter(|t| self.outside(t))
            .collect()
    }
}

/// The playbook steps of a compromised Exchange server reached from outside (forged
/// requests, web shells): block, patch, remove the shells, reset credentials.
pub const SERVER_STEPS: &[&str] = &[
    "isolate.block_ips",
    "clean.patch_exchange",
    "clean.remove_webshells",
    "clean.reset_credentials",
];

/// The structured detail of a fact of `kind` (None for another kind, or a detail that is not
/// an Exchange / M365 one).
pub fn detail_of(f: &Fact, kind: Kind) -> Option<Detail> {
    if f.kind != kind {
        return None;
    }
    f.detail().and_then(Detail::from_text)
}

/// Evidence grouped under one key: times, count, names, addresses, lines.
#[derive(Debug, Default, Clone)]
pub struct Group {
    /// First time (µs).
    pub first: i64,
    /// Last time.
    pub last: i64,
    /// Events.
    pub count: u64,
    /// Names (rules, paths) seen.
    pub names: BTreeSet<String>,
    /// Addresses.
    pub ips: BTreeSet<String>,
    /// Accounts.
    pub users: BTreeSet<String>,
    /// Lines.
    pub evidence: EvidenceSet,
    /// Whether a fact with its own time was added (an inventory row without a change time
    /// carries the export's time and does not stretch the span of timed ones).
    pub timed: bool,
}

impl Group {
    /// Adds one fact.
    pub fn add(&mut self, f: &Fact) {
        self.add_timed(f, true);
    }

    /// Adds one fact whose time is (`timed`) or is not (an export's time) its own.
    pub fn add_timed(&mut self, f: &Fact, timed: bool) {
        if timed && !self.timed {
            // The first own time replaces export times.
            self.timed = true;
            self.first = f.ts_us;
            self.last = f.ts_us;
        } else if timed || !self.timed {
            if self.count == 0 || f.ts_us < self.first {
                self.first = f.ts_us;
            }
            self.last = self.last.max(f.ts_us);
        }
        self.count += 1;
        if let Some(ip) = f.src_ip() {
            self.ips.insert(ip.to_string());
        }
        self.evidence.add(f.file, f.line);
    }

    /// A finding of this group (title, summary and remediation filled by the rule).
    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &self,
        rule: &'static str,
        severity: Severity,
        attack: Vec<&'static str>,
        title: String,
        summary: String,
        remediation: Vec<&'static str>,
        files: &super::Files,
    ) -> Finding {
        Finding {
            title,
            severity,
            attack,
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.count,
            entities: Entities {
                ips: self.ips.iter().cloned().collect(),
                users: self.users.iter().cloned().collect(),
                files: Vec::new(),
                ..Entities::default()
            },
            summary,
            evidence: self.evidence.resolve(files),
            remediation,
            ..Finding::of(rule)
        }
    }
}

/// `a, b, c` of at most `n` names, with `and N more`.
pub fn some(names: impl IntoIterator<Item = impl AsRef<str>>, n: usize) -> String {
    let all: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
    if all.len() <= n {
        return all.join(", ");
    }
    format!("{} and {} more", all[..n].join(", "), all.len() - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_lookalikes() {
        let mut t = Tenant::default();
        t.add("simpsons.com");
        t.add("simpsons.onmicrosoft.com");
        assert!(!t.outside("bart@springfield.simpsons.com"));
        assert!(!t.outside("marge@SIMPSONS.com"));
        assert!(t.outside("evil@simpsons2.com"));
        assert!(t.outside("peter@familyguy.com"));
        assert!(!t.outside("Peter Griffin"));
    }
}
