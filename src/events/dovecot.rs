//! Dovecot 2.2–2.4 through syslog (`dovecot: imap-login: …`) or its own log file
//! (`imap-login: Info: …`): logins, failed logins (one event per login-process line, which
//! carries the attempt count), backend refusals as `auth_backend_failure` (never counted
//! twice), logouts, LDA/LMTP deliveries, sieve redirects and vacation replies, and service
//! start/stop.
//!
//! The process part (`imap-login`, `auth-worker(123)`, `lda(bob)<12><sess>`,
//! `auth(bob,1.2.3.4,sasl:login)<sess>`) picks the branch; a leading `Info:`/`Warning:`/
//! `Error:` level is skipped. To support a new message, add a branch and a test line.

use super::fields::{angle, between, find, has, owned, plain, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to Dovecot.
pub fn is_dovecot(tag: &str) -> bool {
    tag == "dovecot" || tag.starts_with("dovecot-") || tag.starts_with("dovecot/")
}

fn proto_of(process: &str) -> Option<&'static str> {
    let p = process.split(['(', '<', '-']).next().unwrap_or(process);
    match p {
        "imap" => Some("imap"),
        "pop3" => Some("pop3"),
        "submission" => Some("smtp"),
        "managesieve" => Some("managesieve"),
        "lmtp" => Some("lmtp"),
        _ => None,
    }
}

/// Splits `process: rest`, where the process may contain `(…)` and `<…>` groups with colons.
fn split_process(msg: &str) -> Option<(&str, &str)> {
    let b = msg.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'<' => depth += 1,
            b')' | b'>' => depth -= 1,
            b':' if depth <= 0 => return Some((&msg[..i], msg[i + 1..].trim_start())),
            b' ' if depth <= 0 => return None,
            _ => {}
        }
    }
    None
}

fn strip_level(s: &str) -> &str {
    for l in [
        "Info: ",
        "Warning: ",
        "Error: ",
        "Fatal: ",
        "Panic: ",
        "Debug: ",
    ] {
        if let Some(r) = s.strip_prefix(l) {
            return r;
        }
    }
    s
}

/// `name(user,ip[,…])` → (user, ip).
fn paren_user_ip(process: &str) -> (Option<&str>, Option<&str>) {
    let Some(open) = memchr::memchr(b'(', process.as_bytes()) else {
        return (None, None);
    };
    let inner = &process[open + 1..];
    let inner = &inner[..memchr::memchr(b')', inner.as_bytes()).unwrap_or(inner.len())];
    let mut parts = inner.split(',');
    // `?`: the mechanism has no user name (yet).
    let user = parts
        .next()
        .filter(|u| !u.is_empty() && *u != "?" && !u.bytes().all(|b| b.is_ascii_digit()));
    let ip = parts
        .next()
        .filter(|ip| ip.contains('.') || ip.contains(':'))
        .map(|ip| ip.strip_prefix("::ffff:").unwrap_or(ip));
    (user, ip)
}

/// Splits a login process's line into its message and its `user=<…>, method=…, rip=…`
/// elements (`login_log_format = %$: %s`). The message is Dovecot's own text; the elements
/// carry the name the client sent, so they are read only after the message ends.
fn login_parts(rest: &str) -> (&str, &str) {
    let at = [": user=<", ": method=", ": rip="]
        .iter()
        .filter_map(|m| find(rest, m))
        .min();
    match at {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, ""),
    }
}

/// The last `, rip=` element (the name the client sent comes before it and may itself hold
/// `, rip=`), with its position.
fn rip_of(elements: &str) -> Option<(usize, &str)> {
    let b = elements.as_bytes();
    let at = if elements.starts_with("rip=") {
        Some(0)
    } else {
        None
    };
    let at = memchr::memmem::rfind(b, b", rip=").map(|i| i + 2).or(at)?;
    let v = &elements[at + 4..];
    let end = memchr::memchr2(b',', b' ', v.as_bytes()).unwrap_or(v.len());
    Some((at, &v[..end]))
}

/// The `user=<…>` element: everything up to the `>` that ends it before `, method=` or the
/// address (so a name holding `>` or `, ` is kept whole).
fn user_of(elements: &str, rip_at: Option<usize>) -> Option<&str> {
    let v = elements.strip_prefix("user=<")?;
    let Some(rip_at) = rip_at else {
        return memchr::memchr(b'>', v.as_bytes()).map(|e| &v[..e]);
    };
    let mut v = v.get(..rip_at.checked_sub(6)?)?.trim_end_matches(", ");
    if let Some((u, m)) = v.rsplit_once(", method=") {
        if !m.contains('>') {
            v = u;
        }
    }
    Some(v.strip_suffix('>').unwrap_or(v))
}

