//! Exchange message tracking logs (`MSGTRK*.LOG`, 2013 and later): one row per event of a
//! message's path through the transport service.
//!
//! `RECEIVE` is `message_received` (client address and name, sender, recipients);
//! `SEND`, `SENDEXTERNAL` and `DELIVER` are `delivery` with status `sent`, `FAIL` and `DSN` are
//! `delivery` with `bounced`, `DEFER` with `deferred`, `REDIRECT` and `EXPAND` to another
//! address are `forwarded`; the other events (`SUBMIT`, `HAREDIRECT*`, `NOTIFYMAPI`,
//! `AGENTINFO` …) are `message_queued` with the event id as status. A row with several
//! recipients gives one event per recipient. The message id is the `queue_id`.

use super::values::{client_ip, time_us, Row};
use super::{Got, Rec};
use crate::events::record::Kind;

/// Microsoft's documented 30 fields (Exchange 2013+), for rows without a header.
pub const MSGTRK_FIELDS: &[&str] = &[
    "date-time",
    "client-ip",
    "client-hostname",
    "server-ip",
    "server-hostname",
    "source-context",
    "connector-id",
    "source",
    "event-id",
    "internal-message-id",
    "message-id",
    "network-message-id",
    "recipient-address",
    "recipient-status",
    "total-bytes",
    "recipient-count",
    "related-recipient-address",
    "reference",
    "message-subject",
    "sender-address",
    "return-path",
    "message-info",
    "directionality",
    "tenant-id",
    "original-client-ip",
    "original-server-ip",
    "custom-data",
    "transport-traffic-type",
    "log-id",
    "schema-version",
];

/// One row.
pub fn row<C: AsRef<str>>(row: &Row<C>) -> Got {
    let Some(ts) = row.get(&["date-time"]).and_then(time_us) else {
        return Got::Unparsed;
    };
    let Some(event) = row.get(&["event-id"]) else {
        return Got::Unparsed;
    };
    let event = event.to_ascii_uppercase();
    let related = row.addresses(&["related-recipient-address"]);
    let (kind, status) = match event.as_str() {
        "RECEIVE" => (Kind::MessageReceived, None),
        "SEND" | "SENDEXTERNAL" | "DELIVER" => (Kind::Delivery, Some("sent")),
        "FAIL" | "DSN" => (Kind::Delivery, Some("bounced")),
        "DEFER" => (Kind::Delivery, Some("deferred")),
        "REDIRECT" | "EXPAND" if !related.is_empty() => (Kind::Forwarded, Some("sent")),
        _ => (Kind::MessageQueued, None),
    };
    let mut base = Rec::new(kind, ts, "exchange/msgtrk");
    base.proto = Some("smtp");
    base.host = row.get(&["server-hostname"]).map(str::to_string);
    base.src_ip = row.get(&["client-ip"]).and_then(client_ip);
    base.src_host = row.get(&["client-hostname"]).map(str::to_string);
    base.sender = row.get(&["sender-address"]).map(str::to_string);
    base.queue_id = row.get(&["message-id"]).map(str::to_string);
    // DELIVER puts the message into a mailbox on this organisation's servers.
    if event == "DELIVER" {
        base.relay = Some("local".into());
    }
    base.status = status
        .map(str::to_string)
        .or_else(|| Some(event.to_ascii_lowercase()));
    let d = &mut base.detail;
    d.op = Some(event.clone());
    d.subject = row.get(&["message-subject"]).map(str::to_string);
    d.bytes = row.get(&["total-bytes"]).and_then(|b| b.parse().ok());
    d.direction = row.get(&["directionality"]).map(str::to_string);
    d.source = row.get(&["source"]).map(str::to_string);
    d.note = row.get(&["source-context"]).map(str::to_string);
    let rcpts = row.addresses(&["recipient-address"]);
    if rcpts.is_empty() {
        return Got::Events(vec![base]);
    }
    Got::Events(
        rcpts
            .into_iter()
            .map(|to| {
                let mut r = base.clone();
                if kind == Kind::Forwarded {
                    r.detail.forward_to = related.clone();
                }
                r.recipient = Some(to);
                r
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::exchange::values::split_csv;

    #[test]
    fn receive_row_in_default_order() {
        let l = r#"2024-01-25T15:16:09.949Z,10.11.12.14,exchange-mail.my.domain.com,10.11.12.14,exchange-mail,"08DC1DB12C345BE5;2024-01-25T15:16:09.544Z;0",exchange-mail\Default exchange-mail,SMTP,RECEIVE,70912345566403,<20240123200014.123F425E28@host01.my.domain.com>,1e6eb197-c6b4-1234-1b69-56dc1db88f50,mailuser@my.domain.com,,7229,1,,,vzdump backup status,root@host01.my.domain.com,root@host01.my.domain.com,0cA: ,Incoming,,10.11.12.13,10.11.12.14,,Email,05503123,15.02.0330.005"#;
        let names: Vec<String> = MSGTRK_FIELDS.iter().map(|s| s.to_string()).collect();
        let cells = split_csv(l);
        let Got::Events(v) = row(&Row::new(&names, &cells)) else {
            panic!()
        };
        assert_eq!(v[0].kind, Kind::MessageReceived);
        assert_eq!(v[0].src_ip.as_deref(), Some("10.11.12.14"));
        assert_eq!(v[0].recipient.as_deref(), Some("mailuser@my.domain.com"));
        assert_eq!(
            v[0].detail.note.as_deref(),
            Some("08DC1DB12C345BE5;2024-01-25T15:16:09.544Z;0")
        );
        assert_eq!(v[0].detail.bytes, Some(7229));
    }
}
