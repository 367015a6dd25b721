//! The compact, owned form of an event that detection keeps: what the rules need and a pointer
//! back to the evidence line. Built by the parser threads from each [`Event`], so rules never
//! see log formats (the parse layer normalised them) and never hold a log line.
//!
//! A fact's texts (address, login, envelope, queue id, status, next hop, detail) live in one
//! allocation with a span per field: a fact is made for nearly every line of a big log, and
//! one allocation instead of up to nine is the difference that shows.

use crate::events::record::{Event, Kind};
use crate::sanitize::capped;

/// The text fields of a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    /// Client address.
    SrcIp,
    /// Whose action it was (the login, the submitter, the audit actor).
    Actor,
    /// The account whose mail it concerns.
    Mailbox,
    /// Envelope sender.
    Sender,
    /// Envelope recipient.
    Recipient,
    /// Recipient before expansion.
    OrigRecipient,
    /// Queue or message id.
    QueueId,
    /// Delivery status.
    Status,
    /// Next hop of a delivery (`local`, `mx.example.net[…]:25`).
    Relay,
    /// Detail text.
    Detail,
}

const FIELDS: usize = 10;

/// Whether some rule, or the timeline's context events, reads the text fields of events of
/// `kind`. A rule that starts reading a kind not listed here must add it (its tests build
/// facts directly and would not notice).
pub fn texts_read(kind: Kind) -> bool {
    !matches!(kind, Kind::Connect | Kind::Disconnect | Kind::RateLimit)
}
const NONE: (u32, u32) = (u32::MAX, 0);

/// Longest text a fact keeps of a name-like field (address, account, envelope, queue id,
/// status, next hop): an attacker's 1 MiB "user name" is kept whole in the evidence and in
/// `parse`'s output, but detection holds its first 1 KiB and a marker, so a flood of such names
/// cannot multiply memory and every output that repeats them.
pub const MAX_NAME: usize = 1024;
/// Longest detail text a fact keeps (the structured Exchange / M365 detail stays whole below
/// it; a longer one is cut and then no longer read as structured).
pub const MAX_DETAIL: usize = 64 << 10;

/// One event as detection sees it.
#[derive(Debug, Clone)]
pub struct Fact {
    /// Microseconds since the epoch (UTC).
    pub ts_us: i64,
    /// What happened.
    pub kind: Kind,
    /// Protocol (no rule distinguishes protocols yet; kept so one can).
    pub proto: Option<&'static str>,
    /// Index of the file in the run's file table.
    pub file: u32,
    /// 1-based line.
    pub line: u64,
    /// The event repeats one of another log that is read too (a line of Exim's `rejectlog`,
    /// which Exim writes to its `mainlog` as well): set by the parse layer, which knows what
    /// each file is ([`crate::parse::rotation::repeats_another_log`]); the engine hands such
    /// facts only to the rules that compare the two logs
    /// ([`crate::detect::rules::Rule::observe_copy`]).
    pub copy: bool,
    text: Box<str>,
    spans: [(u32, u32); FIELDS],
}