/// The reason a login process gives in parentheses (`(auth failed, 2 attempts in 8 secs)`,
/// `(no auth attempts in 0 secs)`, 2.4's `(auth_failed)` code): the first group Dovecot
/// words as a reason, so a system error quoted before it (`read(size=1003) failed: …`) is
/// passed over.
fn login_reason(msg: &str) -> Option<&str> {
    const REASONS: &[&str] = &[
        "auth failed",
        "tried to use ",
        "proxy dest auth failed",
        "no auth attempts",
        "disconnected before auth was ready",
        "client didn't finish",
        "disconnected during TLS handshake",
        "internal failure",
        "auth process communication failure",
        "auth aborted",
        "auth waiting",
        "Maximum number of",
        "mail_max_userip_connections",
    ];
    memchr::memchr_iter(b'(', msg.as_bytes()).find_map(|i| {
        let g = &msg[i + 1..];
        let g = &g[..memchr::memchr(b')', g.as_bytes()).unwrap_or(g.len())];
        REASONS.iter().any(|r| g.starts_with(r)).then_some(g)
    })
}

/// The fields of a login process's line. The login named is the actor; a successful login
/// opens that account's mailbox (a master user's login names the mailbox it logged in to:
/// Dovecot's default log format does not say the master user).
fn login_fields<'a>(p: &mut Parsed<'a>, elements: &'a str) {
    let rip = rip_of(elements);
    p.actor = owned(user_of(elements, rip.map(|(at, _)| at)));
    if p.kind == Some(Kind::AuthSuccess) {
        p.mailbox = p.actor.clone();
    }
    p.src_ip = owned(rip.map(|(_, ip)| ip.strip_prefix("::ffff:").unwrap_or(ip)));
    // `session=<…>` comes after the address (the name the client sent comes before it): the
    // mail process's later lines name the same id (`imap(u)<pid><id>`).
    if let Some((at, _)) = rip {
        p.session = owned(angle(&elements[at..], "session"));
    }
    if let Some(m) = plain(elements, "method") {
        p.detail = Some(match p.detail.take() {
            Some(d) => format!("{d}; method={m}").into(),
            None => format!("method={m}").into(),
        });
    }
}

/// Parses one Dovecot message (after the syslog tag, or the whole own-log message with its
/// process as `tag`).
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    // PAM's own line, logged by the auth process under its program name (`auth`, Dovecot 1's
    // `dovecot-auth`) straight to syslog's `authpriv`, whatever Dovecot's `log_path` says.
    if let Some(r) = strip_level(msg).strip_prefix("pam_unix(") {
        return pam_unix(r);
    }
    let (process, rest) = if is_dovecot(tag) {
        match split_process(strip_level(msg)) {
            // Dovecot 1.x repeated its name: `dovecot[442]: dovecot: auth(default): …`.
            Some(("dovecot", r)) => match split_process(strip_level(r)) {
                Some(pr) => pr,
                None => return service(r),
            },
            Some(pr) => pr,
            None => return service(msg),
        }
    } else {
        (tag, msg)
    };
    let severe = ["Fatal:", "Error:", "Panic:"]
        .iter()
        .any(|l| msg.starts_with(l) || rest.starts_with(l));
    let rest = strip_level(rest);
    let base = process.split(['(', '<']).next().unwrap_or(process);
    let parsed = match base {
        "imap-login" | "pop3-login" | "submission-login" | "managesieve-login" => {
            login(process, rest)
        }
        "auth" | "auth-worker" => backend(process, rest),
        "lda" | "lmtp" | "deliver" => deliver(process, rest),
        "imap" | "pop3" | "submission" | "managesieve" => session(process, rest),
        "master" | "config" | "log" | "anvil" | "stats" | "indexer" | "indexer-worker"
        | "doveadm" => service(rest),
        _ => Parse::Unknown,
    };
    match parsed {
        Parse::Event(p) => Parse::Event(p),
        // A fatal or error line of any process is a service event (auth backend broken …).
        _ if severe => {
            let mut p = event(Kind::Service, process);
            p.detail = Some(format!("{process}: {rest}").into());
            Parse::Event(p)
        }
        other => other,
    }
}

fn event(kind: Kind, process: &str) -> Parsed<'static> {
    Parsed {
        service: Some(
            format!(
                "dovecot/{}",
                process.split(['(', '<']).next().unwrap_or(process)
            )
            .into(),
        ),
        proto: proto_of(process),
        ..Parsed::new(kind)
    }
}

