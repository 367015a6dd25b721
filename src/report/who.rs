//! Who a finding is about, as a report shows it: its entities grouped by role
//! ([`crate::detect::entity::EntityRole`]), each group named in the report's language.
//!
//! The words of a new entity role go in [`role_word`]; the groups keep the roles' order
//! (attackers first, usual sources and observed entities last).

use serde::Serialize;

use super::Lang;
#[cfg(test)]
use crate::detect::entity::EntityKind;
use crate::detect::entity::EntityRole;
use crate::detect::finding::Finding;

/// Values shown per group in the report text (the finding's JSON has all of them).
pub const SHOWN: usize = 12;

/// Entities of one role.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The role.
    pub role: EntityRole,
    /// The role in the report's language.
    pub word: String,
    /// Up to [`SHOWN`] values, in the finding's order.
    pub values: Vec<String>,
    /// How many more there are.
    pub more: usize,
}

/// The groups of `f`'s entities, in role order.
pub fn groups(f: &Finding, lang: Lang) -> Vec<Group> {
    f.entities
        .by_role()
        .into_iter()
        .map(|(role, all)| Group {
            role,
            word: role_word(role, lang).to_string(),
            values: all.iter().take(SHOWN).map(|v| v.to_string()).collect(),
            more: all.len().saturating_sub(SHOWN),
        })
        .collect()
}

/// A role's name in a report.
pub fn role_word(r: EntityRole, lang: Lang) -> &'static str {
    match (lang, r) {
        (Lang::En, EntityRole::AttackerSource) => "attacker's address",
        (Lang::En, EntityRole::StolenLoginSource) => {
            "stolen login's address (not the account's own)"
        }
        (Lang::En, EntityRole::NewSource) => "the account's new address",
        (Lang::En, EntityRole::UsualSource) => {
            "the account's usual address (its owner's: not blocked)"
        }
        (Lang::En, EntityRole::VictimAccount) => "victim account",
        (Lang::En, EntityRole::TriedAccount) => "account tried",
        (Lang::En, EntityRole::OutsideRecipient) => "outside recipient",
        (Lang::En, EntityRole::PlantedEntry) => "file with a planted entry",
        (Lang::En, EntityRole::AlteredLog) => "altered log",
        (Lang::En, EntityRole::WeakConfig) => "weak configuration",
        (Lang::En, EntityRole::BackdoorAccount) => "backdoor account (the attacker's)",
        (Lang::En, EntityRole::Implant) => "attacker's process (capture before ending it)",
        (Lang::En, EntityRole::Observed) => "also named",
        (Lang::Zh, EntityRole::AttackerSource) => "攻击者地址",
        (Lang::Zh, EntityRole::StolenLoginSource) => "盗用登录的来源地址（非账户本人）",
        (Lang::Zh, EntityRole::NewSource) => "账户的新来源地址",
        (Lang::Zh, EntityRole::UsualSource) => "账户常用地址（本人，不封禁）",
        (Lang::Zh, EntityRole::VictimAccount) => "受害账户",
        (Lang::Zh, EntityRole::TriedAccount) => "被尝试的账户",
        (Lang::Zh, EntityRole::OutsideRecipient) => "外部收件人",
        (Lang::Zh, EntityRole::PlantedEntry) => "含植入项的文件",
        (Lang::Zh, EntityRole::AlteredLog) => "被篡改的日志",
        (Lang::Zh, EntityRole::WeakConfig) => "存在弱点的配置",
        (Lang::Zh, EntityRole::BackdoorAccount) => "后门账户（攻击者所建）",
        (Lang::Zh, EntityRole::Implant) => "攻击者进程（结束前先取证）",
        (Lang::Zh, EntityRole::Observed) => "其他相关",
    }
}

/// One line: `role: a, b (and N more); role: c`, with values and words through `esc` (the
/// output's escaper) and `more(n)` the "and N more" text.
pub fn line(
    groups: &[Group],
    esc: impl Fn(&str) -> String,
    more: impl Fn(usize) -> String,
) -> String {
    groups
        .iter()
        .map(|g| {
            let vals: Vec<String> = g.values.iter().map(|v| esc(v)).collect();
            let tail = if g.more > 0 {
                format!(" ({})", esc(&more(g.more)))
            } else {
                String::new()
            };
            format!("{}: {}{tail}", esc(&g.word), vals.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_role_order_and_every_role_has_words() {
        let mut f = Finding::of("abuse.bulk_send");
        f.entities
            .tag(EntityKind::Ip, "198.51.100.20", EntityRole::UsualSource);
        f.entities.tag(
            EntityKind::Ip,
            "203.0.113.77",
            EntityRole::StolenLoginSource,
        );
        f.entities
            .tag(EntityKind::User, "liwei", EntityRole::VictimAccount);
        let g = groups(&f, Lang::En);
        let roles: Vec<EntityRole> = g.iter().map(|g| g.role).collect();
        assert_eq!(
            roles,
            [
                EntityRole::StolenLoginSource,
                EntityRole::UsualSource,
                EntityRole::VictimAccount
            ]
        );
        assert_eq!(
            line(&g, str::to_string, |n| format!("and {n} more")),
            "stolen login's address (not the account's own): 203.0.113.77; the account's usual address (its owner's: not blocked): 198.51.100.20; victim account: liwei"
        );
        for r in EntityRole::ALL {
            assert!(!role_word(r, Lang::En).is_empty() && !role_word(r, Lang::Zh).is_empty());
        }
    }
}
