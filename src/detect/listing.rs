//! `mailir rules`: the rule catalogue ([`super::catalog`]) printed as a table, JSON or
//! Markdown. One renderer per [`Format`] variant; to add a format, add a variant and its
//! function.

use std::fmt::Write as _;

use super::catalog::{RuleMeta, RULES};
use crate::timeline::record::{phase_name, severity_name};

/// How `mailir rules` prints the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One aligned line per rule.
    Text,
    /// `{"rules": [...]}` with every field of every record.
    Json,
    /// A Markdown table.
    Markdown,
}

impl Format {
    /// The catalogue in this format.
    pub fn render(self) -> String {
        match self {
            Format::Text => text(RULES),
            Format::Json => json(RULES),
            Format::Markdown => markdown(RULES),
        }
    }
}

fn severities(m: &RuleMeta) -> String {
    m.severities
        .iter()
        .map(|s| severity_name(*s))
        .collect::<Vec<_>>()
        .join("/")
}

fn roles(m: &RuleMeta) -> String {
    m.roles
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(rules: &[RuleMeta]) -> String {
    let mut out = String::new();
    for m in rules {
        let _ = writeln!(
            out,
            "{:<34} {:<22} {:<15} {:<22} {}  [{}]",
            m.id,
            severities(m),
            phase_name(m.phase),
            m.attack.join(","),
            m.title,
            roles(m)
        );
    }
    out
}

fn json(rules: &[RuleMeta]) -> String {
    let v = serde_json::json!({ "rules": rules });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn markdown(rules: &[RuleMeta]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "| rule | title | severity | phase | ATT&CK | roles | steps |\n|---|---|---|---|---|---|---|\n",
    );
    for m in rules {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            m.id,
            cell(m.title),
            severities(m),
            phase_name(m.phase),
            m.attack.join(", "),
            roles(m),
            m.steps
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_lists_every_rule() {
        let j: serde_json::Value = serde_json::from_str(&Format::Json.render()).unwrap();
        let rows = j["rules"].as_array().unwrap();
        assert_eq!(rows.len(), RULES.len());
        for (row, m) in rows.iter().zip(RULES) {
            assert_eq!(row["id"], m.id);
            assert_eq!(row["phase"], phase_name(m.phase));
            assert_eq!(row["roles"].as_array().unwrap().len(), m.roles.len());
        }
        let t = Format::Text.render();
        let md = Format::Markdown.render();
        assert_eq!(t.lines().count(), RULES.len());
        assert_eq!(md.lines().count(), RULES.len() + 2);
        for m in RULES {
            assert!(
                t.contains(m.id) && md.contains(&format!("`{}`", m.id)),
                "{}",
                m.id
            );
        }
    }
}
