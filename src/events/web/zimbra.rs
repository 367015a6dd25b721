//! Zimbra's log4j logs (`/opt/zimbra/log/mailbox.log`, `audit.log`) → authentication and
//! admin events.
//!
//! Zimbra writes `date level [thread] [context] category - message`, the time in the server's
//! zone without saying which (read in `--timezone` / the bundle's zone), and its `security`
//! category (all of `audit.log`) records each login and account
//! change as `cmd=<Command>; key=value; …` (where `mailbox.log` holds these too, depends on
//! the host's log4j configuration):
//!
//! - `cmd=Auth` / `cmd=AdminAuth` (also `AuthRequest`): `auth_success`, or `auth_failure` when
//!   the line carries `error=` (`authentication failed for [user], invalid password`). The
//!   account is the line's `account=` (else the context `name=`), the client the context's
//!   `oip` (the original client behind Zimbra's proxy; the first of a list) else `ip`.
//!   `protocol=` gives `proto` (`imap`, `pop3`; `soap`, `zsync`, `http` are `http`; a
//!   context `oproto=smtp`, a password check made for the MTA, is `smtp`); the detail keeps
//!   the command in `op`, the protocol in `client`, the user agent in `ua`, the error in `note`.
//! - any other command (`CreateAccount`, `ModifyAccount`, `SetPassword` …): `admin_command`,
//!   the context's `name=` (the administrator) as actor, the message's `name=` (the account
//!   acted on) as mailbox, the command in `op`, the whole message in `cmd`.
//!
//! Other lines of the layout (and the other categories' echo of a failed login, such as
//! `SoapEngine - handler exception: authentication failed for …`, which would count one
//! failure twice) are known and ignored; stack-trace lines after an entry too.

use chrono::TimeZone;
use chrono_tz::Tz;

use super::cap;
use crate::events::exchange::values::client_ip;
use crate::events::exchange::{Got, Rec};
use crate::events::record::Kind;
use crate::evidence::weblines::{self, Log4j};

/// The service of Zimbra events.
pub const SERVICE: &str = "zimbra";

/// One line; `tz` is the zone the server wrote its times in.
pub fn line(text: &str, tz: Tz) -> Got {
    let Some(l) = weblines::log4j(text) else {
        return if continuation(text) {
            Got::Ignored
        } else {
            Got::Unparsed
        };
    };
    let Some(ts) = tz
        .from_local_datetime(&l.local)
        .earliest()
        .map(|t| t.timestamp_micros())
    else {
        return Got::Unparsed;
    };
    if l.category != "security" {
        return Got::Ignored;
    }
    let Some(cmd) = pair(l.message, "cmd") else {
        return Got::Ignored;
    };
    Got::Events(vec![security(&l, ts, cmd)])
}

/// A `security` line with its command.
fn security(l: &Log4j, ts: i64, cmd: &str) -> Rec {
    let login = matches!(
        cmd,
        "Auth" | "AdminAuth" | "AuthRequest" | "AdminAuthRequest"
    );
    let error = pair(l.message, "error");
    let kind = match (login, error) {
        (true, None) => Kind::AuthSuccess,
        (true, Some(_)) => Kind::AuthFailure,
        (false, _) => Kind::AdminCommand,
    };
    let mut r = Rec::new(kind, ts, SERVICE);
    r.src_ip = l
        .get("oip")
        .and_then(|o| o.split(',').find_map(client_ip))
        .or_else(|| l.get("ip").and_then(client_ip));
    let protocol = pair(l.message, "protocol");
    r.proto = match (l.get("oproto"), protocol) {
        (Some("smtp"), _) => Some("smtp"),
        (_, Some("imap")) => Some("imap"),
        (_, Some("pop3")) => Some("pop3"),
        (_, Some(_)) => Some("http"),
        _ if l.thread.starts_with("qtp") || l.thread.starts_with("btpool") => Some("http"),
        _ => None,
    };
    let d = &mut r.detail;
    d.op = Some(cap(cmd));
    d.client = protocol.map(cap);
    d.ua = l.get("ua").map(cap);
    if login {
        r.actor = pair(l.message, "account").or(l.get("name")).map(cap);
        r.detail.note = error.map(cap);
    } else {
        r.actor = l.get("name").map(cap);
        r.mailbox = pair(l.message, "name").map(cap);
        r.detail.cmd = Some(cap(l.message.trim()));
    }
    r
}

/// The value of `key=` in a `key=value; key=value;` message.
fn pair<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    message.split(';').find_map(|p| {
        let (k, v) = p.trim_start().split_once('=')?;
        (k == key).then_some(v.trim())
    })
}

