//! The response playbook as data (`playbooks/steps.toml`): which steps a report lists for its
//! findings, in the order isolate → evidence → clean → notify, and how a clean-up edit takes
//! effect for a given file. The file is built into the binary; `report --playbooks DIR` reads a
//! team's own `DIR/steps.toml` instead. To add a step: an entry in the TOML, nothing here.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::detect::finding::Finding;

/// The playbook shipped with mailir.
const DEFAULT: &str = include_str!("../../playbooks/steps.toml");

/// The four stages, in order.
pub const STAGES: [&str; 4] = ["isolate", "evidence", "clean", "notify"];

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable id (`isolate.block_ips`); findings name it in `remediation`.
    pub id: String,
    /// `isolate`, `evidence`, `clean` or `notify`.
    pub stage: String,
    /// Rule patterns that choose the step (`auth.*`, `*`).
    #[serde(default)]
    pub when: Vec<String>,
    /// Roles that choose the step (`attacker_source`: every finding naming attacking
    /// addresses, whatever its rule; see `mailir rules`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Entity roles (`attacker_source`, `stolen_login_source`, … see `docs/detections.md`):
    /// the step is also chosen by any finding naming an entity of one of them, and its
    /// `{ips}`, `{users}`, `{files}` and commands are filled with those entities only.
    #[serde(default)]
    pub entities: Vec<String>,
    /// English text.
    pub en: String,
    /// Chinese text.
    pub zh: String,
    /// Shell lines (`{ip}`, `{user}` repeat per address or account).
    #[serde(default)]
    pub commands: Vec<String>,
}

/// How an edit of a file takes effect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// Glob on the host path.
    #[serde(rename = "match")]
    pub pattern: String,
    /// What to run (`{file}`, `{owner}`).
    pub command: String,
    /// The same in Chinese, where it carries prose.
    pub zh: Option<String>,
}

/// A detection rule's name and meaning in Chinese.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleText {
    /// Rule id.
    pub id: String,
    /// Short name.
    pub zh: String,
    /// What it means, one sentence.
    pub zh_what: String,
}

/// The whole playbook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Steps, in the file's order.
    pub step: Vec<Step>,
    /// Apply rules, first match wins.
    #[serde(default)]
    pub apply: Vec<Apply>,
    /// Rules' texts in Chinese.
    #[serde(default)]
    pub rule: Vec<RuleText>,
}

impl Playbook {
    /// The built-in playbook, or `dir/steps.toml`.
    pub fn load(dir: Option<&Path>) -> Result<Playbook> {
        let text = match dir {
            Some(d) => {
                let p = d.join("steps.toml");
                std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?
            }
            None => DEFAULT.to_string(),
        };
        let book: Playbook = toml::from_str(&text).context("playbook steps.toml")?;
        for s in &book.step {
            if !STAGES.contains(&s.stage.as_str()) {
                anyhow::bail!("playbook step {}: unknown stage {:?}", s.id, s.stage);
            }
        }
        for s in &book.step {
            use crate::detect::entity::EntityRole;
            if let Some(bad) = s
                .entities
                .iter()
                .find(|e| !EntityRole::ALL.iter().any(|r| r.name() == e.as_str()))
            {
                anyhow::bail!("playbook step {}: unknown entity role {bad:?}", s.id);
            }
        }
        for a in &book.apply {
            globset::Glob::new(&a.pattern)
                .with_context(|| format!("playbook apply pattern {:?}", a.pattern))?;
        }
        Ok(book)
    }

    /// The Chinese name and meaning of rule `id` (this playbook's, else the built-in one's).
    pub fn rule_text(&self, id: &str) -> Option<RuleText> {
        if let Some(r) = self.rule.iter().find(|r| r.id == id) {
            return Some(r.clone());
        }
        let builtin: Playbook = toml::from_str(DEFAULT).ok()?;
        builtin.rule.into_iter().find(|r| r.id == id)
    }

    /// Whether `step` is chosen by finding `f`: named in its remediation, matched by rule, or
    /// by one of its roles.
    pub fn chooses(step: &Step, f: &Finding) -> bool {
        f.remediation.contains(&step.id.as_str())
            || step.when.iter().any(|w| rule_matches(w, f.rule))
            || step
                .roles
                .iter()
                .any(|r| f.roles.iter().any(|fr| fr.name() == r))
            || (!step.entities.is_empty() && !Self::entities_of(step, f).is_empty())
    }

