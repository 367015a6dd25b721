//! Inventory exports: the state of a mailbox or an organisation at export time, as
//! `Get-InboxRule`, `Get-TransportRule` and `Get-Mailbox` (or Microsoft-Extractor-Suite,
//! Hawk) write it to CSV. Column names follow those tools (the synonyms are below).
//!
//! Each row becomes one event with status `present`: `mailbox_rule` (user = the mailbox
//! owner), `transport_rule` (user = `CreatedBy`), `mailbox_forwarding` (user = the mailbox).
//! Its time is the row's change time (`WhenChanged`, `WhenChangedUTC`) when it has one, else
//! the export file's modification time (`time_is_export` in the detail says so). A transport
//! rule export without target columns has its targets read from the rule's `Description`
//! ("Redirect the message to 'x'", "Blind carbon copy (Bcc) the message to 'x'").

use super::values::{addresses, recipients, time_us, Row};
use super::{Got, Rec};
use crate::events::record::Kind;

fn when<C: AsRef<str>>(row: &Row<C>, export_us: Option<i64>) -> Option<(i64, bool)> {
    match row
        .get(&[
            "whenchangedutc",
            "whenchanged",
            "whencreatedutc",
            "whencreated",
        ])
        .and_then(time_us)
    {
        Some(t) => Some((t, false)),
        None => export_us.map(|t| (t, true)),
    }
}

fn list<C: AsRef<str>>(row: &Row<C>, names: &[&str]) -> Vec<String> {
    row.get(names).map(recipients).unwrap_or_default()
}