/// A line that continues the entry before it: a stack trace (`\tat …`, `Caused by: …`,
/// `... 12 more`, `com.zimbra….ServiceException: …`) or an indented line.
fn continuation(text: &str) -> bool {
    let t = text.trim_end();
    if t.is_empty() || t.starts_with([' ', '\t']) || t.starts_with("Caused by: ") {
        return true;
    }
    if t.starts_with("...") && t.ends_with(" more") {
        return true;
    }
    // An exception's class name: dotted Java identifiers, then `:` or the end.
    let class = t.split(':').next().unwrap_or("");
    class.contains('.')
        && !class.contains(' ')
        && class.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(l: &str) -> Rec {
        match line(l, chrono_tz::UTC) {
            Got::Events(mut v) => v.remove(0),
            _ => panic!("no event: {l}"),
        }
    }

    /// audit.log lines published with their sources (public GitHub files):
    /// - a logstash grok spec for Zimbra's audit log (SOAP login through the proxy, `oip`, `ua`);
    /// - a 2010 Zimbra behaviour script's sample entries (`learn-log.pl`: POP3 login with `ip`);
    /// - a Zimbra logstash setup's README (POP3 login behind the proxy: `ip` and `oip`);
    /// - an audit-parser test script (POP3 failure with `error=`);
    /// - the README of a Zimbra ActiveSync extension (login with a list in `oip`, `zsync`).
    #[test]
    fn published_audit_lines() {
        let r = one("2015-12-05 18:47:36,435 INFO  [qtp1545357780-7135140:http://127.0.0.1:80/service/soap/AuthRequest] [name=pepe@domain.com;oip=10.1.2.123;ua=zclient/2.0.5_GA_1839;] security - cmd=Auth; account=pepe@domain.com; protocol=soap;");
        assert_eq!(r.kind, Kind::AuthSuccess);
        assert_eq!(r.actor.as_deref(), Some("pepe@domain.com"));
        assert_eq!(r.src_ip.as_deref(), Some("10.1.2.123"));
        assert_eq!(r.proto, Some("http"));
        assert_eq!(r.detail.ua.as_deref(), Some("zclient/2.0.5_GA_1839"));
        assert_eq!(r.ts_us, 1_449_341_256_435_000);

        let r = one("2010-09-08 00:12:27,202 INFO  [Pop3SSLServer-12505] [ip=68.98.153.60;] security - cmd=Auth; account=terriw@dizi.dc; protocol=pop3;");
        assert_eq!(r.kind, Kind::AuthSuccess);
        assert_eq!(r.src_ip.as_deref(), Some("68.98.153.60"));
        assert_eq!(r.proto, Some("pop3"));

        let r = one("2015-03-26 21:51:36,505 INFO  [Pop3Server-13] [ip=172.16.0.3;oip=200.111.128.196;] security - cmd=Auth; account=jbarrera@example.com; protocol=pop3;");
        assert_eq!(r.src_ip.as_deref(), Some("200.111.128.196"));

        let r = one("2018-04-01 16:04:25,145 WARN  [Pop3SSLServer-400] [ip=1.1.1.1;oip=1.9.9.9;] security - cmd=Auth; account=admin@domain.tek; protocol=pop3; error=authentication failed for [admin@domain.tek], invalid password;");
        assert_eq!(r.kind, Kind::AuthFailure);
        assert_eq!(r.actor.as_deref(), Some("admin@domain.tek"));
        assert_eq!(r.src_ip.as_deref(), Some("1.9.9.9"));
        assert_eq!(
            r.detail.note.as_deref(),
            Some("authentication failed for [admin@domain.tek], invalid password")
        );

        let r = one("2025-09-19 19:40:17,304 INFO  [qtp1279309678-18:https://zimbra.example.net/service/soap/] [name=login@example.net;oip=1.2.3.4, 5.6.7.8;port=47834;ua=BlueMail 1.140.103 (20466)(...le2bw6) devip=1.2.3.4 ZPZB/74;soapId=56847ec2;] security - cmd=Auth; account=login@example.net; protocol=zsync;");
        assert_eq!(r.src_ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(r.detail.client.as_deref(), Some("zsync"));
        assert_eq!(r.proto, Some("http"));
    }

    /// Not a published line: the shape Zimbra's `CreateAccount` handler writes
    /// (`ZimbraLog.security.info(ZimbraLog.encodeAttrs({"cmd", "CreateAccount", "name", name},
    /// attrs))` in zm-mailbox), behind the context of the published admin-port line above.
    #[test]
    fn account_change_is_an_admin_command() {
        let r = one("2018-10-02 00:00:41,101 INFO  [qtp509886383-2438090:https://192.168.15.15:7071/service/admin/soap/] [name=admin@ucab.edu.ve;ip=192.168.15.15;] security - cmd=CreateAccount; name=backdoor@ucab.edu.ve; zimbraIsAdminAccount=TRUE;");
        assert_eq!(r.kind, Kind::AdminCommand);
        assert_eq!(r.actor.as_deref(), Some("admin@ucab.edu.ve"));
        assert_eq!(r.mailbox.as_deref(), Some("backdoor@ucab.edu.ve"));
        assert_eq!(r.detail.op.as_deref(), Some("CreateAccount"));
        assert!(r
            .detail
            .cmd
            .as_deref()
            .unwrap()
            .contains("zimbraIsAdminAccount=TRUE"));
    }

    #[test]
    fn zone_of_the_server() {
        let l = "2010-09-08 00:12:27,202 INFO  [Pop3SSLServer-12505] [ip=68.98.153.60;] security - cmd=Auth; account=terriw@dizi.dc; protocol=pop3;";
        let Got::Events(v) = line(l, chrono_tz::Europe::Paris) else {
            panic!()
        };
        let Got::Events(u) = line(l, chrono_tz::UTC) else {
            panic!()
        };
        assert_eq!(u[0].ts_us - v[0].ts_us, 2 * 3600 * 1_000_000);
    }

    #[test]
    fn other_lines() {
        assert!(matches!(
            line(
                "\tat com.zimbra.cs.service.AuthProvider.authenticate(AuthProvider.java:1)",
                chrono_tz::UTC
            ),
            Got::Ignored
        ));
        assert!(matches!(
            line(
                "com.zimbra.common.service.ServiceException: permission denied",
                chrono_tz::UTC
            ),
            Got::Ignored
        ));
        assert!(matches!(line("hello there", chrono_tz::UTC), Got::Unparsed));
    }
}
