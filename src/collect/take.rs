//! Taking one planned path: examine it, copy-and-hash it into the bundle, record the row.
//!
//! The decision order is fixed and each step ends in exactly one outcome: vanished
//! (`missing`), unreadable (`denied`), symlink (`symlink`; its in-root target is taken next),
//! directory (`listed`), FIFO/socket/device (`special`, never opened), a hard link to a file of
//! password hashes, the bundle itself or an old rotation under `--since` (`skipped`), over the
//! cap (`too_large`), then the read. The
//! file is opened once; `fstat` before and after the read decides `changed_during_read`.
//! Once the bundle's destination has failed (full), a file that would be read is not opened:
//! its row keeps the metadata and says it was not collected ([`not_stored`]).

use std::io::{self, Read};
use std::time::SystemTime;

use globset::GlobSet;

use super::catalog::{default_cap, is_rotation};
use super::plan::outcome_of;
use crate::evidence::manifest::{rfc3339, Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::{escape, HostPath};
use crate::evidence::platform;
use crate::evidence::root::{HostRoot, ResolveError};
use crate::evidence::writer::{BundleWriter, Stopped};

/// Settings a take needs.
pub struct TakeRules<'a> {
    /// Paths flagged secret.
    pub secrets: &'a GlobSet,
    /// `--max-file-size`.
    pub max_file_size: Option<u64>,
    /// `--since`.
    pub since: Option<SystemTime>,
    /// (dev, inode) of the files of the bundle being written (an archive and its reserve).
    pub bundle: Vec<(u64, u64)>,
    /// (dev, inode) of the files of password hashes (`/etc/shadow` …): a hard link to one of
    /// them under another name is recorded, never copied.
    pub withheld: Vec<(u64, u64)>,
    /// The bundle's host path when it lies inside the collected root.
    pub bundle_path: Option<HostPath>,
    /// For an export folder: the bundle folder its files are stored under
    /// (`exports/<n>`) instead of `files/`; their formats are recognised and recorded.
    pub store_under: Option<String>,
    /// Record the recognised format of every log (`recognised_as`) as for exports: the
    /// Windows catalog, whose Exchange and IIS logs `parse` reads like exported ones.
    pub recognise: bool,
}

/// What a take produced besides its row: a symlink target to take next.
pub struct Taken {
    /// The manifest row.
    pub row: ManifestRow,
    /// The resolved target of a symlink.
    pub follow: Option<HostPath>,
}

fn is_log(c: Category) -> bool {
    matches!(
        c,
        Category::MailLog
            | Category::SystemLog
            | Category::Journal
            | Category::LoginRecords
            | Category::WebLog
    )
}

/// Wraps the source so a progress bar can follow the bytes.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

struct Counting<'a, R> {
    inner: R,
    progress: Progress<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Takes `path`; bundle write errors are returned, everything else is in the row.
