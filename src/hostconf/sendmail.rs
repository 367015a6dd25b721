//! Sendmail's configuration as the detection rules read it: the m4 source (`sendmail.mc`) and
//! the generated `sendmail.cf` sendmail actually runs from, each setting with its file and line.
//!
//! **`sendmail.mc`** is m4: `` `quoted' `` strings, `dnl` deletes to the end of the line (and
//! its newline), `#` starts a comment outside quotes, a call's arguments may span lines. The
//! reader keeps the calls a rule judges — `FEATURE(name, args…)`, `define(name, value)`
//! (`SMART_HOST`, `MAIL_HUB`, `confTRUSTED_USERS`, `confPRIVACY_FLAGS` …), `MAILER`,
//! `DAEMON_OPTIONS`, `TRUST_AUTH_MECH` — with their unquoted arguments. Nothing is expanded:
//! the m4 library is not on the suspect host's evidence and the rules need the calls, not the
//! rule sets they become.
//!
//! **`sendmail.cf`** is line based, the first character naming the command: `O Name=value`
//! (options), `D{x}value` / `Dxvalue` (macros: `DS` is the smart host, `DH` the mail hub, `DR`
//! the relay for unqualified names), `T` (trusted users), `Fx[-o] /path` (a class read from a
//! file: `Ft` trusted users, `FR` relay domains), `Cx words` (class members), `K name type …`
//! (map declarations). m4 stamps `#####  $Id: <feature>.m4,…` into the .cf for every feature
//! it was built with, and a generated .cf that relays only for whom it should holds the
//! `Relaying denied` refusal; both are kept, so a rule can tell what the running file does
//! when the .mc says otherwise (edited but not rebuilt, or a .cf edited by hand).
//!
//! To read another setting: nothing here for `define`s, options and macros (every one is
//! kept; the rule asks by name); a new m4 call is one name in [`MC_CALLS`].

use std::collections::BTreeMap;

use super::HostConf;

/// Where a value was set: host path and 1-based line.
pub type At = (String, u64);

/// Where Sendmail's configuration lives (`/etc/sendmail.cf` on old systems).
const MC_PATHS: [&str; 1] = ["/etc/mail/sendmail.mc"];
const CF_PATHS: [&str; 2] = ["/etc/mail/sendmail.cf", "/etc/sendmail.cf"];

/// The m4 calls kept from a `.mc`.
const MC_CALLS: [&str; 6] = [
    "FEATURE",
    "define",
    "MAILER",
    "DAEMON_OPTIONS",
    "TRUST_AUTH_MECH",
    "undefine",
];

/// One m4 call of a `.mc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The macro (`FEATURE`, `define` …).
    pub name: String,
    /// Its arguments, one level of quotes removed.
    pub args: Vec<String>,
    /// Where the call starts.
    pub at: At,
}

impl Call {
    /// Argument `i` (empty when missing).
    pub fn arg(&self, i: usize) -> &str {
        self.args.get(i).map(String::as_str).unwrap_or("")
    }
}

/// The `.mc` source.
#[derive(Debug, Clone, Default)]
pub struct Mc {
    /// Its host path.
    pub path: String,
    /// The kept calls, in order.
    pub calls: Vec<Call>,
}

impl Mc {
    /// The `FEATURE(name, …)` call, if the source has it.
    pub fn feature(&self, name: &str) -> Option<&Call> {
        self.calls
            .iter()
            .find(|c| c.name == "FEATURE" && c.arg(0) == name)
    }

    /// The value of the last `define(name, value)` not undefined after it.
    pub fn define(&self, name: &str) -> Option<(&str, &At)> {
        let mut out = None;
        for c in self.calls.iter().filter(|c| c.arg(0) == name) {
            match c.name.as_str() {
                "define" => out = Some((c.arg(1), &c.at)),
                "undefine" => out = None,
                _ => {}
            }
        }
        out
    }
}