fn login<'a>(process: &'a str, rest: &'a str) -> Parse<'a> {
    let (msg, elements) = login_parts(rest);
    if msg == "Login" {
        let mut p = event(Kind::AuthSuccess, process);
        login_fields(&mut p, elements);
        return Parse::Event(p);
    }
    // 2.3 `Login failed: Plaintext authentication disabled`, ManageSieve `Authenticate PLAIN
    // failed: …`: one refused attempt, which the session's `Disconnected (auth failed, N
    // attempts …)` line counts again: a policy refusal, not a password tried.
    if msg.starts_with("Login failed: ")
        || (msg.starts_with("Authenticate ") && has(msg, " failed: "))
    {
        let mut p = event(Kind::Reject, process);
        p.detail = Some(msg.split_once(": ").map_or(msg, |(_, r)| r).into());
        login_fields(&mut p, elements);
        return Parse::Event(p);
    }
    // 2.2/2.3 `Disconnected (auth failed, 3 attempts in 16 secs)`, `Disconnected: Aborted login
    // by logging out (…)`, `Disconnected: Connection closed: read(size=1003) failed: … (auth
    // failed, …)`, `Aborted login (…)`, 2.4 `Login aborted: Connection closed (auth failed, 3
    // attempts in 16 secs) (auth_failed)`, submission's `Client has quit the connection (…)`.
    let disconnected = [
        "Disconnected",
        "Aborted login",
        "Login aborted",
        "Connection closed",
        "Client has quit",
        "Remote closed",
        "Maximum number of connections",
    ]
    .iter()
    .any(|p| msg.starts_with(p));
    if disconnected {
        let reason = login_reason(msg).unwrap_or("");
        let kind = if reason.starts_with("auth failed")
            || reason.starts_with("tried to use disabled")
            || reason.starts_with("tried to use disallowed")
            || reason.starts_with("proxy dest auth failed")
            || has(msg, "(auth_failed)")
        {
            Kind::AuthFailure
        } else if has(msg, "Maximum number of connections") {
            Kind::RateLimit
        } else {
            Kind::LostConnection
        };
        let mut p = event(kind, process);
        p.detail = Some(if kind == Kind::RateLimit {
            msg.strip_prefix("Disconnected: ").unwrap_or(msg).into()
        } else if reason.is_empty() {
            msg.split(':').next().unwrap_or(msg).into()
        } else {
            reason.into()
        });
        login_fields(&mut p, elements);
        return Parse::Event(p);
    }
    if rest.starts_with("Warning:")
        || rest.starts_with("Error:")
        || has(rest, "SSL_accept")
        || rest.starts_with("proxy(")
    {
        return Parse::Ignored;
    }
    Parse::Unknown
}

/// Auth drivers that name `(user,ip…)` in their log lines.
const DRIVERS: &[&str] = &[
    "pam(",
    "sql(",
    "passwd-file(",
    "ldap(",
    "checkpassword(",
    "static(",
    "passwd(",
    "shadow(",
    "bsdauth(",
    "oauth2(",
    "lua(",
    "imap(",
];

/// Finds `driver(user,ip…): text` anywhere in `rest` (2.3 puts `conn unix:auth-worker (…):
/// auth-worker<6>: ` before it).
fn find_driver(rest: &str) -> Option<(&str, &str)> {
    let at = DRIVERS.iter().filter_map(|d| find(rest, d)).min()?;
    split_process(&rest[at..])
}

fn backend<'a>(process: &'a str, rest: &'a str) -> Parse<'a> {
    // `pam(u,ip,<s>): pam_authenticate() failed: …`, `sql(u,ip): Password mismatch`,
    // `passwd-file(u,ip): unknown user`; 2.4: process `auth(u,ip,sasl:login)<s>` + `sql: Password mismatch`.
    // The SASL mechanism's own refusal names itself the same way: `plain(?,ip,<s>): Username
    // character disallowed by auth_username_chars: 0x20 (username: admin from 127.0.0.1)`.
    let (inner_proc, text) =
        match find_driver(rest).or_else(|| split_process(rest).filter(|(p, _)| p.contains('('))) {
            Some((p, t)) => (p, t),
            None => (process, rest),
        };
    let text = strip_level(text);
    let text = text
        .split_once(": ")
        .filter(|(drv, _)| !drv.contains(' '))
        .map_or(text, |(_, t)| t);
    let failure = [
        "Password mismatch",
        "password mismatch",
        "unknown user",
        "pam_authenticate() failed",
        "Authentication failure",
        "User not known",
        "Permission denied",
        // LDAP with `auth_bind = yes`: the directory refused the bind.
        "invalid credentials",
        "Invalid credentials",
    ]
    .iter()
    .any(|m| text.contains(m));
    // The name Dovecot refused to pass on is quoted at the end of the line.
    let refused_name = text
        .starts_with("Username character disallowed")
        .then(|| between(text, "(username: ", ""))
        .flatten()
        .and_then(|n| n.strip_suffix(')'));
    if failure || refused_name.is_some() {
        let (user, ip) = paren_user_ip(inner_proc);
        let mut p = event(Kind::AuthBackendFailure, "auth");
        p.actor = owned(refused_name.or(user));
        p.src_ip = owned(ip);
        p.detail = Some(
            format!(
                "{}: {}",
                inner_proc.split('(').next().unwrap_or(inner_proc),
                text.split(" (given password")
                    .next()
                    .and_then(|t| t.split(" (SHA1 of given password").next())
                    .unwrap_or(text)
            )
            .into(),
        );
        if has(inner_proc, "sasl:") || has(inner_proc, ",smtp") {
            p.proto = Some("smtp");
        }
        return Parse::Event(p);
    }
    if text.starts_with("Error") || has(text, "Fatal") || rest.starts_with("Error:") {
        let mut p = event(Kind::Service, "auth");
        p.detail = Some(rest.to_string().into());
        return Parse::Event(p);
    }
    Parse::Ignored
}

