//! What an exported file is: Exchange server logs, Microsoft 365 exports, web-server access
//! logs and Zimbra's logs recognised by their first bytes, never by their names (responders
//! rename and re-folder exports).
//!
//! Shared by `collect --exports` (it records what each file was recognised as in the
//! manifest) and by `parse` (it picks the reader). Pure byte inspection, no analysis
//! dependencies, so the lean collector has it too. To recognise a new export: a variant in
//! [`ExportKind`], its name, and a test below with the header the tool writes.

/// A recognised export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// Exchange message tracking log (`#Fields: date-time,client-ip,…,event-id,…`).
    MessageTracking,
    /// Exchange HttpProxy log of any protocol folder, or a selection of its columns
    /// exported by a script (`AnchorMailbox`, `UrlStem` …), with a header.
    HttpProxy,
    /// IIS W3C log (`#Fields: date time s-ip cs-method cs-uri-stem …`).
    Iis,
    /// A CSV of web requests with a header naming a URL path column (`urlpath`, `uri`).
    HttpCsv,
    /// Exchange server log lines without a usable header: ECP server log (`S:CMD=`),
    /// OABGenerator log, and header-less HttpProxy / message-tracking rows. Each line is
    /// recognised on its own.
    ExchangeLines,
    /// Purview unified audit log export as CSV (an `AuditData` JSON column).
    UalCsv,
    /// Unified audit log records as JSON (an array) or JSON lines, raw (`Operation`) or
    /// normalised by a SIEM (`operation`).
    UalJson,
    /// `Get-InboxRule` inventory CSV.
    InboxRules,
    /// `Get-TransportRule` inventory CSV.
    TransportRules,
    /// `Get-Mailbox` inventory CSV (forwarding columns).
    Mailboxes,
    /// Windows event log (`.evtx`, magic `ElfFile\0`): MSExchange Management, PowerShell,
    /// Security.
    Evtx,
    /// Web-server access log: Apache `common` / `combined` / `vhost_combined`, nginx
    /// `combined` and its variants (Zimbra's proxy `nginx.access.log`), Jetty's NCSA request
    /// log (Zimbra's `access_log.*`). Shapes in [`super::weblines::access`].
    AccessLog,
    /// Zimbra's log4j logs: `mailbox.log`, `audit.log` (shape in [`super::weblines::log4j`]).
    ZimbraLog,
    /// An Exim spool header file (`<id>-H` on its first line), read by
    /// `crate::events::exim_spool`.
    EximSpoolHeader,
}

impl ExportKind {
    /// The snake-case name (manifest `recognised_as`, stats).
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::MessageTracking => "exchange_message_tracking",
            ExportKind::HttpProxy => "exchange_httpproxy",
            ExportKind::Iis => "iis_w3c",
            ExportKind::HttpCsv => "http_requests_csv",
            ExportKind::ExchangeLines => "exchange_server_log",
            ExportKind::UalCsv => "m365_ual_csv",
            ExportKind::UalJson => "m365_ual_json",
            ExportKind::InboxRules => "inbox_rules_csv",
            ExportKind::TransportRules => "transport_rules_csv",
            ExportKind::Mailboxes => "mailboxes_csv",
            ExportKind::Evtx => "windows_evtx",
            ExportKind::AccessLog => "web_access_log",
            ExportKind::ZimbraLog => "zimbra_log",
            ExportKind::EximSpoolHeader => "exim_spool_header",
        }
    }
}