    /// The entities of `f` a step is filled with, by kind: every one, or those whose role
    /// the step names in `entities`.
    pub fn entities_of<'a>(
        step: &Step,
        f: &'a Finding,
    ) -> Vec<(crate::detect::entity::EntityKind, &'a String)> {
        use crate::detect::entity::EntityKind;
        let e = &f.entities;
        [
            EntityKind::Ip,
            EntityKind::User,
            EntityKind::File,
            EntityKind::Process,
        ]
        .into_iter()
        .flat_map(|k| e.list(k).iter().map(move |v| (k, v)))
        .filter(|(k, v)| {
            step.entities.is_empty()
                || e.role(*k, v)
                    .is_some_and(|r| step.entities.iter().any(|s| s == r.name()))
        })
        .collect()
    }

    /// Remediation ids of `findings` that no step has.
    pub fn unknown_ids<'a>(&self, findings: &'a [Finding]) -> Vec<&'a str> {
        let mut out: Vec<&str> = findings
            .iter()
            .flat_map(|f| f.remediation.iter().copied())
            .filter(|id| !self.step.iter().any(|s| s.id == *id))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How an edit of `host_path` takes effect: the matching command with the path and the
    /// crontab owner checked and quoted (`report::shell`); `Err` names the value that may not
    /// be put in a command. No matching rule: an empty text.
    pub fn apply(
        &self,
        host_path: &str,
        lang: super::Lang,
    ) -> Result<String, super::shell::Refused> {
        use super::shell::{render, Arg};
        for a in &self.apply {
            let Ok(g) = globset::Glob::new(&a.pattern) else {
                continue;
            };
            if g.compile_matcher().is_match(host_path) {
                let owner = host_path.rsplit('/').next().unwrap_or("");
                let text = match (lang, &a.zh) {
                    (super::Lang::Zh, Some(zh)) => zh,
                    _ => &a.command,
                };
                let text = if text.contains("{file}") {
                    render(text, "file", Arg::Path, host_path)?
                } else {
                    text.clone()
                };
                return if text.contains("{owner}") {
                    render(&text, "owner", Arg::Account, owner)
                } else {
                    Ok(text)
                };
            }
        }
        Ok(String::new())
    }
}

/// `auth.*` matches `auth.spray`; `*` matches every rule; otherwise equality.
fn rule_matches(pattern: &str, rule: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => rule.starts_with(prefix),
        None => pattern == rule,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Lang;
    use super::*;

    #[test]
    fn the_built_in_playbook_loads_and_covers_every_stage() {
        let b = Playbook::load(None).unwrap();
        for stage in STAGES {
            assert!(b.step.iter().any(|s| s.stage == stage), "{stage}");
        }
        for s in &b.step {
            assert!(!s.en.is_empty() && !s.zh.is_empty(), "{}", s.id);
            assert!(
                s.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}",
                s.id
            );
        }
    }

    #[test]
    fn edits_take_effect_the_way_each_file_needs() {
        let b = Playbook::load(None).unwrap();
        assert_eq!(b.apply("/etc/aliases", Lang::En).unwrap(), "newaliases");
        assert_eq!(
            b.apply("/etc/postfix/recipient_bcc", Lang::En).unwrap(),
            "postmap /etc/postfix/recipient_bcc && postfix reload"
        );
        assert!(b
            .apply("/etc/postfix/transport.db", Lang::En)
            .unwrap()
            .starts_with("rebuild it"));
        assert!(b
            .apply("/var/spool/cron/crontabs/root", Lang::En)
            .unwrap()
            .starts_with("crontab -u root -e"));
        // In Chinese where the command carries prose; commands themselves stay as they are.
        assert!(b
            .apply("/var/spool/cron/crontabs/root", Lang::Zh)
            .unwrap()
            .starts_with("crontab -u root -e   （在其中删除该行"));
        assert_eq!(b.apply("/etc/aliases", Lang::Zh).unwrap(), "newaliases");
    }

    #[test]
    fn every_rule_has_its_chinese_name() {
        let b = Playbook::load(None).unwrap();
        let doc = include_str!("../../docs/detections.md");
        let ids: std::collections::BTreeSet<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .filter(|id| id.contains('.'))
            .collect();
        assert!(ids.len() >= 28, "{ids:?}");
        for id in ids {
            let t = b
                .rule_text(id)
                .unwrap_or_else(|| panic!("{id} has no [[rule]] text"));
            assert!(!t.zh.is_empty() && !t.zh_what.is_empty(), "{id}");
        }
        assert_eq!(
            b.apply("/home/liwei/.forward", Lang::En).unwrap(),
            "none: the file is read at each delivery"
        );
    }

    #[test]
    fn a_team_playbook_with_a_typo_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("steps.toml"),
            "[[step]]\nid = \"x\"\nstage = \"isolat\"\nen = \"a\"\nzh = \"b\"\n",
        )
        .unwrap();
        assert!(Playbook::load(Some(d.path())).is_err());
    }
}