/// The generated `.cf`.
#[derive(Debug, Clone, Default)]
pub struct Cf {
    /// Its host path.
    pub path: String,
    /// `O Name=value` options.
    pub options: BTreeMap<String, (String, At)>,
    /// `D` macros by name (`S`, `H`, `{MTAHost}`…).
    pub macros: BTreeMap<String, (String, At)>,
    /// Class members by class name (`T` lines are class `t`; `Cw a b` adds to `w`).
    pub classes: BTreeMap<String, Vec<(String, At)>>,
    /// Files classes are read from: class name → (path, where the `F` line is). A commented
    /// `#Ft…` is not kept.
    pub class_files: BTreeMap<String, (String, At)>,
    /// `K name type … path` map declarations: name → (type, path, where).
    pub maps: BTreeMap<String, (String, String, At)>,
    /// Features m4 stamped into the file (`$Id: promiscuous_relay.m4` → `promiscuous_relay`).
    pub stamped: BTreeMap<String, At>,
    /// Whether the relay check that refuses strangers (`Relaying denied`) is in the file.
    pub refuses_relay: bool,
    /// Whether the file has the recipient check rule set at all (a `.cf` that has none is not
    /// a generated one, and its relaying is not judged).
    pub checks_rcpt: bool,
}

/// Sendmail's configuration: its `.mc` and its `.cf`, either may be missing.
#[derive(Debug, Clone, Default)]
pub struct Sendmail {
    /// The m4 source.
    pub mc: Option<Mc>,
    /// The file sendmail runs from.
    pub cf: Option<Cf>,
}

impl Sendmail {
    /// Sendmail's configuration among the host's files, if any.
    pub fn read(conf: &HostConf) -> Option<Sendmail> {
        let mc = MC_PATHS
            .iter()
            .find_map(|p| conf.get(p).map(|f| mc(p, &f.text())));
        let cf = CF_PATHS
            .iter()
            .find_map(|p| conf.get(p).map(|f| cf(p, &f.text())));
        (mc.is_some() || cf.is_some()).then_some(Sendmail { mc, cf })
    }

    /// The members of class `name` in the `.cf`: its `C`/`T` lines and the words of the file
    /// its `F` line reads (each with that file's line), as sendmail loads them.
    pub fn class(&self, conf: &HostConf, name: &str) -> Vec<(String, At)> {
        let Some(cf) = &self.cf else {
            return Vec::new();
        };
        let mut out = cf.classes.get(name).cloned().unwrap_or_default();
        if let Some((path, _)) = cf.class_files.get(name) {
            out.extend(class_file(conf, path));
        }
        out
    }
}

/// A lookup table of sendmail's (`access`, `mailertable`, `generics` …) read as sendmail reads
/// it (the compiled `.db` first): where the running `.cf` declares it (`K name hash path`), else
/// at `default`; with the declaration's place. `None` when neither the source nor its `.db` is
/// on the host.
pub fn table(
    sm: Option<&Sendmail>,
    conf: &HostConf,
    name: &str,
    default: &str,
) -> Option<(super::maps::Map, Option<At>)> {
    let declared = sm
        .and_then(|s| s.cf.as_ref())
        .and_then(|c| c.maps.get(name));
    let path = declared
        .map(|(_, p, _)| p.trim_end_matches(".db").to_string())
        .unwrap_or_else(|| default.to_string());
    if conf.get(&path).is_none() && conf.get(&format!("{path}.db")).is_none() {
        return None;
    }
    let r = super::postfix::MapRef {
        kind: "hash".into(),
        name: path,
    };
    let map = super::maps::Map::load(conf, &r, super::maps::Syntax::Table);
    Some((map, declared.map(|(_, _, at)| at.clone())))
}

/// The words of a class file (`/etc/mail/relay-domains`, `trusted-users`) as sendmail reads
/// one: white-space separated, `#` starting a comment; each with its line.
pub fn class_file(conf: &HostConf, path: &str) -> Vec<(String, At)> {
    let Some(f) = conf.get(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, l) in super::numbered(&f.text()) {
        let words = l.split('#').next().unwrap_or("");
        out.extend(
            words
                .split_whitespace()
                .map(|w| (w.to_string(), (path.to_string(), n))),
        );
    }
    out
}

/// Reads a `.mc` at host path `path`.
pub fn mc(path: &str, text: &str) -> Mc {
    let b = text.as_bytes();
    let mut calls = Vec::new();
    let mut i = 0;
    let mut line = 1u64;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'#' => i = skip_line(b, i, &mut line, false),
            b'`' => i = skip_quoted(b, i, &mut line),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let name = &text[start..i];
                if name == "dnl" {
                    i = skip_line(b, i, &mut line, true);
                } else if b.get(i) == Some(&b'(') && MC_CALLS.contains(&name) {
                    let at = line;
                    let (args, next) = arguments(text, i + 1, &mut line);
                    i = next;
                    calls.push(Call {
                        name: name.to_string(),
                        args,
                        at: (path.to_string(), at),
                    });
                }
            }
            _ => i += 1,
        }
    }
    Mc {
        path: path.to_string(),
        calls,
    }
}

