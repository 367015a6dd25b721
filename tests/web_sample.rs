//! `parse` on `tests/fixtures/web/` (its README says how real nginx 1.22 and Apache 2.4 wrote the
//! access logs and where each published Zimbra line comes from): every access line becomes an
//! `http_request`, none is unparsed, and chosen requests keep the fields detection reads.

use serde_json::Value;

use crate::util::{self, run};

fn events() -> (Vec<Value>, String) {
    let dir = util::repo().join("tests/fixtures/web");
    let tmp = tempfile::tempdir().unwrap();
    let unparsed = tmp.path().join("unparsed.txt");
    let o = run(&[
        "parse",
        dir.to_str().unwrap(),
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&unparsed).unwrap_or_default(), "");
    let ev = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (ev, o.stderr)
}

fn detail(e: &Value) -> Value {
    serde_json::from_str(e["detail"].as_str().unwrap_or("{}")).unwrap()
}

#[test]
fn every_access_line_is_a_request() {
    let (ev, stderr) = events();
    let logs = [
        "var/log/nginx/access.log",
        "var/log/nginx/zimbra-proxy.access.log",
        "var/log/apache2/access.log",
        "var/log/apache2/other_vhosts_access.log",
    ];
    for log in logs {
        let text =
            std::fs::read_to_string(util::repo().join("tests/fixtures/web").join(log)).unwrap();
        let lines = text.lines().count();
        let line = stderr
            .lines()
            .find(|l| l.contains(log))
            .unwrap_or_else(|| panic!("{log} not read: {stderr}"));
        assert!(
            line.contains(&format!(
                "{lines} lines, {lines} events, 0 ignored, 0 unparsed"
            )),
            "{line}"
        );
        // Every line is a request; those that opened a webmail message (answered 200) are
        // what they did to the mailbox.
        let reads = text
            .lines()
            .filter(|l| l.contains("_task=mail&") && l.contains("_action=show HTTP/1.1\" 200 "))
            .count();
        let of = |kind: &str| {
            ev.iter()
                .filter(|e| e["kind"] == kind && e["source"]["path"] == log)
                .count()
        };
        assert_eq!(of("http_request"), lines - reads, "{log}");
        assert_eq!(of("mailbox_access"), reads, "{log}");
    }
    assert!(ev
        .iter()
        .filter(|e| e["kind"] == "http_request")
        .all(|e| e["service"] == "web" && e["proto"] == "http" && e["src_ip"].is_string()));
}

#[test]
fn chosen_requests_keep_their_fields() {
    let (ev, _) = events();
    let find = |pred: &dyn Fn(&Value, &Value) -> bool| -> Vec<(Value, Value)> {
        ev.iter()
            .filter(|e| e["kind"] == "http_request")
            .map(|e| (e.clone(), detail(e)))
            .filter(|(e, d)| pred(e, d))
            .collect()
    };
    // ProxyShell through nginx: path and query apart, as logged.
    let ps = find(&|_, d| {
        d["query"]
            .as_str()
            .is_some_and(|q| q.contains("/mapi/nspi/"))
    });
    assert_eq!(ps.len(), 1);
    let (e, d) = &ps[0];
    assert_eq!(e["src_ip"], "127.0.6.6");
    assert_eq!(e["status"], "200");
    assert_eq!(d["method"], "GET");
    assert_eq!(d["url"], "/autodiscover/autodiscover.json");
    assert_eq!(
        d["query"],
        "@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com"
    );
    assert_eq!(d["ua"], "python-requests/2.31.0");
    // Zimbra mboximport through the proxy (client port dropped) and as Apache's vhost saw it.
    let mb = find(&|_, d| d["url"] == "/service/extension/backup/mboximport");
    assert_eq!(mb.len(), 4);
    assert!(mb
        .iter()
        .all(|(_, d)| d["method"] == "POST" && d["vhost"] == "zimbra.example.test"));
    assert!(mb.iter().any(|(e, d)| e["src_ip"] == "127.0.6.8"
        && d["query"] == "account-name=admin&ow=2&no-switch=1&append=1"));
    // Roundcube CVE-2025-49113 and the web shell it leaves.
    let rc = find(&|_, d| {
        d["query"]
            .as_str()
            .is_some_and(|q| q.contains("_from=edit-!xxx"))
    });
    assert_eq!(rc.len(), 1);
    assert_eq!(rc[0].0["source"]["path"], "var/log/apache2/access.log");
    let shell = find(&|e, d| d["url"] == "/temp/x.php" && e["status"] == "200");
    assert_eq!(shell[0].1["query"], "cmd=id");
    // The ECP administrator: refused once, then in, named both times.
    let ecp = find(&|e, _| e["actor"] == "admin");
    let statuses: Vec<&str> = ecp
        .iter()
        .map(|(e, _)| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["401", "200"]);
    // IPv6 clients, TLS on a plain port, an empty request line.
    assert_eq!(find(&|e, _| e["src_ip"] == "::1").len(), 5);
    let tls = find(&|_, d| {
        d["note"]
            .as_str()
            .is_some_and(|n| n.starts_with(r"request line: \x16\x03\x01"))
    });
    assert_eq!(tls.len(), 2);
    assert!(tls
        .iter()
        .all(|(e, d)| e["status"] == "400" && d["method"].is_null() && e["src_ip"] == "127.0.7.7"));
    // Times are UTC microseconds of the logged zone.
    assert!(ev
        .iter()
        .filter(|e| e["kind"] == "http_request")
        .all(|e| e["ts"].as_str().is_some_and(|t| t.ends_with('Z'))));
}