/// `pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot
/// ruser=u rhost=ip  user=u` (after `pam_unix(`). `user=` is absent when PAM does not know the
/// account (`ruser=` still names it); `check pass; user unknown` names nobody and precedes the
/// failure line, so it carries no event.
fn pam_unix(r: &str) -> Parse<'_> {
    let Some((service, text)) = r.split_once("): ") else {
        return Parse::Unknown;
    };
    if !text.starts_with("authentication failure;") {
        return Parse::Ignored;
    }
    let mut p = event(Kind::AuthBackendFailure, "auth");
    p.actor = owned(plain(text, "user")).or_else(|| owned(plain(text, "ruser")));
    p.src_ip = owned(plain(text, "rhost").map(|ip| ip.strip_prefix("::ffff:").unwrap_or(ip)));
    p.detail = Some(format!("pam_unix({service}): authentication failure").into());
    Parse::Event(p)
}

fn deliver<'a>(process: &'a str, rest: &'a str) -> Parse<'a> {
    let (user, _) = paren_user_ip(process);
    let text = rest.strip_prefix("sieve: ").unwrap_or(rest);
    let msgid = angle(text, "msgid");
    let body = match text.find(">: ") {
        Some(i) if text.starts_with("msgid=") => &text[i + 3..],
        _ => text,
    };
    let body = body.strip_prefix("sieve: ").unwrap_or(body);
    // Pigeonhole names the Sieve action first: `fileinto action: stored mail into mailbox
    // 'Lists'`, `vacation action: sent vacation response to <…>`, `redirect action:
    // forwarded to <…>`.
    let body = match body.split_once(" action: ") {
        Some((action, rest)) if !action.contains(' ') => rest,
        _ => body,
    };
    if body.starts_with("discarded duplicate vacation response") {
        // The reply was already sent within its period: nothing left the mailbox.
        return Parse::Ignored;
    }
    let mut p = if let Some(to) = body.strip_prefix("forwarded to <") {
        let mut p = event(Kind::Forwarded, process);
        p.recipient = owned(to.split('>').next());
        p.status = Some("sent".into());
        p
    } else if let Some(to) = body.strip_prefix("sent vacation response to <") {
        let mut p = event(Kind::Delivery, process);
        p.recipient = owned(to.split('>').next());
        p.status = Some("sent".into());
        p.detail = Some("sieve vacation response".into());
        p
    } else if body.starts_with("saved mail to ") || body.starts_with("stored mail into mailbox") {
        let mut p = event(Kind::Delivery, process);
        p.recipient = owned(user);
        p.status = Some("sent".into());
        p
    } else if body.starts_with("rejected: ")
        || body.starts_with("discarded")
        || body.starts_with("marked message to be discarded")
    {
        let mut p = event(Kind::Delivery, process);
        p.recipient = owned(user);
        p.status = Some("bounced".into());
        p
    } else if body.starts_with("Connect from")
        || body.starts_with("Disconnect from")
        || has(body, "Logged out")
        || rest.starts_with("Error:")
        || rest.starts_with("Warning:")
        || body.starts_with("msgid=")
        // `mail_log` lines of a delivery (`save: box=INBOX, uid=…`).
        || super::dovecot_session::mail_log(body).is_some()
    {
        return Parse::Ignored;
    } else {
        return Parse::Unknown;
    };
    // `lda(u)`/`lmtp(u)`: a delivery into u's mailbox, or u's Sieve script acting on it. No
    // login of u did anything: the actor is the submitter, joined on the queue id if known.
    p.mailbox = owned(user);
    if p.detail.is_none() {
        p.detail = Some(body.to_string().into());
    }
    if let Some(m) = msgid {
        p.queue_id = Some(format!("<{m}>").into());
    }
    Parse::Event(p)
}

fn session<'a>(process: &'a str, rest: &'a str) -> Parse<'a> {
    let (user, _) = paren_user_ip(process);
    // Counters at the end, `mail_log` lines: what the session did in the mailbox.
    match super::dovecot_session::event(|k| event(k, process), user, process, rest) {
        Some(Some(p)) => return Parse::Event(p),
        Some(None) => return Parse::Ignored,
        None => {}
    }
    if rest.starts_with("Logged out")
        || rest.starts_with("Disconnected")
        || rest.starts_with("Connection closed")
    {
        let mut p = event(Kind::Disconnect, process);
        // `imap(u)`/`pop3(u)`: the session of the login `u`, in its own mailbox.
        p.actor = owned(user);
        p.mailbox = owned(user);
        p.detail = Some(rest.to_string().into());
        p.session = owned(super::dovecot_session::session_of(process));
        return Parse::Event(p);
    }
    Parse::Ignored
}

