//! Small sorted collections for per-bucket state.
//!
//! Rules keep one bucket per address and hour, and most buckets hold one or two accounts and
//! lines; a `BTreeMap` allocates a whole node (hundreds of bytes) for its first entry, which
//! made bucket memory, not events, the limit on big logs. These keep entries in one sorted
//! `Vec` (deterministic order, binary search) and are what buckets use.

/// Counts by name, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Counts(Vec<(Box<str>, u64)>);

impl Counts {
    /// Adds `n` to `name` (at most `cap` names are kept; later new names are ignored).
    pub fn add(&mut self, name: &str, n: u64, cap: usize) {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) => self.0[i].1 += n,
            Err(i) if self.0.len() < cap => {
                // Most buckets hold one name: no room for four on the first.
                if self.0.is_empty() {
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (name.into(), n))
            }
            Err(_) => {}
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counts, cap: usize) {
        for (k, n) in &other.0 {
            self.add(k, *n, cap);
        }
    }

    /// Distinct names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// Counts, in name order.
    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().map(|(_, n)| *n)
    }
}

/// A sorted set of names.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Names(Vec<Box<str>>);

impl Names {
    /// Adds `name` unless `cap` names are held already.
    pub fn insert(&mut self, name: &str, cap: usize) {
        if let Err(i) = self.0.binary_search_by(|k| (**k).cmp(name)) {
            if self.0.len() < cap {
                self.0.insert(i, name.into());
            }
        }
    }

    /// Names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|k| &**k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_capped_counts_and_names() {
        let mut c = Counts::default();
        for (k, n) in [("b", 1), ("a", 2), ("b", 3), ("c", 1)] {
            c.add(k, n, 2);
        }
        assert_eq!(c.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.values().collect::<Vec<_>>(), [2, 4]);
        let mut s = Names::default();
        for k in ["z", "x", "z", "y"] {
            s.insert(k, 10);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), ["x", "y", "z"]);
    }
}

/// A map keyed by two names and a number (an account, an address, an hour) that is looked up
/// with borrowed names ([`Borrowed`]): a fact's fields are found without allocating them, and
/// only a new key is copied.
pub type PairMap<V> = hashbrown::HashMap<(Box<str>, Box<str>, i64), V, rustc_hash::FxBuildHasher>;

/// A key of a [`PairMap`] made of borrowed names. It hashes exactly as the owned key does
/// (a tuple hashes its fields in order, and a `Box<str>` as its `str`).
#[derive(Debug, Clone, Copy)]
pub struct Borrowed<'a>(pub &'a str, pub &'a str, pub i64);

impl std::hash::Hash for Borrowed<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h);
        self.1.hash(h);
        self.2.hash(h);
    }
}

impl hashbrown::Equivalent<(Box<str>, Box<str>, i64)> for Borrowed<'_> {
    fn equivalent(&self, key: &(Box<str>, Box<str>, i64)) -> bool {
        self.2 == key.2 && *self.0 == *key.0 && *self.1 == *key.1
    }
}

/// The value of `key` in `map`, made with `new` (the names copied) when it is not there.
pub fn pair_entry<'m, V>(
    map: &'m mut PairMap<V>,
    key: Borrowed<'_>,
    new: impl FnOnce() -> V,
) -> &'m mut V {
    match map.entry_ref(&key) {
        hashbrown::hash_map::EntryRef::Occupied(o) => o.into_mut(),
        hashbrown::hash_map::EntryRef::Vacant(v) => {
            v.insert_with_key((key.0.into(), key.1.into(), key.2), new())
        }
    }
}

/// `s` in ASCII lower case, copied only when it has a capital (account names are looked up
/// lower-cased for every login; most are lower case already).
pub fn ascii_lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A fact's identity for [`once_per_fact`]: file, line, time, kind and where its text lies.
pub type FactKey = (u32, u64, i64, crate::events::record::Kind, usize);

/// The one-entry slot of a [`once_per_fact`] cache (one `thread_local!` per kind of result).
pub type FactSlot<T> = std::cell::RefCell<Option<(FactKey, Option<std::rc::Rc<T>>)>>;

/// What `parse` makes of fact `f`, made once while several rules read the same fact one after
/// the other on the detection thread (a one-entry cache in `slot`, keyed by the fact's
/// identity).
pub fn once_per_fact<T>(
    slot: &'static std::thread::LocalKey<FactSlot<T>>,
    f: &crate::detect::fact::Fact,
    parse: impl FnOnce() -> Option<T>,
) -> Option<std::rc::Rc<T>> {
    let key: FactKey = (
        f.file,
        f.line,
        f.ts_us,
        f.kind,
        f.detail().map_or(0, |d| d.as_ptr() as usize),
    );
    if let Some(hit) = slot.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }) {
        return hit;
    }
    let made = parse().map(std::rc::Rc::new);
    slot.with(|l| *l.borrow_mut() = Some((key, made.clone())));
    made
}
