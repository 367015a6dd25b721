//! Shared bookkeeping of what sessions read and deleted in mailboxes, for
//! `exfil.mailbox_download`, `exfil.pop_retrieve` and `cleanup.mail_deletion`.
//!
//! **What is counted.** Each `mailbox_access` fact (an IMAP / POP3 session's end counters, a
//! webmail download, an M365 `MailItemsAccessed`) and each `mailbox_change` fact (a `mail_log`
//! expunge, an M365 deletion) adds to a *cell*: one mailbox, one client address, one hour —
//! the messages and bytes read, the headers listed, the messages deleted, the folders, the
//! sessions and their lines. Consecutive hours of one mailbox and address make a *burst*
//! (the attacker who fetches in several sessions is one download).
//!
//! **The baseline, learned from the evidence.** Per account: every network (/24, IPv6 /64)
//! and address it logged in or read mail from, with the first login and the first session end;
//! the messages it read per day. A burst's address is the account's **own** when a session of
//! the account from that address ended before the burst began (the client had been there
//! before), or the account logged in from it more than a day before; it is a **new address on
//! the account's own network** when another address of the same network did either. An
//! address vouches for itself or its network only if no earlier rule named it attacking and its
//! first session did not read `download_messages` or more (the attacker's first address,
//! whose second address in the same /24 is no "own network") — unless it was first used more
//! than a week before. An owner who reads a little at a time, many times a day, vouches. The **usual volume** is the most messages the account read in one day
//! from its other sources (on the burst's day, from the other addresses). Both are independent
//! of the order the facts come in. Addresses that earlier findings name as attackers (a brute force that
//! succeeded, a takeover) and accounts they name as taken come from
//! [`Rule::finish_with`](super::Rule::finish_with), read as every mail rule reads them
//! ([`super::mail_actions::Taken`]).
//!
//! The baseline is gathered once for the three rules ([`Baseline`], in [`super::Shared`]);
//! each rule keeps its own cells.
//!
//! **Bounded.** On sealing, cells wholly before the sealed hour that cannot make a burst worth
//! judging (fewer than `download_messages` read, fewer than `deletion_messages` deleted) are
//! folded into the baseline and dropped, and the others leave the table for a plain list that
//! waits for the end; at most [`MAX_CELLS`] are in the table (then every small cell is folded
//! and the rest set aside, whatever its hour). Per account at most [`MAX_IPS`] addresses and
//! 1,600 (day, address) pairs of reading. At most [`MAX_SEALED`] cells set aside wait for the
//! end: beyond that the oldest half is judged at once with what is known (the baseline then
//! holds everything before them); the bursts reported then wait for the end, to be judged again
//! with the findings of every rule, and the others wait in a temporary file, read back at the
//! end only when a finding names their address, their account, or an address of the account,
//! the attacker's. The findings are those of judging everything at the end.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::failures::{network, HOUR_US};
use super::mail_actions::Taken;
use super::Thresholds;
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Accessed, EvidenceSet, Finding};
use crate::detect::small::Names;
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// Most cells held at once.
pub const MAX_CELLS: usize = 1 << 18;
/// Most sealed cells worth judging one rule holds for the end; beyond it the oldest half is
/// judged at once ([`Accesses::seal`]).
pub const MAX_SEALED: usize = 1 << 14;
/// Most client addresses whose logins are remembered for webmail attribution.
pub const MAX_LOGIN_IPS: usize = 1 << 17;
/// Most logins remembered per client address (the latest).
const LOGINS_PER_IP: usize = 8;
/// Most copied message ids remembered per cell.
pub const MAX_COPIES: usize = 8192;
/// Most addresses remembered per account (beyond it only networks are).
pub const MAX_IPS: usize = 256;
const DAY_US: i64 = 24 * HOUR_US;

/// What one fact says was read or deleted.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Message bodies read.
    pub messages: u64,
    /// Their bytes, when logged.
    pub bytes: Option<u64>,
    /// Headers only.
    pub listed: u64,
    /// Messages deleted or expunged.
    pub deleted: u64,
    /// Messages in the mailbox, when logged (POP3).
    pub mailbox_messages: Option<u64>,
    /// Folders named.
    pub folders: Vec<String>,
    /// A whole-folder synchronisation (M365 `Sync`): the count is not logged.
    pub synced: bool,
}

/// Reads the counts of a `mailbox_access` or `mailbox_change` fact (its structured detail).
/// Deletions come from `mail_log` lines and M365 deletions; a session end's `expunged`
/// counter is used only for sessions without such lines (see [`Cell::add`]).
pub fn counts(f: &Fact) -> Option<std::rc::Rc<(Counts, Detail)>> {
    // The shared baseline and the three rules read the same fact one after the other on the
    // detection thread: its detail is parsed once (a one-entry cache keyed by the fact's
    // identity), not four times.
    thread_local! {
        static LAST: crate::detect::small::FactSlot<(Counts, Detail)> =
            const { std::cell::RefCell::new(None) };
    }
    let text = f.detail()?;
    crate::detect::small::once_per_fact(&LAST, f, || parse_counts(f, text))
}