pub fn take(
    root: &HostRoot,
    writer: &mut BundleWriter,
    rules: &TakeRules,
    path: &HostPath,
    category: Category,
    progress: Progress<'_>,
) -> io::Result<Taken> {
    let mut row = ManifestRow::new(path, category, Outcome::Error);
    row.secret = rules
        .secrets
        .is_match(std::path::Path::new(&*String::from_utf8_lossy(
            path.as_bytes(),
        )));
    let done = |mut row: ManifestRow, outcome: Outcome, error: Option<String>| {
        row.outcome = outcome;
        row.error = error;
        Ok(Taken { row, follow: None })
    };
    // Resolve the directories above it in the root; the last component is examined as is.
    let path = match root.resolve(&path.parent()) {
        Ok(parent) => parent.join(path.file_name()),
        Err(ResolveError::Loop) => {
            return done(
                row,
                Outcome::Error,
                Some("symlink loop in the directory path".into()),
            )
        }
        Err(ResolveError::Io(e)) => return done(row, outcome_of(&e), Some(e.to_string())),
    };
    let meta = match root.lstat(&path) {
        Ok(m) => m,
        Err(e) => return done(row, outcome_of(&e), Some(e.to_string())),
    };
    let listed = platform::meta(&meta);
    row.set_file_meta(&listed);
    match row.file_type {
        FileKind::Symlink => {
            row.outcome = Outcome::Symlink;
            match root.read_link(&path) {
                Ok(t) => row.link_target = Some(escape(&t)),
                Err(e) => row.error = Some(e.to_string()),
            }
            let follow = match root.resolve(&path) {
                Ok(t) => Some(t),
                Err(ResolveError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                    row.error = Some("target is not in the collected root".into());
                    None
                }
                Err(e) => {
                    row.error = Some(e.to_string());
                    None
                }
            };
            return Ok(Taken { row, follow });
        }
        FileKind::Dir => {
            return done(
                row,
                Outcome::Listed,
                Some("directory reached through a link; not walked".into()),
            )
        }
        FileKind::File => {}
        _ => {
            return done(
                row,
                Outcome::Special,
                Some("not a regular file; never opened".into()),
            )
        }
    }
    let is_bundle = |m: &platform::FileMeta| match (m.dev, m.inode) {
        (Some(dev), Some(ino)) => rules.bundle.contains(&(dev, ino)),
        _ => false,
    };
    if let (Some(dev), Some(ino)) = (listed.dev, listed.inode) {
        if rules.withheld.contains(&(dev, ino)) {
            return done(
                row,
                Outcome::Skipped,
                Some("the same file as /etc/shadow or another file of password hashes (a hard link): never copied".into()),
            );
        }
    }
    if is_bundle(&listed)
        || rules
            .bundle_path
            .as_ref()
            .is_some_and(|b| path.starts_with(b))
    {
        return done(
            row,
            Outcome::Skipped,
            Some("the bundle being written".into()),
        );
    }
    if let Some(since) = rules.since {
        let old = meta.modified().is_ok_and(|m| m < since);
        if is_log(category) && old && is_rotation(path.file_name()) {
            return done(
                row,
                Outcome::Skipped,
                Some(format!(
                    "rotated log last written before --since {}",
                    rfc3339(since)
                )),
            );
        }
    }
    let cap = rules.max_file_size.unwrap_or_else(|| default_cap(category));
    if meta.len() > cap {
        return done(
            row,
            Outcome::TooLarge,
            Some(format!(
                "{} bytes, over the {} cap of {cap} bytes",
                meta.len(),
                category.name()
            )),
        );
    }
    if let Some(stop) = writer.stopped() {
        let (outcome, note) = not_stored(stop, None);
        return done(row, outcome, Some(note));
    }
    let (file, noatime) = match root.open_file(&path) {
        Ok(f) => f,
        Err(e) if platform::became_link(&e) => {
            return done(
                row,
                Outcome::Error,
                Some("became a symlink after it was examined; not followed".into()),
            )
        }
        Err(e) => return done(row, outcome_of(&e), Some(e.to_string())),
    };
    row.noatime = Some(noatime);
    let before_std = match file.metadata() {
        Ok(m) if m.is_file() => m,
        Ok(_) => {
            return done(
                row,
                Outcome::Special,
                Some("replaced by a non-regular file before the read".into()),
            )
        }
        Err(e) => return done(row, Outcome::Error, Some(e.to_string())),
    };
    let before = platform::handle_meta(&file, &before_std);
    // Only on Windows does the handle tell more than the listing: the file id of the bundle.
    if listed.inode.is_none() && is_bundle(&before) {
        return done(
            row,
            Outcome::Skipped,
            Some("the bundle being written".into()),
        );
    }
    let mut notes = Vec::new();
    if let (Some(was), Some(now)) = (listed.inode, before.inode) {
        if now != was {
            notes.push(format!(
                "replaced between listing and read (inode {was} -> {now})"
            ));
        }
    }
    let len = before.len;
    let name = match &rules.store_under {
        Some(dir) => format!("{dir}/{}", escape(&path.as_bytes()[1..])),
        None => path.stored_name(),
    };
    let mtime = before_std.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let mut src = Counting {
        inner: &file,
        progress,
    };
    let stored = match writer.add_stream(&name, len, mtime, &mut src) {
        Ok(s) => s,
        Err(e) => {
            let Some(stop) = writer.stopped() else {
                return Err(e);
            };
            let (outcome, note) = not_stored(stop, Some(&name));
            row.allocated = before.allocated;
            return done(row, outcome, Some(note));
        }
    };
    let after = file.metadata();
    row.stored = Some(name);
    row.sha256 = Some(stored.sha256);
    row.size = Some(len);
    row.allocated = before.allocated;
    if let Some(allocated) = before.allocated {
        if allocated.saturating_add(1 << 20) < len {
            notes.push(format!(
                "sparse: {allocated} bytes allocated of {len}; the holes are stored as zeros (as holes in a directory bundle)"
            ));
        }
    }
    if before.inode.is_some() && row.inode.is_none() {
        // Windows: the file id, volume serial and change time are known from the handle only.
        row.inode = before.inode;
        row.dev = before.dev;
        row.ctime = before
            .ctime
            .and_then(|(s, n)| crate::evidence::manifest::unix_time(s, n));
    }
    if rules.store_under.is_some() || (rules.recognise && is_log(category)) {
        row.recognised_as = Some(
            crate::evidence::exports::recognise(&stored.head)
                .map_or("unrecognised", |k| k.name())
                .to_string(),
        );
    }
    if contains_private_key(&stored.head) {
        row.secret = true;
    }
    row.outcome = Outcome::Collected;
    if let Some(e) = stored.read_error {
        row.outcome = Outcome::Error;
        notes.push(format!(
            "read failed after {} of {len} bytes: {e}; the rest is zero-filled",
            stored.source_bytes
        ));
    } else if stored.source_bytes < len {
        row.outcome = Outcome::ChangedDuringRead;
        notes.push(format!(
            "shrank during the read: {} of {len} bytes read; the rest is zero-filled",
            stored.source_bytes
        ));
    }
    match after.map(|a| platform::handle_meta(&file, &a)) {
        Ok(a) => {
            let changed = a.len != len || a.mtime != before.mtime || a.ctime != before.ctime;
            if changed && row.outcome == Outcome::Collected {
                row.outcome = Outcome::ChangedDuringRead;
            }
            if changed {
                notes.push(format!(
                    "size {len} -> {} during the read; the first {len} bytes are stored",
                    a.len
                ));
            }
        }
        Err(e) => notes.push(format!("fstat after the read failed: {e}")),
    }
    if !notes.is_empty() {
        row.error = Some(notes.join("; "));
    }
    Ok(Taken { row, follow: None })
}

