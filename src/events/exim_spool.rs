//! Exim spool header files (`<id>-H`) → `message_received` + one `message_queued` per
//! recipient.
//!
//! The format is Exim's own ("Format of spool files" in Exim's specification): the file's
//! name (`<id>-H`), `login uid gid` of the process that received the message, `<sender>`,
//! `time warning-count`, option lines starting with `-` (`--` marks a tainted value in 4.94
//! and later: `--helo_name`, `--host_address [ip]:port` — `ip.port` before 4.94 —,
//! `-host_name`, `--auth_id`, `-received_protocol`, `-interface_address`,
//! `-received_time_usec`; `-acl…` variables carry a value of a stated length on the lines
//! after them), the tree of recipients already delivered (`XX` when none), the recipient
//! count and list, a blank line, then the headers (`NNNf Name: value`, three-digit length and
//! a flag character; continuation lines start with white space).
//!
//! The envelope is kept **as Exim stored it** (capped at [`MAX_FIELD`]): a queued recipient
//! such as `${run{…}}@host` is what a rule must see, unchanged. The body (`-D`) is never read
//! (nor collected). Recognition is by content ([`crate::evidence::exports::recognise`]:
//! the first line is an Exim message id followed by `-H`); [`read`] has the signature of
//! [`crate::events::exchange::read`] so `parse` renders its events like an export's.

use std::io::{BufReader, Read};

use crate::events::detail::Detail;
use crate::events::exchange::{At, Got, Rec};
use crate::events::record::Kind;
use crate::evidence::manifest::read_line;
use crate::sanitize::capped;

/// Longest envelope value kept (sender, recipient, helo, login); longer ones are cut and
/// marked.
pub const MAX_FIELD: usize = 1024;
/// Longest line read; the rest of a longer one is skipped.
const MAX_LINE: usize = 64 << 10;
/// Most recipients read (Exim's default `recipients_max` is 50 000).
const MAX_RECIPIENTS: usize = 100_000;
/// Longest `-acl` value skipped.
const MAX_ACL_VALUE: u64 = 16 << 20;

/// Whether `s` is an Exim message id (both the pre-4.97 and the 4.97 form).
pub fn is_message_id(s: &str) -> bool {
    crate::evidence::exports::exim_message_id(s.as_bytes())
}

/// Whether the first bytes of a file are an Exim spool header.
pub fn recognise(head: &[u8]) -> bool {
    crate::evidence::exports::recognise(head)
        == Some(crate::evidence::exports::ExportKind::EximSpoolHeader)
}

/// What the envelope part of a header file says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Message id.
    pub id: String,
    /// Login of the receiving process (`Debian-exim` for SMTP, the caller for `-bs`/`-bm`).
    pub login: String,
    /// Envelope sender as stored (`<>` is empty).
    pub sender: String,
    /// Reception time, µs since the epoch.
    pub ts_us: i64,
    /// Client address (no port).
    pub src_ip: Option<String>,
    /// Client host name (verified by reverse lookup).
    pub host_name: Option<String>,
    /// HELO / EHLO name as given.
    pub helo: Option<String>,
    /// Authenticated login (`auth_id`).
    pub auth_id: Option<String>,
    /// Authenticator (`host_auth`).
    pub authenticator: Option<String>,
    /// `received_protocol` (`esmtp`, `esmtpsa`, `local` …).
    pub protocol: Option<String>,
    /// Recipients not yet delivered, as stored.
    pub recipients: Vec<String>,
    /// `Subject:` header (first line, capped).
    pub subject: Option<String>,
}

/// Why a header file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpoolError {
    /// The file ended before `what`.
    #[error("spool header ends before its {0}")]
    Truncated(&'static str),
    /// A line was not what the format puts there.
    #[error("spool header: bad {0} line")]
    Bad(&'static str),
}

/// The address of a `host_address` value: `[ip]:port` (4.94+) or `ip.port`.
fn address(v: &str) -> Option<String> {
    let ip = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next()?
    } else {
        v.rsplit_once('.').map_or(v, |(ip, _)| ip)
    };
    ip.parse::<std::net::IpAddr>().ok().map(|a| a.to_string())
}

