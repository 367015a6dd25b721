//! `relay.open` — the server relayed: a remote client that did not log in got a message
//! delivered *only* to outside addresses (no local recipient at all).
//!
//! **Why**: an open relay is the worst misconfiguration a mail server can have (seed article
//! 003); probing alone (`relay.probe`) says someone tried, this says it worked. **How**: per
//! message received from a remote client without a login, the deliveries are tracked: a message
//! with at least one `sent` delivery to an outside domain and none to a local one is relayed.
//! Local domains are learned from local deliveries (as in `exfil.forwarding_observed`, which
//! covers messages that *also* reached local users: BCC copies, forwards). One finding per
//! **campaign** — relayed messages with less than `campaign_gap_hours` between them — however
//! many clients took part (a botnet abusing an open relay is tens of thousands of addresses):
//! its count, span, the busiest sources and destination domains in the summary, every source
//! address (up to [`MAX_LISTED`], the rest counted) in its entities. Memory is bounded: a
//! message is judged when it leaves the window of [`CAPACITY`] tracked messages (or at the
//! end), against the local domains learned so far, and folded into its campaign's counters.
//! **ATT&CK**: T1090 (Proxy — the server is used to relay). **Phase**: initial
//! access. **Severity**: critical. **False positives**: a secondary MX or a relay the server is
//! configured to serve (`relay_domains`, a backup MX for a partner) — check the recipient
//! domains against the configuration.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::detect::window::Window;
use crate::events::record::Kind;

/// Most inbound messages tracked at once. The oldest is let go when a new one arrives (its
/// deliveries normally follow within seconds; a message deferred for longer than 65,536 newer
/// messages take to arrive is judged on the deliveries seen so far). A let-go message that
/// looks relayed is kept; the others are dropped, so memory stays bounded.
const CAPACITY: usize = 1 << 16;

/// Most distinct source addresses and destination domains a campaign lists; more are counted.
const MAX_LISTED: usize = 10_000;

/// Relayed messages of one campaign, as counters.
#[derive(Default)]
struct Campaign {
    messages: u64,
    first: i64,
    last: i64,
    sources: FxHashMap<Box<str>, u64>,
    more_sources: u64,
    domains: FxHashMap<Box<str>, u64>,
    more_domains: u64,
    recipients: u64,
    evidence: EvidenceSet,
}

impl Campaign {
    fn add(&mut self, m: &Message, outside: &[&String]) {
        if self.messages == 0 {
            self.first = m.ts;
        }
        self.messages += 1;
        self.first = self.first.min(m.ts);
        self.last = self.last.max(m.ts);
        self.recipients += outside.len() as u64;
        bump(&mut self.sources, &mut self.more_sources, &m.ip);
        for d in outside.iter().filter_map(|r| domain(r)) {
            bump(&mut self.domains, &mut self.more_domains, &d);
        }
        self.evidence.extend(&m.evidence);
    }