impl Fact {
    /// A fact with these text fields (in [`Field`] order).
    pub fn new(
        ts_us: i64,
        kind: Kind,
        proto: Option<&'static str>,
        fields: [Option<&str>; FIELDS],
        file: u32,
        line: u64,
    ) -> Fact {
        let fields: [Option<std::borrow::Cow<'_, str>>; FIELDS] = std::array::from_fn(|i| {
            let max = if i == Field::Detail as usize {
                MAX_DETAIL
            } else {
                MAX_NAME
            };
            fields[i].map(|s| capped(s, max))
        });
        let len: usize = fields.iter().flatten().map(|s| s.len()).sum();
        let mut text = String::with_capacity(len);
        let mut spans = [NONE; FIELDS];
        for (span, f) in spans.iter_mut().zip(&fields) {
            if let Some(s) = f {
                *span = (text.len() as u32, s.len() as u32);
                text.push_str(s);
            }
        }
        Fact {
            ts_us,
            kind,
            proto,
            file,
            line,
            copy: false,
            text: text.into_boxed_str(),
            spans,
        }
    }

    /// A fact with only a time, a kind, a client address and its line (rules that keep
    /// events in their own form and hand them back to an evidence group).
    pub fn at(ts_us: i64, kind: Kind, src_ip: Option<&str>, file: u32, line: u64) -> Fact {
        let mut fields = [None; FIELDS];
        fields[Field::SrcIp as usize] = src_ip;
        Fact::new(ts_us, kind, None, fields, file, line)
    }

    /// The fact of `e`, read from file number `file`. Events of a kind no rule reads the
    /// texts of ([`texts_read`]) keep only their time and place: the log-rhythm rules need
    /// every line's time, nothing else.
    pub fn of(e: &Event, file: u32) -> Fact {
        if !texts_read(e.kind) {
            return Fact::new(
                e.ts_unix_us,
                e.kind,
                e.proto,
                [None; FIELDS],
                file,
                e.source.line,
            );
        }
        Fact::new(
            e.ts_unix_us,
            e.kind,
            e.proto,
            [
                e.src_ip.as_deref(),
                e.actor.as_deref(),
                e.mailbox.as_deref(),
                e.sender.as_deref(),
                e.recipient.as_deref(),
                e.orig_recipient.as_deref(),
                e.queue_id.as_deref(),
                e.status.as_deref(),
                e.relay.as_deref(),
                e.detail.as_deref(),
            ],
            file,
            e.source.line,
        )
    }

    /// One text field.
    pub fn get(&self, field: Field) -> Option<&str> {
        let (start, len) = self.spans[field as usize];
        if start == u32::MAX {
            return None;
        }
        self.text.get(start as usize..(start + len) as usize)
    }

    /// The same fact with one field changed (tests build variants this way).
    #[cfg(test)]
    pub fn with(&self, field: Field, value: Option<&str>) -> Fact {
        let mut fields: [Option<String>; FIELDS] = Default::default();
        for (i, f) in fields.iter_mut().enumerate() {
            *f = if i == field as usize {
                value.map(str::to_string)
            } else {
                let (start, len) = self.spans[i];
                (start != u32::MAX)
                    .then(|| self.text[start as usize..(start + len) as usize].to_string())
            };
        }
        let refs: [Option<&str>; FIELDS] = std::array::from_fn(|i| fields[i].as_deref());
        let mut f = Fact::new(
            self.ts_us, self.kind, self.proto, refs, self.file, self.line,
        );
        f.copy = self.copy;
        f
    }

    /// Client address.
    pub fn src_ip(&self) -> Option<&str> {
        self.get(Field::SrcIp)
    }
    /// Whose action it was: the login that authenticated or was tried, the login or local
    /// user that submitted a message (on its later events too), the actor of an audit record.
    pub fn actor(&self) -> Option<&str> {
        self.get(Field::Actor)
    }
    /// The account whose mail it concerns: the mailbox delivered into, whose mail a forward
    /// sends on, whose mailbox a session or audited operation touched.
    pub fn mailbox(&self) -> Option<&str> {
        self.get(Field::Mailbox)
    }
    /// Envelope sender.
    pub fn sender(&self) -> Option<&str> {
        self.get(Field::Sender)
    }
    /// Envelope recipient.
    pub fn recipient(&self) -> Option<&str> {
        self.get(Field::Recipient)
    }
    /// Recipient before expansion.
    pub fn orig_recipient(&self) -> Option<&str> {
        self.get(Field::OrigRecipient)
    }
    /// Queue or message id.
    pub fn queue_id(&self) -> Option<&str> {
        self.get(Field::QueueId)
    }
    /// Delivery status.
    pub fn status(&self) -> Option<&str> {
        self.get(Field::Status)
    }
    /// Next hop.
    pub fn relay(&self) -> Option<&str> {
        self.get(Field::Relay)
    }
    /// Detail text.
    pub fn detail(&self) -> Option<&str> {
        self.get(Field::Detail)
    }

    /// Whether a delivery stayed on the host: a delivery into a mailbox (the parser names it),
    /// or through the local or virtual agent, LMTP or Dovecot's LDA.
    pub fn delivered_locally(&self) -> bool {
        let relay = self.relay().unwrap_or("");
        (self.kind == Kind::Delivery && self.mailbox().is_some())
            || relay == "local"
            || relay == "virtual"
            || relay.contains("lmtp")
            || relay.contains("dovecot")
    }
}

