//! Message correlation: the login that submitted a message, carried to the message's later
//! events.
//!
//! Postfix logs the login once (`QID: client=…, sasl_username=alice`), Exim on the arrival line
//! (`ID <= … A=login:alice`, or `U=www-data P=local` for a program's submission); Sendmail logs
//! a session's login on its own line (`AUTH=server, … authid=alice`, no queue id) and the
//! session's messages later from the same process (`QID: from=…, proto=ESMTPA`), so the login
//! is carried from the process (host, pid) to those messages; a submission agent's hand-over
//! (`stat=Sent (QID2 Message accepted for delivery)`) carries a known submitter to the MTA's
//! queue id. The `message_received`,
//! `message_queued` and `delivery`/`forwarded` events of that queue or message id get `actor`
//! filled from it, so a detector can say *which login sent what*; a delivery's `mailbox` is
//! left alone (the receiver did nothing). The reader thread learns the bindings from each chunk
//! *before* the chunk is handed to a parser thread (a cheap `memmem` scan for the markers
//! above), so parallel parsers see every binding made earlier in the file; a parser sees the
//! tables as they stood once its own chunk was learned, whatever the reader has learned since
//! ([`super::aged`]), so a run's events do not depend on thread timing. Files are processed
//! in chronological order, so a message received before midnight and delivered after rotation
//! is still joined. Memory is bounded and small: a queue id is kept as a 64-bit hash and its
//! login as an index into the logins seen (each kept once, at most [`NAMES`]), about 30 bytes
//! a message; at most [`CAPACITY`] queue ids and [`SESSIONS`] sessions are remembered, the
//! oldest forgotten first. A Dovecot or OpenSMTPD session is forgotten when it ends (its
//! disconnect or session-end line, [`Binding::SessionEnd`]), a message when its MTA says it
//! left the queue (Postfix `removed`, Exim `Completed`: [`Binding::MessageGone`]); the ending
//! line's own chunk still sees it. So the tables hold the sessions open and the messages
//! queued, not the last [`SMTPD_SESSIONS`] sessions and [`CAPACITY`] messages ever seen
//! (Sendmail, Courier and qmail log no such end: their queue ids wait for the cap).
//!
//! Dovecot 2.3 and later name the client only on the login line (`imap-login: Login: …,
//! rip=…, session=<ID>`); the mail process's later lines (session end with its counters,
//! `mail_log` lines) name the session id (`imap(u)<pid><ID>`). The joiner keeps the address
//! per session id (in the OpenSMTPD session table below) and fills it into those events.
//!
//! OpenSMTPD (6.4 and later) names the client only on a session's `smtp connected address=…`
//! line; every later line names the session id ([`Event::session`]). The joiner remembers, per
//! session id, the address, the login once `authentication … result=ok`, and how far the
//! session went (AUTH, MAIL, RCPT, a message, a protocol error), at most [`SMTPD_SESSIONS`]
//! sessions, about 40 bytes each. It fills the address of the session's later events and the
//! login of its `message_received` / `message_queued` events; the message id learns the login
//! from the session, so the `mta`/`mda delivery` events get it on their queue id. The end of a
//! session is normalised the way other daemons log it: a session that ended (`reason=quit`)
//! without any AUTH, MAIL, RCPT, VRFY/EXPN or protocol error is `lost_connection` with detail
//! `no mail command (reason=quit)` (Sendmail's `did not issue MAIL/EXPN/VRFY/ETRN`), a dropped
//! session's detail names its last stage (`after AUTH (reason=disconnect)`), and the end of a
//! session whose only act was a protocol error is a `disconnect` (the `protocol_error` counts
//! it). Successful MAIL and RCPT commands are not logged by OpenSMTPD: a session that gave them
//! and quit before DATA looks empty.
//!
//! OpenSMTPD refuses a relay attempt and an unknown local user with the same `550 Invalid
//! recipient`. The joiner learns, in file order, the domains the host delivered into local
//! mailboxes (`mda delivery` recipients); a refused RCPT of an unauthenticated session is
//! `relay_denied` when the host has delivered locally before the line and never to the
//! recipient's domain, else `recipient_unknown`. The verdict is made when the reader thread
//! learns the line (file order, so it does not depend on how chunks meet parser threads) and
//! kept per session and recipient (at most [`SMTPD_VERDICTS`]). Limits: an unknown user of a
//! local domain that has had no local delivery yet reads as a relay attempt, and every refusal
//! before the first local delivery as an unknown user.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::aged::Aged;
use crate::events::record::{Event, Kind};

