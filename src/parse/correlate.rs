//! Message correlation: the SASL login that submitted a message, carried to the message's
//! later events.
//!
//! Postfix logs the login once (`QID: client=…, sasl_username=alice`); the `message_queued`
//! and `delivery`/`forwarded` events of that queue id get `user` filled from it, so a detector
//! can say *which login sent what*. Files are processed in chronological order, so a message
//! received before midnight and delivered after rotation is still joined. Memory is bounded:
//! at most [`CAPACITY`] open queue ids are remembered; the oldest are forgotten first.

use std::collections::{HashMap, VecDeque};

use crate::events::record::{Event, Kind};

/// Most queue ids remembered at once.
pub const CAPACITY: usize = 1 << 20;

/// Remembers `queue id → login`.
#[derive(Debug, Default)]
pub struct Joiner {
    users: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Joiner {
    /// Learns from `e` or fills `e.user` from what was learned.
    pub fn apply(&mut self, e: &mut Event) {
        let Some(qid) = e.queue_id.as_deref() else {
            return;
        };
        match e.kind {
            Kind::MessageReceived => {
                if let Some(u) = &e.user {
                    if self.users.insert(qid.to_string(), u.clone()).is_none() {
                        self.order.push_back(qid.to_string());
                        if self.order.len() > CAPACITY {
                            if let Some(old) = self.order.pop_front() {
                                self.users.remove(&old);
                            }
                        }
                    }
                }
            }
            Kind::MessageQueued | Kind::Delivery | Kind::Forwarded if e.user.is_none() => {
                if let Some(u) = self.users.get(qid) {
                    e.user = Some(u.clone());
                }
            }
            _ => {}
        }
    }
}
