//! Shared by the web exploitation rules (Exchange past ProxyLogon, Zimbra, Roundcube, web
//! shells): a web request as they read it, and the judgement every one of them gives —
//! **attempt** or **likely success**.
//!
//! [`request`] turns an `http_request` fact (Exchange HttpProxy, IIS, Apache, nginx, Zimbra
//! proxy: the readers normalise them alike) into a [`Req`]: method, path and query decoded
//! the way the server decodes them (percent escapes, twice: scanners double-encode) and
//! lower-cased, the query's parameters, the status. [`Tries`] groups one source's exploit
//! requests; [`Tries::verdict`] says what came of them:
//! - every request refused (4xx, 5xx, a redirect to the logon page): an **attempt**;
//! - a request answered (2xx): the server did what was asked, a **possible success**;
//! - answered, and then a follow-on — an earlier rule's finding of a planted entry (a web
//!   shell answered, a mailbox export to a script, a management cmdlet) or of persistence or
//!   exfiltration, from the first answered request to a week after it: a **likely success**.
//!
//! To add an exploitation rule: match the request shape on a [`Req`], add the fact to a
//! [`Tries`] per source, and in `finish_with` let [`Tries::verdict`] read the findings of the
//! rules before it (so the rule goes after the web-shell and cmdlet rules in `all`).

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, Group};
use crate::detect::catalog::Role;
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Phase, Severity};
use crate::events::record::Kind;

/// One web request, decoded.
#[derive(Debug, Clone, Default)]
pub struct Req {
    /// Upper-case method (empty when the log has none).
    pub method: String,
    /// The path, decoded and lower-cased.
    pub path: String,
    /// The path as logged (for evidence names).
    pub shown: String,
    /// The query, decoded and lower-cased (empty when none).
    pub query: String,
    /// The query's parameters: names and values decoded, names lower-cased.
    pub params: Vec<(String, String)>,
    /// The HTTP status.
    pub status: Option<u16>,
    /// The authenticated user the server logged.
    pub user: Option<String>,
    /// The user agent.
    pub ua: Option<String>,
}

impl Req {
    /// The value of parameter `name` (lower-case), first occurrence.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server answered it (2xx).
    pub fn answered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The extension of the path's last segment (lower-case, without the dot).
    pub fn extension(&self) -> Option<&str> {
        let last = self.path.rsplit('/').next()?;
        // `x.aspx;.jpg` and `x.php/` tricks: the server's handler sees the first extension.
        let name = last.split(';').next().unwrap_or(last);
        let (_, ext) = name.rsplit_once('.')?;
        (!ext.is_empty()).then_some(ext)
    }

    /// Whether the path names a server-side script.
    pub fn is_script(&self) -> bool {
        self.extension().is_some_and(is_script_extension)
    }
}

/// Extensions a web server hands to an interpreter.
pub fn is_script_extension(ext: &str) -> bool {
    matches!(
        ext,
        "php"
            | "php3"
            | "php4"
            | "php5"
            | "php7"
            | "phtml"
            | "phar"
            | "jsp"
            | "jspx"
            | "jspf"
            | "asp"
            | "aspx"
            | "ashx"
            | "asmx"
            | "cer"
            | "cgi"
            | "pl"
    )
}

/// Longest path or query a rule decodes (a request line is cut here; shapes sit at the start).
const MAX_DECODE: usize = 8 << 10;

/// Percent-decodes `s` once (invalid escapes kept; bytes that are not UTF-8 replaced).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decoded twice (double encoding) and lower-cased, at most [`MAX_DECODE`] bytes of `s`.
pub fn decoded(s: &str) -> String {
    let s = crate::sanitize::cut(s, MAX_DECODE);
    percent_decode(&percent_decode(s)).to_lowercase()
}

/// The parameters of a raw query: `name=value` pairs split on `&`, each decoded.
fn params(raw: &str) -> Vec<(String, String)> {
    crate::sanitize::cut(raw, MAX_DECODE)
        .split('&')
        .filter(|p| !p.is_empty())
        .take(64)
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decoded(n), percent_decode(&percent_decode(v)))
        })
        .collect()
}

/// The request of an `http_request` fact. The web rules read the same fact one after the
/// other on the detection thread: it is parsed and decoded once (a one-entry cache keyed by
/// the fact's identity), not once per rule.
pub fn request(f: &Fact) -> Option<std::rc::Rc<Req>> {
    thread_local! {
        static LAST: crate::detect::small::FactSlot<Req> = const { std::cell::RefCell::new(None) };
    }
    if f.kind != Kind::HttpRequest {
        return None;
    }
    crate::detect::small::once_per_fact(&LAST, f, || parse_request(f))
}

