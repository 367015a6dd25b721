//! Reading compiled lookup tables without the libraries that wrote them: Berkeley DB hash and
//! btree (`postmap hash:`/`btree:`, `postalias`, sendmail `makemap`), CDB and LMDB.
//!
//! Each decoder walks the file's own structure (pages, slot arrays, overflow chains) with
//! bounds checks on every offset, so a damaged or hostile file yields fewer entries or an
//! error, never a panic. Postfix stores keys and values with a trailing NUL in Berkeley DB
//! and LMDB; one trailing NUL is removed. Entries come back in file order; callers compare
//! them as sets.

use std::collections::HashSet;

/// A decoded key/value pair.
pub type Pair = (String, String);

/// Why a compiled table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a format mailir reads.
    #[error("not a Berkeley DB, CDB or LMDB file")]
    Unknown,
    /// The structure is damaged.
    #[error("damaged {0} file: {1}")]
    Damaged(&'static str, String),
}

fn text(b: &[u8]) -> String {
    let b = b.strip_suffix(b"\0").unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

/// Decodes a compiled table; `hint` is the map type or file suffix (`hash`, `cdb`, `lmdb`).
pub fn decode(data: &[u8], hint: &str) -> Result<Vec<Pair>, DecodeError> {
    if let Some(order) = Bdb::order(data) {
        return Bdb::new(data, order)?.pairs();
    }
    if lmdb_meta(data) {
        return lmdb(data);
    }
    if hint == "cdb" {
        return cdb(data);
    }
    Err(DecodeError::Unknown)
}

// --- Berkeley DB -------------------------------------------------------------------------

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_LBTREE: u8 = 5;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

struct Bdb<'a> {
    data: &'a [u8],
    order: Order,
    page: usize,
    /// Bytes of keys and values still allowed (see [`Budget`]).
    budget: Budget,
}

impl<'a> Bdb<'a> {
    fn order(data: &[u8]) -> Option<Order> {
        let m: [u8; 4] = data.get(12..16)?.try_into().ok()?;
        for (order, v) in [
            (Order::Little, u32::from_le_bytes(m)),
            (Order::Big, u32::from_be_bytes(m)),
        ] {
            if v == HASH_MAGIC || v == BTREE_MAGIC {
                return Some(order);
            }
        }
        None
    }

    fn new(data: &'a [u8], order: Order) -> Result<Self, DecodeError> {
        let mut b = Bdb {
            data,
            order,
            page: 0,
            budget: Budget::new("Berkeley DB", data.len()),
        };
        let page = b.u32(20).unwrap_or(0) as usize;
        if !(512..=65536).contains(&page) || !page.is_power_of_two() {
            return Err(DecodeError::Damaged(
                "Berkeley DB",
                format!("page size {page}"),
            ));
        }
        b.page = page;
        Ok(b)
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at + 2)?.try_into().ok()?;
        Some(match self.order {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
        Some(match self.order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }

    /// Follows an overflow chain from page `pgno` for `len` bytes.
    fn overflow(&self, mut pgno: u32, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(1 << 20));
        let mut seen = HashSet::new();
        while out.len() < len && pgno != 0 && seen.insert(pgno) {
            let at = pgno as usize * self.page;
            if *self.data.get(at + 25)? != P_OVERFLOW {
                return None;
            }
            let here = self.u16(at + 22)? as usize;
            out.extend_from_slice(self.data.get(at + PAGE_HEADER..at + PAGE_HEADER + here)?);
            pgno = self.u32(at + 16)?;
        }
        (out.len() >= len).then(|| {
            out.truncate(len);
            out
        })
    }

    /// The items of one page, in slot order.
    fn items(&self, at: usize, kind: u8) -> Result<Vec<Option<Vec<u8>>>, DecodeError> {
        // No more slots than the page can hold, whatever its header says.
        let entries = (self.u16(at + 20).unwrap_or(0) as usize).min((self.page - PAGE_HEADER) / 2);
        let mut out = Vec::with_capacity(entries);
        let mut prev_off = self.page;
        for i in 0..entries {
            let Some(off) = self.u16(at + PAGE_HEADER + 2 * i).map(usize::from) else {
                break;
            };
            let item = if kind == P_LBTREE {
                self.btree_item(at + off)?
            } else {
                let end = if off < prev_off { prev_off } else { self.page };
                self.hash_item(at + off, at + end)?
            };
            prev_off = off;
            out.push(item);
        }
        Ok(out)
    }

    /// An inline item's bytes, or an overflow chain's, once the budget allows them.
    fn bytes(
        &self,
        inline: Option<&[u8]>,
        overflow_at: usize,
    ) -> Result<Option<Vec<u8>>, DecodeError> {
        if let Some(b) = inline {
            self.budget.spend(b.len())?;
            return Ok(Some(b.to_vec()));
        }
        let (Some(pgno), Some(len)) = (self.u32(overflow_at), self.u32(overflow_at + 4)) else {
            return Ok(None);
        };
        self.budget.spend(len as usize)?;
        Ok(self.overflow(pgno, len as usize))
    }

    fn hash_item(&self, start: usize, end: usize) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.data.get(start) {
            Some(1) => match self.data.get(start + 1..end) {
                Some(b) => self.bytes(Some(b), 0),
                None => Ok(None),
            },
            Some(3) => self.bytes(None, start + 4),
            _ => Ok(None),
        }
    }

