//! A rule's records set aside on disk until the end of the run: state that can only matter
//! again in rare cases (a sealed reading that was nobody's theft unless a finding at the end
//! names its address the attacker's) leaves memory for a nameless scratch file in `$TMPDIR`
//! ([`crate::evidence::scratch`]: nothing is left behind however the run ends, never in the
//! evidence), one JSON line per record, within the same budget as the parse layer's scratch
//! copies (the free space less a reserve, [`crate::parse::spool::Budget`]), and is read back
//! at the end through a filter, so memory stays flat however long the input.
//!
//! To use it for another rule's state: make the record `Serialize + DeserializeOwned`,
//! [`Spill::put`] what is set aside, and [`Spill::take`] with the filter at the end. A write
//! that fails (a full disk) is counted, not fatal: the rule reports the records lost in its
//! limits.

use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Records set aside in a temporary file.
#[derive(Default)]
pub struct Spill {
    file: Option<BufWriter<std::fs::File>>,
    /// Bytes the file may still take (known once it is made).
    budget: Option<crate::parse::spool::Budget>,
    line: Vec<u8>,
    /// Records written.
    pub written: u64,
    /// Records that could not be written (or read back): lost, and reported.
    pub lost: u64,
    /// Why the first record was lost.
    pub error: Option<String>,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("written", &self.written)
            .field("lost", &self.lost)
            .finish()
    }
}

impl Spill {
    /// Sets one record aside.
    pub fn put<T: Serialize>(&mut self, record: &T) {
        if self.file.is_none() && self.error.is_none() {
            match crate::evidence::scratch::anonymous() {
                Ok(f) => self.file = Some(BufWriter::with_capacity(1 << 16, f)),
                Err(e) => self.error = Some(format!("cannot make a scratch file: {e}")),
            }
        }
        let budget = self
            .budget
            .get_or_insert_with(crate::parse::spool::Budget::of_temp_dir);
        let Some(w) = self.file.as_mut() else {
            self.lost += 1;
            return;
        };
        self.line.clear();
        let done = serde_json::to_writer(&mut self.line, record)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                self.line.push(b'\n');
                if budget.spend(self.line.len() as u64) {
                    w.write_all(&self.line).map_err(|e| e.to_string())
                } else {
                    Err("no room left in $TMPDIR beyond its reserve".to_string())
                }
            });
        match done {
            Ok(()) => self.written += 1,
            Err(e) => {
                self.lost += 1;
                self.error
                    .get_or_insert(format!("cannot write the scratch file: {e}"));
            }
        }
    }

    /// An empty one within `bytes`.
    #[cfg(test)]
    pub fn with_budget(bytes: u64) -> Spill {
        Spill {
            budget: Some(crate::parse::spool::Budget::of(bytes)),
            ..Spill::default()
        }
    }

    /// Reads every record back, keeping those `keep` accepts; the file is closed (and gone).
    pub fn take<T: DeserializeOwned>(&mut self, mut keep: impl FnMut(&T) -> bool) -> Vec<T> {
        let Some(w) = self.file.take() else {
            return Vec::new();
        };
        let mut f = match w.into_inner() {
            Ok(f) => f,
            Err(e) => {
                self.lost += self.written;
                self.error
                    .get_or_insert(format!("cannot write the temporary file: {}", e.error()));
                return Vec::new();
            }
        };
        if let Err(e) = f.seek(SeekFrom::Start(0)) {
            self.lost += self.written;
            self.error
                .get_or_insert(format!("cannot read the temporary file: {e}"));
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut read = 0u64;
        for line in BufReader::with_capacity(1 << 16, f).lines() {
            let record = line
                .map_err(|e| e.to_string())
                .and_then(|l| serde_json::from_str::<T>(&l).map_err(|e| e.to_string()));
            match record {
                Ok(r) => {
                    read += 1;
                    if keep(&r) {
                        out.push(r);
                    }
                }
                Err(e) => {
                    self.lost += self.written.saturating_sub(read);
                    self.error
                        .get_or_insert(format!("cannot read the temporary file back: {e}"));
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_through_the_filter_in_order() {
        let mut s = Spill::default();
        assert!(s.take::<u32>(|_| true).is_empty(), "nothing set aside");
        for i in 0..1000u32 {
            s.put(&(i, format!("a\nb\"{i}")));
        }
        assert_eq!(s.written, 1000);
        let back: Vec<(u32, String)> = s.take(|(i, _)| i % 100 == 7);
        assert_eq!(back.len(), 10);
        assert_eq!(back[3], (307, "a\nb\"307".to_string()));
        assert_eq!((s.lost, s.error.as_deref()), (0, None));
        assert!(s.take::<(u32, String)>(|_| true).is_empty(), "read once");
    }

    #[test]
    fn past_the_budget_records_are_lost_and_counted() {
        let mut s = Spill::with_budget(100);
        for i in 0..10u32 {
            s.put(&format!("record {i}"));
        }
        // Each line is 11 bytes: nine fit.
        assert_eq!((s.written, s.lost), (9, 1));
        assert!(
            s.error.as_deref().unwrap_or("").contains("no room"),
            "{:?}",
            s.error
        );
        assert_eq!(s.take::<String>(|_| true).len(), 9);
    }
}