/// Most OpenSMTPD sessions remembered at once (the parser threads may be a few dozen 4 MiB
/// chunks behind the reader, some thousands of sessions each).
pub const SMTPD_SESSIONS: usize = 1 << 18;

/// Most relay verdicts (refused RCPTs judged to be relay attempts) remembered.
pub const SMTPD_VERDICTS: usize = 1 << 16;

/// Most local domains remembered.
pub const LOCAL_DOMAINS: usize = 4096;

/// How far an OpenSMTPD session went (bits of [`Smtpd::stage`]).
mod stage {
    pub const AUTH: u8 = 1;
    pub const MAIL: u8 = 2;
    pub const RCPT: u8 = 4;
    pub const DATA: u8 = 8;
    /// VRFY, EXPN, another refused command: the session did something with an event.
    pub const OTHER: u8 = 16;
    /// A protocol error (its own `protocol_error` event counts the session).
    pub const PROTO: u8 = 32;
}

/// What is known of one OpenSMTPD session.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Smtpd {
    ip: Option<std::net::IpAddr>,
    /// Index into the logins, `u32::MAX` for none.
    login: u32,
    stage: u8,
}

impl Default for Smtpd {
    fn default() -> Self {
        Smtpd {
            ip: None,
            login: u32::MAX,
            stage: 0,
        }
    }
}

/// Most queue ids remembered at once: the submissions of days on a busy server (an
/// Internet-facing MX with 3,000 mailboxes submits about 65,000 messages a day), so a
/// delivery retried days later still finds its submitter, in about 8 MB.
pub const CAPACITY: usize = 1 << 18;

/// Most distinct logins remembered (beyond, new logins are not joined).
pub const NAMES: usize = 1 << 20;

/// Remembers `queue id → login`.
///
/// The reader thread learns chunk after chunk ahead of the parser threads; the tables a parser
/// reads are [`Aged`], so a parser sees them as they stood once its chunk was learned (its
/// *generation*, [`Joiner::begin`]) however far ahead the reader is: the same input gives the
/// same events on every run.
#[derive(Debug)]
pub struct Joiner {
    /// Chunks learned so far (the generation of the chunk being learned).
    gen: u32,
    /// Hash of a queue id → index into `names`.
    users: Aged<u32>,
    /// Every login once, and where.
    names: Vec<std::sync::Arc<str>>,
    index: FxHashMap<std::sync::Arc<str>, u32>,
    /// `(host, pid) → login` of SMTP sessions that logged the login apart from their
    /// messages (Sendmail), at most [`SESSIONS`].
    sessions: FxHashMap<(Box<str>, u32), String>,
    session_order: VecDeque<(Box<str>, u32)>,
    /// OpenSMTPD session id → what is known of the session, at most [`SMTPD_SESSIONS`].
    smtpd: Aged<Smtpd>,
    /// Refused RCPTs (session and recipient) judged relay attempts.
    verdicts: Aged<()>,
    /// Domains mail was delivered to locally (OpenSMTPD `mda delivery`).
    local_domains: rustc_hash::FxHashSet<Box<str>>,
}

/// What one line tells the joiner, in the order the lines came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Message `qid` was submitted by `actor` (Postfix `sasl_username`, Exim `A=`/`U=`,
    /// Sendmail's submission agent).
    Message { qid: String, actor: String },
    /// The SMTP session of process `pid` on `host` logged in as `actor` (Sendmail `AUTH=`).
    Session {
        host: String,
        pid: u32,
        actor: String,
    },
    /// Message `qid` was received, authenticated, by the session of `pid` on `host`.
    FromSession { host: String, pid: u32, qid: String },
    /// Message `from` was handed on as message `to` (`stat=Sent (QID2 Message accepted …)`).
    HandOver { from: String, to: String },
    /// OpenSMTPD session `sid` connected from `ip` (none: the local enqueuer).
    SmtpdConnect { sid: String, ip: Option<String> },
    /// OpenSMTPD session `sid` logged in as `actor`.
    SmtpdLogin { sid: String, actor: String },
    /// OpenSMTPD session `sid` reached a stage ([`stage`] bits).
    SmtpdStage { sid: String, stage: u8 },
    /// OpenSMTPD session `sid` had `rcpt` refused as unknown (a relay attempt, or not).
    SmtpdRefused { sid: String, rcpt: String },
    /// OpenSMTPD session `sid` submitted message `msgid`.
    SmtpdMessage { sid: String, msgid: String },
    /// Mail for `domain` was delivered into a local mailbox (OpenSMTPD `mda delivery`).
    LocalDomain { domain: String },
    /// A Dovecot login opened mail session `sid` from `ip`.
    MailSession { sid: String, ip: String },
    /// Dovecot mail session or OpenSMTPD session `sid` ended: no later line names it.
    SessionEnd { sid: String },
    /// The MTA let go of message `qid` for good ([`crate::events::message_gone`]).
    MessageGone { qid: String },
}