fn parse_request(f: &Fact) -> Option<Req> {
    let d = detail_of(f, Kind::HttpRequest)?;
    let url = d.url?;
    // A reader that kept the query in the URL (`/a?b`) is read the same as one that split it.
    let (path, in_url) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (url.clone(), None),
    };
    let raw_query = match (d.query.filter(|q| !q.is_empty() && q != "-"), in_url) {
        (Some(q), Some(u)) => format!("{u}&{q}"),
        (Some(q), None) => q,
        (None, Some(u)) => u,
        (None, None) => String::new(),
    };
    Some(Req {
        method: d.method.unwrap_or_default(),
        path: decoded(&path),
        shown: shown(&path, &raw_query),
        query: decoded(&raw_query),
        params: params(&raw_query),
        status: f.status().and_then(|s| s.parse().ok()),
        user: f
            .actor()
            .filter(|u| !u.is_empty() && *u != "-")
            .map(str::to_string),
        ua: d.ua,
    })
}

/// A request as evidence names it: the path and query as logged, cut at 300 bytes.
fn shown(path: &str, query: &str) -> String {
    let whole = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    crate::sanitize::capped(&whole, 300).into_owned()
}

/// How long after the first answered request a finding still counts as its follow-on (µs).
const FOLLOW_US: i64 = 7 * 24 * 3600 * 1_000_000;
/// How long before it (clock skew between an IIS log and an event log).
const SKEW_US: i64 = 5 * 60 * 1_000_000;

/// One source's exploit requests.
#[derive(Debug, Default)]
pub struct Tries {
    /// The evidence.
    pub group: Group,
    /// Requests answered 2xx.
    pub answered: u64,
    /// Requests refused.
    pub refused: u64,
    /// Time of the first answered request.
    pub first_answered: Option<i64>,
    /// Statuses seen.
    pub statuses: BTreeSet<u16>,
}

impl Tries {
    /// Adds one exploit request (`answered`: the rule's own reading of success for it).
    pub fn add(&mut self, f: &Fact, r: &Req, answered: bool) {
        self.group.add(f);
        if self.group.names.len() < 8 {
            self.group.names.insert(r.shown.clone());
        }
        if let Some(s) = r.status {
            self.statuses.insert(s);
        }
        if answered {
            self.answered += 1;
            self.first_answered = Some(self.first_answered.map_or(f.ts_us, |t| t.min(f.ts_us)));
        } else {
            self.refused += 1;
        }
    }

    /// The statuses, `200, 404`.
    pub fn statuses(&self) -> String {
        let v: Vec<String> = self.statuses.iter().map(u16::to_string).collect();
        if v.is_empty() {
            "none logged".to_string()
        } else {
            v.join(", ")
        }
    }

    /// What came of these requests from `ip`, given the findings of the rules before.
    pub fn verdict(&self, ip: &str, earlier: &[Finding]) -> Verdict {
        let Some(first) = self.first_answered else {
            return Verdict::Attempt;
        };
        match follow_on(first, ip, earlier) {
            Some(f) => Verdict::Likely(f),
            None => Verdict::Answered,
        }
    }
}

/// What came of exploit requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every one refused.
    Attempt,
    /// Answered, nothing seen to follow.
    Answered,
    /// Answered and followed by this finding's title.
    Likely(String),
}

impl Verdict {
    /// Severity: likely success critical, answered high, attempt medium.
    pub fn severity(&self) -> Severity {
        match self {
            Verdict::Likely(_) => Severity::Critical,
            Verdict::Answered => Severity::High,
            Verdict::Attempt => Severity::Medium,
        }
    }

    /// The sentence a summary ends with.
    pub fn sentence(&self, t: &Tries) -> String {
        match self {
            Verdict::Likely(what) => format!(
                "likely success: {} answered 2xx, then {what}",
                t.answered
            ),
            Verdict::Answered => format!(
                "possible success: {} answered 2xx (statuses {}); no follow-on (web shell, script file, management cmdlet) in this evidence — check the server for one",
                t.answered,
                t.statuses()
            ),
            Verdict::Attempt => format!("attempt: refused (statuses {})", t.statuses()),
        }
    }

    /// The word a title starts with.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Likely(_) => "likely successful",
            Verdict::Answered => "answered",
            Verdict::Attempt => "attempted",
        }
    }
}

