//! `parse` on real Windows event logs (`tests/fixtures/evtx/`, its README names their
//! source): the MSExchange Management log's failed `Install-TransportAgent` /
//! `Enable-TransportAgent` become `admin_command` events with cmdlet, parameters, caller and
//! status; Security 4624 / 4625 become logon events; PowerShell logs without Exchange
//! cmdlets give none. Read from a folder, and from a bundle made by `collect --exports`.

use serde_json::Value;

use crate::util::{self, run};

fn fixtures() -> String {
    util::repo()
        .join("tests/fixtures/evtx")
        .to_str()
        .unwrap()
        .to_string()
}

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn detail(e: &Value) -> Value {
    serde_json::from_str(e["detail"].as_str().unwrap_or("{}")).unwrap()
}

fn check(ev: &[Value]) {
    let cmds: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "admin_command").collect();
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    let install = cmds[0];
    assert_eq!(install["service"], "exchange/management");
    assert_eq!(install["log_host"], "exchange01.offsec.lan");
    assert_eq!(
        install["actor"],
        "offsec.lan/OFFSEC-COMPANY/Administrators/admmig"
    );
    assert_eq!(install["status"], "failure");
    assert_eq!(install["ts"], "2021-06-04T08:41:47.982128Z");
    assert_eq!(install["source"]["line"], 7184);
    let d = detail(install);
    assert_eq!(d["op"], "Install-TransportAgent");
    assert_eq!(d["params"]["AssemblyPath"], r".\NetshHelperBeacon.dll");
    assert_eq!(d["params"]["TransportAgentFactory"], "hack");
    assert_eq!(d["client"], "Remote-ManagementShell-Unknown");
    let fails: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "auth_failure").collect();
    assert_eq!(fails.len(), 2);
    assert!(fails
        .iter()
        .all(|e| e["src_ip"] == "10.23.23.9" && e["service"] == "windows/logon"));
    let ok: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "auth_success").collect();
    assert!(ok.iter().any(|e| e["actor"] == r"OFFSEC\admmig"));
    assert!(ev.iter().all(|e| !e["service"]
        .as_str()
        .unwrap()
        .starts_with("windows/powershell")));
}

#[test]
fn event_logs_from_a_folder() {
    let t = tempfile::tempdir().unwrap();
    let unparsed = t.path().join("unparsed.txt");
    let o = run(&[
        "parse",
        &fixtures(),
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("exchange-management-install-transport-agent.evtx: 4 lines, 4 events, 0 ignored, 0 unparsed"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("powershell-800-4103-4104-clear-eventlog.evtx: 6 lines, 0 events, 6 ignored, 0 unparsed"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("WARNING"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&unparsed).unwrap_or_default(), "");
    check(&events(&o.stdout));
}

#[test]
fn event_logs_from_a_bundle_and_a_cut_copy() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("evtx.zip");
    let o = run(&[
        "collect",
        "--exports",
        &fixtures(),
        "--out",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = util::manifest(&zip);
    assert!(rows
        .iter()
        .filter(|r| r["stored"].as_str().is_some_and(|s| s.ends_with(".evtx")))
        .all(|r| r["recognised_as"] == "windows_evtx"));
    let o = run(&["parse", zip.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    check(&events(&o.stdout));
    // A copy cut inside its first chunk: the records before the cut, and a warning.
    let whole = std::fs::read(
        util::repo().join("tests/fixtures/evtx/exchange-management-install-transport-agent.evtx"),
    )
    .unwrap();
    let cut = t.path().join("cut.evtx");
    std::fs::write(&cut, &whole[..4096 + 9_000]).unwrap();
    let o = run(&["parse", cut.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("cut inside chunk 0"), "{}", o.stderr);
    let n = events(&o.stdout).len();
    assert!((1..4).contains(&n), "{n} events\n{}", o.stderr);
}