/// The OpenSMTPD binding an event states, if any.
fn smtpd_binding(e: &Event, sid: &str) -> Option<Binding> {
    let sid = sid.to_string();
    let staged = |stage: u8| {
        Some(Binding::SmtpdStage {
            sid: sid.clone(),
            stage,
        })
    };
    match e.kind {
        Kind::Connect => Some(Binding::SmtpdConnect {
            sid: sid.clone(),
            ip: e.src_ip.as_deref().map(str::to_string),
        }),
        Kind::AuthSuccess => Some(Binding::SmtpdLogin {
            sid: sid.clone(),
            actor: e.actor.as_deref()?.to_string(),
        }),
        Kind::AuthFailure => staged(stage::AUTH),
        Kind::MessageReceived => Some(Binding::SmtpdMessage {
            sid: sid.clone(),
            msgid: e.queue_id.as_deref()?.to_string(),
        }),
        Kind::RecipientUnknown => Some(Binding::SmtpdRefused {
            sid: sid.clone(),
            rcpt: e.recipient.as_deref()?.to_string(),
        }),
        Kind::ProtocolError => staged(stage::PROTO),
        Kind::Disconnect | Kind::LostConnection => Some(Binding::SessionEnd { sid: sid.clone() }),
        Kind::Reject if e.sender.is_some() => staged(stage::MAIL),
        Kind::Reject if e.recipient.is_some() => staged(stage::RCPT),
        Kind::Reject | Kind::Vrfy | Kind::Expn | Kind::RelayDenied => staged(stage::OTHER),
        _ => None,
    }
}

impl Binding {
    /// The binding an event states, if any.
    pub fn of(e: &Event) -> Option<Binding> {
        if let Some(sid) = e.session.as_deref() {
            if is_mail_session(e) {
                return match (e.kind, e.src_ip.as_deref()) {
                    (Kind::AuthSuccess, Some(ip)) => Some(Binding::MailSession {
                        sid: sid.into(),
                        ip: ip.into(),
                    }),
                    // The session's end: its counters, or a disconnect without them.
                    (Kind::MailboxAccess | Kind::Disconnect | Kind::LostConnection, _) => {
                        Some(Binding::SessionEnd { sid: sid.into() })
                    }
                    _ => None,
                };
            }
            return smtpd_binding(e, sid);
        }
        if e.kind == Kind::Delivery && e.service == "smtpd" && e.relay.as_deref() == Some("local") {
            let domain = e.recipient.as_deref()?.rsplit_once('@')?.1;
            return Some(Binding::LocalDomain {
                domain: domain.to_ascii_lowercase(),
            });
        }
        let host = || e.log_host.as_deref().unwrap_or("").to_string();
        match (e.kind, e.queue_id.as_deref(), e.actor.as_deref()) {
            (Kind::MessageReceived, Some(q), Some(u)) => Some(Binding::Message {
                qid: q.into(),
                actor: u.into(),
            }),
            (Kind::AuthSuccess, None, Some(u)) => Some(Binding::Session {
                host: host(),
                pid: e.pid?,
                actor: u.into(),
            }),
            (Kind::MessageReceived, Some(q), None) => Some(Binding::FromSession {
                host: host(),
                pid: e.pid?,
                qid: q.into(),
            }),
            (Kind::Delivery, Some(q), None) => {
                let to = e
                    .detail
                    .as_deref()?
                    .split_once("Sent (")?
                    .1
                    .split(' ')
                    .next()?;
                Some(Binding::HandOver {
                    from: q.into(),
                    to: to.into(),
                })
            }
            _ => None,
        }
    }
}

/// Most open sessions remembered at once.
pub const SESSIONS: usize = 1 << 16;

