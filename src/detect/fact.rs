//! The compact, owned form of an event that detection keeps: what the rules need and a pointer
//! back to the evidence line. Built by the parser threads from each [`Event`], so rules never
//! see log formats (the parse layer normalised them) and never hold a log line.

use crate::events::record::{Event, Kind};

/// One event as detection sees it. (Some fields serve the rules of issue 4 still to come:
/// relay, abuse and exfiltration.)
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct Fact {
    /// Microseconds since the epoch (UTC).
    pub ts_us: i64,
    /// What happened.
    pub kind: Kind,
    /// Protocol.
    pub proto: Option<&'static str>,
    /// Client address.
    pub src_ip: Option<Box<str>>,
    /// Login.
    pub user: Option<Box<str>>,
    /// Envelope sender.
    pub sender: Option<Box<str>>,
    /// Envelope recipient.
    pub recipient: Option<Box<str>>,
    /// Recipient before expansion.
    pub orig_recipient: Option<Box<str>>,
    /// Queue or message id.
    pub queue_id: Option<Box<str>>,
    /// Delivery status.
    pub status: Option<Box<str>>,
    /// Next hop of a delivery (`local`, `mx.example.net[…]:25`).
    pub relay: Option<Box<str>>,
    /// Detail text.
    pub detail: Option<Box<str>>,
    /// Index of the file in the run's file table.
    pub file: u32,
    /// 1-based line.
    pub line: u64,
}

fn own(v: &Option<std::borrow::Cow<'_, str>>) -> Option<Box<str>> {
    v.as_deref().map(Box::from)
}

impl Fact {
    /// The fact of `e`, read from file number `file`.
    pub fn of(e: &Event, file: u32) -> Fact {
        Fact {
            ts_us: e.ts_unix_us,
            kind: e.kind,
            proto: e.proto,
            src_ip: own(&e.src_ip),
            user: own(&e.user),
            sender: own(&e.sender),
            recipient: own(&e.recipient),
            orig_recipient: own(&e.orig_recipient),
            queue_id: own(&e.queue_id),
            status: own(&e.status),
            relay: own(&e.relay),
            detail: own(&e.detail),
            file,
            line: e.source.line,
        }
    }
}

/// Receives the facts of each parsed chunk, in file and line order.
pub trait FactSink {
    /// One chunk's facts.
    fn facts(&mut self, facts: Vec<Fact>);
}