fn parse_counts(f: &Fact, text: &str) -> Option<(Counts, Detail)> {
    let d = Detail::from_text(text)?;
    let mut c = Counts {
        folders: d.folders.clone(),
        ..Counts::default()
    };
    match f.kind {
        Kind::MailboxAccess => {
            c.messages = d.messages.unwrap_or(0);
            c.bytes = d.bytes;
            c.listed = d.listed.unwrap_or(0);
            c.mailbox_messages = d.mailbox_messages;
            c.synced = d.action.as_deref() == Some("sync");
        }
        Kind::MailboxChange => {
            match d.action.as_deref() {
                Some("expunge" | "hard_delete" | "soft_delete" | "purge" | "trash") => {
                    c.deleted = d.messages.unwrap_or(1);
                }
                // A copy is kept only to tell a MOVE's expunge from a deletion.
                Some("copy") => {}
                _ => return None,
            }
        }
        _ => return None,
    }
    Some((c, d))
}

/// One mailbox, one address, one hour.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    first: i64,
    last: i64,
    messages: u64,
    bytes: Option<u64>,
    listed: u64,
    /// Deleted per `mail_log` / M365 lines.
    deleted_lines: u64,
    /// Message ids copied in this cell (hashed, at most [`MAX_COPIES`]): an expunge of one of
    /// them is the second half of an IMAP MOVE (Dovecot logs `copy from A: box=B` and then
    /// `expunge: box=A` for the same message), not a deletion.
    #[serde(skip)]
    copied: rustc_hash::FxHashSet<u64>,
    /// Expunges that were moves.
    moved: u64,
    /// Deleted per session counters (`expunged=`, POP3 `del=`), used when no line says.
    deleted_counted: u64,
    mailbox_messages: Option<u64>,
    sessions: u64,
    synced: u64,
    folders: Names,
    /// Folders mail was deleted from.
    deleted_from: Names,
    actors: Names,
    proto: proto_name::Proto,
    read: EvidenceSet,
    deletes: EvidenceSet,
    /// First and last time mail was read (`i64::MAX`, `i64::MIN`: never).
    read_span: (i64, i64),
    /// First and last time mail was deleted.
    delete_span: (i64, i64),
}

/// Widens a (first, last) span to `t`.
fn widen(span: &mut (i64, i64), t: i64) {
    span.0 = span.0.min(t);
    span.1 = span.1.max(t);
}

impl Cell {
    fn new(ts: i64) -> Cell {
        Cell {
            first: ts,
            last: ts,
            messages: 0,
            bytes: None,
            listed: 0,
            deleted_lines: 0,
            copied: rustc_hash::FxHashSet::default(),
            moved: 0,
            deleted_counted: 0,
            mailbox_messages: None,
            sessions: 0,
            synced: 0,
            folders: Names::default(),
            deleted_from: Names::default(),
            actors: Names::default(),
            proto: proto_name::Proto(None),
            read: EvidenceSet::default(),
            deletes: EvidenceSet::default(),
            read_span: (i64::MAX, i64::MIN),
            delete_span: (i64::MAX, i64::MIN),
        }
    }

    fn add(&mut self, f: &Fact, c: &Counts, d: &Detail) {
        self.first = self.first.min(f.ts_us);
        self.last = self.last.max(f.ts_us);
        self.proto.0 = self.proto.0.or(f.proto);
        if let Some(a) = f.actor() {
            self.actors.insert(a, 4);
        }
        if f.kind == Kind::MailboxChange {
            let id = f.queue_id().map(|m| {
                use std::hash::{Hash, Hasher};
                let mut h = rustc_hash::FxHasher::default();
                m.hash(&mut h);
                h.finish()
            });
            if d.action.as_deref() == Some("copy") {
                if let Some(id) = id.filter(|_| self.copied.len() < MAX_COPIES) {
                    self.copied.insert(id);
                }
                return;
            }
            if id.is_some_and(|id| self.copied.remove(&id)) {
                self.moved += 1;
                return;
            }
            self.deleted_lines += c.deleted;
            self.deletes.add(f.file, f.line);
            widen(&mut self.delete_span, f.ts_us);
            for folder in &c.folders {
                self.deleted_from.insert(folder, 16);
            }
            return;
        }
        for folder in &c.folders {
            self.folders.insert(folder, 16);
        }
        self.sessions += 1;
        self.synced += u64::from(c.synced);
        self.messages += c.messages;
        self.listed += c.listed;
        if let Some(b) = c.bytes {
            self.bytes = Some(self.bytes.unwrap_or(0) + b);
        }
        if c.mailbox_messages.is_some() {
            self.mailbox_messages = self.mailbox_messages.max(c.mailbox_messages);
        }
        let removed = d.expunged.unwrap_or(0).max(if f.proto == Some("pop3") {
            d.deleted.unwrap_or(0)
        } else {
            0
        });
        self.deleted_counted += removed;
        if c.messages > 0 || c.synced || c.listed > 0 {
            self.read.add(f.file, f.line);
            widen(&mut self.read_span, f.ts_us);
        }
        if removed > 0 {
            self.deletes.add(f.file, f.line);
            widen(&mut self.delete_span, f.ts_us);
        }
    }

    fn deleted(&self) -> u64 {
        self.deleted_lines.max(self.deleted_counted)
    }

    /// Adds another cell of the same mailbox and address (the same hour, or the next).
    fn merge(&mut self, c: &Cell) {
        let m = self;
        m.first = m.first.min(c.first);
        m.last = m.last.max(c.last);
        m.messages += c.messages;
        m.bytes = match (m.bytes, c.bytes) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        m.listed += c.listed;
        m.deleted_lines += c.deleted_lines;
        m.moved += c.moved;
        m.deleted_counted += c.deleted_counted;
        m.mailbox_messages = m.mailbox_messages.max(c.mailbox_messages);
        m.sessions += c.sessions;
        m.synced += c.synced;
        for f in c.folders.iter() {
            m.folders.insert(f, 16);
        }
        for f in c.deleted_from.iter() {
            m.deleted_from.insert(f, 16);
        }
        for a in c.actors.iter() {
            m.actors.insert(a, 4);
        }
        m.proto.0 = m.proto.0.or(c.proto.0);
        m.read.extend(&c.read);
        m.deletes.extend(&c.deletes);
        for t in [c.read_span.0, c.read_span.1] {
            if t != i64::MAX && t != i64::MIN {
                widen(&mut m.read_span, t);
            }
        }
        for t in [c.delete_span.0, c.delete_span.1] {
            if t != i64::MAX && t != i64::MIN {
                widen(&mut m.delete_span, t);
            }
        }
    }
}