impl Default for Joiner {
    fn default() -> Self {
        Joiner {
            gen: 0,
            users: Aged::new(CAPACITY),
            names: Vec::new(),
            index: FxHashMap::default(),
            sessions: FxHashMap::default(),
            session_order: VecDeque::new(),
            smtpd: Aged::new(SMTPD_SESSIONS),
            verdicts: Aged::new(SMTPD_VERDICTS),
            local_domains: Default::default(),
        }
    }
}

impl Joiner {
    /// Starts learning the next chunk and returns its generation; `in_flight` is how many
    /// chunks before it parsers may still hold (what only older ones could see is dropped).
    pub fn begin(&mut self, in_flight: u32) -> u32 {
        self.gen = self.gen.saturating_add(1);
        let oldest = self.gen.saturating_sub(in_flight);
        self.users.prune(oldest);
        self.smtpd.prune(oldest);
        self.verdicts.prune(oldest);
        self.gen
    }

    /// Remembers that `qid` was submitted by `user`.
    pub fn learn(&mut self, qid: &str, user: &str) {
        let Some(name) = self.intern(user) else {
            return;
        };
        self.users.put(key(qid), name, self.gen);
    }

    /// Applies what one line told (see [`Binding`]).
    pub fn bind(&mut self, b: Binding) {
        let known = match b {
            Binding::Message { qid, actor } => Some((qid, actor)),
            Binding::Session { host, pid, actor } => {
                self.learn_session(&host, pid, &actor);
                None
            }
            Binding::FromSession { host, pid, qid } => {
                self.session(&host, pid).map(|u| (qid, u.to_string()))
            }
            Binding::HandOver { from, to } => self.live_user(&from).map(|u| (to, u.to_string())),
            Binding::SmtpdConnect { sid, ip } => {
                let s = self.smtpd_entry(&sid);
                s.ip = ip.and_then(|ip| ip.parse().ok());
                None
            }
            Binding::SmtpdLogin { sid, actor } => {
                let login = self.intern(&actor).unwrap_or(u32::MAX);
                let s = self.smtpd_entry(&sid);
                s.login = login;
                s.stage |= stage::AUTH;
                None
            }
            Binding::SmtpdStage { sid, stage } => {
                self.smtpd_entry(&sid).stage |= stage;
                None
            }
            Binding::SmtpdRefused { sid, rcpt } => {
                let s = *self.smtpd_entry(&sid);
                self.smtpd_entry(&sid).stage |= stage::RCPT;
                let outside = rcpt
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| !self.local_domains.contains(&*d.to_ascii_lowercase()));
                if s.login == u32::MAX && !self.local_domains.is_empty() && outside {
                    self.verdicts.put(verdict_key(&sid, &rcpt), (), self.gen);
                }
                None
            }
            Binding::SmtpdMessage { sid, msgid } => {
                let s = self.smtpd_entry(&sid);
                s.stage |= stage::DATA;
                let login = s.login;
                self.names
                    .get(login as usize)
                    .map(|n| (msgid, n.to_string()))
            }
            Binding::MailSession { sid, ip } => {
                self.smtpd_entry(&sid).ip = ip.parse().ok();
                None
            }
            Binding::SessionEnd { sid } => {
                self.smtpd.forget(key_of_session(&sid), self.gen);
                None
            }
            Binding::MessageGone { qid } => {
                self.users.forget(key(&qid), self.gen);
                None
            }
            Binding::LocalDomain { domain } => {
                if self.local_domains.len() < LOCAL_DOMAINS {
                    self.local_domains.insert(domain.into());
                }
                None
            }
        };
        if let Some((qid, actor)) = known {
            self.learn(&qid, &actor);
        }
    }

    /// Remembers that the SMTP session of process `pid` on `host` logged in as `user`
    /// (a later login of the same process replaces it).
    pub fn learn_session(&mut self, host: &str, pid: u32, user: &str) {
        let key = (Box::from(host), pid);
        if self
            .sessions
            .insert(key.clone(), user.to_string())
            .is_none()
        {
            self.session_order.push_back(key);
            if self.session_order.len() > SESSIONS {
                if let Some(old) = self.session_order.pop_front() {
                    self.sessions.remove(&old);
                }
            }
        }
    }

    /// The login of the SMTP session of process `pid` on `host`, if it logged in.
    pub fn session(&self, host: &str, pid: u32) -> Option<&str> {
        self.sessions
            .get(&(Box::from(host), pid))
            .map(String::as_str)
    }

    /// The entry of OpenSMTPD session `sid`, made if new (the oldest forgotten beyond
    /// [`SMTPD_SESSIONS`]).
    fn smtpd_entry(&mut self, sid: &str) -> &mut Smtpd {
        self.smtpd.entry(key_of_session(sid), self.gen)
    }

    /// Fills an OpenSMTPD session event from what its session told earlier (see the module
    /// documentation): the address, the login of its messages, how the session ended, and
    /// whether a refused recipient was a relay attempt.
    fn fill_smtpd(&self, sid: &str, e: &mut Event, g: u32) {
        let Some(s) = self.smtpd.get(key_of_session(sid), g) else {
            return;
        };
        if e.src_ip.is_none() {
            e.src_ip = s.ip.map(|ip| ip.to_string().into());
        }
        if e.actor.is_none() && matches!(e.kind, Kind::MessageReceived | Kind::MessageQueued) {
            e.actor = self
                .names
                .get(s.login as usize)
                .map(|n| n.to_string().into());
        }
        let reason = e.detail.as_deref().unwrap_or("").to_string();
        let acted = s.stage & !stage::PROTO;
        match e.kind {
            Kind::RecipientUnknown => {
                let relay = e
                    .recipient
                    .as_deref()
                    .is_some_and(|r| self.verdicts.get(verdict_key(sid, r), g).is_some());
                if relay {
                    e.kind = Kind::RelayDenied;
                }
            }
            Kind::Disconnect | Kind::LostConnection
                if acted == 0 && s.stage & stage::PROTO != 0 =>
            {
                e.kind = Kind::Disconnect;
                e.detail = Some(format!("{reason}, after a protocol error").into());
            }
            Kind::Disconnect if acted == 0 => {
                e.kind = Kind::LostConnection;
                e.detail = Some(format!("no mail command ({reason})").into());
            }
            Kind::LostConnection => {
                let last = [
                    (stage::DATA, "DATA"),
                    (stage::RCPT, "RCPT"),
                    (stage::MAIL, "MAIL"),
                    (stage::AUTH, "AUTH"),
                ]
                .iter()
                .find(|(bit, _)| s.stage & bit != 0);
                if let Some((_, name)) = last {
                    e.detail = Some(format!("after {name} ({reason})").into());
                }
            }
            _ => {}
        }
    }

    /// Fills `e.actor` for the later events of a message whose submitter is known. A
    /// delivery's mailbox stays as the parser set it: the submitter acted, the mailbox only
    /// received. An OpenSMTPD session event gets what its session told (`fill_smtpd`).
    /// Filled as the tables stand now (all learned so far; the tests' view); the pipeline
    /// fills with its chunk's generation, [`Joiner::fill_at`].
    #[cfg(test)]
    pub fn fill(&self, e: &mut Event) {
        self.fill_at(e, self.gen);
    }

    /// [`Joiner::fill`] as the tables stood once generation `g` was learned (a parser of
    /// that chunk).
    pub fn fill_at(&self, e: &mut Event, g: u32) {
        if let Some(sid) = e.session.clone() {
            if is_mail_session(e) {
                if e.src_ip.is_none() {
                    let ip = self.smtpd.get(key_of_session(&sid), g).and_then(|s| s.ip);
                    e.src_ip = ip.map(|ip| ip.to_string().into());
                }
                return;
            }
            self.fill_smtpd(&sid, e, g);
        }
        if e.actor.is_some()
            || !matches!(
                e.kind,
                Kind::MessageReceived | Kind::MessageQueued | Kind::Delivery | Kind::Forwarded
            )
        {
            return;
        }
        if let Some(u) = e.queue_id.as_deref().and_then(|q| self.user(q, g)) {
            e.actor = Some(u.to_string().into());
        }
    }

    /// The login that submitted `qid`, as generation `g` sees it.
    fn user(&self, qid: &str, g: u32) -> Option<&str> {
        let i = *self.users.get(key(qid), g)?;
        self.names.get(i as usize).map(|n| &**n)
    }

    /// The login that submitted `qid`, as the reader knows it now.
    fn live_user(&self, qid: &str) -> Option<&str> {
        let i = *self.users.live(key(qid))?;
        self.names.get(i as usize).map(|n| &**n)
    }

    /// The index of `name`, added if new (none when [`NAMES`] are held).
    fn intern(&mut self, name: &str) -> Option<u32> {
        if let Some(i) = self.index.get(name) {
            return Some(*i);
        }
        if self.names.len() >= NAMES {
            return None;
        }
        let i = self.names.len() as u32;
        let n: std::sync::Arc<str> = name.into();
        self.names.push(n.clone());
        self.index.insert(n, i);
        Some(i)
    }
}

