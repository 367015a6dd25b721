//! Mailbox inventory: what mail is on the host, without copying it.
//!
//! Mail content is personal data and can be huge, so by default mailboxes are only listed
//! (`volatile/mailboxes.jsonl`: path, kind, size, mtime, message count). mbox files are
//! counted by their `From ` separator lines (streamed, opened without touching atime);
//! Maildir folders by the entries of `cur/` and `new/`. With `--include-mailboxes` the same
//! files are handed back to be collected (category `mailbox`).

use std::io::Read;

use serde::Serialize;

use super::catalog::{MAILBOX_ROOTS, VIRTUAL_HOMES};
use crate::evidence::manifest::unix_time;
use crate::evidence::pathname::HostPath;
use crate::evidence::platform;
use crate::evidence::root::HostRoot;

/// The modification time of `lstat` metadata, as the manifest writes it.
fn mtime_of(m: &std::fs::Metadata) -> Option<String> {
    platform::meta(m).mtime.and_then(|(s, n)| unix_time(s, n))
}

/// mbox files above this size are listed without a message count.
const COUNT_CAP: u64 = 8 << 30;

/// One mailbox.
#[derive(Debug, Serialize)]
pub struct Mailbox {
    /// Host path (escaped).
    pub path: String,
    /// `mbox` or `maildir`.
    pub kind: &'static str,
    /// Bytes (mbox) or null (Maildir).
    pub size: Option<u64>,
    /// Modification time of the file or folder.
    pub mtime: Option<String>,
    /// Messages (`From ` lines, or `cur` + `new` entries).
    pub messages: Option<u64>,
    /// Unread messages in `new/` (Maildir).
    pub new: Option<u64>,
}

/// The inventory and, when asked for, the mailbox paths to collect.
pub struct Inventory {
    /// Every mailbox found.
    pub mailboxes: Vec<Mailbox>,
    /// Files to collect (only with `--include-mailboxes`).
    pub files: Vec<HostPath>,
    /// Maildir folders (`cur`/`new` are collected below them when included).
    pub maildirs: Vec<HostPath>,
}

fn count_from_lines(root: &HostRoot, p: &HostPath) -> Option<u64> {
    let (mut f, _) = root.open_file(p).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut count = 0u64;
    let mut at_line_start = true;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        let mut data = std::mem::take(&mut carry);
        data.extend_from_slice(&buf[..n]);
        let mut i = 0;
        while i < data.len() {
            if at_line_start {
                if data.len() - i < 5 {
                    carry = data[i..].to_vec();
                    break;
                }
                if &data[i..i + 5] == b"From " {
                    count += 1;
                }
            }
            match data[i..].iter().position(|&b| b == b'\n') {
                Some(off) => {
                    i += off + 1;
                    at_line_start = true;
                }
                None => {
                    at_line_start = false;
                    break;
                }
            }
        }
    }
    Some(count)
}

fn entries(root: &HostRoot, p: &HostPath) -> u64 {
    std::fs::read_dir(root.real(p))
        .map(|d| d.flatten().count() as u64)
        .unwrap_or(0)
}

fn maildir(root: &HostRoot, dir: &HostPath) -> Mailbox {
    let cur = entries(root, &dir.join(b"cur"));
    let new = entries(root, &dir.join(b"new"));
    let meta = root.lstat(dir).ok();
    Mailbox {
        path: dir.display(),
        kind: "maildir",
        size: None,
        mtime: meta.and_then(|m| mtime_of(&m)),
        messages: Some(cur + new),
        new: Some(new),
    }
}

/// Finds Maildir folders (directories holding both `cur` and `new`) below `base`.
fn find_maildirs(root: &HostRoot, base: &HostPath, out: &mut Vec<HostPath>) {
    let Ok(resolved) = root.resolve(base) else {
        return;
    };
    let real = root.real(&resolved);
    let mut walker = walkdir::WalkDir::new(&real)
        .follow_links(false)
        .max_depth(8)
        .sort_by_file_name()
        .into_iter();
    while let Some(Ok(e)) = walker.next() {
        if !e.file_type().is_dir() {
            continue;
        }
        let name = e.file_name().as_encoded_bytes();
        if matches!(name, b"cur" | b"new" | b"tmp") {
            walker.skip_current_dir();
            continue;
        }
        if e.path().join("cur").is_dir() && e.path().join("new").is_dir() {
            out.push(super::plan::host_of(&real, &resolved, e.path()));
        }
    }
}

/// Lists the mailboxes of the root: spool mbox files, home and virtual Maildirs.
pub fn inventory(root: &HostRoot, homes: &[HostPath], include: bool) -> Inventory {
    let mut inv = Inventory {
        mailboxes: Vec::new(),
        files: Vec::new(),
        maildirs: Vec::new(),
    };
    for spool in MAILBOX_ROOTS {
        let Ok(dir) = root.resolve(&HostPath::new(spool)) else {
            continue;
        };
        let Ok(list) = std::fs::read_dir(root.real(&dir)) else {
            continue;
        };
        let mut names: Vec<_> = list.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let p = dir.join(name.as_encoded_bytes());
            let Ok(meta) = root.lstat(&p) else { continue };
            if !meta.is_file() || inv.mailboxes.iter().any(|m| m.path == p.display()) {
                continue;
            }
            inv.mailboxes.push(Mailbox {
                path: p.display(),
                kind: "mbox",
                size: Some(meta.len()),
                mtime: mtime_of(&meta),
                messages: if meta.len() <= COUNT_CAP {
                    count_from_lines(root, &p)
                } else {
                    None
                },
                new: None,
            });
            if include {
                inv.files.push(p);
            }
        }
    }
    let mut dirs = Vec::new();
    for home in homes {
        let md = home.join(b"Maildir");
        if root.lstat(&md).is_ok_and(|m| m.is_dir()) {
            find_maildirs(root, &md, &mut dirs);
        }
    }
    for v in VIRTUAL_HOMES {
        find_maildirs(root, &HostPath::new(v), &mut dirs);
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        inv.mailboxes.push(maildir(root, d));
    }
    if include {
        inv.maildirs = dirs;
    }
    inv
}
