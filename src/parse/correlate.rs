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
//! is still joined. Memory is bounded: at most [`CAPACITY`] queue ids and [`SESSIONS`]
//! sessions are remembered; the oldest are forgotten first.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::events::record::{Event, Kind};

/// Most queue ids remembered at once.
pub const CAPACITY: usize = 1 << 20;

/// Remembers `queue id → login`.
#[derive(Debug, Default)]
pub struct Joiner {
    users: FxHashMap<String, String>,
    order: VecDeque<String>,
    /// `(host, pid) → login` of SMTP sessions that logged the login apart from their
    /// messages (Sendmail), at most [`SESSIONS`].
    sessions: FxHashMap<(Box<str>, u32), String>,
    session_order: VecDeque<(Box<str>, u32)>,
}

/// Most open sessions remembered at once.
pub const SESSIONS: usize = 1 << 16;

impl Joiner {
    /// Remembers that `qid` was submitted by `user`.
    pub fn learn(&mut self, qid: &str, user: &str) {
        if self
            .users
            .insert(qid.to_string(), user.to_string())
            .is_none()
        {
            self.order.push_back(qid.to_string());
            if self.order.len() > CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.users.remove(&old);
                }
            }
        }
    }

    /// The login or local user that submitted the message `qid`, if known.
    pub fn actor_of(&self, qid: &str) -> Option<&str> {
        self.users.get(qid).map(String::as_str)
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
        if let Some(u) = e.queue_id.as_deref().and_then(|q| self.users.get(q)) {
            e.actor = Some(u.clone().into());
        }
    }
}