    fn btree_item(&self, start: usize) -> Result<Option<Vec<u8>>, DecodeError> {
        let Some(&kind) = self.data.get(start + 2) else {
            return Ok(None);
        };
        if kind & 0x80 != 0 {
            return Ok(None); // deleted
        }
        match kind & 0x7f {
            1 => {
                let inline = self
                    .u16(start)
                    .and_then(|len| self.data.get(start + 3..start + 3 + len as usize));
                match inline {
                    Some(b) => self.bytes(Some(b), 0),
                    None => Ok(None),
                }
            }
            3 => self.bytes(None, start + 4),
            _ => Ok(None),
        }
    }

    fn pairs(&self) -> Result<Vec<Pair>, DecodeError> {
        let pages = self.data.len() / self.page;
        let mut out = Vec::new();
        for p in 1..pages {
            let at = p * self.page;
            let kind = self.data[at + 25];
            if !matches!(kind, P_HASH | P_HASH_UNSORTED | P_LBTREE) {
                continue;
            }
            let items = self.items(at, kind)?;
            for pair in items.chunks(2) {
                if let [Some(k), Some(v)] = pair {
                    out.push((text(k), text(v)));
                }
            }
        }
        Ok(out)
    }
}

// --- the output budget ----------------------------------------------------------------------

/// Every key and value of a sound map is stored once in the file, so the decoded bytes never
/// add up to more than the file's size. A hostile file can make many slots point at the same
/// item or overflow chain (a 28 KB file found by the fuzzer decoded to 400 MB); the budget
/// refuses it as damaged as soon as the output outgrows the input.
struct Budget {
    format: &'static str,
    left: std::cell::Cell<usize>,
}

impl Budget {
    fn new(format: &'static str, file_len: usize) -> Self {
        Budget {
            format,
            left: std::cell::Cell::new(file_len),
        }
    }

    fn spend(&self, n: usize) -> Result<(), DecodeError> {
        let left = self.left.get();
        if n > left {
            return Err(DecodeError::Damaged(
                self.format,
                "its entries add up to more than the file holds (slots share storage)".into(),
            ));
        }
        self.left.set(left - n);
        Ok(())
    }
}

// --- CDB ---------------------------------------------------------------------------------

fn le32(data: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b) as usize)
}

/// D. J. Bernstein's constant database: a 2048-byte table of hash-table positions, then the
/// records (`klen`, `dlen`, key, data) up to the first hash table.
fn cdb(data: &[u8]) -> Result<Vec<Pair>, DecodeError> {
    let damaged = |why: &str| DecodeError::Damaged("CDB", why.to_string());
    if data.len() < 2048 {
        return Err(damaged("shorter than its header"));
    }
    let end = (0..256)
        .filter_map(|i| le32(data, i * 8))
        .min()
        .ok_or_else(|| damaged("header"))?;
    if end < 2048 || end > data.len() {
        return Err(damaged("hash table position outside the file"));
    }
    let mut out = Vec::new();
    let mut at = 2048;
    while at + 8 <= end {
        let (Some(kl), Some(dl)) = (le32(data, at), le32(data, at + 4)) else {
            break;
        };
        let k = at + 8;
        let (Some(key), Some(val)) = (data.get(k..k + kl), data.get(k + kl..k + kl + dl)) else {
            return Err(damaged("record runs past the end"));
        };
        out.push((text(key), text(val)));
        at = k + kl + dl;
    }
    Ok(out)
}

