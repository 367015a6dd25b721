//! Postfix `main.cf` and `master.cf` as Postfix reads them.
//!
//! `main.cf`: logical lines (a line starting with whitespace continues the one before;
//! blank and `#` lines are skipped), `name = value`, the last definition wins, `$name`,
//! `${name}`, `$(name)`, `${name?text}` and `${name:text}` expand lazily against the file and
//! the built-in defaults that matter for detection ([`DEFAULTS`]). `master.cf`: one service per
//! logical line, `-o name=value` (and `-o { name = value }`) overrides per service. Map
//! references (`hash:/etc/postfix/virtual`, `proxy:lmdb:…`) are split out of list values by
//! [`map_refs`]. Every value keeps the line it was defined on, so findings cite file and line.

use std::collections::BTreeMap;

use super::numbered;

/// Defaults (Postfix ≥ 3.0, compatibility level ≥ 2) of the parameters detection reads.
pub const DEFAULTS: &[(&str, &str)] = &[
    (
        "mydestination",
        "$myhostname, localhost.$mydomain, localhost",
    ),
    ("mail_name", "Postfix"),
    ("smtpd_banner", "$myhostname ESMTP $mail_name"),
    ("disable_vrfy_command", "no"),
    (
        "smtpd_relay_restrictions",
        "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
    ),
    ("smtpd_recipient_restrictions", ""),
    ("alias_maps", "hash:/etc/aliases"),
    ("virtual_alias_maps", "$virtual_maps"),
    ("virtual_maps", ""),
    ("virtual_alias_domains", "$virtual_alias_maps"),
    ("virtual_mailbox_domains", "$virtual_mailbox_maps"),
    ("virtual_mailbox_maps", ""),
    ("relay_domains", ""),
    ("mynetworks_style", "host"),
    ("config_directory", "/etc/postfix"),
    ("data_directory", "/var/lib/postfix"),
    ("smtpd_tls_security_level", ""),
    ("smtpd_use_tls", "no"),
    ("smtpd_tls_auth_only", "no"),
    ("smtpd_sasl_auth_enable", "no"),
    ("smtpd_tls_protocols", "!SSLv2, !SSLv3"),
    ("smtpd_tls_mandatory_protocols", "!SSLv2, !SSLv3"),
];

/// One parameter setting, where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The value as written (continuations joined with one space).
    pub value: String,
    /// 1-based line of the `name =`.
    pub line: u64,
}

/// Joins continuation lines: (first line, text) of each logical line.
pub fn logical_lines(text: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for (n, l) in numbered(text) {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if l.starts_with([' ', '\t']) {
            if let Some((_, last)) = out.last_mut() {
                last.push(' ');
                last.push_str(t);
                continue;
            }
        }
        out.push((n, t.to_string()));
    }
    out
}

/// A parsed `main.cf`.
#[derive(Debug, Clone, Default)]
pub struct MainCf {
    /// Explicit settings.
    pub params: BTreeMap<String, Param>,
    /// `myhostname` when main.cf does not set it (from the host's name files).
    pub hostname: Option<String>,
}

impl MainCf {
    /// Parses main.cf text.
    pub fn parse(text: &str) -> MainCf {
        let mut params = BTreeMap::new();
        for (line, l) in logical_lines(text) {
            if let Some((name, value)) = l.split_once('=') {
                let name = name.trim();
                if !name.is_empty() && !name.contains(char::is_whitespace) {
                    params.insert(
                        name.to_string(),
                        Param {
                            value: value.trim().to_string(),
                            line,
                        },
                    );
                }
            }
        }
        MainCf {
            params,
            hostname: None,
        }
    }

    /// The raw setting, if main.cf makes one.
    pub fn explicit(&self, name: &str) -> Option<&Param> {
        self.params.get(name)
    }

