//! The entities of a finding and what each one is (its contract: `docs/detections.md`,
//! "Entities and their roles").
//!
//! A finding names addresses, accounts, files and outside recipients; each of them carries an
//! [`EntityRole`]: the attacker's source, the source of a stolen login, the account's usual
//! source, the victim account, an account only tried, an outside recipient, a planted entry…
//! Rules tag what they know (`abuse.bulk_send` tells the login's usual addresses from the new
//! ones); [`settle`] gives every untagged entity the default of its finding's
//! [rule roles](crate::detect::catalog::Role), then reconciles the findings with one another
//! (an address that attacked anywhere is the attacker's everywhere; a taken account's new
//! source from the takeover on is the stolen login's). The block list is the addresses whose
//! role [`EntityRole::blocked`]; a usual source is never on it.
//!
//! To add a role: a variant here, its default in [`default_role`] if any, its words in the
//! report (`report::model::entity_role_word`) and a line in `docs/detections.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::catalog::Role;
use super::finding::Finding;

/// What an entity is in a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityRole {
    /// An address that attacked the server (scanned, guessed passwords, relayed, exploited).
    AttackerSource,
    /// An address that used an account's stolen credentials and is not one of the account's
    /// own: the attacker's, though it never failed a login.
    StolenLoginSource,
    /// An account's login from an address it had not used before, not judged malicious on
    /// its own (travel, a new phone network).
    NewSource,
    /// An address the account used before the attack: its owner's. Never blocked.
    UsualSource,
    /// An account taken over or abused.
    VictimAccount,
    /// An account only tried (guessed, sprayed, enumerated): no sign it was taken.
    TriedAccount,
    /// An outside address that received the organisation's mail.
    OutsideRecipient,
    /// A file holding an entry planted by the attacker.
    PlantedEntry,
    /// A log file altered or cut.
    AlteredLog,
    /// A configuration file with a weakness.
    WeakConfig,
    /// An account the attacker created or gave a way in (a second UID 0, a service account
    /// with a shell or password): lock and remove it.
    BackdoorAccount,
    /// A process the attacker runs (an implant, a miner, a reverse shell): capture its
    /// executable and memory before it is ended.
    Implant,
    /// Named by the evidence, not judged.
    Observed,
}

impl EntityRole {
    /// The snake-case name (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            EntityRole::AttackerSource => "attacker_source",
            EntityRole::StolenLoginSource => "stolen_login_source",
            EntityRole::NewSource => "new_source",
            EntityRole::UsualSource => "usual_source",
            EntityRole::VictimAccount => "victim_account",
            EntityRole::TriedAccount => "tried_account",
            EntityRole::OutsideRecipient => "outside_recipient",
            EntityRole::PlantedEntry => "planted_entry",
            EntityRole::AlteredLog => "altered_log",
            EntityRole::WeakConfig => "weak_config",
            EntityRole::BackdoorAccount => "backdoor_account",
            EntityRole::Implant => "implant",
            EntityRole::Observed => "observed",
        }
    }

    /// Whether an address of this role belongs on the block list.
    pub fn blocked(self) -> bool {
        matches!(
            self,
            EntityRole::AttackerSource | EntityRole::StolenLoginSource
        )
    }

    /// Every role, in order.
    pub const ALL: [EntityRole; 13] = [
        EntityRole::AttackerSource,
        EntityRole::StolenLoginSource,
        EntityRole::NewSource,
        EntityRole::UsualSource,
        EntityRole::VictimAccount,
        EntityRole::TriedAccount,
        EntityRole::OutsideRecipient,
        EntityRole::PlantedEntry,
        EntityRole::AlteredLog,
        EntityRole::WeakConfig,
        EntityRole::BackdoorAccount,
        EntityRole::Implant,
        EntityRole::Observed,
    ];
}

/// The kinds of entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityKind {
    /// Client addresses.
    Ip,
    /// Accounts and mailboxes.
    User,
    /// Files (configuration, per-user files, logs).
    File,
    /// Outside recipients.
    Recipient,
    /// Processes of the live host (`pid 4242`).
    Process,
}

/// Every kind, in the order lists are shown.
const KINDS: [EntityKind; 5] = [
    EntityKind::Ip,
    EntityKind::User,
    EntityKind::File,
    EntityKind::Recipient,
    EntityKind::Process,
];

