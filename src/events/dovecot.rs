//! Dovecot 2.2–2.4 through syslog (`dovecot: imap-login: …`) or its own log file
//! (`imap-login: Info: …`): logins, failed logins (one event per login-process line, which
//! carries the attempt count), backend refusals as `auth_backend_failure` (never counted
//! twice), logouts, LDA/LMTP deliveries, sieve redirects and vacation replies, and service
//! start/stop.
//!
//! The process part (`imap-login`, `auth-worker(123)`, `lda(bob)<12><sess>`,
//! `auth(bob,1.2.3.4,sasl:login)<sess>`) picks the branch; a leading `Info:`/`Warning:`/
//! `Error:` level is skipped. To support a new message, add a branch and a test line.

use super::fields::{angle, find, has, owned, plain, Parse};
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
    let user = parts
        .next()
        .filter(|u| !u.is_empty() && !u.bytes().all(|b| b.is_ascii_digit()));
    let ip = parts
        .next()
        .filter(|ip| ip.contains('.') || ip.contains(':'))
        .map(|ip| ip.strip_prefix("::ffff:").unwrap_or(ip));
    (user, ip)
}

/// The fields of a login process's line. The login named is the actor; a successful login
/// opens that account's mailbox (a master user's login names the mailbox it logged in to:
/// Dovecot's default log format does not say the master user).
fn login_fields<'a>(p: &mut Parsed<'a>, rest: &'a str) {
    p.actor = owned(angle(rest, "user"));
    if p.kind == Some(Kind::AuthSuccess) {
        p.mailbox = p.actor.clone();
    }
    p.src_ip = owned(plain(rest, "rip"));
    if let Some(m) = plain(rest, "method") {
        p.detail = Some(match p.detail.take() {
            Some(d) => format!("{d}; method={m}").into(),
            None => format!("method={m}").into(),
        });
    }
}

/// Parses one Dovecot message (after the syslog tag, or the whole own-log message with its
/// process as `tag`).
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    let (process, rest) = if is_dovecot(tag) {
        match split_process(strip_level(msg)) {
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
    if rest.starts_with("Login: ") {
        let mut p = event(Kind::AuthSuccess, process);
        login_fields(&mut p, rest);
        return Parse::Event(p);
    }
    // 2.2/2.3 `Disconnected (auth failed, 3 attempts in 16 secs): …`, `Aborted login (…)`,
    // 2.4 `Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): …`.
    let reason = rest
        .find('(')
        .map(|i| &rest[i + 1..rest[i..].find(')').map_or(rest.len(), |e| i + e)]);
    let disconnected = [
        "Disconnected",
        "Aborted login",
        "Login aborted",
        "Connection closed",
        "Client has quit",
        "Remote closed",
    ]
    .iter()
    .any(|p| rest.starts_with(p));
    if disconnected {
        let reason = reason.unwrap_or("");
        let kind = if reason.starts_with("auth failed")
            || reason.starts_with("tried to use disabled")
            || reason.starts_with("tried to use disallowed")
            || reason.starts_with("proxy dest auth failed")
            || has(rest, "(auth_failed)")
        {
            Kind::AuthFailure
        } else if reason.starts_with("Maximum number of") {
            Kind::RateLimit
        } else {
            Kind::LostConnection
        };
        let mut p = event(kind, process);
        p.detail = Some(if reason.is_empty() {
            rest.split(':').next().unwrap_or(rest).to_string().into()
        } else {
            reason.to_string().into()
        });
        login_fields(&mut p, rest);
        return Parse::Event(p);
    }
    if rest.starts_with("Maximum number of connections") {
        let mut p = event(Kind::RateLimit, process);
        p.detail = Some(
            rest.split(": user=")
                .next()
                .unwrap_or(rest)
                .to_string()
                .into(),
        );
        login_fields(&mut p, rest);
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
    let (inner_proc, text) = match find_driver(rest) {
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
    ]
    .iter()
    .any(|m| text.contains(m));
    if failure {
        let (user, ip) = paren_user_ip(inner_proc);
        let mut p = event(Kind::AuthBackendFailure, "auth");
        p.actor = owned(user);
        p.src_ip = owned(ip);
        p.detail = Some(
            format!(
                "{}: {}",
                inner_proc.split('(').next().unwrap_or(inner_proc),
                text.split(" (given password").next().unwrap_or(text)
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
    if rest.starts_with("Logged out")
        || rest.starts_with("Disconnected")
        || rest.starts_with("Connection closed")
    {
        let mut p = event(Kind::Disconnect, process);
        // `imap(u)`/`pop3(u)`: the session of the login `u`, in its own mailbox.
        p.actor = owned(user);
        p.mailbox = owned(user);
        p.detail = Some(rest.to_string().into());
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
            (Some(Kind::Disconnect), Some("liwei"))
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
        // A session is its owner's, in its own mailbox.
        let p = ev("dovecot", "imap(bob)<5268><P9DaP/FhE79/AAAB>: Disconnected: Logged out in=32 out=812 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0");
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.mailbox.as_deref()),
            (Some(Kind::Disconnect), Some("bob"), Some("bob"))
        );
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