/// When an account first used an address (`i64::MAX`: never): its first login, and its first
/// two session ends (two sessions make a client that had been there, not one visit).
#[derive(Debug, Clone, Copy)]
struct Seen {
    login: i64,
    ended: i64,
    ended2: i64,
    /// The day of the address's first session, when that session read `download_messages`
    /// or more (a bulk reader from its first contact: an attacker's download, or a new
    /// client's first full sync).
    heavy: Option<i64>,
}

impl Seen {
    const NEVER: Seen = Seen {
        login: i64::MAX,
        ended: i64::MAX,
        ended2: i64::MAX,
        heavy: None,
    };

    fn first(&self) -> i64 {
        self.login.min(self.ended)
    }

    fn session_ended(&mut self, at: i64) {
        if at < self.ended {
            self.ended2 = self.ended;
            self.ended = at;
        } else if at < self.ended2 {
            self.ended2 = at;
        }
    }
}

/// What one account did before: where from, and how much it read a day.
#[derive(Debug, Default)]
struct Known {
    /// Network → first time used.
    nets: FxHashMap<Box<str>, i64>,
    /// Address → when it was first seen, at most [`MAX_IPS`].
    ips: FxHashMap<Box<str>, Seen>,
    /// Day → address → messages read that day from that address (at most [`MAX_DAYS`]
    /// pairs; the earliest go first). Nested, so a lookup borrows the address.
    days: BTreeMap<i64, DayReads>,
    /// (Day, address) pairs in `days`.
    day_pairs: usize,
}

/// Most (day, address) pairs of reading remembered per account.
const MAX_DAYS: usize = 1600;

/// One day's reading of an account per address, in address order: a day holds one to three
/// addresses, so a sorted vector, not a tree node with room for eleven (one per account and
/// day, the baseline's largest part on a long log).
#[derive(Debug, Default)]
struct DayReads(Vec<(Box<str>, u64)>);

impl DayReads {
    /// Adds `n` messages from `ip`; whether `ip` is new that day.
    fn add(&mut self, ip: &str, n: u64) -> bool {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(ip)) {
            Ok(i) => {
                self.0[i].1 += n;
                false
            }
            Err(i) => {
                self.0.insert(i, (ip.into(), n));
                true
            }
        }
    }

    /// Forgets the first address.
    fn pop_first(&mut self) {
        if !self.0.is_empty() {
            self.0.remove(0);
        }
    }

    /// Addresses and messages, in address order.
    fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, n)| (&**k, *n))
    }
}

impl Known {
    /// Adds `n` messages read on `day` from `ip`.
    fn read_on(&mut self, day: i64, ip: &str, n: u64) {
        if self.days.entry(day).or_default().add(ip, n) {
            self.day_pairs += 1;
        }
        while self.day_pairs > MAX_DAYS {
            let Some(mut first) = self.days.first_entry() else {
                break;
            };
            first.get_mut().pop_first();
            self.day_pairs -= 1;
            if first.get().0.is_empty() {
                first.remove();
            }
        }
    }
}

/// A cell's protocol as its name (a set-aside burst, [`crate::detect::spill`]), read back as
/// the parser's own.
mod proto_name {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    const KNOWN: [&str; 12] = [
        "imap",
        "pop3",
        "http",
        "m365",
        "smtp",
        "lmtp",
        "managesieve",
        "ews",
        "owa",
        "activesync",
        "mapi",
        "submission",
    ];

    /// The protocol of a cell's sessions.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Proto(pub Option<&'static str>);

    impl Serialize for Proto {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for Proto {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Proto, D::Error> {
            let p = Option::<String>::deserialize(d)?;
            Ok(Proto(p.and_then(|p| KNOWN.into_iter().find(|k| *k == p))))
        }
    }
}

/// A run of consecutive hours of one mailbox from one address.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Burst {
    /// The mailbox.
    pub mailbox: String,
    /// The address (empty: not logged).
    pub ip: String,
    /// The cells, merged.
    pub cell: Cell,
    /// Distinct days of the cells.
    pub days: BTreeSet<i64>,
}

