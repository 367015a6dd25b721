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
//! above), so parallel parsers see every binding made earlier in the file. Files are processed
//! in chronological order, so a message received before midnight and delivered after rotation
//! is still joined. Memory is bounded and small: a queue id is kept as a 64-bit hash and its
//! login as an index into the logins seen (each kept once, at most [`NAMES`]), about 30 bytes
//! a message; at most [`CAPACITY`] queue ids and [`SESSIONS`] sessions are remembered, the
//! oldest forgotten first.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::events::record::{Event, Kind};

/// Most queue ids remembered at once: the submissions of days on a busy server (an
/// Internet-facing MX with 3,000 mailboxes submits about 65,000 messages a day), so a
/// delivery retried days later still finds its submitter, in about 8 MB.
pub const CAPACITY: usize = 1 << 18;

/// Most distinct logins remembered (beyond, new logins are not joined).
pub const NAMES: usize = 1 << 20;

/// Remembers `queue id → login`.
#[derive(Debug, Default)]
pub struct Joiner {
    /// Hash of a queue id → index into `names`.
    users: FxHashMap<u64, u32>,
    order: VecDeque<u64>,
    /// Every login once, and where.
    names: Vec<std::sync::Arc<str>>,
    index: FxHashMap<std::sync::Arc<str>, u32>,
    /// `(host, pid) → login` of SMTP sessions that logged the login apart from their
    /// messages (Sendmail), at most [`SESSIONS`].
    sessions: FxHashMap<(Box<str>, u32), String>,
    session_order: VecDeque<(Box<str>, u32)>,
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
}

impl Binding {
    /// The binding an event states, if any.
    pub fn of(e: &Event) -> Option<Binding> {
        let host = || e.host.as_deref().unwrap_or("").to_string();
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

impl Joiner {
    /// Remembers that `qid` was submitted by `user`.
    pub fn learn(&mut self, qid: &str, user: &str) {
        let Some(name) = self.intern(user) else {
            return;
        };
        let key = key(qid);
        if self.users.insert(key, name).is_none() {
            self.order.push_back(key);
            if self.order.len() > CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.users.remove(&old);
                }
            }
        }
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
            Binding::HandOver { from, to } => self.user(&from).map(|u| (to, u.to_string())),
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

    /// Fills `e.actor` for the later events of a message whose submitter is known. A
    /// delivery's mailbox stays as the parser set it: the submitter acted, the mailbox only
    /// received.
    pub fn fill(&self, e: &mut Event) {
        if e.actor.is_some()
            || !matches!(
                e.kind,
                Kind::MessageReceived | Kind::MessageQueued | Kind::Delivery | Kind::Forwarded
            )
        {
            return;
        }
        if let Some(u) = e.queue_id.as_deref().and_then(|q| self.user(q)) {
            e.actor = Some(u.to_string().into());
        }
    }

    /// The login that submitted `qid`, if known.
    fn user(&self, qid: &str) -> Option<&str> {
        let i = *self.users.get(&key(qid))?;
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

/// A queue id's key: 64 bits of a hash (two ids of the few hundred thousand remembered
/// meeting is a chance of about one in ten million million).
fn key(qid: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(qid)
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
            .map(|q| j.user(q))
            .collect();
        assert_eq!(got, [Some("alice"), None, None, Some("alice"), None]);
    }
}