/// Entities a finding is about: the lists (in the rule's order) and what each one is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entities {
    /// Addresses.
    pub ips: Vec<String>,
    /// Accounts.
    pub users: Vec<String>,
    /// Files (configs, per-user files).
    pub files: Vec<String>,
    /// Outside addresses that received the organisation's mail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Processes of the live host, as `pid 4242` (the host rules' implants).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// The role of each entity, by kind and value (every listed entity once [`settle`] ran).
    pub roles: Roles,
}

/// Entity roles by kind, then value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Roles {
    /// Of the addresses.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ips: BTreeMap<String, EntityRole>,
    /// Of the accounts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, EntityRole>,
    /// Of the files.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, EntityRole>,
    /// Of the outside recipients.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub recipients: BTreeMap<String, EntityRole>,
    /// Of the processes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub processes: BTreeMap<String, EntityRole>,
}

impl Roles {
    fn of_kind(&self, kind: EntityKind) -> &BTreeMap<String, EntityRole> {
        match kind {
            EntityKind::Ip => &self.ips,
            EntityKind::User => &self.users,
            EntityKind::File => &self.files,
            EntityKind::Recipient => &self.recipients,
            EntityKind::Process => &self.processes,
        }
    }

    fn of_kind_mut(&mut self, kind: EntityKind) -> &mut BTreeMap<String, EntityRole> {
        match kind {
            EntityKind::Ip => &mut self.ips,
            EntityKind::User => &mut self.users,
            EntityKind::File => &mut self.files,
            EntityKind::Recipient => &mut self.recipients,
            EntityKind::Process => &mut self.processes,
        }
    }
}

impl Entities {
    /// The entities of one kind.
    pub fn list(&self, kind: EntityKind) -> &[String] {
        match kind {
            EntityKind::Ip => &self.ips,
            EntityKind::User => &self.users,
            EntityKind::File => &self.files,
            EntityKind::Recipient => &self.recipients,
            EntityKind::Process => &self.processes,
        }
    }

    /// Names `value` (of `kind`) with role `role`, adding it to its list if new.
    pub fn tag(&mut self, kind: EntityKind, value: &str, role: EntityRole) {
        let list = match kind {
            EntityKind::Ip => &mut self.ips,
            EntityKind::User => &mut self.users,
            EntityKind::File => &mut self.files,
            EntityKind::Recipient => &mut self.recipients,
            EntityKind::Process => &mut self.processes,
        };
        if !list.iter().any(|v| v == value) {
            list.push(value.to_string());
        }
        self.roles.of_kind_mut(kind).insert(value.to_string(), role);
    }

    /// The entities of logins: account `user` (role `user_role`) from `ips` (role `ip_role`).
    pub fn logins(
        user: &str,
        user_role: EntityRole,
        ips: &[String],
        ip_role: EntityRole,
    ) -> Entities {
        let mut e = Entities::default();
        for ip in ips {
            e.tag(EntityKind::Ip, ip, ip_role);
        }
        e.tag(EntityKind::User, user, user_role);
        e
    }

    /// The role of `value` (of `kind`), if it has one.
    pub fn role(&self, kind: EntityKind, value: &str) -> Option<EntityRole> {
        self.roles.of_kind(kind).get(value).copied()
    }

    /// The entities of `kind` whose role is one of `roles`, in list order.
    pub fn with_role<'a>(
        &'a self,
        kind: EntityKind,
        roles: &'a [EntityRole],
    ) -> impl Iterator<Item = &'a String> + 'a {
        self.list(kind)
            .iter()
            .filter(move |v| self.role(kind, v).is_some_and(|r| roles.contains(&r)))
    }

    /// The entities grouped by role, in role order, every kind together (ips, accounts, files,
    /// recipients, each in list order); roles with no entity are left out.
    pub fn by_role(&self) -> Vec<(EntityRole, Vec<&String>)> {
        EntityRole::ALL
            .iter()
            .filter_map(|role: &'static EntityRole| {
                let named: Vec<&String> = KINDS
                    .into_iter()
                    .flat_map(|k| {
                        self.with_role(k, std::slice::from_ref(role))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                (!named.is_empty()).then_some((*role, named))
            })
            .collect()
    }

    /// Adds the entities of `other` not named yet, with their roles.
    pub fn union(&mut self, other: Entities) {
        for kind in KINDS {
            for v in other.list(kind) {
                match other.role(kind, v) {
                    Some(r) if self.role(kind, v).is_none() => self.tag(kind, v, r),
                    _ => {
                        let list = match kind {
                            EntityKind::Ip => &mut self.ips,
                            EntityKind::User => &mut self.users,
                            EntityKind::File => &mut self.files,
                            EntityKind::Recipient => &mut self.recipients,
                            EntityKind::Process => &mut self.processes,
                        };
                        if !list.contains(v) {
                            list.push(v.clone());
                        }
                    }
                }
            }
        }
    }
}

