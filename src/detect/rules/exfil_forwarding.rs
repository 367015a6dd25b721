//! `exfil.forwarding_observed` — the logs show mail that arrived for local users being copied or
//! forwarded to an outside address: a BCC map or `always_bcc` at work, an alias or virtual alias
//! to an outside address (`orig_to` local → external), a `.forward`, a sieve `redirect`.
//!
//! **Why**: the persistence the seed articles warn about ("malicious forwarding rules") is
//! silent in the configuration a responder reads last; the logs show it working. **How**: a
//! message is *inbound* when a remote client submitted it without logging in; a delivery of an
//! inbound message to a recipient whose domain is not a local one counts for that recipient
//! when it is a forward of a local address (`orig_to`, a sieve/alias `forwarded` event) or when
//! the same message was also delivered to a local user (a BCC copy). An inbound message that
//! reached no local user at all was never mail *for* local users — relayed spam is
//! `relay.open`'s — so its outside deliveries are held (at most [`PENDING`] per message) until
//! a local delivery of it shows up, and dropped when none does. Local domains
//! are learned from the evidence: domains of recipients delivered locally (`relay=local`,
//! LMTP/LDA, virtual). One finding per outside recipient, naming the local addresses it copies
//! (`orig_to`) or "BCC copy". **ATT&CK**: T1114.003 (Email Forwarding Rule). **Phase**:
//! exfiltration. **Severity**: high when the copies come as BCC or from ≥ 2 local addresses,
//! else medium. **False positives**: a user's own, sanctioned forward to a private mailbox; a
//! mailing list exploder — check the destination against policy.

use std::collections::{BTreeMap, BTreeSet};

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::detect::window::Window;
use crate::events::record::Kind;

/// Most inbound queue ids remembered.
const CAPACITY: usize = 1 << 17;

/// Most outside deliveries held per inbound message until it is seen to reach a local user.
const PENDING: usize = 4;

/// An inbound message as far as its deliveries have shown.
#[derive(Default)]
struct Inbound {
    /// A local user received it.
    local: bool,
    /// Outside deliveries waiting for that: recipient, time, file, line.
    pending: Vec<(Box<str>, i64, u32, u64)>,
}

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
    /// The inbound messages followed, by queue id, oldest first.
    inbound: Window<Inbound>,
    local_domains: BTreeSet<String>,
    copies: BTreeMap<String, Copies>,
}

impl Forwarding {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        Forwarding {
            inbound: Window::new(CAPACITY),
            local_domains: BTreeSet::new(),
            copies: BTreeMap::new(),
        }
    }
}

impl Forwarding {
    /// Counts one copy to outside recipient `rcpt`.
    fn copy(&mut self, rcpt: &str, at: i64, origin: String, file: u32, line: u64) {
        let c = self.copies.entry(rcpt.to_ascii_lowercase()).or_default();
        if c.count == 0 || at < c.first {
            c.first = at;
        }
        c.last = c.last.max(at);
        c.count += 1;
        c.origins.insert(origin);
        c.evidence.add(file, line);
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
                    // The oldest message let go keeps its held copies uncounted.
                    self.inbound.insert_new(q, Inbound::default());
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
                    // The message reached a local user: its held outside copies count now.
                    let held = f
                        .queue_id()
                        .and_then(|q| self.inbound.get_mut(q))
                        .map(|m| {
                            m.local = true;
                            std::mem::take(&mut m.pending)
                        })
                        .unwrap_or_default();
                    for (rcpt, at, file, line) in held {
                        self.copy(&rcpt, at, "BCC copy".into(), file, line);
                    }
                    return;
                }
                let message = f.queue_id().and_then(|q| self.inbound.get_mut(q));
                let inbound = message.is_some();
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
                let origin = match (f.orig_recipient(), f.kind, f.mailbox()) {
                    (Some(o), _, _) => o.to_ascii_lowercase(),
                    (None, Kind::Forwarded, Some(u)) => format!("{u} (sieve/filter)"),
                    _ => {
                        // A plain outside delivery: a copy only if the message also reached a
                        // local user (before or after this line).
                        if let Some(m) = message {
                            if !m.local {
                                if m.pending.len() < PENDING {
                                    m.pending.push((rcpt.into(), f.ts_us, f.file, f.line));
                                }
                                return;
                            }
                        }
                        "BCC copy".to_string()
                    }
                };
                self.copy(rcpt, f.ts_us, origin, f.file, f.line);
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
            // The mailboxes whose mail left are victims; an origin that only describes how
            // the copy was made ("BCC copy", "wangfang (sieve/filter)") is named, not judged.
            let mut entities = Entities::default();
            for o in &origins {
                let role = if o.contains(' ') {
                    EntityRole::Observed
                } else {
                    EntityRole::VictimAccount
                };
                entities.tag(EntityKind::User, o, role);
            }
            entities.tag(EntityKind::Recipient, &rcpt, EntityRole::OutsideRecipient);
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
                entities,
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

    #[test]
    fn relayed_spam_is_not_forwarding_a_copy_logged_before_the_local_delivery_is() {
        let mut facts = Vec::new();
        // Relayed spam: inbound, no login, every recipient outside, no local delivery.
        for i in 0..50 {
            let q = format!("S{i}");
            facts.push(received(i, &q));
            facts.push(delivered(
                i,
                &q,
                &format!("victim{i}@far{}.example", i % 5),
                None,
                "mx.far.example[198.51.100.3]:25",
            ));
        }
        // A BCC copy whose outside delivery is logged before the local one.
        facts.push(received(100, "A1"));
        facts.push(delivered(
            101,
            "A1",
            "zw.archive@mailsafe.example.com",
            None,
            "mx.mailsafe.example.com[203.0.113.200]:25",
        ));
        facts.push(delivered(102, "A1", "zhangwei@example.org", None, "local"));
        // An alias of a local address expanding outside counts without a local delivery.
        facts.push(received(110, "F1"));
        facts.push(delivered(
            111,
            "F1",
            "fin@out.example",
            Some("finance@example.org"),
            "mx.out.example[203.0.113.9]:25",
        ));
        let f = run(Box::new(Forwarding::new(&Thresholds::default())), &facts);
        let titles: Vec<&str> = f.iter().map(|x| x.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Mail for local users copied to fin@out.example",
                "Mail for local users copied to zw.archive@mailsafe.example.com"
            ],
            "{titles:?}"
        );
    }
}