/// The earlier finding that follows an answered exploit request from `ip` at `first`: one
/// [`is_follow_on`], timed within [`FOLLOW_US`] after it — the same address's first, else the
/// first of any.
fn follow_on(first: i64, ip: &str, earlier: &[Finding]) -> Option<String> {
    earlier
        .iter()
        .filter(|f| is_follow_on(f))
        .filter_map(|f| Some((us_of(&f.first_seen)?, f)))
        .filter(|(t, _)| *t >= first - SKEW_US && *t <= first + FOLLOW_US)
        .min_by_key(|(t, f)| (!f.entities.ips.iter().any(|i| i == ip), *t))
        .map(|(_, f)| format!("{} ({})", f.title, f.first_seen))
}

/// Whether a finding can be an exploit's follow-on: something planted (a web-shell file, a
/// cmdlet's export or role, a mailbox rule) of severity high or more, or persistence or
/// exfiltration of severity critical (a web shell answered). A probe for a web shell (high,
/// not planted), a backup export (low) or another exploit is not.
fn is_follow_on(f: &Finding) -> bool {
    let planted = f.has(Role::PlantedEntry) && f.severity >= Severity::High;
    let persisted = matches!(f.phase, Phase::Persistence | Phase::Exfiltration)
        && f.severity == Severity::Critical
        && !f.has(Role::Exploit);
    planted || persisted
}

/// Microseconds of an RFC 3339 time.
fn us_of(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// Exploit requests by source address, bounded: past `cap` sources, new ones are counted only.
#[derive(Debug, Default)]
pub struct BySource {
    /// Tries per address.
    pub map: BTreeMap<String, Tries>,
    /// Requests from sources past the cap.
    pub dropped: u64,
}

/// Most sources one rule holds (exploit requests are rare; a flood past this is counted).
pub const MAX_SOURCES: usize = 50_000;

impl BySource {
    /// Adds one request from `f`'s address.
    pub fn add(&mut self, f: &Fact, r: &Req, answered: bool) {
        let ip = f.src_ip().unwrap_or("unknown");
        if let Some(t) = self.map.get_mut(ip) {
            t.add(f, r, answered);
        } else if self.map.len() < MAX_SOURCES {
            self.map
                .entry(ip.to_string())
                .or_default()
                .add(f, r, answered);
        } else {
            self.dropped += 1;
        }
    }

    /// The bound reached, if any.
    pub fn limit(&self, rule: &'static str) -> Option<super::Limit> {
        (self.dropped > 0).then(|| super::Limit {
            rule,
            what: format!(
                "{} request(s) from sources past the first {MAX_SOURCES} counted, not listed",
                self.dropped
            ),
        })
    }
}

/// An exploitation rule over web requests: the requests of its shape, by source, judged at
/// the end against the findings of the rules before it. Each rule file gives its shape, the
/// account a request names ([`no_user`], [`logged_user`] or its own) and its [`Report`].
pub struct Exploit {
    report: Report,
    shape: fn(&Req) -> bool,
    user: fn(&Req) -> Option<String>,
    tries: BySource,
}

impl Exploit {
    /// A rule reporting `report` on requests of `shape`, naming `user` of each.
    pub fn new(report: Report, shape: fn(&Req) -> bool, user: fn(&Req) -> Option<String>) -> Self {
        Exploit {
            report,
            shape,
            user,
            tries: BySource::default(),
        }
    }
}

/// No account named.
pub fn no_user(_: &Req) -> Option<String> {
    None
}

/// The authenticated user the server logged (a stolen login, for exploits that need one).
pub fn logged_user(r: &Req) -> Option<String> {
    r.user.clone()
}

impl super::Rule for Exploit {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::HttpRequest])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(r) = request(f).filter(|r| (self.shape)(r)) else {
            return;
        };
        self.tries.add(f, &r, r.answered());
        if let Some(u) = (self.user)(&r) {
            let ip = f.src_ip().unwrap_or("unknown");
            if let Some(t) = self
                .tries
                .map
                .get_mut(ip)
                .filter(|t| t.group.users.len() < 64)
            {
                t.group.users.insert(u);
            }
        }
    }

    fn finish(&mut self, files: &super::Files, shared: &super::Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(
        &mut self,
        files: &super::Files,
        _shared: &super::Shared,
        earlier: &[Finding],
    ) -> Vec<Finding> {
        self.report
            .findings(std::mem::take(&mut self.tries), earlier, files)
    }

    fn limits(&self) -> Vec<super::Limit> {
        self.tries.limit(self.report.rule).into_iter().collect()
    }
}

/// What an exploitation rule reports about its requests.
pub struct Report {
    /// The rule.
    pub rule: &'static str,
    /// The exploit's name with its CVEs (`ProxyShell (CVE-2021-34473, …)`).
    pub what: &'static str,
    /// ATT&CK techniques.
    pub attack: &'static [&'static str],
    /// Playbook steps.
    pub steps: &'static [&'static str],
}