fn keep(v: &str) -> String {
    capped(v, MAX_FIELD).into_owned()
}

/// Line reader that counts lines and bytes.
struct Lines<R> {
    r: BufReader<R>,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl<R: Read> Lines<R> {
    /// The next line without its end; `None` at the end or on a read error (kept).
    fn next(&mut self, error: &mut Option<String>) -> Option<String> {
        self.buf.clear();
        match read_line(&mut self.r, &mut self.buf, MAX_LINE) {
            Ok((0, _)) => None,
            Ok((n, _)) => {
                self.line += 1;
                self.offset += n as u64;
                let s = String::from_utf8_lossy(&self.buf);
                Some(s.trim_end_matches(['\n', '\r']).to_string())
            }
            Err(e) => {
                *error = Some(format!("read failed after line {}: {e}", self.line));
                None
            }
        }
    }

    /// Skips `n` bytes (an `-acl` value and its newline).
    fn skip(&mut self, n: u64) -> bool {
        match std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink()) {
            Ok(got) => {
                self.offset += got;
                got == n
            }
            Err(_) => false,
        }
    }
}

/// Reads the envelope (and the `Subject:`) of one header file.
pub fn envelope(r: &mut dyn Read, error: &mut Option<String>) -> Result<Envelope, SpoolError> {
    let mut l = Lines {
        r: BufReader::new(r),
        buf: Vec::new(),
        line: 0,
        offset: 0,
    };
    let mut e = Envelope::default();
    let first = l.next(error).ok_or(SpoolError::Truncated("name"))?;
    e.id = first
        .strip_suffix("-H")
        .filter(|i| is_message_id(i))
        .ok_or(SpoolError::Bad("name"))?
        .to_string();
    let who = l.next(error).ok_or(SpoolError::Truncated("login"))?;
    e.login = keep(who.split(' ').next().unwrap_or_default());
    let sender = l.next(error).ok_or(SpoolError::Truncated("sender"))?;
    e.sender = keep(
        sender
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .ok_or(SpoolError::Bad("sender"))?,
    );
    let time = l.next(error).ok_or(SpoolError::Truncated("time"))?;
    let secs: i64 = time
        .split(' ')
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or(SpoolError::Bad("time"))?;
    e.ts_us = secs.saturating_mul(1_000_000);
    // Options, then the delivered tree's first line.
    let mut line = loop {
        let line = l.next(error).ok_or(SpoolError::Truncated("recipients"))?;
        let Some(opt) = line.strip_prefix('-') else {
            break line;
        };
        let opt = opt.trim_start_matches('-');
        let (key, value) = opt.split_once(' ').unwrap_or((opt, ""));
        match key {
            "helo_name" => e.helo = Some(keep(value)),
            "host_address" => e.src_ip = address(value),
            "host_name" => e.host_name = Some(keep(value)),
            "auth_id" => e.auth_id = Some(keep(value)),
            "host_auth" => e.authenticator = Some(keep(value)),
            "received_protocol" => e.protocol = Some(keep(value)),
            "received_time_usec" => {
                let us: i64 = value.trim_start_matches('.').parse().unwrap_or(0);
                e.ts_us = e.ts_us.saturating_add(us.clamp(0, 999_999));
            }
            k if k.starts_with("acl") => {
                // `-aclc name len` / `-aclm name len` / `-acl n len`: a value of `len`
                // bytes and a newline follow.
                let len: u64 = value
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or(SpoolError::Bad("acl variable"))?;
                if len > MAX_ACL_VALUE || !l.skip(len + 1) {
                    return Err(SpoolError::Bad("acl variable"));
                }
            }
            _ => {}
        }
    };
    // The tree of delivered recipients: `XX` when empty, else one line per node in preorder,
    // whose two flags say whether a left / right child follows.
    let mut pending = 1u64;
    loop {
        let b = line.as_bytes();
        if b.len() < 2 || !b[..2].iter().all(|c| matches!(c, b'X' | b'Y' | b'N')) {
            return Err(SpoolError::Bad("delivered tree"));
        }
        pending -= 1;
        pending += u64::from(b[0] == b'Y') + u64::from(b[1] == b'Y');
        if pending == 0 {
            break;
        }
        line = l.next(error).ok_or(SpoolError::Truncated("recipients"))?;
    }
    let count: usize = l
        .next(error)
        .ok_or(SpoolError::Truncated("recipient count"))?
        .trim()
        .parse()
        .map_err(|_| SpoolError::Bad("recipient count"))?;
    for _ in 0..count.min(MAX_RECIPIENTS) {
        let r = l
            .next(error)
            .ok_or(SpoolError::Truncated("recipient list"))?;
        e.recipients.push(keep(recipient(&r)));
    }
    // Headers: the Subject only (the message's own words stay in the bundle).
    while let Some(h) = l.next(error) {
        let b = h.as_bytes();
        let is_header = b.len() > 5 && b[..3].iter().all(u8::is_ascii_digit) && b[4] == b' ';
        if is_header && b[3] != b'*' {
            if let Some(v) = h[5..]
                .split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("subject"))
            {
                e.subject = Some(keep(v.1.trim()));
                break;
            }
        }
    }
    Ok(e)
}

