//! The tests' case of several hosts: the compromised-postfix sample split into the two roles a
//! real mail system gives two machines — an MX (`mx1`: Postfix, its configuration and logs,
//! the host behind it) and an IMAP back end (`imap1`: Dovecot, its configuration and logs, the
//! mailboxes' homes) — each collected into a bundle by the real collector (`collect --root`,
//! custody host name from the root's `etc/hostname`), beside the Exchange sample's `exch01`
//! exports folder as a third host.
//!
//! The split is by the daemon that wrote each line, so every line is the sample's own: the
//! spray and SMTP brute force, the stolen login's spam and the planted Postfix maps stay on the
//! MX; the IMAP brute force and the reading of liwei's mailbox by 203.0.113.79 go to the IMAP
//! host. That address also sent spam with the stolen login through the MX: one attacker
//! across two hosts, both fallen. The attacker's root cron job and SSH key are planted on both
//! (what an attacker who roots both boxes leaves), so persistence is shared too.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// The logs of the sample, split by daemon.
const LOGS: [&str; 5] = [
    "var/log/mail.log",
    "var/log/mail.log.1",
    "var/log/mail.log.2.gz",
    "var/log/mail.log.3.gz",
    "var/log/mail.log.4.gz",
];

/// What only the MX keeps (the IMAP host loses it): Postfix and the host behind it, and the
/// `.forward` and procmail files Postfix's local delivery reads.
const MX_ONLY: [&str; 13] = [
    "home/admin/.forward",
    "home/liwei/.forward",
    "home/chenjing/.procmailrc",
    "etc/postfix",
    "etc/aliases",
    "etc/aliases.db",
    "etc/mailname",
    "etc/systemd",
    "etc/ld.so.preload",
    "var/backups",
    "var/log/auth.log",
    "var/log/auth.log.1",
    "var/log/mail.err",
];

/// Whether a syslog line was written by Dovecot.
fn dovecot(line: &str) -> bool {
    line.split_whitespace()
        .nth(4)
        .is_some_and(|tag| tag.starts_with("dovecot"))
}

fn read_log(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

fn write_log(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap();
    } else {
        f.write_all(text.as_bytes()).unwrap();
    }
}

fn remove(root: &Path, rel: &str) {
    let p = root.join(rel);
    if p.is_dir() {
        std::fs::remove_dir_all(&p).unwrap();
    } else if p.exists() {
        std::fs::remove_file(&p).unwrap();
    }
}

/// The two roots (`dir/mx1-root`, `dir/imap1-root`), log mtimes as the sample's truth
/// records them.
pub fn split_roots(dir: &Path) -> (PathBuf, PathBuf) {
    let truth = super::truth();
    let (mx, imap) = (dir.join("mx1-root"), dir.join("imap1-root"));
    super::copy_tree(&super::sample(), &mx);
    super::copy_tree(&super::sample(), &imap);
    for log in LOGS {
        let text = read_log(&super::sample().join(log));
        let (mut m, mut i) = (String::new(), String::new());
        for line in text.as_bytes().lines() {
            let line = line.unwrap();
            let to = if dovecot(&line) { &mut i } else { &mut m };
            to.push_str(&line);
            to.push('\n');
        }
        write_log(&mx.join(log), &m);
        write_log(&imap.join(log), &i);
    }
    // Dovecot and the Sieve scripts it runs are the IMAP host's; so are the mailboxes.
    for p in ["etc/dovecot", "home/wangfang/sieve", "usr/share/dovecot"] {
        remove(&mx, p);
    }
    for p in MX_ONLY {
        remove(&imap, p);
    }
    std::fs::write(mx.join("etc/hostname"), "mx1\n").unwrap();
    std::fs::write(imap.join("etc/hostname"), "imap1\n").unwrap();
    for root in [&mx, &imap] {
        for (path, info) in truth["logs"].as_object().unwrap() {
            let p = root.join(&path[1..]);
            if p.exists() {
                super::set_mtime(&p, info["mtime"].as_str().unwrap());
            }
        }
    }
    (mx, imap)
}

/// The two hosts collected: `dir/mx1.zip` and `dir/imap1.zip` (with their `.sha256`).
pub fn split_bundles(dir: &Path) -> (PathBuf, PathBuf) {
    let (mx_root, imap_root) = split_roots(dir);
    let (mx, imap) = (dir.join("mx1.zip"), dir.join("imap1.zip"));
    super::collect(&mx_root, &mx);
    super::collect(&imap_root, &imap);
    (mx, imap)
}

/// The Exchange sample's server exports: a third host (`exch01`, by its folder's name).
pub fn exchange_host() -> PathBuf {
    super::repo().join("samples/exchange-exports/exch01")
}