impl Report {
    /// One finding per source, judged against the findings of the rules before.
    pub fn findings(
        &self,
        by: BySource,
        earlier: &[Finding],
        files: &super::Files,
    ) -> Vec<Finding> {
        by.map
            .into_iter()
            .map(|(ip, t)| {
                let verdict = t.verdict(&ip, earlier);
                t.group.finding(
                    self.rule,
                    verdict.severity(),
                    self.attack.to_vec(),
                    format!("{} {} from {ip}", self.what, verdict.word()),
                    format!(
                        "{} request(s) of the {} shape: {}; {}",
                        t.group.count,
                        self.what,
                        super::cloud::some(&t.group.names, 4),
                        verdict.sentence(&t)
                    ),
                    self.steps.to_vec(),
                    files,
                )
            })
            .collect()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::detect::fact::Fact;
    use crate::events::exchange::{http, Got};
    use crate::events::record::Source;

    /// The fact of one IIS W3C line in IIS's default Exchange fields.
    pub fn iis(line: &str) -> Fact {
        let Got::Events(recs) = http::iis_line(line, None) else {
            panic!("not read: {line}");
        };
        let rec = &recs[0];
        let e = rec.event(
            crate::detect::finding::ts(rec.ts_us).into(),
            Source {
                host: "",
                path: "inetpub/logs/u_ex.log",
                sha256: None,
                line: 1,
                offset: 0,
            },
        );
        Fact::of(&e, 0)
    }

    #[test]
    fn decoding_as_the_server_does() {
        assert_eq!(percent_decode("a%40b%2Fc%zz%4"), "a@b/c%zz%4");
        assert_eq!(decoded("%2540X"), "@x");
        let r = request(&iis("2021-08-10 03:01:02 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 15")).unwrap();
        assert_eq!(r.path, "/autodiscover/autodiscover.json");
        assert!(r
            .query
            .contains("email=autodiscover/autodiscover.json?@evil.com"));
        assert_eq!(
            r.param("email"),
            Some("autodiscover/autodiscover.json?@evil.com")
        );
        assert_eq!(r.status, Some(200));
        assert!(r.answered());
        assert_eq!(r.user, None);
    }

    #[test]
    fn script_extensions() {
        let mut r = Req {
            path: "/roundcube/temp/x.php".into(),
            ..Req::default()
        };
        assert!(r.is_script());
        r.path = "/zimbra/public/x.jsp;.css".into();
        assert!(r.is_script());
        r.path = "/skins/elastic/logo.svg".into();
        assert!(!r.is_script());
        r.path = "/".into();
        assert!(!r.is_script());
    }

    fn finding(phase: Phase, roles: &'static [Role], at: &str) -> Finding {
        Finding {
            title: "web shell answered".into(),
            severity: Severity::Critical,
            phase,
            roles,
            first_seen: at.into(),
            ..Finding::of("test.rule")
        }
    }

    #[test]
    fn a_follow_on_makes_a_likely_success() {
        let t0 = us_of("2021-08-10T03:01:02Z").unwrap();
        let t = Tries {
            answered: 1,
            first_answered: Some(t0),
            ..Tries::default()
        };
        assert_eq!(t.verdict("203.0.113.9", &[]), Verdict::Answered);
        let shell = finding(
            Phase::Persistence,
            &[Role::AttackerSource],
            "2021-08-10T03:20:00Z",
        );
        assert!(matches!(
            t.verdict("203.0.113.9", std::slice::from_ref(&shell)),
            Verdict::Likely(_)
        ));
        // Before the exploit, or weeks after, it does not follow from it.
        let old = finding(Phase::Persistence, &[], "2021-07-01T00:00:00Z");
        let late = finding(Phase::Persistence, &[], "2021-09-30T00:00:00Z");
        assert_eq!(t.verdict("203.0.113.9", &[old, late]), Verdict::Answered);
        // A recon finding, or a probe for web shells (high, not planted), is no follow-on.
        let scan = finding(
            Phase::Recon,
            &[Role::AttackerSource],
            "2021-08-10T03:30:00Z",
        );
        let probe = Finding {
            severity: Severity::High,
            ..finding(
                Phase::Persistence,
                &[Role::AttackerSource],
                "2021-08-10T03:30:00Z",
            )
        };
        assert_eq!(t.verdict("203.0.113.9", &[scan, probe]), Verdict::Answered);
        // Nothing answered: an attempt, whatever follows.
        assert_eq!(
            Tries::default().verdict("203.0.113.9", &[shell]),
            Verdict::Attempt
        );
    }
}
