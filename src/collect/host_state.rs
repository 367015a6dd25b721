//! The host-state part of a collection: the live processes with a hashed copy of every
//! deleted or in-memory executable (`volatile/exe/<pid>.bin`, flagged `malware_sample`),
//! `/etc/shadow` as account metadata only (`host/shadow-accounts.jsonl`), and
//! `/etc/ld.so.preload` read through libc and by raw system calls, compared
//! (`host/preload-check.json`), its raw bytes kept when a hiding library hides it from libc.
//!
//! These are methods of the collection run ([`super::Run`]); the readers they call are
//! [`super::volatile`], [`super::hostfiles`] and [`super::preload`]. To take another piece of
//! host state, add a method here and call it from the run's volatile or file stage.

#[allow(unused_imports)]
use super::*;

impl Run<'_> {
    /// Processes, with a copy of every deleted or in-memory executable stored first
    /// (`volatile/exe/<pid>.bin`, one per distinct file) and named in its processes' rows.
    #[cfg(unix)]
    pub(super) fn processes(&mut self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let mut procs = volatile::process_rows();
        // Room in the closing records for a row per sample (refused ones included).
        let wanted = procs.iter().filter(|p| p.wants_sample()).count();
        if wanted > 0 {
            if let Err(e) = self.writer.reserve_more(wanted as u64 * record_room(128)) {
                self.log(format!(
                    "WARNING: no room on the destination to reserve the records of {wanted} malware sample row(s): {e}"
                ));
            }
        }
        // (dev, inode) of each copied file -> index of its row in `samples`.
        let mut by_file: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        let mut samples: Vec<(ManifestRow, Vec<u32>)> = Vec::new();
        let mut total = 0u64;
        for p in procs.iter_mut().filter(|p| p.wants_sample()) {
            let exe = match volatile::open_exe(p.pid) {
                Ok(e) => e,
                Err(e) => {
                    p.sample_error = Some(format!("/proc/{}/exe not opened: {e}", p.pid));
                    continue;
                }
            };
            let key = (exe.meta.dev(), exe.meta.ino());
            if let Some(&i) = by_file.get(&key) {
                let (row, pids) = &mut samples[i];
                pids.push(p.pid);
                p.sample = row.stored.clone();
                p.sample_sha256 = row.sha256.clone();
                p.sample_size = row.size;
                p.sample_error = row.stored.is_none().then(|| row.error.clone()).flatten();
                continue;
            }
            let len = exe.meta.len();
            let source = format!(
                "/proc/{}/exe ({})",
                p.pid,
                p.exe.as_deref().unwrap_or("unreadable link")
            );
            let mut row =
                ManifestRow::named(source, Category::Volatile, Outcome::Error, FileKind::File);
            row.set_meta(&exe.meta);
            row.malware_sample = true;
            let refused = if len > volatile::SAMPLE_CAP {
                Some((
                    Outcome::TooLarge,
                    format!(
                        "{len} bytes, over the {} byte cap of one sample: not copied",
                        volatile::SAMPLE_CAP
                    ),
                ))
            } else if total + len > volatile::SAMPLES_TOTAL {
                Some((
                    Outcome::TooLarge,
                    format!(
                        "{len} bytes would pass the {} bytes of samples one collection copies: not copied",
                        volatile::SAMPLES_TOTAL
                    ),
                ))
            } else {
                self.writer
                    .stopped()
                    .map(|stop| take::not_stored(stop, None))
            };
            let name = format!("volatile/exe/{}.bin", p.pid);
            // Refused before the copy (too large, the bundle stopped) or while storing it:
            // either way the row says why and the process row names it.
            let stored = match refused {
                Some(r) => Err(r),
                None => {
                    let mtime = exe.meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    row.noatime = Some(exe.noatime);
                    match self.writer.add_stream(&name, len, mtime, &mut &exe.file) {
                        Ok(s) => Ok(s),
                        Err(e) => match self.writer.stopped() {
                            Some(stop) => Err(take::not_stored(stop, Some(&name))),
                            None => return Err(e.into()),
                        },
                    }
                }
            };
            let stored = match stored {
                Ok(s) => s,
                Err((outcome, note)) => {
                    row.outcome = outcome;
                    row.error = Some(note.clone());
                    p.sample_error = Some(note);
                    by_file.insert(key, samples.len());
                    samples.push((row, Vec::new()));
                    continue;
                }
            };
            total += len;
            row.outcome = Outcome::Collected;
            row.size = Some(len);
            row.stored = Some(name.clone());
            row.sha256 = Some(stored.sha256.clone());
            if let Some(e) = stored.read_error {
                row.outcome = Outcome::Error;
                row.error = Some(format!(
                    "read failed after {} of {len} bytes: {e}; the rest is zero-filled",
                    stored.source_bytes
                ));
            } else if stored.source_bytes < len {
                row.outcome = Outcome::ChangedDuringRead;
                row.error = Some(format!(
                    "shrank during the read: {} of {len} bytes read; the rest is zero-filled",
                    stored.source_bytes
                ));
            }
            p.sample = Some(name);
            p.sample_sha256 = Some(stored.sha256);
            p.sample_size = Some(len);
            by_file.insert(key, samples.len());
            samples.push((row, Vec::new()));
        }
        for (mut row, shared) in samples {
            if !shared.is_empty() {
                let pids: Vec<String> = shared.iter().map(u32::to_string).collect();
                let note = format!("also the executable of pid {}", pids.join(", "));
                row.error = Some(match row.error.take() {
                    Some(e) => format!("{e}; {note}"),
                    None => note,
                });
            }
            if row.stored.is_some() {
                let msg = format!(
                    "WARNING: a running program whose file is deleted or only in memory was copied as a malware sample: {} -> {}",
                    row.source,
                    row.stored.as_deref().unwrap_or_default()
                );
                self.progress
                    .suspend(|| eprintln!("mailir collect: {}", terminal(&msg)));
                self.log(msg);
            }
            self.record(row);
        }
        let mut bytes = Vec::new();
        for p in &procs {
            bytes.extend(serde_json::to_vec(p)?);
            bytes.push(b'\n');
        }
        self.store_generated(
            "processes.jsonl",
            "proc:processes.jsonl".into(),
            &bytes,
            None,
        )
    }

    #[cfg(not(unix))]
    pub(super) fn processes(&mut self) -> Result<()> {
        Ok(())
    }

    /// `/etc/shadow`: a `skipped` row (read for its account metadata only) and the derived
    /// `host/shadow-accounts.jsonl` ([`hostfiles`]).
    pub(super) fn shadow(&mut self) -> Result<()> {
        let read = hostfiles::read_shadow(self.root);
        self.record(read.row);
        if let Some((bytes, mtime)) = read.derived {
            let row = hostfiles::derived_row(&bytes, mtime);
            self.store_row(row, hostfiles::SHADOW_STORED, &bytes)?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
impl Run<'_> {
    /// Reads `/etc/ld.so.preload` through libc and raw ([`preload`]), stores the comparison as
    /// `host/preload-check.json` and keeps it for the file's own row.
    pub(super) fn preload_check(&mut self) -> Result<()> {
        let c = preload::check(self.root);
        let bytes = serde_json::to_vec(&c)?;
        let mut row = ManifestRow::named(
            preload::CHECK_SOURCE.into(),
            Category::HostConfig,
            Outcome::Collected,
            FileKind::Command,
        );
        row.size = Some(bytes.len() as u64);
        row.mtime = Some(rfc3339(SystemTime::now()));
        row.exported_by = Some(
            "mailir: /etc/ld.so.preload read through the C library (open64, readdir64) and with direct system calls (openat, getdents64, read), compared"
                .into(),
        );
        if !c.notes.is_empty() {
            row.error = Some(c.notes.join("; "));
        }
        if c.differ {
            let view = |v: &preload::View| {
                format!(
                    "listed {}, opened {}, size {:?}, sha256 {}",
                    v.listed,
                    v.opened,
                    v.size,
                    v.sha256.as_deref().unwrap_or("-")
                )
            };
            let msg = format!(
                "WARNING: /etc/ld.so.preload is not the same through the C library ({}) as through direct system calls ({}): a preload rootkit hides it this way; {}",
                view(&c.libc),
                view(&c.raw),
                if c.raw_wins() {
                    "the bytes read with direct system calls are collected as /etc/ld.so.preload"
                } else {
                    "the direct read did not get its content either"
                }
            );
            self.progress
                .suspend(|| eprintln!("mailir collect: {}", terminal(&msg)));
            self.log(msg.clone());
            self.platform_notes.push(msg);
        }
        self.store_row(row, preload::CHECK_STORED, &bytes)?;
        self.preload = Some(c);
        Ok(())
    }

    /// For `/etc/ld.so.preload` when the two reads differed: stores the raw bytes as its row
    /// instead of a take through libc. True when it did.
    pub(super) fn preload_raw_instead(&mut self, path: &HostPath) -> Result<bool> {
        if path.as_bytes() != preload::PRELOAD.as_bytes()
            || !self.preload.as_ref().is_some_and(|c| c.raw_wins())
        {
            return Ok(false);
        }
        self.preload_raw_row(
            path,
            "read with direct system calls: the C library did not show this file as it is (host/preload-check.json), as a preload rootkit hides it",
        )?;
        Ok(true)
    }

    /// For `/etc/ld.so.preload` taken through libc without its content while the raw read got
    /// it (a hook on `lstat` alone): stores the raw bytes as its row instead of `row`. True
    /// when it did (`row` is then dropped).
    pub(super) fn preload_raw_after(&mut self, path: &HostPath, row: &ManifestRow) -> Result<bool> {
        let raw_has = self
            .preload
            .as_ref()
            .is_some_and(|c| c.raw.opened && c.raw_bytes.is_some());
        if path.as_bytes() != preload::PRELOAD.as_bytes()
            || row.outcome.has_content()
            || row.stored.is_some()
            || row.outcome == Outcome::Symlink
            || !raw_has
        {
            return Ok(false);
        }
        let why = format!(
            "read with direct system calls: through the C library it was {} ({}), as a preload rootkit hides it",
            row.outcome.name(),
            row.error.as_deref().unwrap_or("no detail")
        );
        let msg = format!("WARNING: /etc/ld.so.preload: {why}");
        self.progress
            .suspend(|| eprintln!("mailir collect: {}", terminal(&msg)));
        self.platform_notes.push(msg);
        self.preload_raw_row(path, &why)?;
        Ok(true)
    }

    fn preload_raw_row(&mut self, path: &HostPath, why: &str) -> Result<()> {
        let Some(c) = &self.preload else {
            return Ok(());
        };
        let bytes = c.raw_bytes.clone().unwrap_or_default();
        let mut row = ManifestRow::new(path, Category::HostConfig, Outcome::Collected);
        row.file_type = FileKind::File;
        row.size = Some(bytes.len() as u64);
        row.noatime = Some(c.raw_noatime);
        if let Some(m) = &c.raw_meta {
            let time = |(s, n): (i64, i64)| crate::evidence::manifest::unix_time(s, n);
            row.mode = Some(format!("{:04o}", m.mode & 0o7777));
            row.uid = Some(m.uid);
            row.gid = Some(m.gid);
            row.inode = Some(m.inode);
            row.dev = Some(m.dev);
            row.mtime = time(m.mtime);
            row.ctime = time(m.ctime);
            row.atime = time(m.atime);
        }
        row.error = Some(format!(
            "{why}; stored as {} (a name without \"ld.so.preload\", which the hiding also refuses to the bundle's own files)",
            preload::RAW_STORED
        ));
        self.store_row(row, preload::RAW_STORED, &bytes)
    }
}