#[test]
fn published_zimbra_audit_lines() {
    let (ev, stderr) = events();
    let line = stderr
        .lines()
        .find(|l| l.contains("opt/zimbra/log/audit.log"))
        .unwrap_or_else(|| panic!("audit.log not read: {stderr}"));
    assert!(
        line.contains("8 lines, 8 events, 0 ignored, 0 unparsed"),
        "{line}"
    );
    let z: Vec<&Value> = ev.iter().filter(|e| e["service"] == "zimbra").collect();
    assert_eq!(z.iter().filter(|e| e["kind"] == "auth_success").count(), 7);
    let fail: Vec<&&Value> = z.iter().filter(|e| e["kind"] == "auth_failure").collect();
    assert_eq!(fail.len(), 1);
    assert_eq!(fail[0]["actor"], "admin@domain.tek");
    assert_eq!(fail[0]["src_ip"], "1.9.9.9");
    assert_eq!(fail[0]["proto"], "pop3");
}

/// `detect` on the same corpus: every exploit request shape named with its CVE and its
/// sender, attempt or success as the servers answered, and nothing on the users' traffic
/// (127.0.1.x, `::1`), the health checks or the administrator.
#[test]
fn exploits_are_named_and_users_are_not() {
    let dir = util::repo().join("tests/fixtures/web");
    let o = run(&["detect", dir.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let findings: Vec<Value> = o
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|f| f["rule"].is_string())
        .collect();
    let has = |rule: &str, ip: &str, severity: &str| {
        findings.iter().any(|f| {
            f["rule"] == rule
                && f["severity"] == severity
                && f["entities"]["ips"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|i| i == ip))
        })
    };
    // The attackers of client.py, each by its CVE (answered by the fake trees: then the web
    // shells they hit make them likely successes; ProxyToken was refused by basic auth).
    assert!(
        has("exchange.proxyshell", "127.0.6.6", "critical"),
        "{}",
        o.stdout
    );
    assert!(
        has("exchange.proxynotshell", "127.0.6.7", "critical"),
        "{}",
        o.stdout
    );
    assert!(
        has("exchange.proxytoken", "127.0.6.7", "medium"),
        "{}",
        o.stdout
    );
    assert!(
        has("webmail.zimbra_mboximport", "127.0.6.8", "critical"),
        "{}",
        o.stdout
    );
    assert!(
        has("webmail.roundcube_rce", "127.0.6.9", "critical"),
        "{}",
        o.stdout
    );
    assert!(has("web.webshell", "127.0.6.9", "critical"), "{}", o.stdout);
    assert!(has("web.webshell", "127.0.6.8", "critical"), "{}", o.stdout);
    for f in &findings {
        for ip in f["entities"]["ips"].as_array().into_iter().flatten() {
            let ip = ip.as_str().unwrap_or("");
            assert!(
                !ip.starts_with("127.0.1.") && ip != "::1",
                "a user's address in {}: {f}",
                f["rule"]
            );
        }
    }
    // Every exploitation finding names its CVE in the title.
    for f in findings.iter().filter(|f| {
        f["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("webmail.") || r.starts_with("exchange.proxy"))
    }) {
        assert!(
            f["title"].as_str().is_some_and(|t| t.contains("CVE-")),
            "{f}"
        );
    }
}