    fn raw(&self, name: &str) -> Option<String> {
        if let Some(p) = self.params.get(name) {
            return Some(p.value.clone());
        }
        match name {
            "myhostname" => self.hostname.clone(),
            "mydomain" => {
                let h = self.get("myhostname")?;
                Some(h.split_once('.').map(|(_, d)| d.to_string()).unwrap_or(h))
            }
            _ => DEFAULTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string()),
        }
    }

    /// The expanded value of a parameter (explicit or default).
    pub fn get(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| self.expand(&v))
    }

    /// Expands `$name` references in `s`.
    pub fn expand(&self, s: &str) -> String {
        self.expand_depth(s, 0)
    }

    fn expand_depth(&self, s: &str, depth: usize) -> String {
        if depth > 20 || !s.contains('$') {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, cond, used) = match after.chars().next() {
                Some(open @ ('{' | '(')) => {
                    let close = if open == '{' { '}' } else { ')' };
                    match after.find(close) {
                        Some(j) => {
                            let inner = &after[1..j];
                            match inner.find(['?', ':']) {
                                Some(k) => (
                                    &inner[..k],
                                    Some((&inner[k..k + 1], &inner[k + 1..])),
                                    j + 1,
                                ),
                                None => (inner, None, j + 1),
                            }
                        }
                        None => ("", None, 0),
                    }
                }
                _ => {
                    let n = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..n], None, n)
                }
            };
            if used == 0 || name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            let value = self.raw(name).map(|v| self.expand_depth(&v, depth + 1));
            match cond {
                None => out.push_str(value.as_deref().unwrap_or("")),
                Some(("?", text)) => {
                    if value.as_deref().is_some_and(|v| !v.is_empty()) {
                        out.push_str(&self.expand_depth(text, depth + 1));
                    }
                }
                Some((_, text)) => {
                    if value.as_deref().is_none_or(str::is_empty) {
                        out.push_str(&self.expand_depth(text, depth + 1));
                    }
                }
            }
            rest = &after[used..];
        }
        out.push_str(rest);
        out
    }
}

/// Splits a Postfix list (commas and/or whitespace; `{ … }` kept whole).
pub fn list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' | ' ' | '\t' | '\n' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A lookup table named in a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRef {
    /// Table type (`hash`, `lmdb`, `regexp`, …; a `proxy:` prefix removed).
    pub kind: String,
    /// File (or inline text for `inline:`/`static:`).
    pub name: String,
}

/// Map types whose name is a file.
const FILE_TYPES: &[&str] = &[
    "hash", "btree", "lmdb", "cdb", "dbm", "sdbm", "texthash", "regexp", "pcre", "cidr",
];

/// The tables a parameter value names.
pub fn map_refs(value: &str) -> Vec<MapRef> {
    list(value)
        .into_iter()
        .filter_map(|item| {
            let item = item.strip_prefix("proxy:").unwrap_or(&item).to_string();
            let (kind, name) = item.split_once(':')?;
            let kind = kind.to_ascii_lowercase();
            (FILE_TYPES.contains(&kind.as_str()) || kind == "inline" || kind == "static").then(
                || MapRef {
                    kind,
                    name: name.to_string(),
                },
            )
        })
        .collect()
}

/// One `master.cf` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Service name (`smtp`, `submission`, `127.0.0.1:10025`).
    pub name: String,
    /// `inet`, `unix`, `pass`, …
    pub kind: String,
    /// The daemon (`smtpd`, `pipe`, …).
    pub command: String,
    /// Arguments after the command that are not `-o` overrides (`flags=… argv=…`).
    pub args: Vec<String>,
    /// `-o name=value` overrides.
    pub overrides: BTreeMap<String, Param>,
    /// 1-based line of the service.
    pub line: u64,
}