impl Burst {
    /// Messages read.
    pub fn messages(&self) -> u64 {
        self.cell.messages
    }
    /// Headers listed.
    pub fn listed(&self) -> u64 {
        self.cell.listed
    }
    /// Messages deleted.
    pub fn deleted(&self) -> u64 {
        self.cell.deleted()
    }
    /// Whole-folder synchronisations.
    pub fn synced(&self) -> u64 {
        self.cell.synced
    }
    /// Messages in the mailbox, when logged.
    pub fn mailbox_messages(&self) -> Option<u64> {
        self.cell.mailbox_messages
    }
    /// First time.
    pub fn first(&self) -> i64 {
        self.cell.first
    }
    /// Last time.
    pub fn last(&self) -> i64 {
        self.cell.last
    }
    /// Bytes read, when logged.
    pub fn bytes(&self) -> Option<u64> {
        self.cell.bytes
    }
    /// Sessions.
    pub fn sessions(&self) -> u64 {
        self.cell.sessions
    }
    /// The protocol of its sessions.
    pub fn proto(&self) -> Option<&'static str> {
        self.cell.proto.0
    }
    /// The lines that read mail.
    pub fn read_lines(&self) -> &EvidenceSet {
        &self.cell.read
    }
    /// The lines that deleted mail.
    pub fn delete_lines(&self) -> &EvidenceSet {
        &self.cell.deletes
    }

    fn merge(&mut self, c: &Cell) {
        self.cell.merge(c);
    }

    /// When it read (`reading`) or deleted mail: its first and last such line (the whole
    /// burst when it has none).
    pub fn span(&self, reading: bool) -> (i64, i64) {
        let c = &self.cell;
        let s = if reading { c.read_span } else { c.delete_span };
        if s.0 <= s.1 {
            s
        } else {
            (c.first, c.last)
        }
    }

    /// The record of what the burst did to the mailbox, for a finding that says it read
    /// (`reading`: messages, bytes, listed) or deleted (`!reading`: deleted): each finding
    /// counts its own part, so a report adding them up counts nothing twice.
    pub fn accessed(&self, how: &str, baseline: String, reading: bool) -> Accessed {
        let c = &self.cell;
        let actor = c
            .actors
            .iter()
            .find(|a| *a != self.mailbox)
            .map(str::to_string);
        Accessed {
            mailbox: self.mailbox.clone(),
            actor,
            sources: if self.ip.is_empty() {
                Vec::new()
            } else {
                vec![self.ip.clone()]
            },
            how: how.to_string(),
            first_seen: ts(self.span(reading).0),
            last_seen: ts(self.span(reading).1),
            messages: (reading && (c.messages > 0 || c.sessions > c.synced)).then_some(c.messages),
            bytes: c.bytes.filter(|_| reading),
            listed: (reading && c.listed > 0).then_some(c.listed),
            deleted: (!reading && self.deleted() > 0).then_some(self.deleted()),
            folders: if reading { &c.folders } else { &c.deleted_from }
                .iter()
                .map(str::to_string)
                .collect(),
            sessions: c.sessions,
            baseline: Some(baseline),
        }
    }
}

/// How a burst's address stands to its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// An earlier finding named the address an attacker (or the login a takeover).
    Attacker,
    /// The account had not used the address's network before.
    NewNetwork,
    /// The account's own network, a new address in it (a new phone on the office Wi-Fi).
    NewAddressOwnNetwork,
    /// An address the account used more than an hour before.
    Own,
    /// The log does not name the address.
    Unknown,
    /// The account has no earlier login or session in the evidence to compare with (the
    /// evidence starts here).
    NoHistory,
}

/// What the judges know about a burst.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The burst.
    pub burst: Burst,
    /// Its address's standing.
    pub standing: Standing,
    /// The account had been taken when the burst ended (an earlier finding says so).
    pub taken: bool,
    /// The most messages the account read on one earlier day (none: no earlier day).
    pub usual: Option<u64>,
    /// Distinct days (before and including this burst) this address read this mailbox in
    /// bulk: a schedule (a backup job) when several.
    pub recurring_days: usize,
    /// The baseline in words.
    pub baseline: String,
}

/// A cell's mailbox (empty: a webmail request's, named by its address's login), address
/// and hour.
type CellKey = (Box<str>, Box<str>, i64);

/// One rule's cells.
pub struct Accesses {
    /// The cells of the hours still open (boxed: the table moves small slots when it grows).
    cells: crate::detect::small::PairMap<Box<Cell>>,
    /// Cells of sealed hours worth judging: no fact adds to them any more, so they wait for
    /// the end in a plain vector, not in the table (a late fact for one of them starts a new
    /// cell of the same key, merged with it in [`Accesses::bursts`]).
    closed: Vec<(CellKey, Cell)>,
    /// Which facts this owner counts.
    wants: fn(&Fact) -> bool,
    /// Reads and deletions worth judging.
    t: Thresholds,
    /// Bursts judged early (at the cap of sealed cells) that were reported then: judged again
    /// at the end, with every finding.
    early: Vec<Burst>,
    /// The days each mailbox and address read in bulk in the bursts judged early (a schedule
    /// is judged with them at the end).
    early_days: BulkDays,
    /// Cells judged early.
    early_cells: u64,
    /// Bursts judged early that were not reported then: set aside on disk, and read back at
    /// the end only if a finding names their address, their account or one of its addresses
    /// the attacker's (the only way their verdict can change).
    early_spilled: crate::detect::spill::Spill,
    /// The cap of sealed cells ([`MAX_SEALED`]; lower in tests).
    max_sealed: usize,
}

/// Whether a rule reports a judged burst (its verdict, for the early judging at the cap).
pub type Reports<'a> = &'a dyn Fn(&Judged) -> bool;

/// What every account did, gathered once for the three rules ([`super::Shared`]): its
/// addresses and networks with their first login and first session end, the messages it read
/// per day and address, and each client address's latest logins.
#[derive(Debug)]
pub struct Baseline {
    /// Messages in a day that make an address a bulk reader (`download_messages`).
    bulk: u64,
    known: FxHashMap<Box<str>, Known>,
    /// Client address → its latest logins (time, account): a webmail request names no
    /// account, the login from its address does.
    logins_by_ip: FxHashMap<Box<str>, Vec<(i64, Box<str>)>>,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline::new(&Thresholds::default())
    }
}

