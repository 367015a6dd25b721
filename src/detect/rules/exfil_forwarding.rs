//! `exfil.forwarding_observed` — the logs show mail that arrived for local users being copied or
//! forwarded to an outside address: a BCC map or `always_bcc` at work, an alias or virtual alias
//! to an outside address (`orig_to` local → external), a `.forward`, a sieve `redirect`.
//!
//! **Why**: the persistence the seed articles warn about ("malicious forwarding rules") is
//! silent in the configuration a responder reads last; the logs show it working. **How**: a
//! message is *inbound* when a remote client submitted it without logging in; every delivery
//! or forward of an inbound message to a recipient whose domain is not a local one, and every
//! sieve/alias `forwarded` event to such a recipient, counts for that recipient. Local domains
//! are learned from the evidence: domains of recipients delivered locally (`relay=local`,
//! LMTP/LDA, virtual). One finding per outside recipient, naming the local addresses it copies
//! (`orig_to`) or "BCC copy". **ATT&CK**: T1114.003 (Email Forwarding Rule). **Phase**:
//! exfiltration. **Severity**: high when the copies come as BCC or from ≥ 2 local addresses,
//! else medium. **False positives**: a user's own, sanctioned forward to a private mailbox; a
//! mailing list exploder — check the destination against policy.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashSet;

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::events::record::Kind;

/// Most inbound queue ids remembered.
const CAPACITY: usize = 1 << 17;

#[derive(Default)]
struct Copies {
    count: u64,
    first: i64,
    last: i64,
    origins: BTreeSet<String>,
    evidence: EvidenceSet,
}

/// The rule.
pub struct Forwarding {
    inbound: FxHashSet<Box<str>>,
    order: VecDeque<Box<str>>,
    local_domains: BTreeSet<String>,
    copies: BTreeMap<String, Copies>,
}

impl Forwarding {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        Forwarding {
            inbound: FxHashSet::default(),
            order: VecDeque::new(),
            local_domains: BTreeSet::new(),
            copies: BTreeMap::new(),
        }
    }
}

fn is_loopback(ip: &str) -> bool {
    ip.starts_with("127.") || ip == "::1"
}

impl Rule for Forwarding {
    fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::MessageReceived => {
                let remote = f.src_ip().is_some_and(|ip| !is_loopback(ip));
                if let (Some(q), None, true) = (f.queue_id(), f.actor(), remote) {
                    if !self.inbound.contains(q) {
                        self.inbound.insert(q.into());
                        self.order.push_back(q.into());
                        if self.order.len() > CAPACITY {
                            if let Some(old) = self.order.pop_front() {
                                self.inbound.remove(&old);
                            }
                        }
                    }
                }
            }
            Kind::Delivery | Kind::Forwarded => {
                let local = f.delivered_locally();
                if local {
                    if let Some(d) = f.recipient().and_then(domain) {
                        self.local_domains.insert(d);
                    }
                    if let Some(d) = f.orig_recipient().and_then(domain) {
                        self.local_domains.insert(d);
                    }
                    return;
                }
                let inbound = f.queue_id().is_some_and(|q| self.inbound.contains(q));
                let (Some(rcpt), true) = (f.recipient(), inbound || f.kind == Kind::Forwarded)
                else {
                    return;
                };
                if domain(rcpt).is_none() || f.status().is_some_and(|s| s != "sent") {
                    return;
                }
                if let Some(d) = f.orig_recipient().and_then(domain) {
                    self.local_domains.insert(d);
                }
                let c = self.copies.entry(rcpt.to_ascii_lowercase()).or_default();
                if c.count == 0 || f.ts_us < c.first {
                    c.first = f.ts_us;
                }
                c.last = c.last.max(f.ts_us);
                c.count += 1;
                let origin = match (f.orig_recipient(), f.kind, f.mailbox()) {
                    (Some(o), _, _) => o.to_ascii_lowercase(),
                    (None, Kind::Forwarded, Some(u)) => format!("{u} (sieve/filter)"),
                    _ => "BCC copy".to_string(),
                };
                c.origins.insert(origin);
                c.evidence.add(f.file, f.line);
            }
            _ => {}
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let mut out = Vec::new();
        for (rcpt, c) in std::mem::take(&mut self.copies) {
            let Some(d) = domain(&rcpt) else { continue };
            if self.local_domains.contains(&d) {
                continue;
            }
            let bcc = c.origins.contains("BCC copy");
            let severity = if bcc || c.origins.len() >= 2 {
                Severity::High
            } else {
                Severity::Medium
            };
            let origins: Vec<String> = c.origins.into_iter().collect();
            out.push(Finding {
                title: format!("Mail for local users copied to {rcpt}"),
                severity,
                attack: vec!["T1114.003"],
                first_seen: ts(c.first),
                last_seen: ts(c.last),
                count: c.count,
                summary: format!(
                    "{} message(s) for {} sent on to {rcpt}",
                    c.count,
                    origins.join(", ")
                ),
                entities: Entities {
                    ips: Vec::new(),
                    users: origins,
                    files: Vec::new(),
                },
                evidence: c.evidence.resolve(files),
                remediation: vec!["clean.remove_forwarding", "notify.assess_data"],
                ..Finding::of("exfil.forwarding_observed")
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::{fact, run};

    fn received(secs: i64, qid: &str) -> Fact {
        let mut f = fact(Kind::MessageReceived, secs, "198.51.100.14", "");
        f = f.with(Field::QueueId, Some(qid));
        f
    }

    fn delivered(secs: i64, qid: &str, rcpt: &str, orig: Option<&str>, relay: &str) -> Fact {
        let mut f = fact(Kind::Delivery, secs, "", "");
        f = f.with(Field::SrcIp, None);
        f = f.with(Field::QueueId, Some(qid));
        f = f.with(Field::Recipient, Some(rcpt));
        f = f.with(Field::OrigRecipient, orig);
        f = f.with(Field::Relay, Some(relay));
        f = f.with(Field::Status, Some("sent"));
        f
    }

    #[test]
    fn bcc_copies_are_found_local_forwards_and_outbound_mail_are_not() {
        let mut facts = vec![received(0, "A1")];
        facts.push(delivered(1, "A1", "zhangwei@example.org", None, "local"));
        facts.push(delivered(
            2,
            "A1",
            "zw.archive@mailsafe.example.com",
            None,
            "mx.mailsafe.example.com[203.0.113.200]:25",
        ));
        // A legitimate forward to another local user.
        facts.push(received(10, "B2"));
        facts.push(delivered(
            11,
            "B2",
            "chenjing@example.org",
            Some("info@example.org"),
            "local",
        ));
        // A user's own outgoing mail (authenticated) to a partner.
        let mut out = fact(Kind::MessageReceived, 20, "192.0.2.10", "liwei");
        out = out.with(Field::QueueId, Some("C3"));
        facts.push(out);
        facts.push(delivered(
            21,
            "C3",
            "editor@partner.example.net",
            None,
            "mx.partner.example.net[198.51.100.15]:25",
        ));
        let f = run(Box::new(Forwarding::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].title.contains("zw.archive@mailsafe.example.com"));
        assert_eq!(f[0].severity, Severity::High);
    }
}
