//! `detect` on a mounted root with a backdoor account, planted root SSH keys and a preloaded
//! library, and on the same machine's untouched files: every finding at its file and line,
//! and nothing on the stock host.

use serde_json::Value;

use crate::util;

fn findings(root: &str) -> Vec<Value> {
    let dir = util::repo().join("tests/fixtures/host-accounts").join(root);
    let o = util::run(&["detect", dir.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|f| f["rule"].is_string())
        .collect()
}

/// A finding's rule, severity and `(path, lines)` cited.
type Cited = (String, String, Vec<(String, Vec<u64>)>);

/// What every host finding cites.
fn cited(f: &[Value]) -> Vec<Cited> {
    f.iter()
        .filter(|f| {
            f["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("persistence.") || r.starts_with("host."))
        })
        .map(|f| {
            let ev = f["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let lines = e["lines"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect();
                    (e["path"].as_str().unwrap_or("").to_string(), lines)
                })
                .collect();
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["severity"].as_str().unwrap_or("").to_string(),
                ev,
            )
        })
        .collect()
}

fn find<'a>(f: &'a [Value], rule: &str, path: &str, line: u64) -> &'a Value {
    f.iter()
        .find(|f| {
            f["rule"] == rule
                && f["evidence"].as_array().is_some_and(|ev| {
                    ev.iter().any(|e| {
                        e["path"] == path
                            && e["lines"]
                                .as_array()
                                .is_some_and(|l| l.iter().any(|n| n == line))
                    })
                })
        })
        .unwrap_or_else(|| panic!("no {rule} at {path}:{line} in {:#?}", cited(f)))
}

#[test]
fn the_backdoor_account_is_found_at_its_lines() {
    let f = findings("root");
    let account = find(&f, "persistence.account", "etc/passwd", 25);
    assert_eq!(account["severity"], "critical");
    assert_eq!(
        account["entities"]["roles"]["users"]["sysadm"],
        "backdoor_account"
    );
    // The group line and the real log lines of its creation are evidence too.
    find(&f, "persistence.account", "etc/group", 21);
    for line in [1, 2, 3] {
        find(&f, "persistence.account", "var/log/auth.log", line);
    }
    let n = cited(&f)
        .iter()
        .filter(|c| c.0 == "persistence.account")
        .count();
    assert_eq!(n, 1, "{:#?}", cited(&f));
}

#[test]
fn root_keys_are_found_at_their_lines() {
    let f = findings("root");
    let forced = find(&f, "persistence.ssh_key", "root/.ssh/authorized_keys", 2);
    assert_eq!(forced["severity"], "critical");
    let title = forced["title"].as_str().unwrap_or("");
    assert!(
        title.contains("root@kali") && title.contains("SHA256:G8BSUZiz7FHz"),
        "{title}"
    );
    // The administrator's plain key on line 1 is quiet: only the forced-command key is cited.
    let n = cited(&f)
        .iter()
        .filter(|c| c.0 == "persistence.ssh_key")
        .count();
    assert_eq!(n, 1, "{:#?}", cited(&f));
}

#[test]
fn the_preloaded_library_is_found_at_its_line() {
    let f = findings("root");
    let preload = find(&f, "persistence.preload", "etc/ld.so.preload", 1);
    assert_eq!(preload["severity"], "critical");
    let n = cited(&f)
        .iter()
        .filter(|c| c.0 == "persistence.preload")
        .count();
    assert_eq!(n, 1, "{:#?}", cited(&f));
}

#[test]
fn the_stock_host_is_quiet() {
    let f = findings("stock");
    assert!(cited(&f).is_empty(), "{:#?}", cited(&f));
}