/// Whether a cell read at least `download_messages` (or synced a folder) or deleted at least
/// `deletion_messages`.
pub fn worth_any(c: &Cell, t: &Thresholds) -> bool {
    c.messages + c.listed >= t.download_messages
        || c.synced > 0
        || c.deleted() >= t.deletion_messages
}

impl Baseline {
    /// Empty, with the bulk reading of `t`.
    pub fn new(t: &Thresholds) -> Baseline {
        Baseline {
            bulk: t.download_messages,
            known: FxHashMap::default(),
            logins_by_ip: FxHashMap::default(),
        }
    }

    /// Sees one fact: a login, or a session that read mail.
    pub fn observe(&mut self, f: &Fact) {
        match f.kind {
            Kind::AuthSuccess => {
                if let (Some(user), Some(ip)) = (f.actor(), f.src_ip()) {
                    self.learn(user, ip, f.ts_us, None);
                    self.remember_login(ip, user, f.ts_us);
                }
            }
            Kind::MailboxAccess => {
                let (Some(user), Some(ip)) = (f.mailbox().or(f.actor()), f.src_ip()) else {
                    return;
                };
                let read = counts(f).map_or(0, |c| c.0.messages);
                self.learn(user, ip, f.ts_us, Some(read));
            }
            _ => {}
        }
    }

    fn remember_login(&mut self, ip: &str, user: &str, at: i64) {
        if !self.logins_by_ip.contains_key(ip) && self.logins_by_ip.len() >= MAX_LOGIN_IPS {
            return;
        }
        let v = self.logins_by_ip.entry(ip.into()).or_default();
        if v.iter().any(|(t, u)| *t == at && &**u == user) {
            return;
        }
        v.push((at, user.into()));
        if v.len() > LOGINS_PER_IP {
            v.sort_unstable_by_key(|(t, _)| std::cmp::Reverse(*t));
            v.truncate(LOGINS_PER_IP);
        }
    }

    /// The account that logged in from `ip` last at or before `at` (a webmail session's
    /// login), else the first one within an hour after (the login line written late).
    fn login_at(&self, ip: &str, at: i64) -> Option<&str> {
        let v = self.logins_by_ip.get(ip)?;
        let before = v.iter().filter(|(t, _)| *t <= at).max_by_key(|(t, _)| *t);
        let after = || {
            v.iter()
                .filter(|(t, _)| *t > at && *t - at <= HOUR_US)
                .min_by_key(|(t, _)| *t)
        };
        before.or_else(after).map(|(_, u)| &**u)
    }

    fn learn(&mut self, user: &str, ip: &str, at: i64, access: Option<u64>) {
        let k = match self.known.get_mut(user) {
            Some(k) => k,
            None => self.known.entry(user.into()).or_default(),
        };
        let net = network(ip);
        match k.nets.get_mut(net) {
            Some(t) => *t = (*t).min(at),
            None => {
                k.nets.insert(net.into(), at);
            }
        }
        if !k.ips.contains_key(ip) && k.ips.len() < MAX_IPS {
            k.ips.insert(ip.into(), Seen::NEVER);
        }
        let bulk = self.bulk;
        if let Some(seen) = k.ips.get_mut(ip) {
            match access {
                Some(n) => {
                    // The earliest session decides: an owner who reads a little at a time
                    // reaches `download_messages` in a day, but did not start with a bulk read.
                    if at < seen.ended {
                        seen.heavy = (n >= bulk).then(|| at.div_euclid(DAY_US));
                    }
                    seen.session_ended(at);
                }
                None => seen.login = seen.login.min(at),
            }
        }
        if let Some(n) = access.filter(|n| *n > 0) {
            k.read_on(at.div_euclid(DAY_US), ip, n);
        }
    }
}

impl Accesses {
    /// The thresholds it was made with.
    pub fn thresholds(&self) -> &Thresholds {
        &self.t
    }

    /// Empty, counting the facts `wants` accepts.
    pub fn new(wants: fn(&Fact) -> bool, t: &Thresholds) -> Accesses {
        Accesses {
            cells: Default::default(),
            closed: Vec::new(),
            wants,
            t: t.clone(),
            early: Vec::new(),
            early_days: FxHashMap::default(),
            early_cells: 0,
            early_spilled: Default::default(),
            max_sealed: MAX_SEALED,
        }
    }

    /// The same, holding at most `n` sealed cells for the end (tests reach the cap with it).
    pub fn with_max_sealed(mut self, n: usize) -> Accesses {
        self.max_sealed = n.max(1);
        self
    }

    /// Sees one fact: an access or change it counts.
    pub fn observe(&mut self, f: &Fact) {
        if !matches!(f.kind, Kind::MailboxAccess | Kind::MailboxChange) || !(self.wants)(f) {
            return;
        }
        // A webmail request names no account: its address's login will ("" until then).
        let Some(mailbox) = f.mailbox().or(f.actor()).or(f.src_ip().map(|_| "")) else {
            return;
        };
        let Some(cd) = counts(f) else {
            return;
        };
        let (c, d) = &*cd;
        let ip = f.src_ip().unwrap_or("");
        let hour = f.ts_us.div_euclid(HOUR_US);
        let key = crate::detect::small::Borrowed(mailbox, ip, hour);
        crate::detect::small::pair_entry(&mut self.cells, key, || Box::new(Cell::new(f.ts_us)))
            .add(f, c, d);
        if self.cells.len() > MAX_CELLS {
            // Too many at once: fold every small cell now, whatever its hour, and set the
            // others aside.
            self.close(i64::MAX);
        }
    }

