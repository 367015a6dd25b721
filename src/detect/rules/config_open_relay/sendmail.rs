//! Sendmail's side of `config.open_relay`, read through [`crate::hostconf::sendmail`]:
//!
//! - the `access` map (compiled `access.db` first, as sendmail reads it): `RELAY` for a public
//!   address or network (`Connect:203.0.113`, `203.0.113.5`: its clients relay anywhere, high),
//!   for mail `To:` an outside domain (medium) or `From:` any sender domain (medium: the sender
//!   is whatever the client claims);
//! - the relay-domains class (`FR /etc/mail/relay-domains`, `CR` lines): public networks (high)
//!   and outside domains (medium) in it relay like `RELAY` entries;
//! - `FEATURE(`promiscuous_relay')` in `sendmail.mc`, or a generated `sendmail.cf` built with it
//!   (m4's stamp) or without the `Relaying denied` refusal (high: everyone relays);
//! - `FEATURE(`relay_local_from')` (medium: any client that claims a local sender relays).
//!
//! A feature only in the `.mc` is reported with the note that the running `.cf` was not
//! rebuilt from it (it takes effect at the next rebuild); one only in the `.cf` with the note
//! that the `.mc` does not say so (the `.cf` was edited or built from another source).

use super::finding;
use crate::detect::finding::{Finding, Severity};
use crate::detect::host::{public_literal, Cites, Host};
use crate::hostconf::sendmail::{table, At, Sendmail};

/// Every Sendmail relay finding of the host.
pub(super) fn relay(host: &Host) -> Vec<Finding> {
    let mut out = access(host);
    if let Some(sm) = &host.sendmail {
        out.extend(relay_class(host, sm));
        out.extend(feature(host, sm, "promiscuous_relay"));
        out.extend(feature(host, sm, "relay_local_from"));
    }
    out
}

/// What relaying for `what` (an access-map key's value, or a relay-domains word) opens:
/// `(severity, title)`, or nothing when it stays inside. `tag` is the access-map tag
/// (`connect`, `to`, `from`, or empty for an untagged key or a class word).
fn judge(host: &Host, tag: &str, what: &str) -> Option<(Severity, String)> {
    let numeric = what.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let network = numeric || what.contains(':') || what.starts_with('[');
    match tag {
        "" | "connect" if network => {
            // A dotted prefix (`203.0.113`) is a network: judge its first address.
            let parts = what.split('.').count();
            let addr = if numeric && parts < 4 {
                format!("{what}{}", ".0".repeat(4 - parts))
            } else {
                what.trim_matches(['[', ']']).to_string()
            };
            public_literal(&addr)?;
            Some((
                Severity::High,
                format!("Sendmail relays for outside network {what}"),
            ))
        }
        "" | "to" if host.domains.is_external(&format!("x@{what}")) => Some((
            Severity::Medium,
            format!("Sendmail relays mail to outside domain {what} for anyone"),
        )),
        "from" => Some((
            Severity::Medium,
            format!("Sendmail relays for anyone who claims a sender at {what}"),
        )),
        _ => None,
    }
}

/// The `access` map's `RELAY` entries.
fn access(host: &Host) -> Vec<Finding> {
    let Some((map, _)) = table(
        host.sendmail.as_ref(),
        &host.conf,
        "access",
        "/etc/mail/access",
    ) else {
        return Vec::new();
    };
    let path = map.reference.name.clone();
    let mut out = Vec::new();
    for e in map.effective() {
        if !e.value.trim().to_ascii_uppercase().starts_with("RELAY") {
            continue;
        }
        let key = e.key.trim();
        let (tag, what) = match key.split_once(':') {
            Some((t, w)) if !t.contains('.') && !t.starts_with('[') && !w.is_empty() => {
                (t.to_ascii_lowercase(), w.to_string())
            }
            _ => (String::new(), key.to_string()),
        };
        let Some((severity, title)) = judge(host, &tag, &what) else {
            continue;
        };
        let c = Cites::entry(&host.conf, &None, &map, &e);
        out.push(finding(
            &c,
            severity,
            title,
            format!(
                "{path}: `{key} {}` opens relaying past the recipient check",
                e.value.trim()
            ),
        ));
    }
    out
}