fn words<C: AsRef<str>>(row: &Row<C>, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| row.get(&[n]))
        .flat_map(|v| {
            v.split([';', ','])
                .map(|w| w.trim().trim_matches('"').to_string())
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// One `Get-InboxRule` row.
pub fn inbox_rule<C: AsRef<str>>(row: &Row<C>, export_us: Option<i64>) -> Got {
    let Some((ts, from_export)) = when(row, export_us) else {
        return Got::Unparsed;
    };
    let mut r = Rec::new(Kind::MailboxRule, ts, "inventory/inbox_rules");
    r.status = Some("present".into());
    let mailbox = row
        .get(&["username", "mailboxownerid", "mailbox", "identity"])
        .map(|m| m.split('\\').next().unwrap_or(m).to_string());
    r.mailbox = mailbox.clone();
    let d = &mut r.detail;
    d.time_is_export = from_export;
    d.op = Some("Get-InboxRule".into());
    d.mailbox = mailbox;
    d.name = row.get(&["rulename", "name"]).map(str::to_string);
    d.enabled = row.flag(&["enabled", "ruleenabled"]);
    d.forward_to = list(row, &["forwardto"]);
    d.forward_attach_to = list(row, &["forwardasattachmentto"]);
    d.redirect_to = list(row, &["redirectto"]);
    d.delete = row
        .flag(&["deletemessage"])
        .filter(|d| *d)
        .or(row.flag(&["softdeletemessage"]));
    d.mark_read = row.flag(&["markasread"]);
    d.move_to = row.get(&["movetofolder"]).map(str::to_string);
    d.stop = row.flag(&["stopprocessingrules"]);
    d.from = row
        .get(&["from", "fromaddresscontainswords"])
        .map(|f| {
            let a = addresses(f);
            if a.is_empty() {
                vec![f.to_string()]
            } else {
                a
            }
        })
        .unwrap_or_default();
    d.words = words(
        row,
        &[
            "subjectcontainswords",
            "subjectorbodycontainswords",
            "bodycontainswords",
        ],
    );
    d.note = row
        .get(&["description", "textdescription"])
        .map(str::to_string);
    // The description names every target, also those a column export cut short.
    for l in d.note.as_deref().unwrap_or("").lines() {
        let low = l.to_ascii_lowercase();
        let into = if low.contains("redirect the message") {
            &mut d.redirect_to
        } else if low.contains("as an attachment to") {
            &mut d.forward_attach_to
        } else if low.contains("forward the message") {
            &mut d.forward_to
        } else {
            continue;
        };
        for a in addresses(l) {
            if !into.contains(&a) {
                into.push(a);
            }
        }
    }
    Got::Events(vec![r])
}

/// One `Get-TransportRule` row.
pub fn transport_rule<C: AsRef<str>>(row: &Row<C>, export_us: Option<i64>) -> Got {
    let Some((ts, from_export)) = when(row, export_us) else {
        return Got::Unparsed;
    };
    let mut r = Rec::new(Kind::TransportRule, ts, "inventory/transport_rules");
    r.status = Some("present".into());
    r.actor = row
        .get(&["createdby", "lastmodifiedby"])
        .map(str::to_string);
    let description = row.get(&["description"]).unwrap_or("");
    let d = &mut r.detail;
    d.time_is_export = from_export;
    d.op = Some("Get-TransportRule".into());
    d.name = row.get(&["name", "identity"]).map(str::to_string);
    d.enabled = row
        .get(&["state"])
        .map(|s| s.eq_ignore_ascii_case("enabled"))
        .or(row.flag(&["enabled"]));
    d.redirect_to = row.addresses(&["redirectmessageto"]);
    for c in ["blindcopyto", "copyto", "addtorecipients"] {
        d.copy_to.extend(row.addresses(&[c]));
    }
    if d.redirect_to.is_empty() && d.copy_to.is_empty() {
        // Only the description: read the action lines.
        let actions = description
            .split_once("Take the following actions:")
            .map_or("", |(_, a)| a);
        for l in actions.lines() {
            let low = l.to_ascii_lowercase();
            if low.contains("redirect the message") {
                d.redirect_to.extend(addresses(l));
            } else if low.contains("blind carbon copy")
                || low.contains("(bcc)")
                || low.contains("carbon copy")
                || low.contains("add recipients")
            {
                d.copy_to.extend(addresses(l));
            }
        }
    }
    d.note = (!description.is_empty()).then(|| description.to_string());
    Got::Events(vec![r])
}

/// One `Get-Mailbox` row.
pub fn mailbox<C: AsRef<str>>(row: &Row<C>, export_us: Option<i64>) -> Got {
    let Some((ts, from_export)) = when(row, export_us) else {
        return Got::Unparsed;
    };
    let mut r = Rec::new(Kind::MailboxForwarding, ts, "inventory/mailboxes");
    r.status = Some("present".into());
    let mailbox = row
        .get(&[
            "primarysmtpaddress",
            "userprincipalname",
            "identity",
            "displayname",
        ])
        .map(str::to_string);
    r.mailbox = mailbox.clone();
    let d = &mut r.detail;
    d.time_is_export = from_export;
    d.op = Some("Get-Mailbox".into());
    d.mailbox = mailbox;
    d.forward_to = list(row, &["forwardingsmtpaddress"]);
    d.forward_to.extend(list(row, &["forwardingaddress"]));
    d.keep_copy = row.flag(&["delivertomailboxandforward"]);
    Got::Events(vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of<'a>(names: &'a [String], cells: &'a [String]) -> Row<'a> {
        Row::new(names, cells)
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn transport_rule_targets_from_the_description() {
        let n = v(&["name", "description", "createdby", "whenchanged", "state"]);
        let c = v(&[
            "temp",
            "Take the following actions:\n\tRedirect the message to 'hacker@gmail.com'\nExpiry date: 8/10/2023 2:30:00 PM\n",
            "FNU LNU",
            "8/9/2023 4:33:42 PM",
            "Disabled",
        ]);
        let Got::Events(e) = transport_rule(&row_of(&n, &c), None) else {
            panic!()
        };
        assert_eq!(e[0].detail.redirect_to, vec!["hacker@gmail.com"]);
        assert_eq!(e[0].detail.enabled, Some(false));
        assert!(!e[0].detail.time_is_export);
    }

    #[test]
    fn inbox_rule_row_without_time_takes_the_export_time() {
        let n = v(&["username", "rulename", "ruleenabled", "forwardto"]);
        let c = v(&[
            "FortunaHodan",
            "..",
            "True",
            r#""hacker@gmail.com" [SMTP:hacker@gmail.com]"#,
        ]);
        let Got::Events(e) = inbox_rule(&row_of(&n, &c), Some(42)) else {
            panic!()
        };
        assert_eq!(e[0].ts_us, 42);
        assert!(e[0].detail.time_is_export);
        assert_eq!(e[0].detail.forward_to, vec!["hacker@gmail.com"]);
        assert!(matches!(inbox_rule(&row_of(&n, &c), None), Got::Unparsed));
    }
}