    /// Folds the cells of hours before `before` (hour since the epoch, exclusive, minus one
    /// hour a burst may still grow into) that are not worth judging; sets the rest aside. When
    /// more than [`MAX_SEALED`] are set aside, the oldest half is judged now, with the
    /// baseline as it is (it holds everything before them already) but without the attackers
    /// that findings name only at the end: the bursts `reports` then are kept and judged again
    /// at the end; the others go to a temporary file ([`crate::detect::spill`]) and come
    /// back at the end only if the attackers touch them, so the findings are those of judging
    /// everything at the end (a file that cannot be written is reported: [`Accesses::limits`]).
    pub fn seal(&mut self, before: i64, base: &Baseline, reports: Reports) {
        self.close(before.saturating_sub(1));
        if self.closed.len() > self.max_sealed {
            self.judge_early(base, reports);
        }
    }

    /// Judges the oldest half of the sealed cells (see [`Accesses::seal`]). A burst that
    /// goes on past them (a cell of the same mailbox and address in the first hour left) waits
    /// whole.
    fn judge_early(&mut self, base: &Baseline, reports: Reports) {
        let mut hours: Vec<i64> = self.closed.iter().map(|((_, _, h), _)| *h).collect();
        let mid = hours.len() / 2;
        let cutoff = *hours.select_nth_unstable(mid).1;
        let cells = std::mem::take(&mut self.closed);
        let (old, mut rest): (Vec<_>, Vec<_>) =
            cells.into_iter().partition(|((_, _, h), _)| *h < cutoff);
        // The run of consecutive hours up to the cutoff of each mailbox and address that
        // has a cell in the cutoff's hour: its first hour.
        let held: rustc_hash::FxHashSet<(&str, &str, i64)> = old
            .iter()
            .map(|((m, ip, h), _)| (&**m, &**ip, *h))
            .collect();
        let going_on: FxHashMap<(&str, &str), i64> = rest
            .iter()
            .filter(|((_, _, h), _)| *h == cutoff)
            .map(|((m, ip, _), _)| {
                let mut from = cutoff;
                while held.contains(&(&**m, &**ip, from - 1)) {
                    from -= 1;
                }
                ((&**m, &**ip), from)
            })
            .collect();
        let (old, wait): (Vec<_>, Vec<_>) = old.into_iter().partition(|((m, ip, h), _)| {
            going_on.get(&(&**m, &**ip)).is_none_or(|from| *h < *from)
        });
        rest.extend(wait);
        self.closed = rest;
        self.early_cells += old.len() as u64;
        let bursts = bursts_of(old, base);
        add_bulk_days(&mut self.early_days, &bursts, &self.t);
        let nobody = Taken::default();
        for b in bursts {
            let j = judged(b, base, &nobody, &self.early_days);
            if reports(&j) {
                self.early.push(j.burst);
            } else {
                self.early_spilled.put(&j.burst);
            }
        }
    }

    /// Cells judged early, and bursts of them set aside on disk.
    #[cfg(test)]
    pub fn judged_early(&self) -> (u64, u64) {
        (self.early_cells, self.early_spilled.written)
    }

    /// What the cap of sealed cells lost on this input: only bursts that could not be set
    /// aside on disk (or read back).
    pub fn limits(&self, rule: &'static str) -> Vec<super::Limit> {
        let s = &self.early_spilled;
        if s.lost == 0 {
            return Vec::new();
        }
        vec![super::Limit {
            rule,
            what: format!(
                "{} burst(s) of mailbox access judged early at the cap of {} sealed hours held and not reported then could not be set aside ({}): a finding at the end that names their address or account the attacker's was not applied to them",
                s.lost,
                self.max_sealed,
                s.error.as_deref().unwrap_or("unknown error")
            ),
        }]
    }

    /// Takes the cells of hours before `limit` out of the table: those worth judging go to
    /// [`Accesses::closed`], the others are dropped.
    fn close(&mut self, limit: i64) {
        let t = &self.t;
        for (key, cell) in self.cells.extract_if(|(_, _, hour), _| *hour < limit) {
            if worth_any(&cell, t) {
                let mut cell = *cell;
                // Moves pair a copy and an expunge within an open cell only.
                cell.copied = Default::default();
                self.closed.push((key, cell));
            }
        }
    }

    /// The bursts of the cells still held, in time order.
    fn bursts(&mut self, base: &Baseline) -> Vec<Burst> {
        // In place, in the list the sealed cells already fill: on a long log it holds most of
        // the rule's memory, and a copy of it would double the peak at the end.
        let mut cells = std::mem::take(&mut self.closed);
        cells.extend(
            std::mem::take(&mut self.cells)
                .into_iter()
                .map(|(k, c)| (k, *c)),
        );
        bursts_of(cells, base)
    }

    /// Every burst with what is known of it, given the findings of the rules before.
    pub fn judge(&mut self, earlier: &[Finding], base: &Baseline) -> Vec<Judged> {
        let attackers = Taken::of(earlier);
        let mut bursts = std::mem::take(&mut self.early);
        bursts.extend(self.bursts(base));
        if self.early_spilled.written > 0 {
            // Bursts judged early and set aside: only those the attackers touch can be judged
            // otherwise now (their address, their account, or an address of the account that
            // vouched or counted towards its usual reading).
            let touched: rustc_hash::FxHashSet<&str> = base
                .known
                .iter()
                .filter(|(_, k)| {
                    k.ips.keys().any(|ip| attackers.ip(ip))
                        || k.days
                            .values()
                            .flat_map(DayReads::iter)
                            .any(|(ip, _)| attackers.ip(ip))
                })
                .map(|(account, _)| &**account)
                .collect();
            bursts.extend(self.early_spilled.take(|b: &Burst| {
                attackers.ip(&b.ip)
                    || attackers.account(&b.mailbox, b.cell.last)
                    || touched.contains(b.mailbox.as_str())
            }));
        }
        bursts.sort_by(|a, b| {
            (a.cell.first, &a.mailbox, &a.ip).cmp(&(b.cell.first, &b.mailbox, &b.ip))
        });
        // Days on which an address read a mailbox in bulk (a schedule when several): those
        // of the bursts judged early too.
        let mut bulk_days = std::mem::take(&mut self.early_days);
        add_bulk_days(&mut bulk_days, &bursts, &self.t);
        bursts
            .into_iter()
            .map(|b| judged(b, base, &attackers, &bulk_days))
            .collect()
    }
}