/// The relay-domains class (`R`): what `sendmail.cf` relays for besides the access map.
fn relay_class(host: &Host, sm: &Sendmail) -> Vec<Finding> {
    let mut out = Vec::new();
    for (word, (path, line)) in sm.class(&host.conf, "R") {
        let Some((severity, title)) = judge(host, "", &word) else {
            continue;
        };
        let mut c = Cites::one(&host.conf, &path, Some(line));
        if let Some((_, at)) = sm.cf.as_ref().and_then(|cf| cf.class_files.get("R")) {
            c.add(&host.conf, &at.0, Some(at.1));
        }
        out.push(finding(
            &c,
            severity,
            title,
            format!(
                "{path} line {line}: `{word}` is in the relay-domains class sendmail relays for"
            ),
        ));
    }
    out
}

/// `FEATURE(name)` for a relay-opening feature, in the `.mc` or the running `.cf`.
fn feature(host: &Host, sm: &Sendmail, name: &str) -> Option<Finding> {
    let in_mc: Option<&At> = sm.mc.as_ref().and_then(|m| m.feature(name)).map(|c| &c.at);
    let cf = sm.cf.as_ref();
    let stamped = cf.and_then(|cf| cf.stamped.get(name));
    // A generated .cf without the refusal relays for everyone, whatever built it.
    let unrefused =
        name == "promiscuous_relay" && cf.is_some_and(|cf| cf.checks_rcpt && !cf.refuses_relay);
    if in_mc.is_none() && stamped.is_none() && !unrefused {
        return None;
    }
    let mut c = Cites::default();
    for at in [in_mc, stamped].into_iter().flatten() {
        c.add(&host.conf, &at.0, Some(at.1));
    }
    if c.is_empty() {
        if let Some(cf) = cf {
            c.add(&host.conf, &cf.path, None);
        }
    }
    let running = stamped.is_some() || unrefused;
    let state = match (in_mc.is_some(), running) {
        (true, true) => "sendmail.mc has it and the running sendmail.cf was built with it",
        (true, false) => {
            "sendmail.mc has it; the running sendmail.cf was not rebuilt from it yet (it takes effect at the next rebuild)"
        }
        _ => "the running sendmail.cf relays so, though sendmail.mc does not say it: the .cf was edited or built from another source",
    };
    let (severity, title, what) = match name {
        "promiscuous_relay" => (
            Severity::High,
            "Sendmail relays for everyone (promiscuous_relay)",
            "any client may relay to any domain",
        ),
        _ => (
            Severity::Medium,
            "Sendmail relays for any client claiming a local sender (relay_local_from)",
            "a client that gives a sender address in a local domain — which any spammer can forge — may relay",
        ),
    };
    Some(finding(
        &c,
        severity,
        title.into(),
        format!("FEATURE(`{name}'): {what}; {state}"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::detect::rules::config_tests::{cited, host, Cited};

    fn titles(files: &[(&str, &str)]) -> Vec<(String, Cited)> {
        cited(super::relay(&host(files)))
    }

    #[test]
    fn access_map_relays() {
        let got = titles(&[
            ("/etc/mail/local-host-names", "lab.example\n"),
            ("/etc/mailname", "mx.lab.example\n"),
            (
                "/etc/mail/access",
                "Connect:localhost\tRELAY\nConnect:127.0.0.1\tRELAY\nConnect:192.168.1\tRELAY\nConnect:203.0.113\tRELAY\n198.51.100.7\tRELAY\nTo:gmail.example\tRELAY\nTo:lab.example\tRELAY\nFrom:lab.example\tRELAY\nFrom:spammer.example\tREJECT\nConnect:[IPv6:2001:db8::5]\tRELAY\n",
            ),
        ]);
        let t: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            t,
            [
                "Sendmail relays for outside network 203.0.113",
                "Sendmail relays for outside network 198.51.100.7",
                "Sendmail relays mail to outside domain gmail.example for anyone",
                "Sendmail relays for anyone who claims a sender at lab.example",
            ]
        );
        assert_eq!(got[0].1, [("etc/mail/access".to_string(), vec![4])]);
    }

    /// Debian's stock sendmail.mc and a .cf m4 built from it (sendmail-cf 8.17.1.9) relay
    /// for nobody outside; the relay-domains file and features open it.
    #[test]
    fn features_and_relay_domains() {
        let stock_cf = "#####  $Id: cfhead.m4,v 8.122 2013-11-22 20:51:13 ca Exp $  #####\nFR-o /etc/mail/relay-domains %[^\\#]\nScheck_rcpt\nR$*\t\t\t$#error $@ 5.7.1 $: \"550 Relaying denied. Proper authentication required.\"\n";
        let stock_mc = "divert(0)dnl\nOSTYPE(`debian')dnl\nDOMAIN(`debian-mta')dnl\nFEATURE(`access_db', , `skip')dnl\n";
        assert!(titles(&[
            ("/etc/mail/sendmail.cf", stock_cf),
            ("/etc/mail/sendmail.mc", stock_mc),
            (
                "/etc/mail/relay-domains",
                "# relay for these\nlab.example\n10.1.2\n"
            ),
            ("/etc/mail/local-host-names", "lab.example\n"),
        ])
        .is_empty());

        let planted_mc =
            format!("{stock_mc}FEATURE(`promiscuous_relay')dnl\nFEATURE(`relay_local_from')dnl\n");
        let got = titles(&[
            ("/etc/mail/sendmail.cf", stock_cf),
            ("/etc/mail/sendmail.mc", &planted_mc),
            (
                "/etc/mail/relay-domains",
                "lab.example\n203.0.113\noutside.example\n",
            ),
            ("/etc/mail/local-host-names", "lab.example\n"),
        ]);
        assert_eq!(
            got,
            [
                (
                    "Sendmail relays for outside network 203.0.113".to_string(),
                    vec![
                        ("etc/mail/relay-domains".to_string(), vec![2]),
                        ("etc/mail/sendmail.cf".to_string(), vec![2])
                    ]
                ),
                (
                    "Sendmail relays mail to outside domain outside.example for anyone".into(),
                    vec![
                        ("etc/mail/relay-domains".to_string(), vec![3]),
                        ("etc/mail/sendmail.cf".to_string(), vec![2])
                    ]
                ),
                (
                    "Sendmail relays for everyone (promiscuous_relay)".into(),
                    vec![("etc/mail/sendmail.mc".to_string(), vec![5])]
                ),
                (
                    "Sendmail relays for any client claiming a local sender (relay_local_from)"
                        .into(),
                    vec![("etc/mail/sendmail.mc".to_string(), vec![6])]
                ),
            ]
        );

        // A .cf rebuilt with the feature (m4's stamp, no refusal), the .mc cleaned afterwards.
        let built = "#####  $Id: promiscuous_relay.m4,v 8.13 2013-11-22 20:51:11 ca Exp $  #####\nScheck_rcpt\nR$*\t$@ RELAY\n";
        let got = titles(&[
            ("/etc/mail/sendmail.cf", built),
            ("/etc/mail/sendmail.mc", stock_mc),
        ]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, [("etc/mail/sendmail.cf".to_string(), vec![1])]);
        let h = host(&[("/etc/mail/sendmail.cf", built)]);
        assert!(super::relay(&h)[0]
            .summary
            .contains("edited or built from another source"));
    }
}
