//! A bounded table the reader thread writes and parser threads read, where each parser sees
//! the table exactly as it stood once the reader had learned the parser's chunk — whatever
//! the reader has learned since. The join of [`super::correlate`] is built on it.
//!
//! Why: the reader learns chunk after chunk ahead of the parsers (up to the chunks in flight).
//! A table that forgot its oldest key at once when full, or replaced a key's value at once,
//! would let a parser of an earlier chunk see that, or not, depending on how far ahead the
//! reader happened to be — the same input giving different events, hence different findings,
//! from run to run.
//!
//! How: chunks are numbered as they are learned (the *generation*). A key's value carries the
//! generation it was learned in and the one it was forgotten in (pushed out by the cap,
//! replaced, or let go because its message or session ended: [`Aged::forget`]); a parser of
//! generation `g` sees a value learned at or before `g` and not forgotten by `g`. A forgotten
//! value stays in memory until every chunk that may still see it is parsed ([`Aged::prune`],
//! given the oldest generation that may still be parsing), so memory is what is live (at most
//! the cap) plus what the chunks in flight forgot. One older value per key is kept beside the
//! current one (a key replaced twice while the first replacement is in flight keeps only the
//! newer two).
//!
//! Why forget: a table that only pushes out its oldest key fills to its cap and stays there,
//! whatever the server's load — on the 10 GB MX log the mail-session and queue-id tables held
//! 262,144 keys each after some days where a few hundred were in use. Let go when the log says
//! a session ended or a message left the queue, a table holds what is in flight, and the cap
//! only bounds what never ends (lost lines, a crashed daemon, an MTA that logs no end).
//!
//! To bound another table of the join: an `Aged` with its cap, written through [`Aged::put`]
//! or [`Aged::entry`] by the reader, [`Aged::forget`] when the key's last line is learned,
//! read through [`Aged::get`] with the chunk's generation.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

/// A value and the generations it was learned and forgotten in (`u32::MAX`: not forgotten;
/// four thousand million chunks of a run are 8 PiB of log).
#[derive(Debug, Clone, Copy)]
struct Slot<V> {
    value: V,
    born: u32,
    died: u32,
}

impl<V> Slot<V> {
    /// A value learned at generation `g`, not forgotten.
    fn new(value: V, g: u32) -> Self {
        Slot {
            value,
            born: g,
            died: u32::MAX,
        }
    }

    fn seen_at(&self, g: u32) -> bool {
        self.born <= g && g < self.died
    }

    fn live(&self) -> bool {
        self.died == u32::MAX
    }
}

/// A table of at most `cap` live keys, the oldest pushed out first (see the module doc).
#[derive(Debug)]
pub struct Aged<V> {
    cap: usize,
    /// Each key's latest value (live, or forgotten and kept while a parser may see it).
    now: FxHashMap<u64, Slot<V>>,
    /// The value a key held before its latest one, while a parser may still see it.
    before: FxHashMap<u64, Slot<V>>,
    /// (Key, generation learned) of the values learned, oldest first: the live ones, and
    /// stale entries of values forgotten or replaced since (skipped, and swept out when they
    /// are as many as the live ones).
    order: VecDeque<(u64, u32)>,
    /// Live keys.
    live: usize,
    /// (Key, generation) of the values forgotten, in the order they were, waiting for
    /// [`Aged::prune`].
    dying: VecDeque<(u64, u32)>,
}

impl<V: Copy + Default + PartialEq> Aged<V> {
    /// A table of at most `cap` live keys.
    pub fn new(cap: usize) -> Self {
        Aged {
            cap,
            now: FxHashMap::default(),
            before: FxHashMap::default(),
            order: VecDeque::new(),
            live: 0,
            dying: VecDeque::new(),
        }
    }

    /// Live keys (as the reader sees the table).
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values held, live or waiting to be dropped (memory).
    pub fn held(&self) -> usize {
        self.now.len() + self.before.len()
    }