/// Days each mailbox and address read in bulk (`download_messages` or more): adds those of
/// `bursts` (several such days are a schedule).
type BulkDays = FxHashMap<(String, String), BTreeSet<i64>>;

fn add_bulk_days(days: &mut BulkDays, bursts: &[Burst], t: &Thresholds) {
    for b in bursts
        .iter()
        .filter(|b| b.messages() >= t.download_messages)
    {
        days.entry((b.mailbox.clone(), b.ip.clone()))
            .or_default()
            .extend(b.days.iter().copied());
    }
}

/// A burst with what is known of it: its address's standing, the account's usual day, the
/// days its address read the mailbox in bulk.
fn judged(b: Burst, base: &Baseline, attackers: &Taken, bulk_days: &BulkDays) -> Judged {
    let k = base.known.get(b.mailbox.as_str());
    let standing = standing(&b, k, attackers);
    let usual = k.and_then(|k| usual_day(k, &b, attackers));
    let recurring_days = bulk_days
        .get(&(b.mailbox.clone(), b.ip.clone()))
        .map_or(0, BTreeSet::len);
    let baseline = baseline_words(&b, k, standing, usual);
    Judged {
        taken: attackers.account(&b.mailbox, b.cell.last),
        burst: b,
        standing,
        usual,
        recurring_days,
        baseline,
    }
}

/// The bursts of `cells`: cells of one mailbox and address in consecutive hours, merged, in
/// time order.
fn bursts_of(mut cells: Vec<(CellKey, Cell)>, base: &Baseline) -> Vec<Burst> {
    // Webmail cells go to the account of their address's login (none known: dropped,
    // there is no mailbox to name).
    cells.retain_mut(|((mailbox, ip, _), cell)| {
        if !mailbox.is_empty() {
            return true;
        }
        match base.login_at(ip, cell.first) {
            Some(user) => {
                *mailbox = user.into();
                true
            }
            None => false,
        }
    });
    // Cells of one key (a webmail cell and the account's own, a late fact's) merge in
    // time order, whatever the order they were held in.
    cells.sort_by(|a, b| (&a.0, a.1.first).cmp(&(&b.0, b.1.first)));
    cells.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1.merge(&next.1);
        }
        same
    });
    let mut out: Vec<Burst> = Vec::new();
    let mut prev: Option<(Box<str>, Box<str>, i64)> = None;
    for ((mailbox, ip, hour), cell) in cells {
        let day = cell.first.div_euclid(DAY_US);
        let joins = prev
            .as_ref()
            .is_some_and(|(m, i, h)| *m == mailbox && *i == ip && hour - h <= 1);
        match out.last_mut() {
            Some(b) if joins => {
                b.merge(&cell);
                b.days.insert(day);
            }
            _ => out.push(Burst {
                mailbox: mailbox.to_string(),
                ip: ip.to_string(),
                cell,
                days: BTreeSet::from([day]),
            }),
        }
        prev = Some((mailbox, ip, hour));
    }
    out.sort_by(|a, b| (a.cell.first, &a.mailbox, &a.ip).cmp(&(b.cell.first, &b.mailbox, &b.ip)));
    out
}

/// The most messages the account read on one day up to the burst's — on that day only from
/// other addresses than the burst's own (so a burst never raises its own bar, and the owner's
/// reading earlier that day counts) — counting only addresses that vouch ([`trusted`]): not
/// what attackers, or an untrusted bulk reader, read.
fn usual_day(k: &Known, b: &Burst, attackers: &Taken) -> Option<u64> {
    let day = b.first().div_euclid(DAY_US);
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let read = k
        .days
        .range(..=day)
        .flat_map(|(d, per_ip)| per_ip.iter().map(move |(from, n)| (d, from, n)));
    for (d, from, n) in read {
        // On the burst's day, only addresses established when it began (two sessions, or a
        // day old): the attacker's first visit is no one's usual reading.
        let vouched = || {
            k.ips.get(from).is_some_and(|t| {
                (*d < day || t.ended2 < b.first() || t.first() < b.first() - DAY_US)
                    && trusted(from, t, b.first(), &b.ip, attackers)
            })
        };
        if attackers.ip(from) || (*d == day && from == b.ip) || !vouched() {
            continue;
        }
        *per_day.entry(*d).or_default() += n;
    }
    per_day.into_values().max()
}