/// Skips to the end of the line; `past` also skips its newline (`dnl`).
fn skip_line(b: &[u8], mut i: usize, line: &mut u64, past: bool) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    if past && i < b.len() {
        *line += 1;
        i += 1;
    }
    i
}

/// Skips a `` `quoted' `` string (nested quotes included) starting at `i`.
fn skip_quoted(b: &[u8], mut i: usize, line: &mut u64) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'`' => depth += 1,
            b'\'' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b'\n' => *line += 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The arguments of a call whose `(` is just before `i`, and the index after its `)`.
fn arguments(text: &str, mut i: usize, line: &mut u64) -> (Vec<String>, usize) {
    let b = text.as_bytes();
    let mut args = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut parens = 0usize;
    let mut leading = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'`' => {
                let end = skip_quoted(b, i, line);
                // One level of quotes comes off.
                let inner = &b[i + 1..end.saturating_sub(1).max(i + 1)];
                cur.extend_from_slice(inner);
                leading = false;
                i = end;
                continue;
            }
            b'd' if b[i..].starts_with(b"dnl")
                && !b
                    .get(i + 3)
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_')
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                i = skip_line(b, i, line, true);
                continue;
            }
            b'(' => parens += 1,
            b')' if parens == 0 => {
                args.push(String::from_utf8_lossy(&cur).trim_end().to_string());
                return (args, i + 1);
            }
            b')' => parens -= 1,
            b',' if parens == 0 => {
                args.push(String::from_utf8_lossy(&cur).trim_end().to_string());
                cur.clear();
                leading = true;
                i += 1;
                continue;
            }
            b'\n' => *line += 1,
            _ => {}
        }
        // m4 drops the unquoted white space that starts an argument.
        if !(leading && c.is_ascii_whitespace()) {
            cur.push(c);
            leading = false;
        }
        i += 1;
    }
    // An unclosed call: what was read.
    args.push(String::from_utf8_lossy(&cur).trim_end().to_string());
    (args, i)
}

/// Reads a `.cf` at host path `path`.
pub fn cf(path: &str, text: &str) -> Cf {
    let mut out = Cf {
        path: path.to_string(),
        ..Cf::default()
    };
    for (n, l) in super::numbered(text) {
        let at = (path.to_string(), n);
        if let Some(rest) = l.strip_prefix("#####  $Id: ") {
            if let Some((file, _)) = rest.split_once(".m4,") {
                out.stamped.entry(file.to_string()).or_insert(at);
            }
            continue;
        }
        if l.contains("Relaying denied") {
            out.refuses_relay = true;
        }
        let Some(cmd) = l.chars().next() else {
            continue;
        };
        let rest = &l[cmd.len_utf8()..];
        match cmd {
            'O' => {
                if let Some((k, v)) = rest.trim().split_once('=') {
                    out.options
                        .insert(k.trim().to_string(), (v.trim().to_string(), at));
                }
            }
            'D' => {
                let (name, value) = class_name(rest);
                out.macros.insert(name, (value.trim().to_string(), at));
            }
            'T' => {
                let list = out.classes.entry("t".into()).or_default();
                list.extend(rest.split_whitespace().map(|w| (w.to_string(), at.clone())));
            }
            'C' => {
                let (name, words) = class_name(rest);
                let list = out.classes.entry(name).or_default();
                list.extend(
                    words
                        .split_whitespace()
                        .map(|w| (w.to_string(), at.clone())),
                );
            }
            'F' => {
                let (name, spec) = class_name(rest);
                let file = spec
                    .split_whitespace()
                    .find(|w| w.starts_with('/'))
                    .map(str::to_string);
                if let Some(file) = file {
                    out.class_files.insert(name, (file, at));
                }
            }
            'K' => {
                let mut w = rest.split_whitespace();
                let (Some(name), Some(kind)) = (w.next(), w.next()) else {
                    continue;
                };
                let file = w.rfind(|x| !x.starts_with('-')).unwrap_or("");
                out.maps
                    .insert(name.to_string(), (kind.to_string(), file.to_string(), at));
            }
            'S' => {
                let name = rest.split(['=', ' ', '\t']).next().unwrap_or("");
                if name.eq_ignore_ascii_case("check_rcpt") || name == "Local_check_rcpt" {
                    out.checks_rcpt = true;
                }
            }
            _ => {}
        }
    }
    out
}

