//! Web requests: Exchange HttpProxy logs (every protocol folder), IIS W3C logs, and CSV
//! selections of their columns (what `Test-ProxyLogon.ps1` or a SIEM export writes).
//!
//! Each becomes an `http_request` event: client address, authenticated user, HTTP status,
//! and in the detail method, URL path and query, `AnchorMailbox`, `RoutingHint`, user agent
//! and requested host. Columns are found by name (the synonyms below), so a selection of
//! columns in any order reads the same as the full log.

use std::sync::LazyLock;

use super::values::{client_ip, time_us, Header, Row};
use super::{Got, Rec};
use crate::events::record::Kind;
use crate::evidence::exports::ExportKind;

/// The columns of an Exchange 2013–2019 HttpProxy log, up to `RoutingHint` (used for rows
/// without a header).
pub const PROXY_FIELDS: &[&str] = &[
    "datetime",
    "requestid",
    "majorversion",
    "minorversion",
    "buildversion",
    "revisionversion",
    "clientrequestid",
    "protocol",
    "urlhost",
    "urlstem",
    "protocolaction",
    "authenticationtype",
    "isauthenticated",
    "authenticateduser",
    "organization",
    "anchormailbox",
    "useragent",
    "clientipaddress",
    "serverhostname",
    "httpstatus",
    "backendstatus",
    "errorcode",
    "method",
    "proxyaction",
    "targetserver",
    "targetserverversion",
    "routingtype",
    "routinghint",
];

/// IIS's default W3C fields on an Exchange server (for logs copied without their header).
pub const IIS_FIELDS: &[&str] = &[
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(user-agent)",
    "cs(referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
];

/// One request row of an HttpProxy log or a request CSV.
pub fn row(kind: ExportKind, row: &Row) -> Got {
    let Some(ts) = row
        .get(&["datetime", "timestamp", "date-time", "time", "creationtime"])
        .and_then(time_us)
    else {
        return Got::Unparsed;
    };
    let service = match (kind, row.get(&["protocol"])) {
        (ExportKind::HttpProxy, Some(p)) => {
            format!("exchange/httpproxy/{}", p.to_ascii_lowercase())
        }
        (ExportKind::HttpProxy, None) => "exchange/httpproxy".to_string(),
        _ => "http".to_string(),
    };
    let mut r = request(row, ts, service);
    if r.src_ip.is_none() && !row.names.iter().any(|n| is_ip_column(n)) {
        // A selection without an address column may still carry the address in a cell
        // the header does not name (HelseCERT's OWA excerpt).
        r.src_ip = row.cells.iter().find_map(|c| client_ip(c));
    }
    Got::Events(vec![r])
}

fn is_ip_column(n: &str) -> bool {
    matches!(
        n,
        "clientipaddress" | "c-ip" | "clientip" | "client-ip" | "ip"
    )
}

/// The request fields common to every web log.
fn request<C: AsRef<str>>(row: &Row<C>, ts: i64, service: String) -> Rec {
    let mut r = Rec::new(Kind::HttpRequest, ts, service);
    r.proto = Some("http");
    r.src_ip = row
        .get(&["clientipaddress", "c-ip", "clientip", "client-ip", "ip"])
        .and_then(client_ip);
    r.actor = row
        .get(&["authenticateduser", "cs-username", "username"])
        .map(str::to_string);
    r.host = row
        .get(&["serverhostname", "s-computername", "s-ip"])
        .map(str::to_string);
    r.status = row
        .get(&["httpstatus", "sc-status", "httpstatuskode", "status"])
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    let d = &mut r.detail;
    d.method = row
        .get(&["method", "cs-method", "http-metode", "httpmethod"])
        .map(str::to_ascii_uppercase);
    d.url = row
        .get(&["urlstem", "cs-uri-stem", "urlpath", "uri", "url"])
        .map(str::to_string);
    d.query = row.get(&["urlquery", "cs-uri-query"]).map(str::to_string);
    d.anchor = row.get(&["anchormailbox"]).map(str::to_string);
    d.routing = row.get(&["routinghint"]).map(str::to_string);
    d.ua = row
        .get(&["useragent", "cs(user-agent)", "user-agent"])
        .map(str::to_string);
    d.vhost = row
        .get(&["urlhost", "cs-host", "hostname", "host"])
        .map(str::to_string);
    r
}

/// One line of an IIS W3C log (space-separated; `fields` from its `#Fields:` line, else
/// IIS's default Exchange set).
pub fn iis_line(text: &str, fields: Option<&Header>) -> Got {
    static DEFAULT: LazyLock<Header> =
        LazyLock::new(|| Header::of(IIS_FIELDS));
    let header = fields.unwrap_or(&DEFAULT);
    let cells: Vec<&str> = text.split(' ').collect();
    if cells.len() < header.names().len().min(8) {
        return Got::Unparsed;
    }
    let row = header.row(&cells);
    let stamp = match (row.get(&["date"]), row.get(&["time"])) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => return Got::Unparsed,
    };
    let Some(ts) = time_us(&stamp) else {
        return Got::Unparsed;
    };
    let mut r = request(&row, ts, "iis".to_string());
    // IIS writes spaces in the user agent as `+`.
    if let Some(ua) = r.detail.ua.as_mut() {
        *ua = ua.replace('+', " ");
    }
    Got::Events(vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn iis_line_without_header() {
        let l = "2021-03-05 03:06:27 10.1.1.5 GET /owa/auth/RedirSuiteServerProxy.aspx &CorrelationID=<empty>; 443 - 139.162.202.236 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 133";
        let Got::Events(v) = iis_line(l, None) else {
            panic!()
        };
        assert_eq!(v[0].src_ip.as_deref(), Some("139.162.202.236"));
        assert_eq!(v[0].status.as_deref(), Some("200"));
        assert_eq!(
            v[0].detail.url.as_deref(),
            Some("/owa/auth/RedirSuiteServerProxy.aspx")
        );
        assert_eq!(
            v[0].detail.ua.as_deref(),
            Some("Mozilla/5.0 (Windows NT 10.0)")
        );
        assert_eq!(v[0].actor, None);
    }

    #[test]
    fn proxy_selection_by_column_name() {
        let n = names(&[
            "datetime",
            "requestid",
            "clientipaddress",
            "urlhost",
            "urlstem",
            "routinghint",
            "useragent",
            "anchormailbox",
            "httpstatus",
        ]);
        let c = names(&[
            "2021-03-03T06:49:43.699Z",
            "xxx",
            "130.255.189.21",
            "mail.example.no",
            "/ecp/y.js",
            "X-BEResource-Cookie",
            "python-requests/2.25.1",
            "ServerInfo~a]@srv.example.local:444/mapi/emsmdb/?#",
            "200",
        ]);
        let Got::Events(v) = row(
            ExportKind::HttpProxy,
            &Row::new(&n, &c),
        ) else {
            panic!()
        };
        assert_eq!(v[0].src_ip.as_deref(), Some("130.255.189.21"));
        assert!(v[0]
            .detail
            .anchor
            .as_deref()
            .unwrap()
            .starts_with("ServerInfo~a]@"));
        assert_eq!(v[0].kind, Kind::HttpRequest);
    }
}