fn standing(b: &Burst, k: Option<&Known>, attackers: &Taken) -> Standing {
    if b.ip.is_empty() {
        return Standing::Unknown;
    }
    if attackers.ip(&b.ip) {
        return Standing::Attacker;
    }
    let start = b.first();
    let Some(k) = k.filter(|k| {
        k.ips
            .iter()
            .any(|(ip, s)| s.ended < start || (**ip != *b.ip && s.login < start))
    }) else {
        return Standing::NoHistory;
    };
    let net = network(&b.ip);
    let day_old = |s: &Seen| s.first() < start - DAY_US;
    // An address vouches for itself or its network only when it is not an attacker's and
    // it did not itself read in bulk before (the attacker's first address), unless that was
    // more than a week earlier (the owner's first full sync); for its network, only after two
    // sessions or a day (one visit of the attacker's first address makes no "own network" of
    // its /24).
    let trusted = |ip: &str, s: &Seen| trusted(ip, s, start, &b.ip, attackers);
    if k.ips
        .get(b.ip.as_str())
        .is_some_and(|s| (s.ended < start || day_old(s)) && trusted(&b.ip, s))
    {
        return Standing::Own;
    }
    let other_address_before = k.ips.iter().any(|(ip, s)| {
        **ip != *b.ip && network(ip) == net && (s.ended2 < start || day_old(s)) && trusted(ip, s)
    });
    if other_address_before {
        Standing::NewAddressOwnNetwork
    } else {
        Standing::NewNetwork
    }
}

/// Whether address `ip` (first seen `seen`) vouches for itself or its network
/// for a burst from `own` starting at `start`: not an attacker's, and its first session did
/// not read `bulk` messages or more (before the burst's day for the burst's own address, up to
/// it for the others) unless it was first used more than a week before.
fn trusted(ip: &str, seen: &Seen, start: i64, own: &str, attackers: &Taken) -> bool {
    let day = start.div_euclid(DAY_US);
    let last = if ip == own { day - 1 } else { day };
    let heavy = seen.heavy.is_some_and(|h| h <= last);
    !attackers.ip(ip) && (seen.first() < start - 7 * DAY_US || !heavy)
}

fn baseline_words(b: &Burst, k: Option<&Known>, s: Standing, usual: Option<u64>) -> String {
    let nets = k.map_or(0, |k| {
        k.nets
            .iter()
            .filter(|(n, t)| **t < b.first() && &***n != network(&b.ip))
            .count()
    });
    let place = match s {
        Standing::Attacker => "an address earlier findings name as the attacker's".to_string(),
        Standing::NewNetwork => format!(
            "a network {} had not used before ({nets} other network(s) earlier)",
            b.mailbox
        ),
        Standing::NewAddressOwnNetwork => {
            format!("a new address on a network {} used before", b.mailbox)
        }
        Standing::Own => format!("an address {} used before", b.mailbox),
        Standing::Unknown => "an address the log does not name".to_string(),
        Standing::NoHistory => format!(
            "no earlier login or session of {} in the evidence to compare with",
            b.mailbox
        ),
    };
    let volume = match usual {
        Some(n) => format!("at most {n} message(s) read in one day from its other sources"),
        None => "no earlier reading in the evidence".to_string(),
    };
    format!("{place}; {volume}")
}

#[cfg(test)]
pub mod tests {
    //! Builders of access facts for the rules' tests.
    use super::*;

    /// A fact of `kind` at `secs`: `mailbox` (empty: none, as a webmail request) from `ip`
    /// (empty: none) by `proto`, with the structured detail `d`; its line is `secs`.
    pub fn fact(
        kind: Kind,
        secs: i64,
        ip: &str,
        mailbox: &str,
        proto: &'static str,
        d: Detail,
    ) -> Fact {
        let text = d.to_text();
        let some = |s: &str| (!s.is_empty()).then_some(s.to_string());
        let (ip, mailbox) = (some(ip), some(mailbox));
        Fact::new(
            crate::detect::rules::tests::T0 + secs * 1_000_000,
            kind,
            Some(proto),
            [
                ip.as_deref(),
                mailbox.as_deref(),
                mailbox.as_deref(),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(&text),
            ],
            0,
            secs as u64,
        )
    }

    /// An access fact: what `mailbox` read from `ip` at `secs` by `proto` (the counts in `d`).
    pub fn access(secs: i64, ip: &str, mailbox: &str, proto: &'static str, d: Detail) -> Fact {
        fact(Kind::MailboxAccess, secs, ip, mailbox, proto, d)
    }

    #[test]
    fn a_days_reading_keeps_its_addresses_in_order_and_the_earliest_pairs_go_first() {
        let mut k = Known::default();
        for (day, ip, n) in [
            (2, "192.0.2.9", 5),
            (2, "10.0.0.1", 3),
            (1, "192.0.2.9", 1),
            (2, "10.0.0.1", 4),
        ] {
            k.read_on(day, ip, n);
        }
        let pairs: Vec<(i64, &str, u64)> = k
            .days
            .iter()
            .flat_map(|(d, r)| r.iter().map(move |(ip, n)| (*d, ip, n)))
            .collect();
        assert_eq!(
            pairs,
            [(1, "192.0.2.9", 1), (2, "10.0.0.1", 7), (2, "192.0.2.9", 5)]
        );
        assert_eq!(k.day_pairs, 3);
        for i in 0..MAX_DAYS {
            k.read_on(3 + i as i64, "198.51.100.1", 1);
        }
        assert_eq!(k.day_pairs, MAX_DAYS);
        assert_eq!(
            k.days.keys().next(),
            Some(&3),
            "days 1 and 2 forgotten first"
        );
    }

    /// A session's end counters.
    pub fn session(messages: u64, bytes: u64, listed: u64, expunged: u64) -> Detail {
        Detail {
            action: Some("session".into()),
            messages: Some(messages),
            bytes: Some(bytes),
            listed: Some(listed),
            expunged: Some(expunged),
            ..Detail::default()
        }
    }
}