    /// The value of `key` as a parser of generation `g` sees it.
    pub fn get(&self, key: u64, g: u32) -> Option<&V> {
        [self.now.get(&key), self.before.get(&key)]
            .into_iter()
            .flatten()
            .find(|s| s.seen_at(g))
            .map(|s| &s.value)
    }

    /// The live value of `key`, as the reader sees it while learning.
    pub fn live(&self, key: u64) -> Option<&V> {
        self.now.get(&key).filter(|s| s.live()).map(|s| &s.value)
    }

    /// Sets `key` to `value` while learning generation `g`. A live key with another value is
    /// replaced (earlier generations still see the old one) and goes to the back of the
    /// line; a new key may push out the oldest.
    pub fn put(&mut self, key: u64, value: V, g: u32) {
        match self.now.get(&key) {
            Some(s) if s.live() && s.value == value => {}
            Some(s) if s.live() => {
                self.forget(key, g.saturating_sub(1));
                self.add(key, value, g);
            }
            _ => self.add(key, value, g),
        }
    }

    /// The live value of `key`, made (default) at generation `g` if there is none. It is
    /// changed in place: a parser of an earlier generation may see the change, so callers
    /// change only what no earlier line of the key reads (how far a session went, read at
    /// its end).
    pub fn entry(&mut self, key: u64, g: u32) -> &mut V {
        if self.live(key).is_none() {
            self.add(key, V::default(), g);
        }
        &mut self
            .now
            .entry(key)
            .or_insert(Slot::new(V::default(), g))
            .value
    }

    /// Lets the live value of `key` go after generation `g`: the parser of `g` (the chunk
    /// whose line ended the message or session) still sees it, later ones do not.
    pub fn forget(&mut self, key: u64, g: u32) {
        let Some(s) = self.now.get_mut(&key).filter(|s| s.live()) else {
            return;
        };
        let died = g.saturating_add(1);
        s.died = died;
        self.live -= 1;
        self.dying.push_back((key, died));
        self.sweep();
    }

    /// A key with no live value learns `value` at `g`; the oldest live key is pushed out
    /// when more than `cap` are live.
    fn add(&mut self, key: u64, value: V, g: u32) {
        if let Some(old) = self.now.insert(key, Slot::new(value, g)) {
            // Forgotten earlier and still visible to parsers in flight.
            self.before.insert(key, old);
        }
        self.order.push_back((key, g));
        self.live += 1;
        while self.live > self.cap {
            let Some((key, born)) = self.order.pop_front() else {
                break;
            };
            if let Some(s) = self
                .now
                .get_mut(&key)
                .filter(|s| s.live() && s.born == born)
            {
                s.died = g;
                self.live -= 1;
                self.dying.push_back((key, g));
            }
        }
        self.sweep();
    }

    /// Drops the order's stale entries once they are as many as the live keys (and some):
    /// each sweep removes at least half of what it walks.
    fn sweep(&mut self) {
        if self.order.len() < 2 * self.live + 1024 {
            return;
        }
        let now = &self.now;
        self.order
            .retain(|&(key, born)| now.get(&key).is_some_and(|s| s.live() && s.born == born));
    }

