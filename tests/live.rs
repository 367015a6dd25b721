//! Collection of this machine's own live root (needs root; skipped loudly otherwise).

use crate::util::{self, entries, manifest, row, run};

#[test]
fn live_root_collection_has_volatile_state() {
    if !util::is_root() {
        eprintln!("SKIPPED live_root_collection_has_volatile_state: needs root");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("live.zip");
    let o = run(&["collect", "--out", out.to_str().unwrap(), "--case", "LIVE"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let e = entries(&out);
    for name in [
        "volatile/processes.jsonl",
        "volatile/sockets.jsonl",
        "volatile/mountinfo.txt",
        "volatile/sessions.jsonl",
        "volatile/mailboxes.jsonl",
    ] {
        assert!(e.contains_key(name), "{name} missing");
    }
    let procs = String::from_utf8(e["volatile/processes.jsonl"].clone()).unwrap();
    assert!(
        procs.lines().any(|l| l.contains("\"pid\":1,")),
        "no pid 1 in the process list"
    );
    assert!(
        procs.contains("mailir"),
        "the collector itself is not in the process list"
    );
    let rows = manifest(&out);
    assert_eq!(row(&rows, "/etc/passwd")["outcome"], "collected");
    assert_eq!(row(&rows, "proc:processes.jsonl")["outcome"], "collected");
    // Commands run or are recorded as absent; never silently skipped.
    let cmd = row(&rows, "command:ss -tanpe (stdout)");
    assert_eq!(cmd["category"], "volatile");
    assert!(rows.iter().any(|r| r["source"]
        .as_str()
        .unwrap()
        .starts_with("command:postconf -n")));
    let custody: serde_json::Value = serde_json::from_slice(&e["custody.json"]).unwrap();
    assert_eq!(custody["live"], true);
    assert!(custody["host"]["hostname"].is_string());
    assert!(custody["clock"]["uptime_seconds"].as_f64().unwrap() > 0.0);
    assert!(custody["options"]["volatile"].as_bool().unwrap());
}