// --- LMDB --------------------------------------------------------------------------------

const LMDB_MAGIC: u32 = 0xBEEF_C0DE;

fn lmdb_meta(data: &[u8]) -> bool {
    le32(data, 16) == Some(LMDB_MAGIC as usize)
}

fn le16(data: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 2] = data.get(at..at + 2)?.try_into().ok()?;
    Some(u16::from_le_bytes(b) as usize)
}

fn le64(data: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = data.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// LMDB (64-bit layout): the newer of the two meta pages names the main tree's root; the walk
/// descends branch pages to leaves, so pages freed by earlier transactions (which may hold
/// stale entries) are never read.
fn lmdb(data: &[u8]) -> Result<Vec<Pair>, DecodeError> {
    let damaged = |why: String| DecodeError::Damaged("LMDB", why);
    let page = le32(data, 40)
        .filter(|p| (512..=65536).contains(p))
        .unwrap_or(4096);
    let meta = |n: usize| {
        let at = n * page;
        Some((le64(data, at + 144)?, le64(data, at + 128)?))
    };
    let (a, b) = (meta(0), meta(1));
    let root = match (a, b) {
        (Some(a), Some(b)) => {
            if b.0 >= a.0 {
                b.1
            } else {
                a.1
            }
        }
        (Some(a), None) => a.1,
        _ => return Err(damaged("no meta page".into())),
    };
    let mut out = Vec::new();
    let budget = Budget::new("LMDB", data.len());
    if root == u64::MAX {
        return Ok(out); // empty database
    }
    let mut stack = vec![(root, 0usize)];
    let mut seen = HashSet::new();
    while let Some((pgno, depth)) = stack.pop() {
        if depth > 64 || !seen.insert(pgno) {
            continue;
        }
        let at = usize::try_from(pgno)
            .ok()
            .and_then(|p| p.checked_mul(page))
            .filter(|a| a.checked_add(page).is_some_and(|end| end <= data.len()))
            .ok_or_else(|| damaged(format!("page {pgno} outside the file")))?;
        let flags = le16(data, at + 10).unwrap_or(0);
        let lower = le16(data, at + 12).unwrap_or(16);
        let n = lower.saturating_sub(16) / 2;
        let mut children = Vec::new();
        for i in 0..n {
            let Some(off) = le16(data, at + 16 + 2 * i) else {
                break;
            };
            let node = at + off;
            let (Some(lo), Some(hi), Some(nflags), Some(ksize)) = (
                le16(data, node),
                le16(data, node + 2),
                le16(data, node + 4),
                le16(data, node + 6),
            ) else {
                continue;
            };
            let key = data.get(node + 8..node + 8 + ksize);
            if flags & 0x01 != 0 {
                children.push(((lo | hi << 16 | nflags << 32) as u64, depth + 1));
            } else if flags & 0x02 != 0 {
                let dlen = lo | hi << 16;
                let val = if nflags & 0x01 != 0 {
                    le64(data, node + 8 + ksize).and_then(|op| {
                        let o = usize::try_from(op).ok()?.checked_mul(page)?;
                        let from = o.checked_add(16)?;
                        data.get(from..from.checked_add(dlen)?)
                    })
                } else {
                    data.get(node + 8 + ksize..node + 8 + ksize + dlen)
                };
                if let (Some(k), Some(v)) = (key, val) {
                    budget.spend(k.len() + v.len())?;
                    out.push((text(k), text(v)));
                }
            }
        }
        children.reverse();
        stack.extend(children);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Vec<Pair> {
        vec![
            ("a.example".into(), "smtp:[1.2.3.4]".into()),
            ("b.example".into(), "smtp:[5.6.7.8]:2525".into()),
        ]
    }

    fn sorted(mut v: Vec<Pair>) -> Vec<Pair> {
        v.sort();
        v
    }

    #[test]
    fn postmap_outputs_of_every_type_decode_to_the_source() {
        // Written by Postfix 3.7 postmap from tests/fixtures/maps/transport.
        for (file, hint) in [
            (
                &include_bytes!("../../tests/fixtures/maps/transport.hash.db")[..],
                "hash",
            ),
            (
                &include_bytes!("../../tests/fixtures/maps/transport.btree.db")[..],
                "btree",
            ),
            (
                &include_bytes!("../../tests/fixtures/maps/transport.cdb")[..],
                "cdb",
            ),
            (
                &include_bytes!("../../tests/fixtures/maps/transport.lmdb")[..],
                "lmdb",
            ),
        ] {
            assert_eq!(sorted(decode(file, hint).unwrap()), expected(), "{hint}");
        }
    }

    #[test]
    fn damaged_and_foreign_files_are_errors_not_panics() {
        let db = include_bytes!("../../tests/fixtures/maps/transport.hash.db");
        for cut in [0, 13, 100, 4096, 5000, db.len() - 1] {
            let _ = decode(&db[..cut], "hash");
        }
        let mut scrambled = db.to_vec();
        for b in scrambled.iter_mut().skip(4096).step_by(7) {
            *b = 0xff;
        }
        let _ = decode(&scrambled, "hash");
        let lm = include_bytes!("../../tests/fixtures/maps/transport.lmdb");
        let mut bad = lm.to_vec();
        bad[4096 + 128] = 0x77; // root page number far outside the file
        assert!(matches!(
            decode(&bad, "lmdb"),
            Err(DecodeError::Damaged("LMDB", _))
        ));
        assert_eq!(decode(b"plain text\n", "hash"), Err(DecodeError::Unknown));
        assert!(decode(&[0u8; 100], "cdb").is_err());
        // Found by `cargo fuzz run decode_map`: a page number whose offset overflowed.
        let crash = include_bytes!("../../tests/fixtures/maps/fuzz-page-number-overflow.bin");
        for hint in ["hash", "cdb", "lmdb"] {
            let _ = decode(crash, hint);
        }
    }

    #[test]
    fn slots_sharing_one_item_are_refused_not_multiplied() {
        // Found by a long `decode_map` run: a 28 KB LMDB file whose slots all point at the
        // same nodes decoded to 400 MB in 2 s before the output budget.
        let bomb = include_bytes!("../../tests/fixtures/maps/fuzz-shared-overflow.bin");
        assert!(matches!(
            decode(bomb, "lmdb"),
            Err(DecodeError::Damaged("LMDB", _))
        ));
        // Every slot of a Postfix-written LMDB leaf page pointed at its first node.
        let lm = include_bytes!("../../tests/fixtures/maps/transport.lmdb");
        let mut bad = lm.to_vec();
        let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let m = if u64_at(&bad, 4096 + 144) >= u64_at(&bad, 144) {
            1
        } else {
            0
        };
        let at = u64_at(&bad, m * 4096 + 128) as usize * 4096;
        let slots = 1500;
        share_first_slot(&mut bad, at + 16, slots);
        bad[at + 12..at + 14].copy_from_slice(&((16 + 2 * slots) as u16).to_le_bytes());
        assert!(matches!(
            decode(&bad, "lmdb"),
            Err(DecodeError::Damaged("LMDB", _))
        ));
        // The same in a Postfix-written Berkeley DB B-tree: its leaf page's slots all point at
        // the first item.
        let bt = include_bytes!("../../tests/fixtures/maps/transport.btree.db");
        let mut bad = bt.to_vec();
        let page = u32::from_le_bytes(bad[20..24].try_into().unwrap()) as usize;
        let leaf = (1..bad.len() / page)
            .map(|p| p * page)
            .find(|&at| bad[at + 25] == P_LBTREE)
            .unwrap();
        let slots = 1500;
        share_first_slot(&mut bad, leaf + PAGE_HEADER, slots);
        bad[leaf + 20..leaf + 22].copy_from_slice(&(slots as u16).to_le_bytes());
        assert!(matches!(
            decode(&bad, "btree"),
            Err(DecodeError::Damaged("Berkeley DB", _))
        ));
    }

    /// Points `slots` slots of the table at `table` to the first slot's item.
    fn share_first_slot(page: &mut [u8], table: usize, slots: usize) {
        let first = [page[table], page[table + 1]];
        let off = u16::from_le_bytes(first) as usize;
        assert!(
            off >= 2 * slots + 26,
            "the first item lies inside the slot table"
        );
        for i in 0..slots {
            page[table + 2 * i..table + 2 * i + 2].copy_from_slice(&first);
        }
    }
}
