//! Whose action each event is (`actor`) and whose mail it concerns (`mailbox`), through the
//! whole `parse` pipeline — the joins included — on logs real MTAs wrote on loopback
//! (`tests/fixtures/delivery/`: Debian 12's Exim 4.96 and Sendmail 8.17; its README says how
//! each line was made and who did what).

use serde_json::Value;

use crate::util::{self, run};

fn events(path: &str) -> Vec<Value> {
    let p = util::repo().join(path);
    let o = run(&["parse", p.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(kind, actor, mailbox, recipient)` of the arrival and delivery events of queue id `q`
/// (Postfix's `message_queued` lines left out).
fn of(ev: &[Value], q: &str) -> Vec<(String, Value, Value, Value)> {
    ev.iter()
        .filter(|e| e["queue_id"] == q && e["kind"] != "message_queued")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["actor"].clone(),
                e["mailbox"].clone(),
                e["recipient"].clone(),
            )
        })
        .collect()
}

fn row(
    kind: &str,
    actor: Option<&str>,
    mailbox: Option<&str>,
    rcpt: Option<&str>,
) -> (String, Value, Value, Value) {
    let v = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.into()));
    (kind.to_string(), v(actor), v(mailbox), v(rcpt))
}

#[test]
fn exim_submitters_act_receivers_only_receive() {
    let ev = events("tests/fixtures/delivery/exim-mainlog");
    // alice's authenticated message to frank: alice acted, frank's mailbox received.
    assert_eq!(
        of(&ev, "1xa5VO-0003Me-0s"),
        [
            row("message_received", Some("alice"), None, None),
            row(
                "delivery",
                Some("alice"),
                Some("frank@lab.example"),
                Some("frank")
            ),
        ]
    );
    // Mail from outside to frank: nobody on this server acted.
    assert_eq!(
        of(&ev, "1xa5VY-0003Qs-3B"),
        [
            row("message_received", None, None, None),
            row("delivery", None, Some("frank@lab.example"), Some("frank")),
        ]
    );
    // gina's `.forward`: a copy in her mailbox, and her mail leaving for outside.
    assert_eq!(
        of(&ev, "1xa5Vi-0003aI-0k")[1..],
        [
            row("delivery", None, Some("gina@lab.example"), Some("gina")),
            row(
                "forwarded",
                None,
                Some("gina@lab.example"),
                Some("gina.private@remote.example")
            ),
        ]
    );
    // A web application's mail (`U=www-data P=local`) is www-data's on every delivery.
    let web = of(&ev, "1xa5Vp-0003gw-0G");
    assert_eq!(web.len(), 3, "{web:?}");
    assert!(web.iter().all(|r| r.1 == "www-data"), "{web:?}");
    // Exim's own bounces are no one's sending.
    for e in ev.iter().filter(|e| e["kind"] == "message_received") {
        assert_ne!(e["actor"], "Debian-exim", "{e}");
    }
    // Every delivery without a submitting login has no actor: receiving is not acting.
    let inbound: Vec<&Value> = ev
        .iter()
        .filter(|e| e["kind"] == "message_received" && e["actor"].is_null())
        .collect();
    assert!(inbound.len() >= 8, "{}", inbound.len());
    for m in inbound {
        for e in ev.iter().filter(|e| e["queue_id"] == m["queue_id"]) {
            assert!(e["actor"].is_null(), "{e}");
        }
    }
}

#[test]
fn sendmail_session_logins_and_local_submitters_are_joined_to_their_messages() {
    let ev = events("tests/fixtures/delivery/sendmail-maillog");
    // `AUTH=server … authid=alice` has no queue id; the session's message is alice's.
    assert_eq!(
        of(&ev, "6B66MZ0h029913"),
        [
            row("message_received", Some("alice"), None, None),
            row(
                "delivery",
                Some("alice"),
                Some("frank@lab.example"),
                Some("frank@lab.example")
            ),
        ]
    );
    // Inbound mail to bob and frank: mailboxes, no actor.
    assert_eq!(
        of(&ev, "6B66MqJl030089"),
        [
            row("message_received", None, None, None),
            row("delivery", None, Some("bob"), Some("bob")),
            row("delivery", None, Some("frank"), Some("frank")),
        ]
    );
    // `sendmail -t` by www-data: the submission agent's queue id and, through its hand-over
    // (`stat=Sent (QID2 Message accepted for delivery)`), the MTA's.
    for q in [
        "6B66NDhk030171",
        "6B66NDYr030172",
        "6B66NpBP030808",
        "6B66Npi1030809",
    ] {
        let rows = of(&ev, q);
        assert!(!rows.is_empty(), "{q}");
        assert!(rows.iter().all(|r| r.1 == "www-data"), "{q}: {rows:?}");
    }
    // hank's `.forward` pipe runs for hank's mailbox.
    assert_eq!(
        of(&ev, "6B66N14M030128")[1],
        row(
            "delivery",
            None,
            Some("hank@lab.example"),
            Some("|/home/hank/bin/mailsync")
        )
    );
    // Mail from the outside client is never joined to a login.
    assert!(ev
        .iter()
        .filter(|e| e["kind"] == "message_received" && e["src_ip"] == "127.0.0.77")
        .all(|e| e["actor"].is_null()));
}

/// The live test's real log (Postfix 3.7 + Dovecot 2.3 on Debian 12, `docs/live-test.md`):
/// under attack, while three users who only receive mail take bursts of hundreds of messages
/// through `dovecot-lda` with Sieve and then LMTP. The receivers appear in no finding; the
/// stolen login's spam burst is still found.
#[test]
fn receiving_a_burst_of_mail_is_not_sending_it() {
    let dir = util::repo().join("tests/fixtures/delivery/postfix-dovecot");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
    let receivers: Vec<String> = truth["receivers"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(receivers.len(), 3);
    let logs = [dir.join("mail.log.1.gz"), dir.join("mail.log")];
    let logs: Vec<&str> = logs.iter().map(|p| p.to_str().unwrap()).collect();

    // Every Dovecot delivery names its mailbox and no actor.
    let mut args = vec!["parse"];
    args.extend(&logs);
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(" 0 unparsed"), "{}", o.stderr);
    let mut stored = 0;
    for e in o
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        let service = e["service"].as_str().unwrap_or("");
        if e["kind"] == "delivery" && (service == "dovecot/lda" || service == "dovecot/lmtp") {
            assert!(e["actor"].is_null(), "{e}");
            assert!(e["mailbox"].is_string(), "{e}");
            stored += 1;
        }
    }
    assert!(stored >= 450, "{stored}");

    let mut args = vec!["detect", "--format", "json"];
    args.extend(&logs);
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let d: Value = serde_json::from_str(&o.stdout).unwrap();
    let findings = d["findings"].as_array().unwrap();
    for f in findings {
        for u in f["entities"]["users"].as_array().unwrap() {
            let local = u.as_str().unwrap().split('@').next().unwrap();
            assert!(
                !receivers.iter().any(|r| r.eq_ignore_ascii_case(local)),
                "{} names {u}, who only received mail",
                f["rule"]
            );
        }
    }
    let bulk: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "abuse.bulk_send")
        .collect();
    assert_eq!(bulk.len(), 1, "{bulk:#?}");
    assert_eq!(
        bulk[0]["entities"]["users"],
        serde_json::json!([truth["bulk"]["user"]])
    );
}

/// Postfix's own final-delivery agents (Debian 12's Postfix 3.7.11, `virtual(8)` and the
/// `pipe(8)` into Dovecot's LDA that Dovecot documents for virtual users): each delivery names
/// its mailbox; only the SASL submission's deliveries have an actor.
#[test]
fn postfix_virtual_and_pipe_deliveries_name_the_mailbox() {
    let p = util::repo().join("tests/fixtures/delivery/postfix-maillog");
    let o = run(&["parse", p.to_str().unwrap(), "--year", "2026"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(" 0 unparsed"), "{}", o.stderr);
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        of(&ev, "CB46D98E012")[1],
        row(
            "delivery",
            None,
            Some("dan@dove.example"),
            Some("dan@dove.example")
        )
    );
    assert_eq!(
        of(&ev, "BE7E198E381")[1..],
        [
            row(
                "delivery",
                None,
                Some("carol@virt.example"),
                Some("carol@virt.example")
            ),
            row(
                "delivery",
                None,
                Some("erin@virt.example"),
                Some("erin@virt.example")
            ),
        ]
    );
    // A virtual alias: the alias's mail, delivered into carol's mailbox.
    assert_eq!(
        of(&ev, "D7B5798E0E3")[1],
        row(
            "forwarded",
            None,
            Some("sales@virt.example"),
            Some("carol@virt.example")
        )
    );
    // alice's authenticated submission: she acted on every delivery, into two mailboxes and
    // to one outside address.
    assert_eq!(
        of(&ev, "1A28998E1E2"),
        [
            row("message_received", Some("alice@virt.example"), None, None),
            row(
                "delivery",
                Some("alice@virt.example"),
                Some("erin@virt.example"),
                Some("erin@virt.example")
            ),
            row(
                "delivery",
                Some("alice@virt.example"),
                None,
                Some("partner@remote.example")
            ),
            row(
                "delivery",
                Some("alice@virt.example"),
                Some("dan@dove.example"),
                Some("dan@dove.example")
            ),
        ]
    );
}