/// The `#Fields:` list of a W3C-style header, split on commas or spaces.
pub fn fields_line(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix("#Fields:")?.trim();
    let sep = if rest.contains(',') { ',' } else { ' ' };
    Some(
        rest.split(sep)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// The cells of a CSV header line (quotes removed, lower-cased).
fn header_cells(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect()
}

/// Whether a cell is an `address:port` endpoint (`192.0.2.1:25`, `[2001:db8::1]:143`).
pub fn endpoint(s: &str) -> bool {
    s.rsplit_once(':').is_some_and(|(host, port)| {
        !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok()
    })
}

/// Whether a line is a row of an Exchange protocol log: SMTP (`…,local:port,remote:port,>,…`)
/// or IMAP4/POP3 (`…,server:port,client:port,user,…`).
fn protocol_row(l: &str) -> bool {
    let f: Vec<&str> = l.split(',').collect();
    (f.len() >= 8
        && endpoint(f[4])
        && endpoint(f[5])
        && matches!(f[6], "+" | "-" | ">" | "<" | "*"))
        || (f.len() >= 11 && endpoint(f[3]) && endpoint(f[4]))
}

/// What the first bytes of a (decompressed) stream are, if an export mailir reads.
pub fn recognise(head: &[u8]) -> Option<ExportKind> {
    if head.starts_with(b"ElfFile\0") {
        return Some(ExportKind::Evtx);
    }
    if spool_header(head) {
        return Some(ExportKind::EximSpoolHeader);
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let first = text.trim_start();
    if first.starts_with('[') || first.starts_with('{') {
        let lower = first.get(..first.len().min(8192)).unwrap_or(first);
        return (lower.contains("\"Operation\"") || lower.contains("\"operation\""))
            .then_some(ExportKind::UalJson);
    }
    let mut log_type = String::new();
    let mut header: Option<Vec<String>> = None;
    let mut first_data: Option<&str> = None;
    for line in text.lines().take(50) {
        let line = line.trim_end_matches('\r');
        if let Some(t) = line.strip_prefix("#Log-type:") {
            log_type = t.trim().to_ascii_lowercase();
        } else if let Some(f) = fields_line(line) {
            header = Some(f.iter().map(|s| s.to_ascii_lowercase()).collect());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            first_data = Some(line);
            break;
        }
    }
    if let Some(h) = &header {
        let has = |n: &str| h.iter().any(|c| c == n);
        if has("event-id") && (has("message-id") || has("recipient-address")) {
            return Some(ExportKind::MessageTracking);
        }
        if has("cs-uri-stem") {
            return Some(ExportKind::Iis);
        }
        if has("anchormailbox") || has("urlstem") {
            return Some(ExportKind::HttpProxy);
        }
    }
    if let Some(h) = &header {
        // Protocol logs: SMTP Receive/Send (`remote-endpoint`), IMAP4/POP3 (`cIp`).
        if h.iter().any(|c| c == "remote-endpoint" || c == "cip") {
            return Some(ExportKind::ExchangeLines);
        }
    }
    if log_type.contains("ecp") || log_type.contains("oab") || log_type.contains("protocol") {
        return Some(ExportKind::ExchangeLines);
    }
    // Web-server access lines and Zimbra's log4j lines, by the shape of their first lines.
    if super::weblines::looks_like_access_log(text) {
        return Some(ExportKind::AccessLog);
    }
    if super::weblines::looks_like_zimbra_log(text) {
        return Some(ExportKind::ZimbraLog);
    }
    let data = first_data?;
    // A CSV header line (PowerShell's `Export-Csv` writes `#TYPE …` first, skipped above).
    let cells = header_cells(data);
    let has = |n: &str| cells.iter().any(|c| c == n);
    if has("auditdata") && has("operation") {
        return Some(ExportKind::UalCsv);
    }
    if has("anchormailbox") || (has("urlstem") && has("clientipaddress")) {
        return Some(ExportKind::HttpProxy);
    }
    if has("redirectmessageto")
        || has("blindcopyto")
        || (has("name") && has("state") && (has("description") || has("priority")))
    {
        return Some(ExportKind::TransportRules);
    }
    if has("forwardto") || has("redirectto") || has("forwardasattachmentto") {
        return Some(ExportKind::InboxRules);
    }
    if has("forwardingsmtpaddress") || has("delivertomailboxandforward") {
        return Some(ExportKind::Mailboxes);
    }
    if (has("urlpath") || has("uri") || has("url")) && cells.len() >= 3 {
        return Some(ExportKind::HttpCsv);
    }
    // Header-less Exchange rows: an ISO time then a comma, and a known shape.
    let exchange_row = |l: &str| {
        let b = l.as_bytes();
        b.len() > 24
            && b[4] == b'-'
            && b[10] == b'T'
            && l.contains(',')
            && (l.contains("S:CMD=")
                || l.contains("ServerInfo~")
                || l.contains("Download failed and temporary file")
                || l.matches(',').count() >= 28
                || protocol_row(l))
    };
    if text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .take(50)
        .any(exchange_row)
    {
        return Some(ExportKind::ExchangeLines);
    }
    // IIS W3C without its header: `YYYY-MM-DD HH:MM:SS s-ip METHOD /path …`.
    let iis = |l: &str| {
        let f: Vec<&str> = l.split(' ').collect();
        f.len() >= 10
            && f[0].len() == 10
            && f[0].as_bytes()[4] == b'-'
            && f[1].len() == 8
            && matches!(
                f[3],
                "GET" | "POST" | "HEAD" | "PUT" | "OPTIONS" | "RPC_IN_DATA"
            )
            && f[4].starts_with('/')
    };
    iis(data).then_some(ExportKind::Iis)
}

/// Whether the first line is an Exim message id followed by `-H`.
fn spool_header(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    first.strip_suffix(b"-H").is_some_and(exim_message_id)
}

/// Whether `id` is an Exim message id: base-62 `tttttt-pppppp-ss` (before 4.97) or
/// `tttttt-ppppppppppp-ssss` (4.97 and later).
pub fn exim_message_id(id: &[u8]) -> bool {
    let parts: Vec<&[u8]> = id.split(|&b| b == b'-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.iter().all(u8::is_ascii_alphanumeric))
        && parts[0].len() == 6
        && matches!((parts[1].len(), parts[2].len()), (6, 2) | (11, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_logs_by_header() {
        let msgtrk = b"#Software: Microsoft Exchange Server\r\n#Log-type: Message Tracking Log\r\n#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address\r\n";
        assert_eq!(recognise(msgtrk), Some(ExportKind::MessageTracking));
        let proxy = b"#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n#Fields: DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox\r\n";
        assert_eq!(recognise(proxy), Some(ExportKind::HttpProxy));
        let iis = b"#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";
        assert_eq!(recognise(iis), Some(ExportKind::Iis));
        let ecp = b"#Software: Microsoft Exchange Server\r\n#Log-type: ECP Server Log\r\n2021-03-03T06:49:51.389Z,S:CMD=Get-OabVirtualDirectory;;S:EX=\r\n";
        assert_eq!(recognise(ecp), Some(ExportKind::ExchangeLines));
    }

    #[test]
    fn m365_exports_by_columns() {
        assert_eq!(
            recognise(b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData\n"),
            Some(ExportKind::UalCsv)
        );
        assert_eq!(
            recognise(b"\xef\xbb\xbf\"UserName\",\"RuleName\",\"Enabled\",\"ForwardTo\"\n"),
            Some(ExportKind::InboxRules)
        );
        assert_eq!(
            recognise(b"\"Name\",\"Description\",\"CreatedBy\",\"WhenChanged\",\"State\"\n"),
            Some(ExportKind::TransportRules)
        );
        assert_eq!(
            recognise(b"#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\n\"DisplayName\",\"PrimarySmtpAddress\",\"ForwardingSmtpAddress\"\n"),
            Some(ExportKind::Mailboxes)
        );
        assert_eq!(
            recognise(
                b"[{\"CreationTime\":\"2023-09-26T01:56:15\",\"Operation\":\"New-InboxRule\"}]"
            ),
            Some(ExportKind::UalJson)
        );
        assert_eq!(
            recognise(b"{\"clientip\": \"1.2.3.4\", \"operation\": \"Set-Mailbox\"}\n"),
            Some(ExportKind::UalJson)
        );
    }

    #[test]
    fn headerless_rows_and_other_files() {
        let row = b"2021-04-06T14:54:38.677Z,WIN-03FGEGKLSPR,ECP.Request,\"S:TIME=4365;'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://o/''\"\n";
        assert_eq!(recognise(row), Some(ExportKind::ExchangeLines));
        let smtp = b"2022-07-20T21:12:06.270Z,EXCHANGE-1\\Default Frontend EXCHANGE-1,08DA4F7C11473A60,9,192.168.9.241:25,192.168.9.212:53722,>,535 5.7.3 Authentication unsuccessful,\n";
        assert_eq!(recognise(smtp), Some(ExportKind::ExchangeLines));
        let iis = b"2021-03-05 03:06:27 10.0.0.5 GET /owa/auth/x.aspx - 443 - 192.0.2.9 Mozilla/5.0 - 200 0 0 133\n";
        assert_eq!(recognise(iis), Some(ExportKind::Iis));
        assert_eq!(
            recognise(b"Mar  4 02:14:07 mx1 postfix/smtpd[1]: connect\n"),
            None
        );
        assert_eq!(recognise(b"a,b,c\n1,2,3\n"), None);
        assert_eq!(recognise(b"{\"hello\": 1}"), None);
    }

    #[test]
    fn windows_event_log_by_magic() {
        // An EVTX file header starts with its magic, then its first and last chunk numbers.
        let mut head = b"ElfFile\0".to_vec();
        head.extend_from_slice(&[0; 24]);
        assert_eq!(recognise(&head), Some(ExportKind::Evtx));
        assert_eq!(ExportKind::Evtx.name(), "windows_evtx");
        assert_eq!(recognise(b"ElfChnk\0"), None);
        assert_eq!(recognise(b"ElfFile"), None);
    }

    /// The real nginx and Apache logs of `tests/fixtures/web` (their README says how they were
    /// made) and published Zimbra audit lines are recognised by content, whatever their names;
    /// other line logs are not taken for them.
    #[test]
    fn web_and_zimbra_logs_by_content() {
        for log in [
            &include_bytes!("../../tests/fixtures/web/var/log/nginx/access.log")[..],
            include_bytes!("../../tests/fixtures/web/var/log/nginx/zimbra-proxy.access.log"),
            include_bytes!("../../tests/fixtures/web/var/log/apache2/access.log"),
            include_bytes!("../../tests/fixtures/web/var/log/apache2/other_vhosts_access.log"),
        ] {
            assert_eq!(recognise(log), Some(ExportKind::AccessLog));
        }
        assert_eq!(
            recognise(include_bytes!(
                "../../tests/fixtures/web/opt/zimbra/log/audit.log"
            )),
            Some(ExportKind::ZimbraLog)
        );
        assert_eq!(ExportKind::AccessLog.name(), "web_access_log");
        for other in [
            &b"2021-03-05 03:06:27 1lI2Hr-0003Xb-Ls <= a@example.com H=(x) [192.0.2.1] P=esmtp S=1\n"[..],
            b"Dec  6 20:30:17 mx1 dovecot: imap-login: Login: user=<a>, rip=192.0.2.1\n",
            b"[06-Dec-2026 20:30:17 +0000]: <4f3a> IMAP Error: Login failed for a from 192.0.2.1\n",
        ] {
            assert_eq!(recognise(other), None);
        }
    }
}