/// The lower-cased domain of an address (`None` without an `@`).
pub fn domain(addr: &str) -> Option<String> {
    addr.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

/// Emptied fact vectors waiting for reuse: a chunk's facts fill a few megabytes, and a fresh
/// vector per chunk costs the kernel a page fault and a zeroed page for each 4 KiB of it.
static SPARE: std::sync::Mutex<Vec<Vec<Fact>>> = std::sync::Mutex::new(Vec::new());

/// An empty vector for one chunk's facts (reused when one is spare).
pub fn spare() -> Vec<Fact> {
    SPARE
        .lock()
        .ok()
        .and_then(|mut s| s.pop())
        .unwrap_or_else(|| Vec::with_capacity(1 << 14))
}

/// Gives a consumed vector back for reuse.
pub fn recycle(mut v: Vec<Fact>) {
    v.clear();
    if let Ok(mut s) = SPARE.lock() {
        if s.len() < 16 {
            s.push(v);
        }
    }
}

/// Receives the facts of each parsed chunk, in file and line order.
pub trait FactSink {
    /// One chunk's facts.
    fn facts(&mut self, facts: Vec<Fact>);
    /// File number `id` of the run starts (facts point back to it).
    fn file(&mut self, _id: u32, _path: &str, _sha256: Option<&str>) {}
    /// File number `id` is evidence of host `host` (told right after [`FactSink::file`]).
    fn file_host(&mut self, _id: u32, _host: &str) {}
    /// No later fact will be earlier than `at` (µs): state before it may be judged and
    /// dropped.
    fn advance(&mut self, _at: i64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_a_marker() {
        let long = "é".repeat(4000);
        let mut fields = [None; FIELDS];
        fields[Field::Actor as usize] = Some(long.as_str());
        let f = Fact::new(0, Kind::AuthFailure, None, fields, 0, 1);
        let a = f.actor().unwrap();
        assert!(a.len() < MAX_NAME + 32, "{}", a.len());
        assert!(a.ends_with("…[6976 more bytes]"), "{}", &a[a.len() - 30..]);
        assert!(a.starts_with("éé"));
    }

    #[test]
    fn fields_round_trip_through_one_buffer() {
        let f = Fact::new(
            1,
            Kind::Delivery,
            Some("smtp"),
            [
                Some("1.2.3.4"),
                None,
                Some("frank"),
                Some(""),
                Some("a@b"),
                None,
                Some("Q1"),
                Some("sent"),
                None,
                None,
            ],
            0,
            7,
        );
        assert_eq!(
            (
                f.src_ip(),
                f.actor(),
                f.mailbox(),
                f.sender(),
                f.recipient(),
                f.queue_id(),
                f.status(),
                f.relay()
            ),
            (
                Some("1.2.3.4"),
                None,
                Some("frank"),
                Some(""),
                Some("a@b"),
                Some("Q1"),
                Some("sent"),
                None
            )
        );
        let g = f.with(Field::Actor, Some("liwei")).with(Field::SrcIp, None);
        assert_eq!(
            (g.src_ip(), g.actor(), g.mailbox(), g.recipient()),
            (None, Some("liwei"), Some("frank"), Some("a@b"))
        );
    }
}