/// A queue id's key: 64 bits of a hash (that any two of the 262,144 ids remembered share one
/// is a chance of about one in 500 million; the rules' windows of queue ids use it too).
pub fn key(qid: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(qid)
}

/// A Dovecot mail session's event (login, session end, `mail_log` line): its session id
/// joins the login's address to the session's later lines.
fn is_mail_session(e: &Event) -> bool {
    e.service.starts_with("dovecot/")
}

/// An OpenSMTPD session id's key: its 64 bits (16 hex digits), else a hash.
fn key_of_session(sid: &str) -> u64 {
    u64::from_str_radix(sid, 16).unwrap_or_else(|_| key(sid))
}

/// The key of a refused recipient in a session.
fn verdict_key(sid: &str, rcpt: &str) -> u64 {
    key(&format!("{sid} {}", rcpt.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::{Binding, Joiner};

    #[test]
    fn sessions_and_hand_overs_carry_the_submitter() {
        let mut j = Joiner::default();
        let s = |s: &str| s.to_string();
        j.bind(Binding::Session {
            host: s("mx"),
            pid: 7,
            actor: s("alice"),
        });
        j.bind(Binding::FromSession {
            host: s("mx"),
            pid: 7,
            qid: s("Q1"),
        });
        // Another process, or another host's process 7, logged in as no one.
        j.bind(Binding::FromSession {
            host: s("mx"),
            pid: 8,
            qid: s("Q2"),
        });
        j.bind(Binding::FromSession {
            host: s("mx2"),
            pid: 7,
            qid: s("Q3"),
        });
        j.bind(Binding::HandOver {
            from: s("Q1"),
            to: s("Q9"),
        });
        j.bind(Binding::HandOver {
            from: s("Q2"),
            to: s("Q8"),
        });
        let got: Vec<Option<&str>> = ["Q1", "Q2", "Q3", "Q9", "Q8"]
            .iter()
            .map(|q| j.live_user(q))
            .collect();
        assert_eq!(got, [Some("alice"), None, None, Some("alice"), None]);
    }

    /// One line parsed as the pipeline parses it (UTC, year-less lines in 2026), line `n`.
    fn parse_at(line: &str, n: usize) -> Option<crate::events::record::Event<'_>> {
        use crate::events::record::Source;
        use crate::events::{parse_line, time::Clock, LineOutcome, TsCache};
        let clock = Clock {
            tz: chrono_tz::UTC,
            anchor: chrono::NaiveDate::from_ymd_opt(2026, 12, 31)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap(),
            year: None,
        };
        let src = Source {
            host: "",
            path: "",
            sha256: None,
            line: n as u64,
            offset: 0,
        };
        match parse_line(line, &clock, &mut TsCache::default(), src, false) {
            LineOutcome::Event(e) => Some(e),
            _ => None,
        }
    }

    #[test]
    fn dovecot_sessions_carry_the_login_address() {
        use crate::events::record::Kind;
        // A real Dovecot 2.3.19 run (tests/fixtures/dovecot-backends), lines 187-188, and
        // another session's end whose login is not in the input.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dovecot-backends/ldap-bind.syslog");
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<&str> = text.lines().skip(186).take(2).collect();
        lines.push("Dec  6 15:24:20 mail1 dovecot: imap(mira)<600><AAAAs/hhIsjLAHFN>: Disconnected: Logged out in=12 out=477 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=3 body_bytes=9000");
        let events: Vec<_> = lines.iter().filter_map(|l| parse_at(l, 0)).collect();
        let mut j = Joiner::default();
        events
            .iter()
            .filter_map(Binding::of)
            .for_each(|b| j.bind(b));
        let filled: Vec<_> = events
            .into_iter()
            .map(|mut e| {
                j.fill(&mut e);
                (e.kind, e.src_ip.map(|s| s.to_string()))
            })
            .collect();
        assert_eq!(
            filled,
            [
                (Kind::AuthSuccess, Some("203.0.113.77".to_string())),
                (Kind::MailboxAccess, Some("203.0.113.77".to_string())),
                (Kind::MailboxAccess, None),
            ]
        );
    }

    /// OpenSMTPD: lines of the 7.6 fixture (tests/fixtures/opensmtpd), learned in file order
    /// as the reader thread learns them, then filled as a parser thread fills them.
    #[test]
    fn opensmtpd_sessions_carry_address_login_and_stage() {
        use crate::events::record::Kind;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/opensmtpd/var/log/mail.log");
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let event = |n: usize| parse_at(lines[n - 1], n);
        let mut j = Joiner::default();
        for n in 1..=lines.len() {
            if let Some(b) = event(n).as_ref().and_then(Binding::of) {
                j.bind(b);
            }
        }
        let filled = |n: usize| {
            let mut e = event(n).unwrap();
            j.fill(&mut e);
            e
        };
        let row = |n: usize| {
            let e = filled(n);
            (
                e.kind,
                e.src_ip.map(|s| s.to_string()),
                e.actor.map(|s| s.to_string()),
            )
        };
        let s = |v: &str| Some(v.to_string());
        // (line, kind, address, login) after the join.
        let cases = [
            (5, Kind::AuthSuccess, s("127.0.0.1"), s("alice")),
            (6, Kind::MessageReceived, s("127.0.0.1"), s("alice")),
            (10, Kind::Delivery, None, s("alice")),
            (19, Kind::MessageReceived, s("127.0.7.7"), None),
            (23, Kind::Delivery, None, None),
            (25, Kind::Delivery, None, s("bob")),
            (28, Kind::LostConnection, s("127.0.1.10"), None),
            (33, Kind::ProtocolError, s("127.0.1.10"), None),
            // The GET session's end: its protocol error counted it already.
            (35, Kind::Disconnect, s("127.0.1.10"), None),
            // EHLO and QUIT: a session that never sent a mail command.
            (36, Kind::LostConnection, s("127.0.1.10"), None),
            (38, Kind::Vrfy, s("127.0.1.11"), None),
            (39, Kind::Expn, s("127.0.1.11"), None),
            // An unknown user of the local domain (lab.example had local deliveries).
            (40, Kind::RecipientUnknown, s("127.0.1.11"), None),
            (44, Kind::Disconnect, s("127.0.1.11"), None),
            // The same answer for an outside domain from an unauthenticated client.
            (46, Kind::RelayDenied, s("127.0.5.10"), None),
            (52, Kind::Reject, s("127.0.6.6"), None),
            (57, Kind::AuthFailure, s("127.0.3.10"), s("alice")),
            (59, Kind::Disconnect, s("127.0.3.10"), None),
            (83, Kind::AuthFailure, s("127.0.2.10"), s("carol")),
            (112, Kind::AuthSuccess, s("127.0.2.12"), s("carol")),
            (113, Kind::MessageReceived, s("127.0.2.12"), s("carol")),
            (114, Kind::MessageQueued, s("127.0.2.12"), s("carol")),
            (176, Kind::Delivery, None, s("carol")),
            (205, Kind::Delivery, None, s("carol")),
        ];
        for (n, kind, ip, actor) in cases {
            assert_eq!(row(n), (kind, ip, actor), "line {n}: {}", lines[n - 1]);
        }
        assert_eq!(
            filled(36).detail.as_deref(),
            Some("no mail command (reason=quit)")
        );
        // Nothing known before the session's first line: the parser's kind stays.
        let mut fresh = Joiner::default();
        let mut e = event(36).unwrap();
        fresh.fill(&mut e);
        assert_eq!((e.kind, e.src_ip), (Kind::Disconnect, None));
        // Before any local delivery the host's domains are unknown: a refusal stays an
        // unknown recipient.
        for n in 45..=46 {
            if let Some(b) = event(n).as_ref().and_then(Binding::of) {
                fresh.bind(b);
            }
        }
        let mut e = event(46).unwrap();
        fresh.fill(&mut e);
        assert_eq!(e.kind, Kind::RecipientUnknown);
    }

    /// OpenSMTPD sessions are forgotten oldest first beyond the bound, and kept in memory
    /// only while a chunk in flight may still see them.
    #[test]
    fn opensmtpd_sessions_are_bounded() {
        let mut j = Joiner::default();
        let connect = |j: &mut Joiner, i: u64| {
            j.bind(Binding::SmtpdConnect {
                sid: format!("{i:016x}"),
                ip: Some("192.0.2.1".into()),
            })
        };
        // Ten sessions in one chunk, the table's worth in the next (which pushes them out).
        j.begin(2);
        (0..10).for_each(|i| connect(&mut j, i));
        j.begin(2);
        (10..super::SMTPD_SESSIONS as u64 + 10).for_each(|i| connect(&mut j, i));
        assert_eq!(j.smtpd.len(), super::SMTPD_SESSIONS);
        assert!(j.smtpd.live(0).is_none());
        assert!(j.smtpd.live(super::SMTPD_SESSIONS as u64 + 9).is_some());
        // With two chunks in flight, the first chunk's parser may still be at work while the
        // third is learned, not while the fourth is.
        j.begin(2);
        assert_eq!(j.smtpd.held(), super::SMTPD_SESSIONS + 10);
        j.begin(2);
        assert_eq!(j.smtpd.held(), super::SMTPD_SESSIONS);
    }

    /// A session end as Dovecot 2.3 writes it (the fixture's line 188, its session id).
    const SESSION_END: &str = "Dec  6 15:24:20 mail1 dovecot: imap(mira)<600><AAAAs/hhIsjLAHFN>: Disconnected: Logged out in=12 out=477 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=3 body_bytes=9000";

    /// A join that learned, in its first chunk (returned), the login of [`SESSION_END`]'s
    /// session from 203.0.113.5.
    fn logged_in() -> (Joiner, u32) {
        let mut j = Joiner::default();
        let g0 = j.begin(4);
        j.bind(Binding::MailSession {
            sid: "AAAAs/hhIsjLAHFN".into(),
            ip: "203.0.113.5".into(),
        });
        (j, g0)
    }

    /// A Dovecot login's address pushed out of the table while the reader learns ahead is
    /// still filled into the session end of an earlier chunk, and not into a later one:
    /// parsers see the tables of their own chunk, however far ahead the reader is.
    #[test]
    fn parsers_see_the_join_of_their_own_chunk() {
        let session_end = || parse_at(SESSION_END, 1).unwrap();
        let (mut j, g0) = logged_in();
        // The reader learns two more chunks: the first pushes the login out.
        let g1 = j.begin(4);
        for i in 0..super::SMTPD_SESSIONS {
            j.bind(Binding::MailSession {
                sid: format!("s{i}"),
                ip: "192.0.2.1".into(),
            });
        }
        let g2 = j.begin(4);
        let mut early = session_end();
        j.fill_at(&mut early, g0);
        assert_eq!(early.src_ip.as_deref(), Some("203.0.113.5"));
        for g in [g1, g2] {
            let mut late = session_end();
            j.fill_at(&mut late, g);
            assert_eq!(late.src_ip, None, "generation {g}");
        }
    }

    /// A mail session's end and a message leaving the queue let their keys go: the chunk of
    /// the ending line still sees them, the next does not, and the tables hold what is live.
    #[test]
    fn ended_sessions_and_removed_messages_are_forgotten() {
        let (mut j, g0) = logged_in();
        let g1 = j.begin(4);
        let ended = parse_at(SESSION_END, 1).and_then(|e| Binding::of(&e));
        assert!(
            matches!(&ended, Some(Binding::SessionEnd { sid }) if sid == "AAAAs/hhIsjLAHFN"),
            "{ended:?}"
        );
        j.bind(ended.unwrap());
        assert!(j.smtpd.is_empty());
        j.learn("4ZqK7x0Bd3z9Zm", "mira");
        let removed = "Dec  6 15:24:21 mail1 postfix/qmgr[812]: 4ZqK7x0Bd3z9Zm: removed";
        let qid = crate::events::message_gone(removed).unwrap();
        j.bind(Binding::MessageGone { qid: qid.into() });
        assert!(j.users.is_empty());
        let g2 = j.begin(4);
        for (g, seen) in [(g0, true), (g1, true), (g2, false)] {
            let mut e = parse_at(SESSION_END, 1).unwrap();
            j.fill_at(&mut e, g);
            assert_eq!(e.src_ip.is_some(), seen, "generation {g}");
            // The message learned and removed in g1: seen by g1 only.
            assert_eq!(
                j.user("4ZqK7x0Bd3z9Zm", g).is_some(),
                g == g1,
                "generation {g}"
            );
        }
        // Dropped once no chunk that may see them is in flight.
        (0..4).for_each(|_| {
            j.begin(4);
        });
        assert_eq!((j.smtpd.held(), j.users.held()), (0, 0));
    }
}
