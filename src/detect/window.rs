//! A window of the latest messages a rule follows by queue id: at most `cap` values, the
//! oldest let go first, looked up by their key.
//!
//! Rules that wait for a message's deliveries (`relay.open`, `exfil.forwarding_observed`)
//! keep a value per queue id until it leaves the window. A hash map keyed by the id's text
//! beside a queue of the ids cost two copies of each id and a table sized for the values
//! themselves; worse, a table that loses one key for every key it gains fills with deleted
//! slots, and once it is more than half full it doubles rather than clean up in place — the
//! window's table was twice as big after a few gigabytes of log as after one. Here the values
//! sit in arrival order in one ring, and the table maps a 64-bit hash of the key to the
//! value's position: 16 bytes a slot, whatever the value.
//!
//! Two keys with the same 64-bit hash are taken for one (the chance that any two of a window
//! of 2^17 queue ids share one is about one in two thousand million). The hash is fixed (no
//! random seed), so a run's output does not depend on it.
//!
//! To use it for another rule: [`Window::new`] with the cap, [`Window::push`] or
//! [`Window::insert_new`] as messages arrive (each says what it let go), [`Window::get_mut`]
//! as their deliveries do, and [`Window::pop_front`] at the end for what is left, oldest first.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

/// At most `cap` values by key, the oldest let go first.
#[derive(Debug)]
pub struct Window<V> {
    cap: usize,
    /// Key hash → position (counted from the first value ever held).
    index: FxHashMap<u64, u64>,
    /// (Key hash, value), oldest first; `values[i]` is at position `first + i`.
    values: VecDeque<(u64, V)>,
    first: u64,
}

/// The key's fixed 64-bit hash: the one the session join keys queue ids by.
fn hash(key: &str) -> u64 {
    crate::parse::correlate::key(key)
}

impl<V> Window<V> {
    /// Empty, holding at most `cap` values (at least one).
    pub fn new(cap: usize) -> Self {
        Window {
            cap: cap.max(1),
            index: FxHashMap::default(),
            values: VecDeque::new(),
            first: 0,
        }
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether `key` is held.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(&hash(key))
    }

    /// The value of `key`, if held.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let at = *self.index.get(&hash(key))?;
        let i = usize::try_from(at - self.first).ok()?;
        self.values.get_mut(i).map(|(_, v)| v)
    }

    /// Lets the oldest value go.
    pub fn pop_front(&mut self) -> Option<V> {
        let (h, v) = self.values.pop_front()?;
        self.index.remove(&h);
        self.first += 1;
        Some(v)
    }

    /// Holds `value` under `key`, after letting the oldest go if the window is full (returned):
    /// a key already held gets the new value in its old place.
    pub fn push(&mut self, key: &str, value: V) -> Option<V> {
        let gone = if self.values.len() >= self.cap {
            self.pop_front()
        } else {
            None
        };
        let h = hash(key);
        match self.index.get(&h) {
            Some(&at) => {
                if let Some(slot) = usize::try_from(at - self.first)
                    .ok()
                    .and_then(|i| self.values.get_mut(i))
                {
                    slot.1 = value;
                }
            }
            None => {
                self.index.insert(h, self.first + self.values.len() as u64);
                self.values.push_back((h, value));
            }
        }
        gone
    }

    /// Holds `value` under `key` unless the key is held already (then nothing changes); a
    /// full window lets its oldest go (returned).
    pub fn insert_new(&mut self, key: &str, value: V) -> Option<V> {
        if self.contains(key) {
            return None;
        }
        self.push(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_goes_first_and_lookups_follow_the_positions() {
        let mut w = Window::new(3);
        assert_eq!(w.push("A1", 1), None);
        assert_eq!(w.push("B2", 2), None);
        assert_eq!(w.push("C3", 3), None);
        assert_eq!(w.len(), 3);
        // Full: A1 goes before D4 comes.
        assert_eq!(w.push("D4", 4), Some(1));
        assert!(!w.contains("A1"));
        assert_eq!(w.get_mut("A1"), None);
        *w.get_mut("C3").expect("held") += 30;
        assert_eq!(w.get_mut("D4").copied(), Some(4));
        let rest: Vec<i32> = std::iter::from_fn(|| w.pop_front()).collect();
        assert_eq!(rest, [2, 33, 4]);
        assert!(w.is_empty());
    }

    #[test]
    fn a_key_held_again_keeps_its_place() {
        let mut w = Window::new(2);
        w.push("A", 1);
        w.push("B", 2);
        // Replacing A in a full window still lets the oldest (A) go first, as a new
        // message would, and A comes back as the newest.
        assert_eq!(w.push("A", 10), Some(1));
        assert_eq!(w.pop_front(), Some(2));
        assert_eq!(w.pop_front(), Some(10));
        // Not full: a replacement keeps the key's place.
        w.push("X", 1);
        w.push("X", 5);
        w.push("Y", 6);
        assert_eq!(w.pop_front(), Some(5));
        assert_eq!(w.pop_front(), Some(6));
    }

    #[test]
    fn insert_new_leaves_a_held_key_alone() {
        let mut w = Window::new(2);
        assert_eq!(w.insert_new("Q", 1), None);
        assert_eq!(w.insert_new("Q", 2), None);
        assert_eq!(w.get_mut("Q").copied(), Some(1));
        assert_eq!(w.insert_new("R", 3), None);
        assert_eq!(w.insert_new("S", 4), Some(1));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn memory_stays_bounded_under_churn() {
        let mut w = Window::new(1000);
        for i in 0..200_000u32 {
            w.push(&format!("{i:X}"), i);
            if i % 3 == 0 {
                // Deliveries look up recent messages.
                let recent = format!("{:X}", i.saturating_sub(500));
                assert!(w.get_mut(&recent).is_some());
            }
        }
        assert_eq!(w.len(), 1000);
        assert!(w.index.capacity() < 4 * 1000, "{}", w.index.capacity());
        let first: Vec<u32> = std::iter::from_fn(|| w.pop_front()).take(2).collect();
        assert_eq!(first, [199_000, 199_001]);
    }
}
