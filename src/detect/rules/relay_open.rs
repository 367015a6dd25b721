//! `relay.open` — the server relayed: a remote client that did not log in got a message
//! delivered *only* to outside addresses (no local recipient at all).
//!
//! **Why**: an open relay is the worst misconfiguration a mail server can have (seed article
//! 003); probing alone (`relay.probe`) says someone tried, this says it worked. **How**: per
//! message received from a remote client without a login, the deliveries are tracked: a message
//! with at least one `sent` delivery to an outside domain and none to a local one is relayed.
//! Local domains are learned from local deliveries (as in `exfil.forwarding_observed`, which
//! covers messages that *also* reached local users: BCC copies, forwards). One finding per
//! client address. **ATT&CK**: T1090 (Proxy — the server is used to relay). **Phase**: initial
//! access. **Severity**: critical. **False positives**: a secondary MX or a relay the server is
//! configured to serve (`relay_domains`, a backup MX for a partner) — check the recipient
//! domains against the configuration.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashMap;

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::events::record::Kind;

/// Most inbound messages tracked at once. The oldest is let go when a new one arrives (its
/// deliveries normally follow within seconds; a message deferred for longer than 65,536 newer
/// messages take to arrive is judged on the deliveries seen so far). A let-go message that
/// looks relayed is kept; the others are dropped, so memory stays bounded.
const CAPACITY: usize = 1 << 16;

#[derive(Default)]
struct Message {
    ip: String,
    ts: i64,
    local: bool,
    outside: BTreeSet<String>,
    evidence: EvidenceSet,
}

/// The rule.
pub struct OpenRelay {
    messages: FxHashMap<Box<str>, Message>,
    order: VecDeque<Box<str>>,
    relayed: Vec<Message>,
    local_domains: BTreeSet<String>,
}

impl OpenRelay {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        OpenRelay {
            messages: FxHashMap::default(),
            order: VecDeque::new(),
            relayed: Vec::new(),
            local_domains: BTreeSet::new(),
        }
    }
}

impl Rule for OpenRelay {
    fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::MessageReceived => {
                let (Some(q), None, Some(ip)) = (f.queue_id(), f.actor(), f.src_ip()) else {
                    return;
                };
                if ip.starts_with("127.") || ip == "::1" {
                    return;
                }
                if self.order.len() >= CAPACITY {
                    if let Some(m) = self
                        .order
                        .pop_front()
                        .and_then(|q| self.messages.remove(&q))
                    {
                        if !m.local && !m.outside.is_empty() {
                            self.relayed.push(m);
                        }
                    }
                }
                let mut m = Message {
                    ip: ip.to_string(),
                    ts: f.ts_us,
                    ..Message::default()
                };
                m.evidence.add(f.file, f.line);
                if self.messages.insert(q.into(), m).is_none() {
                    self.order.push_back(q.into());
                }
            }
            Kind::Delivery | Kind::Forwarded => {
                let local = f.delivered_locally();
                if local {
                    if let Some(d) = f.recipient().and_then(domain) {
                        self.local_domains.insert(d);
                    }
                }
                let Some(m) = f.queue_id().and_then(|q| self.messages.get_mut(q)) else {
                    return;
                };
                if local || f.orig_recipient().is_some() || f.kind == Kind::Forwarded {
                    m.local = true;
                } else if f.status() == Some("sent") {
                    if let Some(r) = f.recipient() {
                        m.outside.insert(r.to_ascii_lowercase());
                        m.evidence.add(f.file, f.line);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let mut per_ip: BTreeMap<String, (u64, i64, i64, BTreeSet<String>, EvidenceSet)> =
            BTreeMap::new();
        for m in self.messages.values().chain(&self.relayed) {
            let outside: Vec<&String> = m
                .outside
                .iter()
                .filter(|r| domain(r).is_some_and(|d| !self.local_domains.contains(&d)))
                .collect();
            if m.local || outside.is_empty() {
                continue;
            }
            let e = per_ip.entry(m.ip.clone()).or_insert((
                0,
                i64::MAX,
                i64::MIN,
                BTreeSet::new(),
                EvidenceSet::default(),
            ));
            e.0 += 1;
            e.1 = e.1.min(m.ts);
            e.2 = e.2.max(m.ts);
            e.3.extend(outside.into_iter().cloned());
            e.4.extend(&m.evidence);
        }
        per_ip
            .into_iter()
            .map(|(ip, (count, first, last, rcpts, ev))| Finding {
                title: format!("Mail relayed for {ip} without authentication"),
                severity: Severity::Critical,
                attack: vec!["T1090"],
                first_seen: ts(first),
                last_seen: ts(last),
                count,
                summary: format!("{count} message(s) from {ip}, which did not log in, delivered to {} outside address(es) only", rcpts.len()),
                entities: Entities { ips: vec![ip], users: Vec::new(), files: Vec::new() },
                evidence: ev.resolve(files),
                remediation: vec!["isolate.hold_queue", "clean.close_relay"],
                ..Finding::of("relay.open")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::{fact, run};

    fn msg(secs: i64, qid: &str, ip: &str) -> Fact {
        let mut f = fact(Kind::MessageReceived, secs, ip, "");
        f = f.with(Field::QueueId, Some(qid));
        f
    }

    fn delivery(secs: i64, qid: &str, rcpt: &str, relay: &str) -> Fact {
        let mut f = fact(Kind::Delivery, secs, "", "");
        f = f.with(Field::SrcIp, None);
        f = f.with(Field::QueueId, Some(qid));
        f = f.with(Field::Recipient, Some(rcpt));
        f = f.with(Field::Relay, Some(relay));
        f = f.with(Field::Status, Some("sent"));
        f
    }

    #[test]
    fn relayed_mail_is_found_inbound_mail_and_bcc_copies_are_not() {
        let facts = vec![
            msg(0, "R1", "203.0.113.9"),
            delivery(
                1,
                "R1",
                "victim@far.example",
                "mx.far.example[198.51.100.3]:25",
            ),
            // Ordinary inbound mail for a local user (with a BCC copy going out).
            msg(10, "I1", "198.51.100.14"),
            delivery(11, "I1", "zhangwei@example.org", "local"),
            delivery(
                12,
                "I1",
                "zw.archive@mailsafe.example",
                "mx.mailsafe.example[203.0.113.200]:25",
            ),
        ];
        let f = run(Box::new(OpenRelay::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.9"]);
    }

    #[test]
    fn a_relayed_message_let_go_from_the_window_is_still_reported() {
        let mut facts = vec![
            msg(0, "R1", "198.51.100.9"),
            delivery(
                1,
                "R1",
                "victim@elsewhere.example",
                "mx.elsewhere.example[203.0.113.5]:25",
            ),
        ];
        // Enough ordinary inbound mail afterwards to push R1 out of the tracked window.
        for i in 0..(CAPACITY as i64 + 10) {
            let q = format!("L{i}");
            facts.push(msg(2 + i, &q, "192.0.2.44"));
            facts.push(delivery(2 + i, &q, "ann@lab.example", "local"));
        }
        let f = run(Box::new(OpenRelay::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["198.51.100.9"]);
    }
}