/// The role an untagged entity of `kind` takes in a finding with the rule roles `roles`.
pub fn default_role(kind: EntityKind, roles: &[Role]) -> EntityRole {
    let has = |r: Role| roles.contains(&r);
    match kind {
        EntityKind::Ip if has(Role::AttackerSource) => EntityRole::AttackerSource,
        EntityKind::Ip => EntityRole::Observed,
        EntityKind::User
            if has(Role::TakenAccount)
                || has(Role::AbusedAccount)
                || has(Role::PlantedEntry)
                || has(Role::MailCopied) =>
        {
            EntityRole::VictimAccount
        }
        EntityKind::User if has(Role::AttackerSource) => EntityRole::TriedAccount,
        EntityKind::User => EntityRole::Observed,
        EntityKind::File if has(Role::PlantedEntry) => EntityRole::PlantedEntry,
        EntityKind::File if has(Role::LogIntegrity) => EntityRole::AlteredLog,
        EntityKind::File if has(Role::Posture) => EntityRole::WeakConfig,
        EntityKind::File => EntityRole::Observed,
        EntityKind::Recipient => EntityRole::OutsideRecipient,
        EntityKind::Process if has(Role::Implant) => EntityRole::Implant,
        EntityKind::Process => EntityRole::Observed,
    }
}

/// Gives every entity of every finding its role: the rule's tag, else the default of the
/// finding's rule roles; then reconciles the findings:
/// - an address that is an attacker's in any finding is the attacker's in every finding (as
///   the source of an account's login there: a stolen login's);
/// - an account's new source, in a finding that ends at or after the account's takeover
///   (the first time of a finding that names it taken), is a stolen login's source.
pub fn settle(findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let roles = f.roles;
        let e = &mut f.entities;
        for kind in KINDS {
            let missing: Vec<String> = e
                .list(kind)
                .iter()
                .filter(|v| e.role(kind, v).is_none())
                .cloned()
                .collect();
            for v in missing {
                e.roles
                    .of_kind_mut(kind)
                    .insert(v, default_role(kind, roles));
            }
        }
    }
    let attackers: BTreeSet<String> = findings.iter().flat_map(blocked_ips).cloned().collect();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.has(Role::TakenAccount)) {
        for u in f
            .entities
            .with_role(EntityKind::User, &[EntityRole::VictimAccount])
        {
            let at = taken
                .entry(u.clone())
                .or_insert_with(|| f.first_seen.clone());
            if f.first_seen < *at {
                *at = f.first_seen.clone();
            }
        }
    }
    for f in findings.iter_mut() {
        let since_takeover = f
            .entities
            .users
            .iter()
            .filter_map(|u| taken.get(u))
            .any(|at| f.last_seen >= *at);
        for (ip, role) in f.entities.roles.ips.iter_mut() {
            *role = match *role {
                EntityRole::UsualSource | EntityRole::NewSource if attackers.contains(ip) => {
                    EntityRole::StolenLoginSource
                }
                EntityRole::Observed if attackers.contains(ip) => EntityRole::AttackerSource,
                EntityRole::NewSource if since_takeover => EntityRole::StolenLoginSource,
                r => r,
            };
        }
    }
}

/// The addresses of `f` whose role is [blocked](EntityRole::blocked).
fn blocked_ips(f: &Finding) -> impl Iterator<Item = &String> {
    let e = &f.entities;
    e.ips
        .iter()
        .filter(move |ip| e.role(EntityKind::Ip, ip).is_some_and(EntityRole::blocked))
}

