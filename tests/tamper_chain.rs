//! Log integrity across files, on real logs: Exim's rejectlog against its mainlog (the
//! mainlog cut, the rejectlog not), and an emptied rotation of the sample named as emptied.

use std::path::Path;

use serde_json::Value;

use crate::util;

fn findings(input: &Path) -> Vec<Value> {
    let o = util::run(&["detect", input.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_exim_mainlog_cut_behind_its_rejectlog_is_found() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("var/log/exim4");
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = util::repo().join("tests/fixtures/delivery");
    let main = std::fs::read_to_string(fixtures.join("exim-mainlog")).unwrap();
    std::fs::copy(fixtures.join("exim-rejectlog"), dir.join("rejectlog")).unwrap();
    // As written by Exim: every rejectlog line is in the mainlog, nothing to report.
    std::fs::write(dir.join("mainlog"), &main).unwrap();
    let of = |f: &[Value]| -> Vec<Value> {
        f.iter()
            .filter(|f| f["rule"] == "tamper.rejectlog_mismatch")
            .cloned()
            .collect()
    };
    assert!(of(&findings(t.path())).is_empty());
    // The intruder cuts the two failed logins (mainlog lines 19–24) out of the mainlog.
    let cut: String = main
        .lines()
        .enumerate()
        .filter(|(i, _)| !(18..24).contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("mainlog"), cut).unwrap();
    let f = of(&findings(t.path()));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["count"], 2, "{:#}", f[0]);
    assert_eq!(f[0]["evidence"][0]["path"], "var/log/exim4/rejectlog");
    assert_eq!(f[0]["evidence"][0]["lines"], serde_json::json!([1, 2]));
}

#[test]
fn an_emptied_rotation_of_the_sample_is_named_as_emptied() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("var/log");
    std::fs::create_dir_all(&logs).unwrap();
    for name in [
        "mail.log",
        "mail.log.1",
        "mail.log.2.gz",
        "mail.log.3.gz",
        "mail.log.4.gz",
    ] {
        std::fs::copy(util::sample().join("var/log").join(name), logs.join(name)).unwrap();
    }
    // `> mail.log.3.gz`: the file stays, its content goes.
    std::fs::write(logs.join("mail.log.3.gz"), b"").unwrap();
    let f: Vec<Value> = findings(t.path())
        .into_iter()
        .filter(|f| f["rule"] == "tamper.rotation_gap")
        .collect();
    let titles: Vec<&str> = f.iter().map(|f| f["title"].as_str().unwrap()).collect();
    assert!(
        titles.contains(&"Rotation var/log/mail.log.3.gz emptied"),
        "{titles:?}"
    );
    assert!(
        !titles
            .iter()
            .any(|t| t.contains("mail.log.3") && t.contains("missing")),
        "{titles:?}"
    );
    let e = f
        .iter()
        .find(|f| f["title"].as_str().unwrap().ends_with("emptied"))
        .unwrap();
    assert!(
        e["summary"]
            .as_str()
            .unwrap()
            .contains("(0 bytes, modified "),
        "{e}"
    );
}
