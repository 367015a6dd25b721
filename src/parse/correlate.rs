//! Message correlation: the SASL login that submitted a message, carried to the message's
//! later events.
//!
//! Postfix logs the login once (`QID: client=…, sasl_username=alice`), Exim on the arrival line
//! (`ID <= … A=login:alice`); the `message_queued` and `delivery`/`forwarded` events of that
//! queue or message id get `actor` filled from it, so a detector
//! can say *which login sent what*. The reader thread learns the bindings from each chunk
//! *before* the chunk is handed to a parser thread (a cheap `memmem` scan for
//! `sasl_username=` and ` A=`), so parallel parsers see every binding made earlier in the file. Files
//! are processed in chronological order, so a message received before midnight and delivered
//! after rotation is still joined. Memory is bounded: at most [`CAPACITY`] queue ids are
//! remembered; the oldest are forgotten first.

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
}

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

    /// Fills `e.actor` for the later events of a message whose submitter is known. A
    /// delivery's mailbox stays as the parser set it: the submitter acted, the mailbox only
    /// received.
    pub fn fill(&self, e: &mut Event) {
        if e.actor.is_some()
            || !matches!(
                e.kind,
                Kind::MessageQueued | Kind::Delivery | Kind::Forwarded
            )
        {
            return;
        }
        if let Some(u) = e.queue_id.as_deref().and_then(|q| self.users.get(q)) {
            e.actor = Some(u.clone().into());
        }
    }
}
