//! Web requests: Exchange HttpProxy logs (every protocol folder), IIS W3C logs, and CSV
//! selections of their columns (what `Test-ProxyLogon.ps1` or a SIEM export writes).
//!
//! Each becomes an `http_request` event: client address, authenticated user, HTTP status,
//! and in the detail method, URL path and query, `AnchorMailbox`, `RoutingHint`, user agent
//! and requested host. Columns are found by name (the synonyms below), so a selection of
//! columns in any order reads the same as the full log.

use std::borrow::Cow;
use std::sync::LazyLock;

use super::values::{client_ip, date_time_us, time_us, Header, Pick, Row};
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

/// One request row of an HttpProxy log or a request CSV; `cols`: where its header holds the
/// request columns ([`Columns::of_header`], found once per header).
pub fn row<C: AsRef<str>>(kind: ExportKind, row: &Row<C>, cols: &Columns) -> Got {
    let Some(ts) = row
        .get(&["datetime", "timestamp", "date-time", "time", "creationtime"])
        .and_then(time_us)
    else {
        return Got::Unparsed;
    };
    let service = match (kind, row.get(&["protocol"])) {
        (ExportKind::HttpProxy, Some(p)) => {
            Cow::Owned(format!("exchange/httpproxy/{}", p.to_ascii_lowercase()))
        }
        (ExportKind::HttpProxy, None) => Cow::Borrowed("exchange/httpproxy"),
        _ => Cow::Borrowed("http"),
    };
    let mut r = request(row, cols, ts, service);
    if r.src_ip.is_none() && !row.names.iter().any(|n| is_ip_column(n)) {
        // A selection without an address column may still carry the address in a cell
        // the header does not name (HelseCERT's OWA excerpt).
        r.src_ip = row.cells.iter().find_map(|c| client_ip(c.as_ref()));
    }
    Got::Events(vec![r])
}

fn is_ip_column(n: &str) -> bool {
    matches!(
        n,
        "clientipaddress" | "c-ip" | "clientip" | "client-ip" | "ip"
    )
}

/// The request fields common to every web log: the columns each is read from, by preference.
const REQUEST: [&[&str]; 11] = [
    &["clientipaddress", "c-ip", "clientip", "client-ip", "ip"],
    &["authenticateduser", "cs-username", "username"],
    &["serverhostname", "s-computername", "s-ip"],
    &["httpstatus", "sc-status", "httpstatuskode", "status"],
    &["method", "cs-method", "http-metode", "httpmethod"],
    &["urlstem", "cs-uri-stem", "urlpath", "uri", "url"],
    &["urlquery", "cs-uri-query"],
    &["anchormailbox"],
    &["routinghint"],
    &["useragent", "cs(user-agent)", "user-agent"],
    &["urlhost", "cs-host", "hostname", "host"],
];

/// Where a header holds the [`REQUEST`] fields (and a W3C log's date and time), found once
/// per header.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    request: [Pick; 11],
    date: Pick,
    time: Pick,
}

impl Columns {
    /// The request columns of `header`.
    pub fn of_header(header: &Header) -> Self {
        let pick = |names: &[&str]| header.pick(names);
        Columns {
            request: REQUEST.map(pick),
            date: pick(&["date"]),
            time: pick(&["time"]),
        }
    }
}

fn request<C: AsRef<str>>(
    row: &Row<C>,
    cols: &Columns,
    ts: i64,
    service: Cow<'static, str>,
) -> Rec {
    let [ip, user, host, status, method, url, query, anchor, routing, ua, vhost] = &cols.request;
    let mut r = Rec::new(Kind::HttpRequest, ts, service);
    r.proto = Some("http");
    r.src_ip = row.at(ip).and_then(client_ip);
    r.actor = row.at(user).map(str::to_string);
    r.host = row.at(host).map(str::to_string);
    r.status = row
        .at(status)
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    let d = &mut r.detail;
    d.method = row.at(method).map(str::to_ascii_uppercase);
    d.url = row.at(url).map(str::to_string);
    d.query = row.at(query).map(str::to_string);
    d.anchor = row.at(anchor).map(str::to_string);
    d.routing = row.at(routing).map(str::to_string);
    d.ua = row.at(ua).map(str::to_string);
    d.vhost = row.at(vhost).map(str::to_string);
    r
}

/// One line of an IIS W3C log (space-separated; `fields` from its `#Fields:` line, else
/// IIS's default Exchange set).
pub fn iis_line(text: &str, fields: Option<(&Header, &Columns)>) -> Got {
    static DEFAULT: LazyLock<(Header, Columns)> = LazyLock::new(|| {
        let h = Header::of(IIS_FIELDS);
        let c = Columns::of_header(&h);
        (h, c)
    });
    let (header, cols) = fields.unwrap_or((&DEFAULT.0, &DEFAULT.1));
    let mut cells: Vec<&str> = Vec::with_capacity(header.names().len() + 1);
    let mut from = 0;
    for i in memchr::memchr_iter(b' ', text.as_bytes()) {
        cells.push(&text[from..i]);
        from = i + 1;
    }
    cells.push(&text[from..]);
    if cells.len() < header.names().len().min(8) {
        return Got::Unparsed;
    }
    let row = header.row(&cells);
    let (Some(d), Some(t)) = (row.at(&cols.date), row.at(&cols.time)) else {
        return Got::Unparsed;
    };
    let Some(ts) = date_time_us(d, t) else {
        return Got::Unparsed;
    };
    let mut r = request(&row, cols, ts, Cow::Borrowed("iis"));
    // IIS writes spaces in the user agent as `+`.
    if let Some(ua) = r.detail.ua.as_mut().filter(|ua| ua.contains('+')) {
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

    /// A pick holds every alternative name of every request field.
    #[test]
    fn request_names_fit_a_pick() {
        for names in REQUEST {
            assert!(names.len() <= Pick::MAX, "{names:?}");
        }
    }

    /// A field read through its pick falls back to the next name when the preferred
    /// column is empty, as reading by name does.
    #[test]
    fn pick_prefers_then_falls_back() {
        let h = Header::of(&["c-ip", "clientipaddress", "date"]);
        let cols = Columns::of_header(&h);
        let cells = ["192.0.2.1", "-", "2026-01-01"];
        let row = h.row(&cells);
        let by_name = row.get(REQUEST[0]);
        assert_eq!(row.at(&cols.request[0]), Some("192.0.2.1"));
        assert_eq!(row.at(&cols.request[0]), by_name);
        let bare = Row::new(h.names(), &cells);
        assert_eq!(bare.get(REQUEST[0]), Some("192.0.2.1"));
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
        let cols = Columns::of_header(&Header::new(n.clone()));
        let Got::Events(v) = row(ExportKind::HttpProxy, &Row::new(&n, &c), &cols) else {
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