/// A class or macro name after its command letter (`w`, `{VirtHost}`), and the rest.
fn class_name(rest: &str) -> (String, &str) {
    if let Some(inner) = rest.strip_prefix('{') {
        if let Some((name, after)) = inner.split_once('}') {
            return (name.to_string(), after);
        }
    }
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) => (c.to_string(), chars.as_str()),
        None => (String::new(), ""),
    }
}

/// The host a mailer triple or smart-host value names: `esmtp:[203.0.113.5]` →
/// `203.0.113.5`, `relay:mx.example` → `mx.example`; a local or error mailer has none.
pub fn next_hop(value: &str) -> Option<String> {
    let v = value.trim();
    let host = match v.split_once(':') {
        Some((mailer, rest)) if !mailer.contains('[') && !mailer.contains('.') => {
            if matches!(mailer, "local" | "error" | "prog" | "discard" | "*file*") {
                return None;
            }
            rest
        }
        _ => v,
    };
    let host = host.split_whitespace().next()?;
    let host = match host.strip_prefix('[') {
        Some(inner) => {
            let inner = inner.split(']').next().unwrap_or(inner);
            inner.strip_prefix("IPv6:").unwrap_or(inner)
        }
        None => host.split(':').next().unwrap_or(host),
    };
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian's sendmail.mc (sendmail-base 8.17.1.9-2+deb12u2) as it ships, the head.
    const DEBIAN_MC: &str = "divert(-1)dnl\n#-----\n# $Sendmail: debproto.mc,v 8.17.1.9 2024-06-16 cowboy Exp $\n#\n# Copyright (c) 1998-2010 Richard Nelson.  All Rights Reserved.\n#\n#   FEATURE(`promiscuous_relay') in a comment is not a call\ndivert(0)dnl\ndefine(`_USE_ETC_MAIL_')dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nVERSIONID(`$Id: sendmail.mc, v 8.17.1.9-2+deb12u2 2024-06-16 21:07:57 cowboy Exp $')\nOSTYPE(`debian')dnl\nDOMAIN(`debian-mta')dnl\ndnl # Items controlled by /etc/mail/sendmail.conf - DO NOT TOUCH HERE\nundefine(`confHOST_STATUS_DIRECTORY')dnl        #DAEMON_HOSTSTATS=\ndnl # Items controlled by /etc/mail/sendmail.conf - DO NOT TOUCH HERE\ndnl #\ndnl # General defines\ndnl #\ndnl # SAFE_FILE_ENV: [undefined] If set, sendmail will do a chroot()\ndnl #\tinto this directory before writing files.\ndnl #\tIf *all* your user accounts are under /home then use that\ndnl #\tinstead - it will prevent any writes outside of /home !\ndnl #   define(`confSAFE_FILE_ENV',             `')dnl\ndnl #\ndnl # Daemon options - restrict to servicing LOCALHOST ONLY !!!\ndnl # Remove `, Addr=' clauses to receive from any interface\ndnl # If you want to support IPv6, switch the commented/uncommentd lines\ndnl #\nFEATURE(`no_default_msa')dnl\ndnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl\nDAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl\ndefine(`confPRIVACY_FLAGS',dnl\n`needmailhelo,needexpnhelo,needvrfyhelo,restrictqrun,restrictexpand,nobodyreturn,authwarnings')dnl\nFEATURE(`access_db', , `skip')dnl\nFEATURE(`greet_pause', `1000')dnl 1 seconds\ndefine(`SMART_HOST', `esmtp:[203.0.113.5]')dnl\n";

    #[test]
    fn mc_calls_with_lines_quotes_dnl_and_comments() {
        let m = mc("/etc/mail/sendmail.mc", DEBIAN_MC);
        let names: Vec<(String, String, u64)> = m
            .calls
            .iter()
            .map(|c| (c.name.clone(), c.arg(0).to_string(), c.at.1))
            .collect();
        let want = [
            ("define", "_USE_ETC_MAIL_", 9),
            ("undefine", "confHOST_STATUS_DIRECTORY", 15),
            ("FEATURE", "no_default_msa", 30),
            (
                "DAEMON_OPTIONS",
                "Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1",
                32,
            ),
            ("define", "confPRIVACY_FLAGS", 33),
            ("FEATURE", "access_db", 35),
            ("FEATURE", "greet_pause", 36),
            ("define", "SMART_HOST", 37),
        ];
        let want: Vec<(String, String, u64)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
            .collect();
        assert_eq!(names, want);
        assert_eq!(
            m.define("confPRIVACY_FLAGS").map(|(v, _)| v),
            Some("needmailhelo,needexpnhelo,needvrfyhelo,restrictqrun,restrictexpand,nobodyreturn,authwarnings")
        );
        assert_eq!(
            m.feature("access_db").map(|c| c.args.clone()),
            Some(vec!["access_db".into(), String::new(), "skip".into()])
        );
        assert!(m.feature("promiscuous_relay").is_none());
        assert_eq!(
            m.define("SMART_HOST").map(|(v, a)| (v, a.1)),
            Some(("esmtp:[203.0.113.5]", 37))
        );
    }

    #[test]
    fn mc_reads_what_is_left_of_hostile_input() {
        for t in [
            "FEATURE(`x",
            "define(",
            "`unclosed quote FEATURE(`a')",
            "dnl",
            "FEATURE(((",
            ")))'''",
        ] {
            let _ = mc("/x", t);
        }
        let m = mc("/x", "FEATURE(`promiscuous_relay')");
        assert!(m.feature("promiscuous_relay").is_some());
    }

    /// Lines of a .cf m4 made from Debian's sendmail.mc with FEATURE(`promiscuous_relay'),
    /// confTRUSTED_USERS and FEATURE(`mailertable') (sendmail-cf 8.17.1.9-2+deb12u2).
    const CF: &str = "#####  $Id: cfhead.m4,v 8.122 2013-11-22 20:51:13 ca Exp $  #####\n#####  $Id: promiscuous_relay.m4,v 8.13 2013-11-22 20:51:11 ca Exp $  #####\n\nFw/etc/mail/local-host-names %[^\\#]\nDSesmtp:[127.0.0.1]\nFR-o /etc/mail/relay-domains %[^\\#]\nKmailertable hash /etc/mail/mailertable\nKaccess hash -T<TMPF> -o /etc/mail/access\nO PrivacyOptions=needmailhelo,needexpnhelo,authwarnings\n#Ft/etc/mail/trusted-users %[^\\#]\nTroot\nTdaemon\nTuucp\nTwww-data\nCw localhost mx.lab.example\nSLocal_check_rcpt\nScheck_rcpt\n";

    #[test]
    fn cf_commands() {
        let c = cf("/etc/mail/sendmail.cf", CF);
        assert!(c.stamped.contains_key("promiscuous_relay"));
        assert_eq!(c.stamped["promiscuous_relay"].1, 2);
        assert_eq!(c.macros["S"].0, "esmtp:[127.0.0.1]");
        assert_eq!(c.class_files["R"].0, "/etc/mail/relay-domains");
        assert!(
            !c.class_files.contains_key("t"),
            "a commented Ft line is not read"
        );
        assert_eq!(c.maps["mailertable"].1, "/etc/mail/mailertable");
        assert_eq!(c.maps["access"].1, "/etc/mail/access");
        assert_eq!(
            c.options["PrivacyOptions"].0,
            "needmailhelo,needexpnhelo,authwarnings"
        );
        let t: Vec<&str> = c.classes["t"].iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(t, ["root", "daemon", "uucp", "www-data"]);
        assert_eq!(c.classes["t"][3].1 .1, 14);
        assert_eq!(c.classes["w"].len(), 2);
        assert!(c.checks_rcpt && !c.refuses_relay);
    }

    #[test]
    fn next_hops() {
        assert_eq!(
            next_hop("esmtp:[203.0.113.5]").as_deref(),
            Some("203.0.113.5")
        );
        assert_eq!(next_hop("relay:mx.example.").as_deref(), Some("mx.example"));
        assert_eq!(next_hop("[10.0.0.2]").as_deref(), Some("10.0.0.2"));
        assert_eq!(
            next_hop("smtp:[198.51.100.9]:2525").as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(next_hop("local:alice"), None);
        assert_eq!(next_hop("error:5.7.1:550 go away"), None);
    }
}
