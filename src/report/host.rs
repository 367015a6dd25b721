//! The report's host section: what the attacker left on, ran on or changed in the host behind
//! the mail service — backdoor accounts, planted keys, preloaded libraries, services, shell
//! start-up lines, running implants, replaced package files, typed commands.
//!
//! Rows are the findings with the rule role [`Role::HostCompromise`] (never a rule id), most
//! severe first, each with where it is (file and lines), the processes and accounts it names,
//! and what to do first: a finding whose processes are running implants ([`Role::Implant`])
//! says *capture before ending*, so no responder kills an implant and loses its only copy; a
//! planted entry (role `planted_entry`) says copy then remove; anything else (a history, a
//! changed package file) is kept as evidence. To
//! show another kind of host evidence, give its rule the role in `detect::catalog`.

use serde::Serialize;

use super::model::Entry;
use super::Lang;
use crate::detect::catalog::Role;
use crate::detect::entity::{EntityKind, EntityRole};

/// Most rows shown (the findings list has every one).
const SHOWN: usize = 50;

/// One row of the host section.
#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    /// The finding's number in the report (`F12`).
    pub id: String,
    /// Its severity name.
    pub severity: &'static str,
    /// Its title in the report's language.
    pub what: String,
    /// Where: `file:line,line` per evidence file.
    pub place: Vec<String>,
    /// Processes (`pid 4242`) and accounts it names, as `role: value`.
    pub names: Vec<String>,
    /// What to do first.
    pub first: &'static str,
}

/// The host rows of `entries`.
pub fn of(entries: &[Entry], lang: Lang) -> Vec<HostRow> {
    let mut rows: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.finding.has(Role::HostCompromise))
        .collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.finding.severity));
    rows.into_iter().take(SHOWN).map(|e| row(e, lang)).collect()
}

fn row(e: &Entry, lang: Lang) -> HostRow {
    let f = &e.finding;
    let place = f
        .evidence
        .iter()
        .map(|ev| {
            let lines: Vec<String> = ev.lines.iter().take(8).map(u64::to_string).collect();
            match (lines.is_empty(), ev.lines.len() > 8) {
                (true, _) => ev.path.clone(),
                (false, false) => format!("{}:{}", ev.path, lines.join(",")),
                (false, true) => format!("{}:{},…", ev.path, lines.join(",")),
            }
        })
        .collect();
    let mut names = Vec::new();
    for p in &f.entities.processes {
        names.push(p.clone());
    }
    for u in &f.entities.users {
        let role = f.entities.role(EntityKind::User, u);
        let word = match (role, lang) {
            (Some(EntityRole::BackdoorAccount), Lang::En) => "backdoor account",
            (Some(EntityRole::BackdoorAccount), Lang::Zh) => "后门账户",
            (_, Lang::En) => "account",
            (_, Lang::Zh) => "账户",
        };
        names.push(format!("{word} {u}"));
    }
    let first = match (f.has(Role::Implant), f.has(Role::PlantedEntry), lang) {
        (true, _, Lang::En) => "capture the process (executable, memory) before ending it",
        (true, _, Lang::Zh) => "结束进程前先取证（可执行文件、内存）",
        (false, true, Lang::En) => "copy the file as evidence, then remove the entry",
        (false, true, Lang::Zh) => "先复制文件作为证据，再删除该条目",
        (false, false, Lang::En) => "keep it as evidence of what was done on the host",
        (false, false, Lang::Zh) => "作为主机上操作的证据保留",
    };
    HostRow {
        id: e.id.clone(),
        severity: crate::timeline::record::severity_name(f.severity),
        what: e.title.clone(),
        place,
        names,
        first,
    }
}

/// The cells of a row, in column order (finding, severity, what, where, names, first step).
pub fn cells(r: &HostRow) -> [String; 6] {
    [
        r.id.clone(),
        r.severity.to_string(),
        r.what.clone(),
        r.place.join("; "),
        r.names.join(", "),
        r.first.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::{Evidence, Finding, Severity};

    fn entry(rule: &'static str, id: &str, sev: Severity) -> Entry {
        let mut f = Finding::of(rule);
        f.severity = sev;
        f.title = format!("title of {rule}");
        f.evidence = vec![Evidence {
            path: "volatile/processes.jsonl".into(),
            sha256: None,
            lines: vec![3],
        }];
        Entry::bare(id, f)
    }

    #[test]
    fn host_rows_are_chosen_by_role_most_severe_first_and_implants_say_capture() {
        let mut implant = entry("host.malware_process", "F2", Severity::Critical);
        implant
            .finding
            .entities
            .tag(EntityKind::Process, "pid 4242", EntityRole::Implant);
        let mut account = entry("persistence.account", "F1", Severity::High);
        account
            .finding
            .entities
            .tag(EntityKind::User, "sysadm", EntityRole::BackdoorAccount);
        let mail = entry("persistence.forward", "F3", Severity::Critical);
        let history = entry("host.history", "F4", Severity::Medium);
        let rows = of(&[account, implant, mail, history], Lang::En);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["F2", "F1", "F4"]);
        assert!(rows[2].first.starts_with("keep it as evidence"));
        assert_eq!(rows[0].names, ["pid 4242"]);
        assert!(rows[0].first.starts_with("capture"));
        assert_eq!(rows[0].place, ["volatile/processes.jsonl:3"]);
        assert_eq!(rows[1].names, ["backdoor account sysadm"]);
        assert!(rows[1].first.starts_with("copy the file"));
    }
}
