//! Exchange protocol logs: SMTP Receive (`date-time,connector-id,session-id,sequence-number,
//! local-endpoint,remote-endpoint,event,data,context`) and IMAP4 / POP3 (`dateTime,sessionId,
//! seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context`), in Exchange's
//! column order (the `#Fields:` header, when present, names the same).
//!
//! Only the authentication outcomes become events, so that the password-guessing rules see
//! Exchange like any other server: SMTP `> 535 …` is an `auth_failure` from the remote
//! endpoint, `* <account> authenticated` an `auth_success`; an IMAP/POP command `login`,
//! `authenticate`, `auth`, `user` or `pass` whose result says `AuthFailed`, `NO` or `-ERR` is an
//! `auth_failure` of the logged user, one that says `OK` an `auth_success`. Other rows are
//! known and ignored.

use super::values::{client_ip, split_csv, time_us};
use super::{Got, Rec};
use crate::events::record::Kind;
use crate::evidence::exports::endpoint;

/// One row, if it has the shape of a protocol log row.
pub fn row(text: &str) -> Option<Got> {
    let cells = split_csv(text);
    let ts = time_us(cells.first()?)?;
    let ep = |i: usize| {
        cells
            .get(i)
            .filter(|c| endpoint(c))
            .and_then(|c| client_ip(c))
    };
    if cells.len() >= 8
        && ep(4).is_some()
        && matches!(cells[6].as_str(), "+" | "-" | ">" | "<" | "*")
    {
        return Some(smtp(&cells, ts, ep(5)));
    }
    if cells.len() >= 11 && ep(3).is_some() {
        return Some(imap_pop(&cells, ts, ep(4)));
    }
    None
}

fn smtp(cells: &[String], ts: i64, remote: Option<String>) -> Got {
    let event = cells[6].as_str();
    let data = cells.get(7).map(String::as_str).unwrap_or("");
    let context = cells.get(8).map(String::as_str).unwrap_or("");
    let kind = match event {
        ">" if data.starts_with("535") => Kind::AuthFailure,
        "*" if context.eq_ignore_ascii_case("authenticated") && !data.is_empty() => {
            Kind::AuthSuccess
        }
        _ => return Got::Ignored,
    };
    let mut r = Rec::new(kind, ts, "exchange/smtpreceive");
    r.proto = Some("smtp");
    r.src_ip = remote;
    if kind == Kind::AuthSuccess {
        r.actor = Some(data.to_string());
    }
    r.detail.note = Some(format!("{data} {context}").trim().to_string());
    r.detail.source = cells.get(1).cloned();
    Got::Events(vec![r])
}

fn imap_pop(cells: &[String], ts: i64, client: Option<String>) -> Got {
    let command = cells[9].trim().to_ascii_lowercase();
    if !matches!(
        command.as_str(),
        "login" | "authenticate" | "auth" | "user" | "pass"
    ) {
        return Got::Ignored;
    }
    let context = cells.get(11).map(String::as_str).unwrap_or("");
    let port = cells[3].rsplit(':').next().unwrap_or("");
    let pop = matches!(port, "110" | "995") || context.contains("-ERR") || context.contains("+OK");
    let failed = context.contains("AuthFailed")
        || context.contains("-ERR")
        || context.contains(" NO ")
        || context.contains("failed");
    let ok = context.contains(" OK") || context.contains("+OK");
    let kind = match (failed, ok) {
        (true, _) => Kind::AuthFailure,
        (false, true) => Kind::AuthSuccess,
        _ => return Got::Ignored,
    };
    let (service, proto) = if pop {
        ("exchange/pop3", "pop3")
    } else {
        ("exchange/imap4", "imap")
    };
    let mut r = Rec::new(kind, ts, service);
    r.proto = Some(proto);
    r.src_ip = client;
    r.actor = cells
        .get(5)
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    r.detail.op = Some(command);
    r.detail.note = Some(context.to_string());
    Got::Events(vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Rec {
        match row(text) {
            Some(Got::Events(mut v)) => v.remove(0),
            _ => panic!("no event: {text}"),
        }
    }

    #[test]
    fn smtp_receive_auth_outcomes() {
        let f = one(
            r"2022-07-20T21:12:06.270Z,EXCHANGE-1\Default Frontend EXCHANGE-1,08DA4F7C11473A60,9,192.168.9.241:25,192.168.9.212:53722,>,535 5.7.3 Authentication unsuccessful,",
        );
        assert_eq!(
            (f.kind, f.src_ip.as_deref()),
            (Kind::AuthFailure, Some("192.168.9.212"))
        );
        let s = one(
            r"2022-07-20T21:14:00.001Z,EXCHANGE-1\Client Frontend EXCHANGE-1,08DA4F7C11473A61,7,192.168.9.241:587,198.51.100.7:50112,*,CONTOSO\alice,authenticated",
        );
        assert_eq!(
            (s.kind, s.actor.as_deref()),
            (Kind::AuthSuccess, Some(r"CONTOSO\alice"))
        );
        assert!(matches!(
            row(
                r"2022-07-20T21:12:06.100Z,EXCHANGE-1\Default Frontend EXCHANGE-1,08DA4F7C11473A60,0,192.168.9.241:25,192.168.9.212:53722,+,,"
            ),
            Some(Got::Ignored)
        ));
    }

    #[test]
    fn imap_and_pop_auth_outcomes() {
        let i = one(
            r#"2022-07-20T21:28:50.530Z,000000000000000E,2,192.168.9.241:143,192.168.9.212:35070,testuser,168,31,31,authenticate,PLAIN,"R=""2 NO AUTHENTICATE failed."";Msg=""AuthFailed:LogonDenied,User: testuser"";ErrMsg=AuthFailed:LogonDenied","#,
        );
        assert_eq!(
            (i.kind, i.proto, i.actor.as_deref()),
            (Kind::AuthFailure, Some("imap"), Some("testuser"))
        );
        let p = one(
            r#"2022-07-20T21:23:48.514Z,0000000000000005,1,192.168.9.241:110,192.168.9.212:55576,testuser,193,21,69,auth, PLAIN,"R=""-ERR Authentication failure: unknown user name or bad password."";Msg=""AuthFailed:LogonDenied,User: testuser""","#,
        );
        assert_eq!((p.kind, p.proto), (Kind::AuthFailure, Some("pop3")));
        let ok = one(
            r#"2022-07-20T21:30:00.000Z,000000000000000F,1,192.168.9.241:993,198.51.100.7:40000,alice,20,30,30,login,alice,"R=""1 OK LOGIN completed.""","#,
        );
        assert_eq!(ok.kind, Kind::AuthSuccess);
    }
}