    fn finding(self, files: &Files) -> Finding {
        let sources = by_count(&self.sources);
        let domains = by_count(&self.domains);
        let n_sources = self.sources.len() as u64 + self.more_sources;
        let top = |v: &[(&str, u64)]| {
            v.iter()
                .take(5)
                .map(|(k, n)| format!("{k} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let title = if n_sources == 1 {
            format!("Mail relayed for {} without authentication", sources[0].0)
        } else {
            format!(
                "Open relay abused: {} message(s) from {n_sources} address(es) without authentication",
                self.messages
            )
        };
        let mut summary = format!(
            "{} message(s) from {n_sources} client address(es) that did not log in, delivered to {} outside recipient(s) only; busiest sources: {}; destination domains: {}",
            self.messages,
            self.recipients,
            top(&sources),
            top(&domains)
        );
        if self.more_sources > 0 || self.more_domains > 0 {
            summary.push_str(&format!(
                " ({} further source(s) and {} further domain(s) counted, not listed)",
                self.more_sources, self.more_domains
            ));
        }
        Finding {
            title,
            severity: Severity::Critical,
            attack: vec!["T1090"],
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.messages,
            summary,
            entities: Entities {
                ips: sources.iter().map(|(ip, _)| ip.to_string()).collect(),
                users: Vec::new(),
                files: Vec::new(),
                ..Entities::default()
            },
            evidence: self.evidence.resolve(files),
            remediation: vec!["isolate.hold_queue", "clean.close_relay"],
            ..Finding::of("relay.open")
        }
    }
}

/// Counts `key`, or counts it as one more beyond the cap.
fn bump(map: &mut FxHashMap<Box<str>, u64>, more: &mut u64, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else if map.len() < MAX_LISTED {
        map.insert(key.into(), 1);
    } else {
        *more += 1;
    }
}

/// Entries busiest first (then by name: deterministic).
fn by_count(map: &FxHashMap<Box<str>, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = map.iter().map(|(k, n)| (&**k, *n)).collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

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
    /// The messages tracked, by queue id, oldest first.
    messages: Window<Message>,
    local_domains: BTreeSet<String>,
    gap_us: i64,
    campaign: Campaign,
    done: Vec<Campaign>,
}

impl OpenRelay {
    /// A new rule.
    pub fn new(t: &Thresholds) -> Self {
        OpenRelay {
            messages: Window::new(CAPACITY),
            local_domains: BTreeSet::new(),
            gap_us: t.campaign_gap_hours.max(1) * 3_600_000_000,
            campaign: Campaign::default(),
            done: Vec::new(),
        }
    }

    /// Judges a message leaving the window: relayed ones join their campaign.
    fn judge(&mut self, m: Message) {
        let outside: Vec<&String> = m
            .outside
            .iter()
            .filter(|r| domain(r).is_some_and(|d| !self.local_domains.contains(&d)))
            .collect();
        if m.local || outside.is_empty() {
            return;
        }
        let c = &mut self.campaign;
        if c.messages > 0 && (m.ts - c.last > self.gap_us || c.first - m.ts > self.gap_us) {
            self.done.push(std::mem::take(&mut self.campaign));
        }
        self.campaign.add(&m, &outside);
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
                let mut m = Message {
                    ip: ip.to_string(),
                    ts: f.ts_us,
                    ..Message::default()
                };
                m.evidence.add(f.file, f.line);
                // A full window lets its oldest message go first: judged now.
                if let Some(old) = self.messages.push(q, m) {
                    self.judge(old);
                }
            }
            Kind::Delivery | Kind::Forwarded => {
                let local = f.delivered_locally();
                if local {
                    // Known domains are not copied again (this runs for every delivery).
                    let d = f
                        .recipient()
                        .and_then(|r| r.rsplit_once('@'))
                        .map(|(_, d)| d);
                    let known = d.is_some_and(|d| {
                        !d.bytes().any(|b| b.is_ascii_uppercase()) && self.local_domains.contains(d)
                    });
                    if let (false, Some(d)) = (known, f.recipient().and_then(domain)) {
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
        // The messages still in the window, in arrival order.
        while let Some(m) = self.messages.pop_front() {
            self.judge(m);
        }
        let last = std::mem::take(&mut self.campaign);
        let mut out: Vec<Finding> = std::mem::take(&mut self.done)
            .into_iter()
            .chain(std::iter::once(last))
            .filter(|c| c.messages > 0)
            .map(|c| c.finding(files))
            .collect();
        out.sort_by(|a, b| a.first_seen.cmp(&b.first_seen));
        out
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

    #[test]
    fn a_botnet_relaying_is_one_campaign_and_a_later_wave_another() {
        let mut facts = Vec::new();
        for i in 0..3000i64 {
            let q = format!("B{i}");
            let ip = format!("198.51.{}.{}", i / 250, i % 250 + 1);
            facts.push(msg(i, &q, &ip));
            facts.push(delivery(
                i,
                &q,
                &format!("u{i}@d{}.example", i % 7),
                "mx[203.0.113.5]:25",
            ));
        }
        // Normal inbound mail in between teaches the local domain.
        facts.push(msg(3001, "L1", "192.0.2.44"));
        facts.push(delivery(3001, "L1", "ann@lab.example", "local"));
        // A second wave two days later from one address.
        facts.push(msg(2 * 86_400, "W1", "203.0.113.66"));
        facts.push(delivery(
            2 * 86_400,
            "W1",
            "x@far.example",
            "mx[198.51.100.3]:25",
        ));
        let f = run(Box::new(OpenRelay::new(&Thresholds::default())), &facts);
        assert_eq!(
            f.len(),
            2,
            "{:#?}",
            f.iter().map(|x| &x.title).collect::<Vec<_>>()
        );
        assert_eq!(f[0].count, 3000);
        assert_eq!(f[0].entities.ips.len(), 3000);
        assert!(
            f[0].title.contains("3000 message(s) from 3000 address(es)"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].summary.contains("d0.example (429)"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[1].entities.ips, ["203.0.113.66"]);
        assert_eq!(
            f[1].title,
            "Mail relayed for 203.0.113.66 without authentication"
        );
    }
}