/// How every note of a row not stored because of the destination begins.
pub const NOT_STORED: &str = "not collected: bundle destination";

/// The outcome and note of a row whose content was not stored because the destination
/// failed: `destination_full` when it ran out of space or quota, else `error`. `entry` is the
/// bundle entry this row tried to write, if it did.
pub fn not_stored(stop: &Stopped, entry: Option<&str>) -> (Outcome, String) {
    let (outcome, what) = if stop.full() {
        (Outcome::DestinationFull, "full")
    } else {
        (Outcome::Error, "failed")
    };
    let note = if entry == Some(stop.entry.as_str()) {
        format!(
            "{NOT_STORED} {what} ({}) while this was copied; {}; evidence copying stopped here",
            stop.error,
            match &stop.cleanup_error {
                None => "the partial copy was taken back".to_string(),
                Some(c) => format!("the partial copy could not be taken back: {c}"),
            }
        )
    } else {
        format!(
            "{NOT_STORED} {what} ({}) while {} was copied; evidence copying stopped there",
            stop.error, stop.entry
        )
    };
    (outcome, note)
}

/// Whether the first bytes hold a PEM private key.
fn contains_private_key(head: &[u8]) -> bool {
    head.windows(b"PRIVATE KEY-----".len())
        .any(|w| w == b"PRIVATE KEY-----")
}