/// A recipient line's address: `addr`, or `addr errors_to len,pno#flags` (4.x extended form).
fn recipient(line: &str) -> &str {
    let flagged = line
        .rsplit_once('#')
        .is_some_and(|(_, f)| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !flagged {
        return line;
    }
    let mut parts = line.rsplitn(3, ' ');
    let _numbers = parts.next();
    let _errors_to = parts.next();
    parts.next().unwrap_or(line)
}

/// The events of one envelope.
pub fn events(e: &Envelope) -> Vec<Rec> {
    let proto = e
        .protocol
        .as_deref()
        .filter(|p| p.contains("smtp"))
        .map(|_| "smtp");
    let base = |kind: Kind| {
        let mut r = Rec::new(kind, e.ts_us, "exim");
        r.proto = proto;
        r.queue_id = Some(e.id.clone());
        r.sender = Some(e.sender.clone());
        r.src_ip.clone_from(&e.src_ip);
        r.src_host = e.host_name.clone();
        r.actor.clone_from(&e.auth_id);
        r.detail = Detail {
            client: e.helo.clone(),
            subject: e.subject.clone(),
            source: Some("exim spool header".into()),
            note: Some(format!(
                "received by {} with {}{}; {} recipient(s) queued",
                e.login,
                e.protocol.as_deref().unwrap_or("an unknown protocol"),
                e.authenticator
                    .as_deref()
                    .map(|a| format!(" (authenticator {a})"))
                    .unwrap_or_default(),
                e.recipients.len()
            )),
            ..Detail::default()
        };
        r
    };
    let mut out = vec![base(Kind::MessageReceived)];
    for rcpt in &e.recipients {
        let mut r = base(Kind::MessageQueued);
        r.recipient = Some(rcpt.clone());
        out.push(r);
    }
    out
}

/// Reads one header file, with the signature of [`crate::events::exchange::read`]: the events
/// go to `emit` at line 1; a damaged file is one unparsed record. Returns 1 (one record) and a
/// read error, if any.
pub fn read(
    r: &mut dyn Read,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, Option<String>) {
    let mut error = None;
    let at = At { line: 1, offset: 0 };
    match envelope(r, &mut error) {
        Ok(e) => {
            let text = format!("{}-H", e.id);
            emit(at, &text, Got::Events(events(&e)), false);
        }
        Err(err) => {
            emit(at, &err.to_string(), Got::Unparsed, false);
        }
    }
    (1, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/exim-spool/input/"
    );

    fn env_of(name: &str) -> Envelope {
        let bytes = std::fs::read(format!("{FIX}{name}")).unwrap();
        assert!(recognise(&bytes));
        let mut err = None;
        let e = envelope(&mut &bytes[..], &mut err).unwrap();
        assert_eq!(err, None);
        e
    }

    #[test]
    fn real_exim_496_headers() {
        let e = env_of("1xaIhu-000491-0L-H");
        assert_eq!(e.id, "1xaIhu-000491-0L");
        assert_eq!(e.sender, "alice@outside.example");
        assert_eq!(e.src_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(e.helo.as_deref(), Some("client.outside.example"));
        assert_eq!(e.recipients, ["bob@lab.example", "carol@lab.example"]);
        assert_eq!(e.subject.as_deref(), Some("inbound mail"));
        assert_eq!(e.ts_us / 1_000_000, 1_796_588_378);
        let a = env_of("1xaIhu-000497-0Y-H");
        assert_eq!(a.auth_id.as_deref(), Some("dave@lab.example"));
        assert_eq!(a.authenticator.as_deref(), Some("dovecot_plain_server"));
        assert_eq!(a.protocol.as_deref(), Some("esmtpa"));
        assert_eq!(a.src_ip.as_deref(), Some("198.51.100.7"));
        let p = env_of("1xaIhu-00049G-0j-H");
        assert_eq!(p.sender, "");
        assert_eq!(
            p.recipients,
            [
                r"${run{\x2fbin\x2fsh\t-c\t\x22id\x3e\x2ftmp\x2fpwned\x22}}@lab.example",
                "${run{id}}@lab.example"
            ]
        );
        let ev = events(&p);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].kind, Kind::MessageReceived);
        assert_eq!(ev[2].kind, Kind::MessageQueued);
        assert_eq!(ev[2].recipient.as_deref(), Some("${run{id}}@lab.example"));
        assert_eq!(ev[2].src_ip.as_deref(), Some("203.0.113.66"));
        assert_eq!(ev[2].detail.client.as_deref(), Some("probe"));
    }

    #[test]
    fn bodies_and_damage_are_not_headers() {
        let body = std::fs::read(format!("{FIX}1xaIhu-000491-0L-D")).unwrap();
        assert!(!recognise(&body));
        assert!(!recognise(b"1xaIhu-000491-0L-H.bak\n"));
        let full = std::fs::read(format!("{FIX}1xaIhu-000491-0L-H")).unwrap();
        // Every cut before the recipients is an error, never a panic.
        for n in 0..full.len() {
            let mut err = None;
            let _ = envelope(&mut &full[..n], &mut err);
        }
        let mut err = None;
        assert_eq!(
            envelope(&mut &full[..60], &mut err),
            Err(SpoolError::Truncated("recipients"))
        );
    }

    #[test]
    fn older_formats() {
        // Pre-4.94 options (`ip.port`), an ACL variable with its value on the next line,
        // a delivered-recipients tree of three nodes, and the extended recipient form.
        let text = "1hMXYZ-0001AB-Cd-H\nDebian-exim 101 103\n<a@b.example>\n1559000000 0\n-host_address 192.0.2.5.4123\n-helo_name x\n-aclm 0 5\nab\ncd\n-local\nYY done1@x\nNN done0@x\nNN done2@x\n2\nr1@x\nr2@x errors@x 5,1#1\n\n";
        let mut err = None;
        let e = envelope(&mut text.as_bytes(), &mut err).unwrap();
        assert_eq!(e.src_ip.as_deref(), Some("192.0.2.5"));
        assert_eq!(e.recipients, ["r1@x", "r2@x"]);
        assert!(is_message_id("1xaIhu-00000000049-0L0a"));
    }
}