    /// Drops what no parser can see any more: `oldest` is the oldest generation that may
    /// still be parsing.
    pub fn prune(&mut self, oldest: u32) {
        let gone = |s: Option<&Slot<V>>| s.is_some_and(|s| !s.live() && s.died <= oldest);
        while let Some(&(key, died)) = self.dying.front() {
            if died > oldest {
                break;
            }
            // The value forgotten then: the key's latest unless it was learned again since
            // (then the one before it).
            if gone(self.now.get(&key)) {
                self.now.remove(&key);
            } else if gone(self.before.get(&key)) {
                self.before.remove(&key);
            }
            self.dying.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parser_sees_the_table_of_its_generation() {
        let mut t: Aged<u32> = Aged::new(2);
        t.put(1, 10, 0);
        t.put(2, 20, 1);
        // Generation 2 pushes key 1 out and replaces key 2.
        t.put(3, 30, 2);
        t.put(2, 21, 2);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(1, 1), Some(&10), "generation 1 still sees key 1");
        assert_eq!(t.get(1, 2), None, "generation 2 does not");
        assert_eq!(t.get(2, 1), Some(&20));
        assert_eq!(t.get(2, 2), Some(&21));
        assert_eq!(
            t.get(3, 1),
            None,
            "nor does generation 1 see what came later"
        );
        assert_eq!(t.get(3, 2), Some(&30));
        // Nothing is dropped while generation 1 may still be parsing.
        t.prune(1);
        assert_eq!((t.get(1, 1), t.get(2, 1)), (Some(&10), Some(&20)));
        t.prune(2);
        assert_eq!((t.get(1, 1), t.get(2, 1)), (None, None));
        assert_eq!(t.held(), 2);
    }

    #[test]
    fn a_key_learned_again_after_being_pushed_out() {
        let mut t: Aged<u32> = Aged::new(1);
        t.put(1, 10, 0);
        t.put(2, 20, 1); // pushes 1 out at generation 1
        t.put(1, 11, 2); // 1 again, pushes 2 out
        assert_eq!(t.get(1, 0), Some(&10));
        assert_eq!(t.get(1, 1), None);
        assert_eq!(t.get(1, 2), Some(&11));
        assert_eq!(t.get(2, 1), Some(&20));
        t.prune(2);
        assert_eq!(t.get(1, 2), Some(&11), "the live value stays");
        assert_eq!((t.get(1, 0), t.get(2, 1)), (None, None));
        assert_eq!((t.len(), t.held()), (1, 1));
    }

    #[test]
    fn entries_change_in_place_and_stay_bounded() {
        let mut t: Aged<u8> = Aged::new(100);
        for g in 0..10_000u32 {
            *t.entry(u64::from(g % 300), g) |= 1;
            t.prune(g.saturating_sub(5));
            assert!(t.len() <= 100);
            assert!(t.held() <= 106, "{} held at {g}", t.held());
        }
    }

    #[test]
    fn a_forgotten_key_is_seen_by_its_own_generation_only() {
        let mut t: Aged<u32> = Aged::new(4);
        t.put(1, 10, 0);
        t.forget(1, 1);
        assert_eq!(t.len(), 0);
        assert_eq!(
            (t.get(1, 0), t.get(1, 1), t.get(1, 2)),
            (Some(&10), Some(&10), None)
        );
        // Learned again (a queue id reused): the new value from then on, the old one before.
        t.put(1, 11, 3);
        assert_eq!(
            (t.get(1, 1), t.get(1, 2), t.get(1, 3)),
            (Some(&10), None, Some(&11))
        );
        t.prune(2);
        assert_eq!((t.get(1, 1), t.get(1, 3), t.held()), (None, Some(&11), 1));
        // Forgetting an unknown or forgotten key changes nothing.
        t.forget(7, 3);
        t.forget(1, 3);
        t.forget(1, 4);
        assert_eq!(t.len(), 0);
        t.prune(4);
        assert_eq!(t.held(), 0);
    }

    #[test]
    fn keys_forgotten_as_they_end_hold_only_what_is_live() {
        let mut t: Aged<u8> = Aged::new(1000);
        for g in 0..100_000u32 {
            let k = u64::from(g);
            *t.entry(k, g) |= 1;
            // Ten keys in flight at a time; one older key lives on (never ends).
            if g > 10 && g != 11 {
                t.forget(k - 10, g);
            }
            t.prune(g.saturating_sub(3));
            assert!(t.len() <= 12, "{} live at {g}", t.len());
            assert!(t.held() <= 20, "{} held at {g}", t.held());
            assert!(t.order.len() <= 2 * t.len() + 1024, "{}", t.order.len());
        }
        assert!(t.live(1).is_some(), "the key that never ended stays");
        assert!(t.live(99_989).is_none() && t.live(99_990).is_some());
    }
}