fn service(msg: &str) -> Parse<'_> {
    let text = strip_level(msg);
    let interesting = [
        "starting up",
        "Killed with signal",
        "Dovecot v",
        "SIGHUP received",
        "config",
        "died",
        "shutting down",
    ];
    if msg.starts_with("Fatal:")
        || msg.starts_with("Error:")
        || interesting.iter().any(|i| text.contains(i))
    {
        let mut p = event(Kind::Service, "master");
        p.detail = Some(text.to_string().into());
        return Parse::Event(p);
    }
    Parse::Ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(tag: &'a str, msg: &'a str) -> Parsed<'a> {
        match parse(tag, msg) {
            Parse::Event(p) => p,
            other => panic!("{tag}: {msg}: {other:?}"),
        }
    }

    #[test]
    fn logins_and_failures() {
        let p = ev("dovecot", "imap-login: Login: user=<zhangwei>, method=PLAIN, rip=192.0.2.10, lip=198.51.100.25, mpid=4242, TLS, session=<abc>");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref(), p.proto),
            (
                Some(Kind::AuthSuccess),
                Some("zhangwei"),
                Some("192.0.2.10"),
                Some("imap")
            )
        );
        let p = ev("dovecot", "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=203.0.113.78, lip=198.51.100.25, TLS, session=<x>");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref()),
            (Some(Kind::AuthFailure), Some("admin"), Some("203.0.113.78"))
        );
        assert!(p.detail.unwrap().starts_with("auth failed, 1 attempts"));
        let p = ev("dovecot", "imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<test>, method=PLAIN, rip=192.0.2.241, lip=203.0.113.104, TLS, session=<9ZHq02g3J8S60fan>");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::AuthFailure), Some("192.0.2.241"))
        );
        let p = ev("imap-login", "Info: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.5, lip=192.0.2.1");
        assert_eq!(p.kind, Some(Kind::LostConnection));
    }

    #[test]
    fn backend_lines_are_not_attempts() {
        let p = ev("dovecot", "auth-worker(3065): pam(liwei,203.0.113.77,<EwmhyfITYf+43Ecf>): pam_authenticate() failed: Authentication failure (Password mismatch?)");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref()),
            (
                Some(Kind::AuthBackendFailure),
                Some("liwei"),
                Some("203.0.113.77")
            )
        );
        let p = ev(
            "dovecot",
            "auth-worker(24544): pam(toto,1.1.1.1): unknown user",
        );
        assert_eq!(p.src_ip.as_deref(), Some("1.1.1.1"));
        let p = ev(
            "dovecot",
            "auth: sql(admin@example.ru,192.168.144.226,<6rXunFtu493AqJDi>): Password mismatch",
        );
        assert_eq!(p.actor.as_deref(), Some("admin@example.ru"));
        let p = ev(
            "auth(info@example.com,1.2.3.4,sasl:login)<CvN+E95Uf4e7eEnj>",
            "Info: sql: Password mismatch (given password: XxxxXXxx123)",
        );
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref(), p.proto),
            (
                Some(Kind::AuthBackendFailure),
                Some("info@example.com"),
                Some("1.2.3.4"),
                Some("smtp")
            )
        );
        assert!(
            !p.detail.unwrap().contains("XxxxXXxx123"),
            "passwords from the log are not repeated"
        );
    }

    #[test]
    fn deliveries_and_redirects() {
        let p = ev("dovecot", "lda(wangfang)<23330><F8pXL0rjDckSBw4O>: sieve: msgid=<20260305083453.512037@x>: forwarded to <wf.backup@mailsafe.example.com>");
        assert_eq!(
            (p.kind, p.mailbox.as_deref(), p.recipient.as_deref()),
            (
                Some(Kind::Forwarded),
                Some("wangfang"),
                Some("wf.backup@mailsafe.example.com")
            )
        );
        let p = ev(
            "dovecot",
            "lda(zhangwei)<1><s>: msgid=<a@b>: saved mail to INBOX",
        );
        assert_eq!(
            (p.kind, p.recipient.as_deref()),
            (Some(Kind::Delivery), Some("zhangwei"))
        );
        let p = ev(
            "dovecot",
            "imap(liwei)<24093><W4CtYXfHgpLgbZK3>: Logged out in=878 out=650418 deleted=0",
        );
        assert_eq!(
            (p.kind, p.actor.as_deref()),
            (Some(Kind::MailboxAccess), Some("liwei"))
        );
        assert!(matches!(
            parse("dovecot", "frobnicator: weird"),
            Parse::Unknown
        ));
        let p = ev("dovecot", "auth-worker(14877): conn unix:auth-worker (pid=14830,uid=109): auth-worker<5>: pam(needle,5.34.207.161): pam_authenticate() failed: Authentication failure (Password mismatch?)");
        assert_eq!(
            (p.actor.as_deref(), p.src_ip.as_deref()),
            (Some("needle"), Some("5.34.207.161"))
        );
        let p = ev("auth(default)", "pam(user@example.com,::ffff:1.2.3.4): pam_authenticate() failed: User not known to the underlying authentication module");
        assert_eq!(p.src_ip.as_deref(), Some("1.2.3.4"));
        let p = ev(
            "dovecot",
            "Fatal: Auth process died too early - shutting down",
        );
        assert_eq!(p.kind, Some(Kind::Service));
        let p = ev(
            "dovecot",
            "Fatal: auth(default): Support not compiled in for passdb driver 'ldap'",
        );
        assert_eq!(p.kind, Some(Kind::Service));
    }

    /// One line of each class Dovecot 2.3.19.1 wrote with passwd-file, PAM, SQL (sqlite) and
    /// LDAP passdbs in `tests/fixtures/dovecot-backends/` (syslog and its own log), with the
    /// kind, client address and account each must give.
    #[test]
    fn backend_and_login_vocabulary() {
        use Kind::*;
        for (tag, msg, kind, ip, user) in [
            ("dovecot", "imap-login: Disconnected: Aborted login by logging out (auth failed, 2 attempts in 8 secs): user=<mira>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<BjHTzfhhy5fLAHEy>", AuthFailure, Some("203.0.113.50"), Some("mira")),
            ("dovecot", "imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 6 secs): user=<admin>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<O5BNzvhhs+rLAHEy>", AuthFailure, Some("203.0.113.50"), Some("admin")),
            ("dovecot", "imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 6 secs): user=<mira>, method=PLAIN, rip=203.0.113.51, lip=192.0.2.25, TLS, session=<OAaAz/hhA4DLAHEz>", AuthFailure, Some("203.0.113.51"), Some("mira")),
            ("dovecot", "submission-login: Disconnected: Aborted login by logging out (auth failed, 2 attempts in 16 secs): user=<mira>, method=LOGIN, rip=203.0.113.50, lip=192.0.2.25, session=<uGyT0PhhA5jLAHEy>", AuthFailure, Some("203.0.113.50"), Some("mira")),
            ("dovecot", "managesieve-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<mira>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<UZAC0vhhC6LLAHEy>", AuthFailure, Some("203.0.113.50"), Some("mira")),
            ("managesieve-login", "Info: Disconnected: Aborted login by logging out (tried to use disallowed plaintext auth): user=<>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<GlxOl/hhv53LAHEy>", AuthFailure, Some("203.0.113.50"), None),
            ("dovecot", "imap-login: Disconnected: Aborted login by logging out (no auth attempts in 0 secs): user=<>, rip=203.0.113.50, lip=192.0.2.25, session=<t/zbz/hhq4jLAHEy>", LostConnection, Some("203.0.113.50"), None),
            ("dovecot", "imap-login: Disconnected: Connection closed: SSL_accept() failed: error:0A00009C:SSL routines::http request (disconnected before auth was ready, waited 0 secs): user=<>, rip=203.0.113.51, lip=192.0.2.25, TLS handshaking: SSL_accept() failed: error:0A00009C:SSL routines::http request, session=<gE7cz/hhhevLAHEz>", LostConnection, Some("203.0.113.51"), None),
            ("dovecot", "imap-login: Disconnected: Maximum number of connections from user+IP exceeded (mail_max_userip_connections=2): user=<tomas>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.25, session=<9dqb0vhhL4TGM2QH>", RateLimit, Some("198.51.100.7"), Some("tomas")),
            ("imap-login", "Info: Login failed: Plaintext authentication disabled: user=<mira>, rip=203.0.113.50, lip=192.0.2.25, session=<G1M0l/hhR9rLAHEy>", Reject, Some("203.0.113.50"), Some("mira")),
            ("managesieve-login", "Info: Authenticate PLAIN failed: Plaintext authentication disabled.: user=<>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<GlxOl/hhv53LAHEy>", Reject, Some("203.0.113.50"), None),
            // A client behind a trusted proxy (IMAP ID x-originating-ip): `rip` is the client.
            ("dovecot", "imap-login: Login: user=<mira>, method=PLAIN, rip=203.0.113.77, lip=192.0.2.25, mpid=22657, secured, session=<aP580vhhIsjLAHFN>", AuthSuccess, Some("203.0.113.77"), Some("mira")),
            ("dovecot", "auth: passwd-file(admin,203.0.113.50,<O5BNzvhhs+rLAHEy>): unknown user", AuthBackendFailure, Some("203.0.113.50"), Some("admin")),
            // `doveadm auth test` / a SASL client on the auth-client socket: no session id.
            ("dovecot", "auth: passwd-file(tomas,203.0.113.62): Password mismatch", AuthBackendFailure, Some("203.0.113.62"), Some("tomas")),
            ("auth", "Info: passwd-file(mira,203.0.113.51,<qB42l/hh3enLAHEz>): Password mismatch (SHA1 of given password: 38b96d)", AuthBackendFailure, Some("203.0.113.51"), Some("mira")),
            ("auth", "pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=mira rhost=203.0.113.50  user=mira", AuthBackendFailure, Some("203.0.113.50"), Some("mira")),
            ("auth", "pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=admin rhost=203.0.113.50 ", AuthBackendFailure, Some("203.0.113.50"), Some("admin")),
            ("dovecot", "auth-worker(22776): conn unix:auth-worker (pid=22775,uid=103): auth-worker<2>: pam(mira,203.0.113.50,<VH6l0/hhd+3LAHEy>): pam_authenticate() failed: Authentication failure (Password mismatch?)", AuthBackendFailure, Some("203.0.113.50"), Some("mira")),
            ("dovecot", "auth-worker(29106): conn unix:auth-worker (pid=29105,uid=103): auth-worker<4>: sql(admin,203.0.113.50,<r4Piqfhhu6fLAHEy>): unknown user (SHA1 of given password: f865b5)", AuthBackendFailure, Some("203.0.113.50"), Some("admin")),
            ("dovecot", "auth: ldap(mira,203.0.113.50,<dz9Tr/hhCenLAHEy>): Password mismatch (for LDAP bind)", AuthBackendFailure, Some("203.0.113.50"), Some("mira")),
            ("dovecot", "auth: ldap(admin,203.0.113.50,<1C3Gr/hh2bnLAHEy>): unknown user", AuthBackendFailure, Some("203.0.113.50"), Some("admin")),
            // Roundcube passing on the name typed into its form (`tests/fixtures/roundcube/`).
            ("dovecot", "auth: plain(?,192.0.2.25,<RKdi7/hhPorAAAIZ>): Username character disallowed by auth_username_chars: 0x20 (username: admin from 127.0.0.1)", AuthBackendFailure, Some("192.0.2.25"), Some("admin from 127.0.0.1")),
            ("dovecot", "imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 10 secs): user=<admin from 127.0.0.1>, method=PLAIN, rip=192.0.2.25, lip=192.0.2.25, secured, session=<RKdi7/hhPorAAAIZ>", AuthFailure, Some("192.0.2.25"), Some("admin from 127.0.0.1")),
        ] {
            let p = ev(tag, msg);
            assert_eq!(
                (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
                (Some(kind), ip, user),
                "{msg}"
            );
            if kind == AuthFailure && has(msg, "auth failed") {
                assert!(p.detail.as_deref().is_some_and(|d| d.starts_with("auth failed, ")), "{msg}");
            }
            if let Some(d) = p.detail.as_deref() {
                assert!(!d.contains("SHA1 of given"), "{d}");
            }
        }
        // Names nobody: the failure line after it does.
        assert!(matches!(
            parse("auth", "pam_unix(dovecot:auth): check pass; user unknown"),
            Parse::Ignored
        ));
    }

    /// Lines other Dovecot versions and setups wrote, as published (their sources are in
    /// `tests/fixtures/dovecot-backends/README.md`): a system error quoted before the reason,
    /// 2.4's reason code, PAM through multilog's `dovecot-auth`, Dovecot 1's repeated name.
    #[test]
    fn other_versions_wordings() {
        use Kind::*;
        for (tag, msg, kind, ip, user) in [
            ("dovecot", "imap-login: Disconnected: Connection closed: read(size=1003) failed: Connection reset by peer (auth failed, 1 attempts in 0 secs): user=<test@example.com>, rip=192.0.2.4, lip=127.0.0.19, session=<Lsz0Oo7WXti3b>", AuthFailure, Some("192.0.2.4"), Some("test@example.com")),
            ("dovecot", "pop3-login: Disconnected: Inactivity (auth failed, 1 attempts in 178 secs): user=<ivo>, method=PLAIN, rip=1.2.3.4, lip=1.1.2.2, session=<6brQWt/vCADDhP/+>", AuthFailure, Some("1.2.3.4"), Some("ivo")),
            ("dovecot", "submission-login: Client has quit the connection (auth failed, 1 attempts in 2 secs): user=<user1>, method=LOGIN, rip=192.0.2.133, lip=0.0.0.0", AuthFailure, Some("192.0.2.133"), Some("user1")),
            ("dovecot", "imap-login: Disconnected (proxy dest auth failed): user=<rtomes@acenet.com.au>, method=PLAIN, rip=192.0.2.4, lip=192.168.1.2, session=<NTI4FiZxcQCSud4G>", AuthFailure, Some("192.0.2.4"), Some("rtomes@acenet.com.au")),
            ("dovecot-auth", "pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=rhost=1.2.3.4 rhost=192.0.43.10", AuthBackendFailure, Some("192.0.43.10"), Some("rhost=1.2.3.4")),
            ("dovecot", "dovecot: auth(default): pam(account@MYSERVERNAME.com,200.76.17.206): pam_authenticate() failed: User not known to the underlying authentication module: 2 Time(s)", AuthBackendFailure, Some("200.76.17.206"), Some("account@MYSERVERNAME.com")),
            ("auth", "Info: ldap(dog,52.37.139.121,): invalid credentials", AuthBackendFailure, Some("52.37.139.121"), Some("dog")),
        ] {
            let p = ev(tag, msg);
            assert_eq!(
                (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
                (Some(kind), ip, user),
                "{msg}"
            );
        }
    }

    /// The client names itself: a user name holding `, rip=…` moves neither the address nor
    /// the name (Dovecot 2.3.19.1's lines for two AUTHENTICATE PLAIN logins with such names,
    /// `tests/fixtures/dovecot-backends/passwd-file-inject.syslog`).
    #[test]
    fn user_names_cannot_move_the_address() {
        let evil = "x>, method=PLAIN, rip=192.0.2.99, lip=192.0.2.25";
        let p = ev("dovecot", "imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=192.0.2.99, lip=192.0.2.25>, method=PLAIN, rip=203.0.113.50, lip=192.0.2.25, session=<1/R09fhhwb3LAHEy>");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
            (Some(Kind::AuthFailure), Some("203.0.113.50"), Some(evil))
        );
        assert!(p
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("auth failed, 1 attempts")));
        let p = ev("dovecot", "auth: plain(?,203.0.113.50,<1/R09fhhwb3LAHEy>): Username character disallowed by auth_username_chars: 0x3e (username: x>, method=PLAIN, rip=192.0.2.99, lip=192.0.2.25)");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
            (
                Some(Kind::AuthBackendFailure),
                Some("203.0.113.50"),
                Some(evil)
            )
        );
        let p = ev("dovecot", "imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<admin from 192.0.2.98>, method=PLAIN, rip=203.0.113.51, lip=192.0.2.25, session=<fGGU9fhhE8zLAHEz>");
        assert_eq!(
            (p.src_ip.as_deref(), p.actor.as_deref()),
            (Some("203.0.113.51"), Some("admin from 192.0.2.98"))
        );
        for garbage in [
            "imap-login: Disconnected (",
            "imap-login: Login: user=<",
            "imap-login: Login: rip=",
            "pam_unix(",
            "auth: pam_unix(x): authentication failure;",
        ] {
            let _ = parse("dovecot", garbage);
        }
    }

    /// Lines Dovecot 2.3.19.1 and Pigeonhole wrote on Debian 12 in the live test
    /// (`docs/live-test.md`): deliveries by `dovecot-lda` (Postfix `mailbox_command`) and by
    /// LMTP, with and without Sieve. Each concerns the mailbox; none is its owner's action.
    #[test]
    fn deliveries_name_the_mailbox_never_an_actor() {
        for (line, kind, mailbox, rcpt) in [
            ("lda(kate)<5399><JvC6KD8BFWsXFQAAg+zDdQ>: sieve: msgid=<in-1.5141@newsletter.example>: fileinto action: stored mail into mailbox 'Lists'", Kind::Delivery, "kate", Some("kate")),
            ("lda(nora)<5519><DCRLDEABFWuPFQAAg+zDdQ>: msgid=<in-212.5141@newsletter.example>: saved mail to INBOX", Kind::Delivery, "nora", Some("nora")),
            ("lda(liam)<5471><C18zAEABFWtfFQAAg+zDdQ>: sieve: msgid=<in-121.5141@partner0.example>: vacation action: sent vacation response to <contact0@partner0.example>", Kind::Delivery, "liam", Some("contact0@partner0.example")),
            ("lmtp(kate)<6060></zIvIeABFWusFwAAg+zDdQ>: sieve: msgid=<in-221.5141@newsletter.example>: fileinto action: stored mail into mailbox 'Lists'", Kind::Delivery, "kate", Some("kate")),
            ("lmtp(nora)<6073><Uh7fM+ABFWu5FwAAg+zDdQ>: msgid=<in-342.5141@newsletter.example>: saved mail to INBOX", Kind::Delivery, "nora", Some("nora")),
            ("lmtp(liam)<6078><RbGqAuEBFWu+FwAAg+zDdQ>: sieve: msgid=<in-441.5141@partner1.example>: stored mail into mailbox 'INBOX'", Kind::Delivery, "liam", Some("liam")),
        ] {
            let p = ev("dovecot", line);
            assert_eq!(
                (p.kind, p.actor.as_deref(), p.mailbox.as_deref(), p.recipient.as_deref()),
                (Some(kind), None, Some(mailbox), rcpt),
                "{line}"
            );
        }
        // A vacation reply already sent in its period: nothing was sent.
        assert!(matches!(
            parse("dovecot", "lda(liam)<5474><jAPqAEABFWtiFQAAg+zDdQ>: sieve: msgid=<in-122.5141@partner0.example>: vacation action: discarded duplicate vacation response to <contact0@partner0.example>"),
            Parse::Ignored
        ));
        // A session is its owner's, in its own mailbox; its end says what it read.
        let p = ev("dovecot", "imap(bob)<5268><P9DaP/FhE79/AAAB>: Disconnected: Logged out in=32 out=812 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.mailbox.as_deref()),
            (Some(Kind::MailboxAccess), Some("bob"), Some("bob"))
        );
        assert_eq!(p.session.as_deref(), Some("P9DaP/FhE79/AAAB"));
        // Without counters (a custom logout format) it is a plain end of session.
        let p = ev(
            "dovecot",
            "imap(bob)<5268><P9DaP/FhE79/AAAB>: Disconnected: Logged out",
        );
        assert_eq!(p.kind, Some(Kind::Disconnect));
        let p = ev("dovecot", "imap-login: Login: user=<bob>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=5268, secured, session=<P9DaP/FhE79/AAAB>");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.mailbox.as_deref()),
            (Some(Kind::AuthSuccess), Some("bob"), Some("bob"))
        );
        // A failed login names the account tried; no mailbox was opened.
        let p = ev("dovecot", "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=203.0.113.78, lip=198.51.100.25, TLS, session=<x>");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.mailbox.as_deref()),
            (Some(Kind::AuthFailure), Some("admin"), None)
        );
    }
}