/// Parses master.cf text.
pub fn master(text: &str) -> Vec<Service> {
    // Track the line of each `-o` by walking physical lines of each logical entry.
    let mut out: Vec<Service> = Vec::new();
    for (n, l) in numbered(text) {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let continues = l.starts_with([' ', '\t']);
        let mut words = t.split_whitespace().peekable();
        if !continues {
            let f: Vec<&str> = t.split_whitespace().collect();
            if f.len() < 8 {
                continue;
            }
            out.push(Service {
                name: f[0].to_string(),
                kind: f[1].to_string(),
                command: f[7].to_string(),
                args: Vec::new(),
                overrides: BTreeMap::new(),
                line: n,
            });
            for _ in 0..8 {
                words.next();
            }
        }
        let Some(svc) = out.last_mut() else {
            continue;
        };
        let rest: Vec<&str> = words.collect();
        let mut i = 0;
        while i < rest.len() {
            if rest[i] == "-o" && i + 1 < rest.len() {
                let mut spec = rest[i + 1].to_string();
                i += 2;
                if spec == "{" {
                    spec.clear();
                    while i < rest.len() && rest[i] != "}" {
                        spec.push_str(rest[i]);
                        spec.push(' ');
                        i += 1;
                    }
                    i += 1;
                }
                if let Some((k, v)) = spec.split_once('=') {
                    svc.overrides.insert(
                        k.trim().to_string(),
                        Param {
                            value: v.trim().to_string(),
                            line: n,
                        },
                    );
                }
            } else {
                svc.args.push(rest[i].to_string());
                i += 1;
            }
        }
    }
    out
}

impl Service {
    /// `argv=` of a `pipe` service, joined.
    pub fn argv(&self) -> Option<String> {
        let i = self.args.iter().position(|a| a.starts_with("argv="))?;
        let mut v = vec![self.args[i].trim_start_matches("argv=").to_string()];
        v.extend(self.args[i + 1..].iter().cloned());
        Some(v.join(" "))
    }

    /// Whether this is an SMTP server listening on the network.
    pub fn is_inet_smtpd(&self) -> bool {
        self.kind == "inet" && self.command == "smtpd"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "myhostname = mx1.example.org\n\
        # comment\n\
        mydestination = $myhostname, localhost.$mydomain,\n    ${mydomain}\n\
        smtpd_recipient_restrictions = permit_mynetworks,\n\
        \x20   reject_unauth_destination\n\
        relayhost =\n\
        always_bcc = ${relayhost?x@y}${relayhost:copy@$mydomain}\n\
        relayhost = [smtp.isp.example]:587\n";

    #[test]
    fn main_cf_continuations_expansion_and_last_definition() {
        let m = MainCf::parse(MAIN);
        assert_eq!(
            m.get("mydestination").unwrap(),
            "mx1.example.org, localhost.example.org, example.org"
        );
        assert_eq!(m.explicit("mydestination").unwrap().line, 3);
        assert_eq!(
            m.explicit("smtpd_recipient_restrictions").unwrap().value,
            "permit_mynetworks, reject_unauth_destination"
        );
        // The last relayhost wins; `?` and `:` conditionals see it.
        assert_eq!(m.explicit("relayhost").unwrap().line, 9);
        assert_eq!(m.get("always_bcc").unwrap(), "x@y");
        assert_eq!(m.get("disable_vrfy_command").unwrap(), "no");
        assert_eq!(
            list("a, b c,{ x = y },d"),
            ["a", "b", "c", "{ x = y }", "d"]
        );
    }

    #[test]
    fn self_reference_terminates() {
        let m = MainCf::parse("a = $b\nb = $a x\n");
        assert!(m.get("a").unwrap().len() < 200);
    }

    #[test]
    fn map_references() {
        assert_eq!(
            map_refs("hash:/etc/postfix/virtual, proxy:lmdb:/etc/postfix/v2 mysql:/etc/x.cf"),
            [
                MapRef {
                    kind: "hash".into(),
                    name: "/etc/postfix/virtual".into()
                },
                MapRef {
                    kind: "lmdb".into(),
                    name: "/etc/postfix/v2".into()
                },
            ]
        );
    }

    #[test]
    fn master_cf_services_and_overrides() {
        let s = master(
            "smtp inet n - y - - smtpd\n\
             submission inet n - y - - smtpd\n  -o syslog_name=postfix/submission\n  -o { smtpd_relay_restrictions = permit_sasl_authenticated, reject }\n\
             # x\n\
             evil unix - n n - - pipe\n  flags=Rq user=nobody argv=/tmp/.x/run ${sender}\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[1].overrides["smtpd_relay_restrictions"].value,
            "permit_sasl_authenticated, reject"
        );
        assert_eq!(s[1].overrides["smtpd_relay_restrictions"].line, 4);
        assert_eq!(s[2].argv().unwrap(), "/tmp/.x/run ${sender}");
        assert!(s[0].is_inet_smtpd());
    }
}
