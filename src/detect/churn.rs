//! Hash tables that lose keys about as fast as they gain them while more than half full: the
//! failed-login store, which sealing empties of as many addresses an hour as new ones fail.
//!
//! The standard table (hashbrown's design) marks a removed slot *deleted* rather than *empty*
//! when it sits in a long run of used slots, and deleted slots still count against the room
//! left; when that room runs out the table cleans up in place only while it is at most half
//! full, otherwise it doubles. A table that holds many keys and churns therefore doubles
//! without holding a single key more: measured on the 10 GB MX log, the failed-login table
//! (196,000 addresses at the busiest hour, of at most 200,000) took 34 MB where 17 MB hold
//! them. [`Churn`] counts what a table lost and rebuilds it, fresh and sized for what it
//! holds, once the losses reach a share of its keys — often enough that deleted slots never
//! use up its room. A table at most half full seldom marks a slot deleted and needs none of
//! this (the session join's, at its cap, sits at half: rebuilding it only cost a moment at
//! twice its size).
//!
//! To use it for another table: a `Churn` beside the table, [`Churn::removed`] after each
//! removal (or the number a `retain` dropped), [`Churn::tidy`] at a point where a pause of one
//! rebuild is fine (the end of a sealing).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// Removals from one table since it was last rebuilt.
#[derive(Debug, Default, Clone)]
pub struct Churn {
    removed: usize,
    rebuilt: u64,
}

impl Churn {
    /// Counts `n` keys removed.
    pub fn removed(&mut self, n: usize) {
        self.removed = self.removed.saturating_add(n);
    }

    /// Rebuilds `map` when the keys removed since the last rebuild reach `1 / share` of the
    /// keys it holds (and a few hundred, so that a small table is left alone).
    pub fn tidy<K: Eq + Hash, V, S: BuildHasher + Default>(
        &mut self,
        map: &mut HashMap<K, V, S>,
        share: usize,
    ) {
        if self.removed < 512 || self.removed.saturating_mul(share.max(1)) < map.len() {
            return;
        }
        let old = std::mem::take(map);
        map.reserve(old.len());
        map.extend(old);
        self.removed = 0;
        self.rebuilt += 1;
    }

    /// Times the table was rebuilt.
    pub fn rebuilt(&self) -> u64 {
        self.rebuilt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    /// A window of `keep` keys sliding over `total` keys, one in and one out at a time.
    fn slide(keep: u64, total: u64, mut churn: Option<&mut Churn>) -> usize {
        let mut m: FxHashMap<u64, [u64; 2]> = FxHashMap::default();
        for k in 0..total {
            m.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), [k, k]);
            if k >= keep {
                let old = (k - keep).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                m.remove(&old);
                if let Some(c) = churn.as_deref_mut() {
                    c.removed(1);
                    c.tidy(&mut m, 4);
                }
            }
        }
        assert_eq!(m.len() as u64, keep);
        m.capacity()
    }

    #[test]
    fn a_churning_table_keeps_its_size_when_tidied() {
        // 100,000 keys: fit 2^17 slots (114,688 at most) but are more than half of that, so
        // a table that runs out of room doubles instead of cleaning up.
        let keep = 100_000;
        let mut churn = Churn::default();
        let tidied = slide(keep, 4_000_000, Some(&mut churn));
        assert!(churn.rebuilt() > 0);
        assert!(
            tidied < 2 * keep as usize,
            "tidied table holds room for {tidied}"
        );
        // What it guards against: the same window untidied doubles (if the standard table
        // ever stops doing so, this fails and the module doc is to be revised).
        let untidied = slide(keep, 4_000_000, None);
        assert!(untidied > tidied, "{untidied} <= {tidied}");
    }

    #[test]
    fn a_table_keeps_every_key_across_a_rebuild() {
        let mut m: FxHashMap<u32, u32> = (0..2000).map(|k| (k, k * 2)).collect();
        let mut churn = Churn::default();
        m.retain(|k, _| k % 2 == 0);
        churn.removed(1000);
        churn.tidy(&mut m, 4);
        assert_eq!(churn.rebuilt(), 1);
        assert_eq!(m.len(), 1000);
        assert!((0..2000).step_by(2).all(|k| m.get(&k) == Some(&(k * 2))));
        // Too few removals: left alone.
        m.remove(&0);
        churn.removed(1);
        churn.tidy(&mut m, 4);
        assert_eq!(churn.rebuilt(), 1);
    }
}