/// The addresses to block: every address a finding names as an attacker's or a stolen
/// login's, sorted.
pub fn block_list(findings: &[Finding]) -> Vec<String> {
    let set: BTreeSet<&String> = findings.iter().flat_map(blocked_ips).collect();
    set.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &'static str, first: &str, last: &str) -> Finding {
        Finding {
            first_seen: first.into(),
            last_seen: last.into(),
            ..Finding::of(rule)
        }
    }

    #[test]
    fn untagged_entities_take_their_rule_default() {
        let mut brute = finding(
            "auth.brute_force",
            "2026-03-04T01:00:00Z",
            "2026-03-04T02:00:00Z",
        );
        brute.entities.ips = vec!["203.0.113.7".into()];
        brute.entities.users = vec!["alice".into()];
        let mut fwd = finding("persistence.forward", "", "");
        fwd.entities.files = vec!["/etc/aliases".into()];
        fwd.entities.users = vec!["bob".into()];
        let mut f = vec![brute, fwd];
        settle(&mut f);
        assert_eq!(
            f[0].entities.role(EntityKind::Ip, "203.0.113.7"),
            Some(EntityRole::AttackerSource)
        );
        assert_eq!(
            f[0].entities.role(EntityKind::User, "alice"),
            Some(EntityRole::TriedAccount)
        );
        assert_eq!(
            f[1].entities.role(EntityKind::File, "/etc/aliases"),
            Some(EntityRole::PlantedEntry)
        );
        assert_eq!(
            f[1].entities.role(EntityKind::User, "bob"),
            Some(EntityRole::VictimAccount)
        );
        assert_eq!(block_list(&f), ["203.0.113.7"]);
    }

    #[test]
    fn a_bulk_send_keeps_the_owners_address_off_the_block_list() {
        let mut bulk = finding(
            "abuse.bulk_send",
            "2026-03-04T03:00:00Z",
            "2026-03-04T04:00:00Z",
        );
        bulk.entities
            .tag(EntityKind::User, "liwei", EntityRole::VictimAccount);
        bulk.entities
            .tag(EntityKind::Ip, "198.51.100.20", EntityRole::UsualSource);
        bulk.entities.tag(
            EntityKind::Ip,
            "203.0.113.77",
            EntityRole::StolenLoginSource,
        );
        let mut f = vec![bulk];
        settle(&mut f);
        assert_eq!(block_list(&f), ["203.0.113.77"]);
        assert_eq!(
            f[0].entities.role(EntityKind::Ip, "198.51.100.20"),
            Some(EntityRole::UsualSource)
        );
    }

    #[test]
    fn findings_are_reconciled_with_one_another() {
        // The guesser also sent as the account: its address was no usual one.
        let mut taken = finding(
            "auth.compromised_account",
            "2026-03-04T02:00:00Z",
            "2026-03-04T02:10:00Z",
        );
        taken.entities.ips = vec!["203.0.113.9".into()];
        taken.entities.users = vec!["carol".into()];
        let mut bulk = finding(
            "abuse.bulk_send",
            "2026-03-04T03:00:00Z",
            "2026-03-04T04:00:00Z",
        );
        bulk.entities
            .tag(EntityKind::User, "carol", EntityRole::VictimAccount);
        bulk.entities
            .tag(EntityKind::Ip, "203.0.113.9", EntityRole::UsualSource);
        // A new network of the taken account after the takeover, and one before it.
        let mut after = finding(
            "auth.new_source",
            "2026-03-04T05:00:00Z",
            "2026-03-04T05:00:00Z",
        );
        after
            .entities
            .tag(EntityKind::User, "carol", EntityRole::VictimAccount);
        after
            .entities
            .tag(EntityKind::Ip, "192.0.2.50", EntityRole::NewSource);
        let mut before = finding(
            "auth.new_source",
            "2026-02-01T05:00:00Z",
            "2026-02-01T05:00:00Z",
        );
        before
            .entities
            .tag(EntityKind::User, "carol", EntityRole::VictimAccount);
        before
            .entities
            .tag(EntityKind::Ip, "192.0.2.60", EntityRole::NewSource);
        let mut f = vec![taken, bulk, after, before];
        settle(&mut f);
        assert_eq!(
            f[1].entities.role(EntityKind::Ip, "203.0.113.9"),
            Some(EntityRole::StolenLoginSource)
        );
        assert_eq!(
            f[2].entities.role(EntityKind::Ip, "192.0.2.50"),
            Some(EntityRole::StolenLoginSource)
        );
        assert_eq!(
            f[3].entities.role(EntityKind::Ip, "192.0.2.60"),
            Some(EntityRole::NewSource)
        );
        assert_eq!(block_list(&f), ["192.0.2.50", "203.0.113.9"]);
    }

    #[test]
    fn an_address_named_as_a_user_name_stays_an_account() {
        // A spray whose "user name" is the text of an address: kinds never mix.
        let mut spray = finding("auth.spray", "2026-03-04T01:00:00Z", "2026-03-04T01:00:00Z");
        spray.entities.ips = vec!["203.0.113.5".into()];
        spray.entities.users = vec!["198.51.100.1".into()];
        let mut f = vec![spray];
        settle(&mut f);
        assert_eq!(block_list(&f), ["203.0.113.5"]);
    }
}
